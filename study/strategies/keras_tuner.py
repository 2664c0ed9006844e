"""Keras Tuner's oracles driven through a Tuner whose ``run_trial`` calls the protocol.

The oracle proposes hyperparameters (and, for Hyperband, the epochs of each trial in
``tuner/epochs``); the trial trains through the shared protocol and is charged those
epochs. Trials always train from scratch: Hyperband's weight warm-start from a lower rung
would need per-trial checkpoints, which this harness does not keep. Each cell's tuner
directory is temporary and removed with the cell, so trial files never accumulate (and no
model checkpoint is ever written).

Determinism: every oracle gets a seed from ``derive_seed``, which is never 0 (the oracles
read a falsy seed as "draw one at random"). The random values come from that seed's own
state and the Gaussian process from ``random_state=seed``, so a seed repeats exactly.
"""

from __future__ import annotations

from typing import Any

from study.ledger import Objective
from study.seeding import derive_seed
from study.space import SearchSpace
from study.strategies.registry import INITIAL_RANDOM_POINTS, Settings, register, resolve


def run_oracle(
    name: str, objective: Objective, space: SearchSpace, seed: int, settings: Settings, **run: Any
) -> None:
    """Run the oracle ``settings`` name with the other settings and the run-time arguments,
    seeded for strategy ``name``."""
    # Keras Tuner loads TensorFlow: imported when a Keras Tuner cell runs, not on registration.
    from study.strategies._keras_tuner_driver import run_oracle as drive

    arguments = resolve(settings, objective.remaining_evaluations)
    oracle_class = arguments.pop("oracle")
    drive(objective, space, oracle_class, **arguments, **run, seed=derive_seed(seed, name))


@register(
    "kt_hyperband",
    settings={
        "oracle": "HyperbandOracle",
        "factor": 3,
        # Enough brackets to outlast any budget: the ledger ends the search, not Keras Tuner.
        "hyperband_iterations": 10_000,
    },
)
def kt_hyperband(objective: Objective, space: SearchSpace, seed: int, settings: Settings) -> None:
    run_oracle("kt_hyperband", objective, space, seed, settings, max_epochs=objective.max_epochs)


@register("kt_random", settings={"oracle": "RandomSearchOracle"})
def kt_random(objective: Objective, space: SearchSpace, seed: int, settings: Settings) -> None:
    budget = objective.remaining_evaluations
    run_oracle("kt_random", objective, space, seed, settings, max_trials=budget)


@register(
    "kt_bayes",
    settings={
        "oracle": "BayesianOptimizationOracle",
        # Keras Tuner's default is 3 random trials per dimension, which would leave a small
        # budget no Gaussian-process turns; the same rule as the other model-based methods.
        "num_initial_points": INITIAL_RANDOM_POINTS,
    },
)
def kt_bayes(objective: Objective, space: SearchSpace, seed: int, settings: Settings) -> None:
    budget = objective.remaining_evaluations
    run_oracle("kt_bayes", objective, space, seed, settings, max_trials=budget)
