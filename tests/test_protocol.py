"""The one protocol: fixed test split, paired folds, fold-local preprocessing, shared scoring."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

import study.mlp.protocol as protocol_module
from study.mlp.data import load_california
from study.mlp.protocol import MLPRegressionProtocol
from study.runner import open_study, run_cell
from study.settings import ProtocolSettings, StudySpec
from study.space import MODEL_DEFAULTS, SPACES, Categorical, SearchSpace

TINY = ProtocolSettings(validation="holdout", max_epochs=2, patience=1, max_rows=1000)


def make(seed: int, settings: ProtocolSettings = TINY) -> MLPRegressionProtocol:
    return MLPRegressionProtocol(load_california(), settings, seed)


def test_test_split_is_fixed_and_folds_are_paired_by_seed() -> None:
    a0, b0, a1 = make(0), make(0), make(1)
    np.testing.assert_array_equal(a0.X_test, a1.X_test)  # never depends on the seed
    np.testing.assert_array_equal(a0.folds[0].valid, b0.folds[0].valid)
    assert not np.array_equal(a0.folds[0].valid, a1.folds[0].valid)


def test_kfold_partitions_the_training_split() -> None:
    p = make(3, ProtocolSettings(validation="kfold", folds=3, max_epochs=1, max_rows=600))
    valid = np.concatenate([f.valid for f in p.folds])
    assert sorted(valid.tolist()) == list(range(len(p.y_train)))
    for fold in p.folds:
        assert not set(fold.train) & set(fold.valid)


def test_preprocessing_is_fitted_on_the_training_fold_only(monkeypatch: pytest.MonkeyPatch) -> None:
    fitted: list[int] = []

    class Spy(StandardScaler):
        def fit(self, X, y=None, sample_weight=None):  # type: ignore[no-untyped-def]
            fitted.append(len(X))
            return super().fit(X, y, sample_weight)

    monkeypatch.setattr(protocol_module, "make_preprocessor", lambda kind, seed, n_samples: Spy())
    p = make(0)
    p.evaluate(dict(MODEL_DEFAULTS), epochs=1)
    assert fitted == [len(p.folds[0].train)]


def test_same_config_and_seed_give_the_same_scores() -> None:
    config = dict(MODEL_DEFAULTS, optimizer="adam")
    first = make(5).evaluate(config, epochs=2)
    second = make(5).evaluate(config, epochs=2)
    assert first.status == "ok"
    assert first.fold_metrics == second.fold_metrics
    assert first.score == second.score


def test_diverging_training_is_recorded_with_a_finite_penalty(
    capsys: pytest.CaptureFixture[str],
) -> None:
    p = make(0)
    outcome = p.evaluate(dict(MODEL_DEFAULTS, learning_rate=1e4, n_hidden=3, n_neurons=100), 5)
    assert outcome.status == "diverged"
    assert outcome.epochs_run < 5  # stopped once the loss was not finite, silently
    assert len(outcome.epoch_scores) == outcome.epochs_run  # the curve of what was trained
    assert capsys.readouterr().out == ""
    assert math.isfinite(outcome.score) and outcome.score == p.penalty
    assert outcome.score > 2 * float(np.std(p.y_train))


@pytest.mark.parametrize("engine", ["compiled", "keras"])
def test_the_curve_is_the_validation_objective_of_every_epoch(engine: str) -> None:
    settings = ProtocolSettings(
        validation="holdout", max_epochs=4, patience=4, max_rows=1000, engine=engine
    )
    outcome = make(0, settings).evaluate(dict(MODEL_DEFAULTS, optimizer="adam"), epochs=4)
    assert outcome.status == "ok" and len(outcome.epoch_scores) == outcome.epochs_run == 4
    # Keras restores the best epoch's weights, so the recorded RMSE is the curve's best
    # value (computed in float32 during training, in float64 after it).
    assert min(outcome.epoch_scores) == pytest.approx(outcome.metrics["rmse"], rel=1e-4)


def test_quantile_preprocessing_option_trains() -> None:
    p = make(0, ProtocolSettings(max_epochs=2, patience=1, max_rows=1000, preprocessing="quantile"))
    outcome = p.evaluate(dict(MODEL_DEFAULTS, optimizer="adam"), epochs=2)
    assert outcome.status == "ok" and 0 < outcome.metrics["rmse"] < 3


def test_every_strategy_path_scores_a_config_identically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A space pinned to one config: whatever library proposes it, the protocol scores it alike."""
    pinned_config = dict(MODEL_DEFAULTS, optimizer="adam", n_hidden=2, n_neurons=16)
    pinned = SearchSpace(
        "pinned",
        tuple(Categorical(name, (pinned_config[name],)) for name in SPACES["lab"].names),
        MODEL_DEFAULTS,
    )
    monkeypatch.setitem(SPACES, "pinned", pinned)
    spec = StudySpec(
        name="pinned",
        problem="california_mlp",
        space="pinned",
        strategies=("random_search", "skopt_bayes", "kt_hyperband"),
        seeds=(7,),
        budget=2,
        protocol=TINY,
    )
    directory = open_study(tmp_path, spec)
    expected = make(7).evaluate(pinned_config, epochs=TINY.max_epochs).score
    for strategy in spec.strategies:
        record = run_cell(spec, strategy, 7, directory)
        full = [e for e in record.evaluations if e.fidelity_epochs == TINY.max_epochs]
        assert full, f"{strategy} made no full-fidelity evaluation"
        for evaluation in full:
            assert evaluation.config == pinned_config
            assert evaluation.score == pytest.approx(expected, rel=0, abs=0), strategy
