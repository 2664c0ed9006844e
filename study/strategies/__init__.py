"""Tuning strategies, registered by name.

A strategy is a function ``run(objective, space, seed)``: it proposes configs with its
library and hands each to ``objective.evaluate(values, epochs=None, report=None)``. It
never sees data and never counts budget itself; the ledger raises ``BudgetExhausted`` when
it is spent. A strategy that ends before the budget does sets ``objective.stop_reason``.
Every registered strategy is held to one contract by ``tests/test_conformance.py``.
"""

from __future__ import annotations

from collections.abc import Callable

from study.errors import UsageError
from study.ledger import Objective
from study.space import SearchSpace

Strategy = Callable[[Objective, SearchSpace, int], None]

STRATEGIES: dict[str, Strategy] = {}


def register(name: str) -> Callable[[Strategy], Strategy]:
    def decorator(func: Strategy) -> Strategy:
        if name in STRATEGIES:
            raise ValueError(f"strategy {name!r} registered twice")
        STRATEGIES[name] = func
        return func

    return decorator


def get_strategy(name: str) -> Strategy:
    try:
        return STRATEGIES[name]
    except KeyError:
        raise UsageError(
            f"unknown strategy {name!r}; choose from: {', '.join(sorted(STRATEGIES))}"
        ) from None


def initial_random_points(budget: int) -> int:
    """Random starts before a model-based method trusts its model: the libraries' usual 10,
    scaled down for small budgets so that the model still gets most of the turns."""
    return min(10, max(2, budget // 5))


# Importing the modules registers their strategies.
from study.strategies import (  # noqa: E402
    baseline,
    keras_tuner,
    optuna_samplers,
    scikit_learn,
    scikit_optimize,
)

__all__ = [
    "STRATEGIES",
    "Strategy",
    "baseline",
    "get_strategy",
    "initial_random_points",
    "keras_tuner",
    "optuna_samplers",
    "register",
    "scikit_learn",
    "scikit_optimize",
]
