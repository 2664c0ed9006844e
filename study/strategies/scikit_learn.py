"""scikit-learn's searches (the lab's method) driving the shared protocol.

``RandomizedSearchCV`` samples the configs exactly as it does for its users; the estimator
it fits is a thin adapter whose ``fit`` is one protocol evaluation (the protocol fits a
scikeras ``KerasRegressor`` per fold, on the study's own folds). The search itself sees a
single dummy split, so scikit-learn never touches the data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import RandomizedSearchCV

from study.ledger import Objective
from study.seeding import derive_seed
from study.space import SearchSpace
from study.strategies import register


class _SharedObjective:
    """scikit-learn deep-copies estimator parameters; every copy must share one ledger."""

    def __init__(self, objective: Objective) -> None:
        self.objective = objective

    def __deepcopy__(self, memo: dict[int, Any]) -> _SharedObjective:
        return self


class ProtocolEstimator(RegressorMixin, BaseEstimator):
    """An estimator whose ``fit`` scores its hyperparameters through the ledger."""

    def __init__(self, shared: _SharedObjective | None = None, **values: Any) -> None:
        self.shared = shared
        self.values = values

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"shared": self.shared, **self.values}

    def set_params(self, **params: Any) -> ProtocolEstimator:
        if "shared" in params:
            self.shared = params.pop("shared")
        self.values = {**self.values, **params}
        return self

    def fit(self, X: Any, y: Any = None) -> ProtocolEstimator:
        assert self.shared is not None
        self.score_ = self.shared.objective.evaluate(self.values)
        return self

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        return -self.score_


def _dummy_problem() -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    X = np.zeros((2, 1))
    return X, np.zeros(2), [(np.array([0]), np.array([1]))]


def _search_kwargs() -> dict[str, Any]:
    # refit=False: the harness retrains the incumbent itself; errors propagate to the ledger.
    return {"refit": False, "error_score": "raise", "n_jobs": 1, "verbose": 0}


@register("random_search")
def random_search(objective: Objective, space: SearchSpace, seed: int) -> None:
    X, y, cv = _dummy_problem()
    search = RandomizedSearchCV(
        ProtocolEstimator(_SharedObjective(objective)),
        param_distributions=space.to_scipy(),
        n_iter=objective.remaining_evaluations,
        cv=cv,
        random_state=derive_seed(seed, "random_search"),
        **_search_kwargs(),
    )
    search.fit(X, y)
