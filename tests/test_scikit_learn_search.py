"""scikit-learn's searches over a classifier: nothing is chosen by estimator type.

On scikit-learn 1.7 and later scikeras' wrappers report no estimator type, so any helper that
decides by ``is_classifier`` (``check_cv`` stratifies only for classifiers) would silently
treat ``KerasClassifier`` as something else. These tests run the searches end to end on the
classification problem with whatever scikit-learn is installed (CI: the newest and the
oldest allowed) and look at what every ``KerasClassifier`` was actually fitted on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scikeras.wrappers import KerasClassifier

from study.ledger import Objective
from study.problems import get_problem
from study.settings import ProtocolSettings
from study.space import get_space
from study.strategies import get_strategy

FOLDS = 3
BUDGET = 2


@pytest.mark.parametrize("strategy", ["random_search", "grid_search"])
def test_search_over_a_classifier_fits_every_fold_stratified(
    strategy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = ProtocolSettings(
        validation="kfold", folds=FOLDS, max_epochs=1, patience=1, max_rows=150
    )
    evaluator = get_problem("breast_cancer_mlp").make_evaluator(settings, 0)
    fitted_targets: list[np.ndarray] = []
    fit = KerasClassifier.fit

    def recording_fit(self: KerasClassifier, X: Any, y: Any, **kwargs: Any) -> KerasClassifier:
        fitted_targets.append(np.asarray(y))
        return fit(self, X, y, **kwargs)

    monkeypatch.setattr(KerasClassifier, "fit", recording_fit)
    space = get_space("lab")
    objective = Objective(evaluator, space, BUDGET)
    get_strategy(strategy)(objective, space, 0)

    assert [e.status for e in objective.evaluations] == ["ok"] * BUDGET
    assert len(fitted_targets) == BUDGET * FOLDS
    share = float(np.mean(evaluator.y_train))
    for y in fitted_targets:
        # Every training fold keeps the class balance to within one row (StratifiedKFold).
        assert set(np.unique(y)) == {0, 1}
        assert abs(float(np.sum(y)) - share * len(y)) <= 1
    # The folds are the protocol's: each evaluation trains on the same three row sets.
    sizes = [len(y) for y in fitted_targets]
    assert sizes[:FOLDS] == sizes[FOLDS:]
