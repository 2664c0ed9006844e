"""scikit-learn's searches (the lab's method) driving the shared protocol.

``RandomizedSearchCV`` and ``GridSearchCV`` pick the configs exactly as they do for their
users; the estimator it fits is a thin adapter whose ``fit`` is one protocol evaluation (the
protocol fits a scikeras ``KerasRegressor`` or ``KerasClassifier`` per fold, on the study's
own folds). The search itself sees a single dummy split, so scikit-learn never touches the
data.

Nothing is left for scikit-learn to choose by estimator type (``is_classifier`` picks
stratified folds, the default scorer follows the type): scikeras' wrappers report no type
on scikit-learn 1.7 and later, and the adapter claims none, since it serves regression and
classification alike. The split, the scoring and ``refit`` are all given explicitly.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.model_selection import GridSearchCV, ParameterGrid, RandomizedSearchCV

from study.ledger import Objective
from study.seeding import derive_seed
from study.space import Categorical, Int, SearchSpace
from study.strategies.registry import Settings, register


class _SharedObjective:
    """scikit-learn deep-copies estimator parameters; every copy must share one ledger."""

    def __init__(self, objective: Objective) -> None:
        self.objective = objective

    def __deepcopy__(self, memo: dict[int, Any]) -> _SharedObjective:
        return self


class ProtocolEstimator(BaseEstimator):
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


def _negated_protocol_score(estimator: ProtocolEstimator, X: Any, y: Any = None) -> float:
    """The search maximises its scorer; the protocol's score is a loss."""
    return -estimator.score_


def _dummy_problem() -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    X = np.zeros((2, 1))
    return X, np.zeros(2), [(np.array([0]), np.array([1]))]


def _search_kwargs() -> dict[str, Any]:
    # refit=False: the harness retrains the incumbent itself; errors propagate to the ledger.
    return {
        "scoring": _negated_protocol_score,
        "refit": False,
        "error_score": "raise",
        "n_jobs": 1,
        "verbose": 0,
    }


# The searches declare no settings of their own: what they sample is the space (as
# ``to_scipy`` or ``grid`` puts it) and how many points, the budget.
@register("random_search", settings={})
def random_search(objective: Objective, space: SearchSpace, seed: int, settings: Settings) -> None:
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


def grid_counts(space: SearchSpace, budget: int) -> dict[str, int]:
    """Values per axis for the smallest focused grid with at least ``budget`` points.

    Every axis starts at one value (the middle of its range, a categorical's default); the
    axis with the fewest values grows by one until the grid reaches the budget or every axis
    holds all its values (a small discrete space, smaller than the budget, is taken whole).
    One more cell does not always add a value to an Int axis (a log one's cells are not
    centred on its integers), so an axis is used up only when it holds every value.
    """
    counts = dict.fromkeys(space.names, 1)

    def sizes() -> dict[str, int]:
        return {name: len(values) for name, values in space.grid(counts).items()}

    def used_up(name: str, size: int) -> bool:
        p = space.param(name)
        if isinstance(p, Categorical):
            return size == len(p.choices)
        return isinstance(p, Int) and size == p.high - p.low + 1

    current = sizes()
    while math.prod(current.values()) < budget:
        growing = [n for n in space.names if not used_up(n, current[n])]
        if not growing:
            break
        counts[min(growing, key=lambda n: current[n])] += 1
        current = sizes()
    return counts


@register("grid_search", settings={})
def grid_search(objective: Objective, space: SearchSpace, seed: int, settings: Settings) -> None:
    budget = objective.remaining_evaluations
    points = list(ParameterGrid(space.grid(grid_counts(space, budget))))
    # The grid may hold a few more points than the budget affords: visit it in a seeded
    # order so that the points left out are a random few, not the tail of one axis.
    order = np.random.default_rng(derive_seed(seed, "grid_search")).permutation(len(points))
    chosen = [points[i] for i in order[:budget]]
    X, y, cv = _dummy_problem()
    search = GridSearchCV(
        ProtocolEstimator(_SharedObjective(objective)),
        # One single-point grid per chosen point keeps GridSearchCV to exactly these, in order.
        param_grid=[{name: [value] for name, value in point.items()} for point in chosen],
        cv=cv,
        **_search_kwargs(),
    )
    search.fit(X, y)
    if len(points) < budget:
        objective.stop_reason = f"grid exhausted: the space holds only {len(points)} grid points"
