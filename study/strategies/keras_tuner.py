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
from study.strategies.registry import initial_random_points, register


def run_oracle(
    objective: Objective, space: SearchSpace, oracle_class: str, **settings: Any
) -> None:
    # Keras Tuner loads TensorFlow: imported when a Keras Tuner cell runs, not on registration.
    from study.strategies._keras_tuner_driver import run_oracle as drive

    drive(objective, space, oracle_class, **settings)


@register("kt_hyperband")
def kt_hyperband(objective: Objective, space: SearchSpace, seed: int) -> None:
    run_oracle(
        objective,
        space,
        "HyperbandOracle",
        max_epochs=objective.max_epochs,
        factor=3,
        # Enough brackets to outlast any budget: the ledger ends the search, not Keras Tuner.
        hyperband_iterations=10_000,
        seed=derive_seed(seed, "kt_hyperband"),
    )


@register("kt_random")
def kt_random(objective: Objective, space: SearchSpace, seed: int) -> None:
    run_oracle(
        objective,
        space,
        "RandomSearchOracle",
        max_trials=objective.remaining_evaluations,
        seed=derive_seed(seed, "kt_random"),
    )


@register("kt_bayes")
def kt_bayes(objective: Objective, space: SearchSpace, seed: int) -> None:
    budget = objective.remaining_evaluations
    run_oracle(
        objective,
        space,
        "BayesianOptimizationOracle",
        max_trials=budget,
        # Keras Tuner's default is 3 random trials per dimension, which would leave a small
        # budget no Gaussian-process turns; the same rule as the other model-based methods.
        num_initial_points=initial_random_points(budget),
        seed=derive_seed(seed, "kt_bayes"),
    )
