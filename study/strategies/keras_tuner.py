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

import tempfile
from typing import Any

import keras_tuner as kt

from study.ledger import Objective
from study.seeding import derive_seed
from study.space import SearchSpace
from study.strategies import initial_random_points, register

_KT_OBJECTIVE = kt.Objective("val_score", direction="min")


class ProtocolTuner(kt.Tuner):
    """A Tuner with no hypermodel: each trial is one ledger evaluation."""

    def __init__(self, objective: Objective, space: SearchSpace, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._objective = objective
        self._space = space

    def run_trial(self, trial: kt.engine.trial.Trial, *args: Any, **kwargs: Any) -> float:
        hp = trial.hyperparameters
        values = {name: hp.get(name) for name in self._space.names}
        epochs = hp.values.get("tuner/epochs")
        if epochs is not None:
            # A rung that outlasts the budget trains the epochs that are left (at least one:
            # with none left the ledger refuses and the search ends).
            epochs = max(1, min(int(epochs), self._objective.remaining_epochs))
        return self._objective.evaluate(values, epochs=epochs)

    # No checkpoints: models live only inside the protocol.
    def save_model(self, trial_id: str, model: Any, step: int = 0) -> None:
        return None

    def load_model(self, trial: Any) -> None:
        return None


def declared_space(space: SearchSpace) -> kt.HyperParameters:
    hp = kt.HyperParameters()
    space.to_keras_tuner(hp)
    return hp


def run_oracle(objective: Objective, space: SearchSpace, oracle: kt.Oracle) -> None:
    with tempfile.TemporaryDirectory(prefix="tunebench-kt-") as directory:
        tuner = ProtocolTuner(
            objective,
            space,
            oracle=oracle,
            directory=directory,
            project_name="cell",
            overwrite=True,
        )
        tuner.search(verbose=0)


@register("kt_hyperband")
def kt_hyperband(objective: Objective, space: SearchSpace, seed: int) -> None:
    oracle = kt.oracles.HyperbandOracle(
        objective=_KT_OBJECTIVE,
        max_epochs=objective.max_epochs,
        factor=3,
        # Enough brackets to outlast any budget: the ledger ends the search, not Keras Tuner.
        hyperband_iterations=10_000,
        seed=derive_seed(seed, "kt_hyperband"),
        hyperparameters=declared_space(space),
    )
    run_oracle(objective, space, oracle)


@register("kt_random")
def kt_random(objective: Objective, space: SearchSpace, seed: int) -> None:
    oracle = kt.oracles.RandomSearchOracle(
        objective=_KT_OBJECTIVE,
        max_trials=objective.remaining_evaluations,
        seed=derive_seed(seed, "kt_random"),
        hyperparameters=declared_space(space),
    )
    run_oracle(objective, space, oracle)


@register("kt_bayes")
def kt_bayes(objective: Objective, space: SearchSpace, seed: int) -> None:
    budget = objective.remaining_evaluations
    oracle = kt.oracles.BayesianOptimizationOracle(
        objective=_KT_OBJECTIVE,
        max_trials=budget,
        # Keras Tuner's default is 3 random trials per dimension, which would leave a small
        # budget no Gaussian-process turns; the same rule as the other model-based methods.
        num_initial_points=initial_random_points(budget),
        seed=derive_seed(seed, "kt_bayes"),
        hyperparameters=declared_space(space),
    )
    run_oracle(objective, space, oracle)
