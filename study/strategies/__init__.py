"""Tuning strategies, registered by name.

A strategy is a function ``run(objective, space, seed)``: it proposes configs with its
library and hands each to ``objective.evaluate(values, epochs=None)``. It never sees data
and never counts budget itself; the ledger raises ``BudgetExhausted`` when it is spent.
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


# Importing the modules registers their strategies.
from study.strategies import keras_tuner, scikit_learn, scikit_optimize  # noqa: E402, F401

__all__ = ["STRATEGIES", "Strategy", "get_strategy", "register"]
