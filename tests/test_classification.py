"""Binary classification: stratified splits, metrics, directions, every strategy, the report."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.load import load_study
from analysis.report import analyse, report
from analysis.tables import evaluations_table
from study.mlp.classification import (
    MLPClassificationProtocol,
    as_score,
    classification_metrics,
)
from study.mlp.data import Dataset
from study.problems import CLASSIFICATION_METRICS, get_problem
from study.records import CellRecord
from study.settings import ProtocolSettings
from study.store import StudyStore
from study.strategies import STRATEGIES


def _records(directory: Path) -> dict[str, CellRecord]:
    records, skipped = StudyStore(directory).records()
    assert not skipped
    return {r.strategy: r for r in records}


def test_metrics_match_hand_computed_values() -> None:
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.6, 0.4, 0.9])
    metrics = classification_metrics(y, p)
    # Predicted at 0.5: [0, 1, 0, 1]: one true positive, one false positive, one miss.
    assert metrics["accuracy"] == pytest.approx(0.5)
    assert metrics["f1"] == pytest.approx(0.5)
    # Positives (0.4, 0.9) outrank negatives (0.1, 0.6) in 3 of 4 pairs.
    assert metrics["roc_auc"] == pytest.approx(0.75)
    assert metrics["log_loss"] == pytest.approx(-(math.log(0.9) + math.log(0.4)) / 2)


def test_auc_undefined_on_one_class_and_scores_are_losses() -> None:
    metrics = classification_metrics(np.array([1, 1, 1]), np.array([0.2, 0.7, 0.9]))
    assert math.isnan(metrics["roc_auc"])
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    assert as_score("roc_auc", 0.93) == pytest.approx(0.07)
    assert as_score("log_loss", 0.21) == pytest.approx(0.21)


def test_problems_declare_objective_and_directions_once() -> None:
    default = get_problem("breast_cancer_mlp")
    auc = get_problem("breast_cancer_auc_mlp")
    assert default.objective_metric == "log_loss"
    assert auc.objective_metric == "roc_auc"
    assert default.default_space == auc.default_space == "lab"
    for problem in (default, auc):
        assert problem.metric_directions == {
            "log_loss": "min",
            "roc_auc": "max",
            "accuracy": "max",
            "f1": "max",
        }


@pytest.mark.parametrize("validation", ["holdout", "kfold"])
def test_test_split_and_folds_are_stratified(validation: str) -> None:
    settings = ProtocolSettings(validation=validation, folds=3)
    evaluator = get_problem("breast_cancer_mlp").make_evaluator(settings, 3)
    assert isinstance(evaluator, MLPClassificationProtocol)
    assert evaluator.X_train.shape[1] == 30
    assert len(evaluator.y_train) + len(evaluator.y_test) == 569
    overall = (len(evaluator.y_train) * evaluator.y_train.mean() + evaluator.y_test.sum()) / 569
    assert overall == pytest.approx(212 / 569)  # malignant is the positive class
    # Stratified: each part's count of positives is within one row of its share.
    assert abs(evaluator.y_test.sum() - overall * len(evaluator.y_test)) <= 1
    for train, valid in evaluator.folds:
        assert abs(evaluator.y_train[valid].sum() - evaluator.y_train.mean() * len(valid)) <= 1
        assert not set(train) & set(valid)
    if validation == "kfold":
        covered = np.sort(np.concatenate([valid for _, valid in evaluator.folds]))
        assert np.array_equal(covered, np.arange(len(evaluator.y_train)))


def test_subsampling_keeps_the_class_balance() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(1000) < 0.1).astype(float)
    dataset = Dataset(rng.normal(size=(1000, 4)), y, ("a", "b", "c", "d"), "rare")
    protocol = MLPClassificationProtocol(dataset, ProtocolSettings(max_rows=200), 0)
    kept = np.concatenate([protocol.y_train, protocol.y_test])
    assert len(kept) == 200 and kept.sum() == pytest.approx(y.mean() * 200, abs=1)


def test_log_loss_objective_scores_the_log_loss() -> None:
    settings = ProtocolSettings(max_epochs=2, patience=1, max_rows=150)
    evaluator = get_problem("breast_cancer_mlp").make_evaluator(settings, 0)
    config = {
        "n_hidden": 1,
        "n_neurons": 8,
        "learning_rate": 1e-2,
        "optimizer": "adam",
        "activation": "relu",
        "batch_size": 32,
        "dropout": 0.0,
        "l2": 0.0,
    }
    seen: list[tuple[int, float]] = []
    outcome = evaluator.evaluate(config, 2, report=lambda e, v: seen.append((e, v)) or False)
    assert outcome.status == "ok"
    assert outcome.score == pytest.approx(outcome.metrics["log_loss"])
    assert set(outcome.metrics) == set(CLASSIFICATION_METRICS)
    assert [e for e, _ in seen] == [1, 2] and all(v > 0 for _, v in seen)
    assert outcome.epoch_scores == [v for _, v in seen]


# --- every strategy on the classification problem (one shared tiny study) -----------------


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_every_strategy_runs_unchanged(classification_study: Path, strategy: str) -> None:
    record = _records(classification_study)[strategy]
    assert record.objective_metric == "roc_auc"
    assert record.metric_directions["roc_auc"] == "max"
    budget = record.budget
    assert budget.spent_epochs <= budget.budget_epochs
    assert budget.overshoot_epochs == 0
    assert record.evaluations
    for e in record.evaluations:
        # The lab space holds no config Keras cannot train: "failed" would be a harness bug.
        assert e.status in ("ok", "pruned", "diverged"), e.error
        assert math.isfinite(e.score)
        if e.status in ("ok", "pruned") and math.isfinite(e.metrics["roc_auc"]):
            # What the strategy minimised is 1 − AUC: the maximised metric as a loss.
            assert e.score == pytest.approx(1.0 - e.metrics["roc_auc"])
    assert record.test.status == "ok"
    assert set(record.test.metrics) == set(CLASSIFICATION_METRICS)
    # Scored on the stratified test split (a few epochs of SGD may not beat chance).
    for name in CLASSIFICATION_METRICS:
        assert record.test.metrics[name] >= 0.0
    assert record.test.metrics["accuracy"] <= 1.0


def test_report_reads_directions_from_the_records(
    classification_study: Path, tmp_path: Path
) -> None:
    import shutil

    study_dir = tmp_path / classification_study.name
    shutil.copytree(classification_study, study_dir, ignore=shutil.ignore_patterns("tensorboard"))
    report(study_dir)
    study = load_study(study_dir)
    result = analyse(study)
    # Best-so-far of a maximised metric never decreases.
    for _, cell in evaluations_table(study).groupby(["strategy", "seed"]):
        best = cell["best_so_far"].dropna().to_numpy()
        assert np.all(np.diff(best) >= 0)
    comparison = pd.read_csv(study_dir / "tables" / "comparison.csv")
    # The same table under the lab's name.
    lab = pd.read_csv(study_dir / "tables" / "hyperparameter_tuning_comparison.csv")
    pd.testing.assert_frame_equal(lab, comparison)
    leader = comparison.sort_values("test_roc_auc_median", ascending=False).iloc[0]
    text = (study_dir / "report.md").read_text()
    assert "objective: validation roc_auc (higher is better)" in text
    assert "log_loss (lower is better)" in text
    assert "accuracy (higher is better)" in text and "f1 (higher is better)" in text
    assert f"Best median test roc_auc: **{leader['strategy']}**" in text
    assert result.comparison["strategy"].tolist() == study.strategies
    assert "ROC-AUC" in _figure_labels(result)


def _figure_labels(result) -> str:  # type: ignore[no-untyped-def]
    from analysis.report import figure_set

    figure = figure_set(result)["time_vs_performance"]()
    return " ".join(ax.get_ylabel() for ax in figure.axes)
