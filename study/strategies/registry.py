"""The strategies' registry: names to functions. Apart from the package, so that the
strategy modules register themselves without importing the package that imports them."""

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
