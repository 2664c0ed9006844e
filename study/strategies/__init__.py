"""Tuning strategies, registered by name.

A strategy is a function ``run(objective, space, seed)``: it proposes configs with its
library and hands each to ``objective.evaluate(values, epochs=None, report=None)``. It
never sees data and never counts budget itself; the ledger raises ``BudgetExhausted`` when
it is spent. A strategy that ends before the budget does sets ``objective.stop_reason``.
Every registered strategy is held to one contract by ``tests/test_conformance.py``.
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
    STRATEGIES,
    Strategy,
    get_strategy,
    initial_random_points,
    register,
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
