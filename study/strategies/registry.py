"""The strategies' registry, settings and shared ask/tell loop; apart from the package, so
that the strategy modules register themselves without importing the package that imports them."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from study.errors import lookup
from study.ledger import Evaluation, Objective
from study.outcome import EpochReport
from study.space import SearchSpace

Settings = Mapping[str, Any]
# What the registry holds and the runner calls: a strategy with its settings bound.
Strategy = Callable[[Objective, SearchSpace, int], None]
StrategyFunction = Callable[[Objective, SearchSpace, int, Settings], None]

STRATEGIES: dict[str, Strategy] = {}


def register(name: str, settings: Settings) -> Callable[[StrategyFunction], StrategyFunction]:
    """Register ``func`` as strategy ``name``, run with ``settings`` (JSON-ready data)."""

    def decorator(func: StrategyFunction) -> StrategyFunction:
        if name in STRATEGIES:
            raise ValueError(f"strategy {name!r} registered twice")
        STRATEGIES[name] = functools.partial(func, settings=settings)
        return func

    return decorator


def get_strategy(name: str) -> Strategy:
    return lookup(STRATEGIES, "strategy", name)


def strategy_settings(name: str) -> Settings:
    """The library settings ``name`` was registered with (none for a plain function)."""
    strategy = get_strategy(name)
    return strategy.keywords["settings"] if isinstance(strategy, functools.partial) else {}


def budget_share(divisor: int, low: int, high: int) -> dict[str, Any]:
    """A setting that follows the budget, as data: ``budget // divisor`` within [low, high]."""
    return {"rule": "budget_share", "divisor": divisor, "min": low, "max": high}


# Random starts before a model-based method trusts its model: the libraries' usual 10,
# scaled down for small budgets so that the model still gets most of the turns.
INITIAL_RANDOM_POINTS = budget_share(5, 2, 10)


def resolve(settings: Settings, budget: int) -> dict[str, Any]:
    """The library arguments ``settings`` declare for a search of ``budget`` evaluations."""
    resolved: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, Mapping) and value.get("rule") == "budget_share":
            resolved[key] = min(max(budget // value["divisor"], value["min"]), value["max"])
        elif isinstance(value, Mapping):
            resolved[key] = resolve(value, budget)
        else:
            resolved[key] = value
    return resolved


Handle = TypeVar("Handle")


@dataclass(frozen=True)
class Proposal(Generic[Handle]):
    """One config a library asked for, with the library's own handle to tell it back."""

    handle: Handle
    values: Mapping[str, Any]
    epochs: int | None = None
    report: EpochReport | None = None
    # A multi-fidelity method accepts fewer epochs when fewer are left (see Objective.evaluate).
    fit_to_budget: bool = False


def ask_tell(
    objective: Objective,
    ask: Callable[[], Proposal[Handle]],
    tell: Callable[[Proposal[Handle], Evaluation], None],
) -> None:
    """The ask/tell loop: propose, evaluate through the ledger, tell the library the result;
    it ends when the ledger refuses an evaluation (``BudgetExhausted``)."""
    while True:
        proposal = ask()
        objective.evaluate(
            proposal.values,
            epochs=proposal.epochs,
            report=proposal.report,
            fit_to_budget=proposal.fit_to_budget,
        )
        tell(proposal, objective.evaluations[-1])
