"""The Tuner that drives Keras Tuner's oracles through the ledger (imports TensorFlow).

Imported only when a Keras Tuner strategy runs, so that the registry stays TensorFlow-free.
"""

from __future__ import annotations

import tempfile
from typing import Any

import keras_tuner as kt

from study.ledger import Objective
from study.space import SearchSpace

_KT_OBJECTIVE = kt.Objective("val_score", direction="min")


class ProtocolTuner(kt.Tuner):
    """A Tuner with no hypermodel: each trial is one ledger evaluation."""

    def __init__(self, objective: Objective, space: SearchSpace, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._objective = objective
        self._space = space

    def run_trial(self, trial: kt.engine.trial.Trial, *args: Any, **kwargs: Any) -> float:
        hp = trial.hyperparameters
        # The Bayesian oracle optimises over the closed unit cube, and Keras Tuner maps an
        # Int's upper edge to max_value + 1 (Int.prob_to_value(1.0)): that is the range's top.
        values = self._space.clip({name: hp.get(name) for name in self._space.names})
        epochs = hp.values.get("tuner/epochs")
        # A Hyperband rung that outlasts the budget trains the epochs that are left.
        return self._objective.evaluate(values, epochs=epochs, fit_to_budget=epochs is not None)

    # No checkpoints: models live only inside the protocol.
    def save_model(self, trial_id: str, model: Any, step: int = 0) -> None:
        return None

    def load_model(self, trial: Any) -> None:
        return None


def declared_space(space: SearchSpace) -> kt.HyperParameters:
    hp = kt.HyperParameters()
    space.to_keras_tuner(hp)
    return hp


def run_oracle(
    objective: Objective, space: SearchSpace, oracle_class: str, **settings: Any
) -> None:
    """Run Keras Tuner's ``oracles.<oracle_class>(**settings)`` over ``space`` until the ledger stops it."""
    oracle = getattr(kt.oracles, oracle_class)(
        objective=_KT_OBJECTIVE, hyperparameters=declared_space(space), **settings
    )
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
