"""Tuning strategies, registered by name with their library settings declared as data.

A strategy is a function ``run(objective, space, seed, settings)``: it proposes configs with
its library and hands each to ``objective.evaluate(values, epochs=None, report=None)``. It
never sees data and never counts budget itself; the ledger raises ``BudgetExhausted`` when
it is spent. A strategy that ends before the budget does sets ``objective.stop_reason``.

``settings`` are the library settings declared at registration (JSON-ready data): they are
written into each study's spec, so a study whose strategy settings were edited is refused
rather than mixed. A setting that follows the budget is declared as a rule (``budget_share``)
and applied by ``resolve``. Every registered strategy is held to one contract by
``tests/test_conformance.py``.
"""

from __future__ import annotations

# Importing the modules registers their strategies.
from study.strategies import (
    baseline,
    keras_tuner,
    optuna_samplers,
    scikit_learn,
    scikit_optimize,
)
from study.strategies.registry import (
    INITIAL_RANDOM_POINTS,
    STRATEGIES,
    Proposal,
    Settings,
    Strategy,
    StrategyFunction,
    ask_tell,
    budget_share,
    get_strategy,
    register,
    resolve,
    strategy_settings,
)

__all__ = [
    "INITIAL_RANDOM_POINTS",
    "STRATEGIES",
    "Proposal",
    "Settings",
    "Strategy",
    "StrategyFunction",
    "ask_tell",
    "baseline",
    "budget_share",
    "get_strategy",
    "keras_tuner",
    "optuna_samplers",
    "register",
    "resolve",
    "scikit_learn",
    "scikit_optimize",
    "strategy_settings",
]
