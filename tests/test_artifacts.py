"""Saved models beside the records, the `best` command and its export, TensorBoard runs."""

from __future__ import annotations

import dataclasses
import json
import math
import pickle
import shutil
import statistics
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from study.artifacts import sha256_file
from study.best import best_report
from study.cell import ComputedCell, compute_cell
from study.cli import main
from study.problems import get_problem
from study.records import Artifacts
from study.runner import check_study, open_study, write_cell
from study.settings import ProtocolSettings, StudySpec
from study.store import StudyStore
from study.strategies import STRATEGIES
from tests.conftest import run_command

REGRESSION = StudySpec(
    name="saved",
    problem="california_mlp",
    space="lab",
    strategies=("baseline",),
    seeds=(2,),
    budget=1,
    protocol=ProtocolSettings(max_epochs=2, patience=1, max_rows=400),
    save_models=True,
)


@pytest.fixture(scope="module")
def computed() -> ComputedCell:
    """One regression cell computed as a worker computes it: a record, nothing written."""
    return compute_cell(REGRESSION, "baseline", 2)


def test_worker_record_carries_the_model_to_the_driver(
    computed: ComputedCell, tmp_path: Path
) -> None:
    # Through pickle, as from a worker process or a Dask machine that cannot see the disk.
    received = pickle.loads(pickle.dumps(computed))
    assert isinstance(received.model, bytes)
    assert not list(tmp_path.iterdir())
    store = open_study(tmp_path, REGRESSION)
    written = write_cell(store, REGRESSION, received)
    path = store.cell_path("baseline", 2)
    model_file = store.model_path("baseline", 2)
    assert store.read(path).to_json() == written.to_json()
    entry = written.artifacts.model
    assert entry is not None
    assert entry.file == model_file.name == "baseline-seed2.keras"
    assert entry.sha256 == sha256_file(model_file)
    assert entry.size_bytes == model_file.stat().st_size
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, model_file.name]


def test_saved_model_loads_safely_and_reproduces_the_test_score(
    computed: ComputedCell, tmp_path: Path
) -> None:
    store = open_study(tmp_path, REGRESSION)
    write_cell(store, REGRESSION, computed)
    record = store.load_cell("baseline", 2)
    assert record is not None and record.incumbent is not None
    model = keras.models.load_model(store.model_path("baseline", 2), safe_mode=True)
    # Raw feature rows in: the standardisation is part of the saved model.
    evaluator = get_problem("california_mlp").make_evaluator(REGRESSION.protocol, 2)
    predicted = model.predict(evaluator.X_test.astype(np.float32), verbose=0).reshape(-1)
    rmse = math.sqrt(float(np.mean((predicted - evaluator.y_test) ** 2)))
    assert rmse == pytest.approx(record.test.metrics["rmse"], rel=1e-4)
    assert record.incumbent.config == record.evaluations[0].config


def test_models_are_not_saved_unless_asked(tmp_path: Path) -> None:
    spec = dataclasses.replace(REGRESSION, save_models=False)
    computed = compute_cell(spec, "baseline", 2)
    assert computed.model is None and computed.record.artifacts == Artifacts(model=None)
    store = open_study(tmp_path, spec)
    write_cell(store, spec, computed)
    assert not store.model_path("baseline", 2).exists()
    code = main(["best", str(store), "--export", str(tmp_path / "x.keras")])
    assert code == 2  # a clear error: no model was saved


def test_output_settings_leave_the_fingerprint_alone(tmp_path: Path) -> None:
    both = dataclasses.replace(REGRESSION, save_models=True, tensorboard=True)
    neither = dataclasses.replace(REGRESSION, save_models=False, tensorboard=False)
    assert both.fingerprint() == neither.fingerprint()
    # A study whose spec.json predates these settings is joined, not refused.
    old = neither.to_dict()
    del old["save_models"], old["tensorboard"]
    assert StudySpec.from_dict(old) == neither
    StudyStore.of(tmp_path, neither).directory.mkdir()
    StudyStore.of(tmp_path, neither).spec_path.write_text(json.dumps(old))
    assert check_study(tmp_path, both).save_models is True


def test_full_profile_saves_models_and_flags_override(tmp_path: Path) -> None:
    from study.cli import build_parser, spec_from_args
    from study.profiles import get_profile

    assert get_profile("full").save_models and not get_profile("quick").save_models
    parsed = build_parser().parse_args(["run", "--profile", "full", "--no-save-models"])
    assert spec_from_args(parsed).save_models is False
    parsed = build_parser().parse_args(["run", "--profile", "smoke", "--tensorboard"])
    assert spec_from_args(parsed).tensorboard is True


# --- best and export, on the shared classification study (ROC-AUC: higher is better) -----


def test_best_names_each_strategy_and_the_winner(
    classification_study: Path, tmp_path: Path
) -> None:
    done = run_command(
        [
            sys.executable,
            "-m",
            "study",
            "best",
            str(classification_study),
            "--export",
            str(tmp_path),
        ]
    )
    assert done.returncode == 0, done.stderr
    records, skipped = StudyStore(classification_study).records()
    assert not skipped
    medians = {
        s: statistics.median(r.test.metrics["roc_auc"] for r in records if r.strategy == s)
        for s in STRATEGIES
    }
    winner = min(sorted(medians), key=lambda s: -medians[s])  # higher is better
    assert "objective roc_auc (higher is better)" in done.stdout
    assert f"winner: {winner} (median test roc_auc {medians[winner]:.4g}" in done.stdout
    for strategy in STRATEGIES:
        assert any(line.startswith(strategy + " ") for line in done.stdout.splitlines())
    report = best_report(classification_study)
    assert report.winner.strategy == winner
    assert json.dumps(report.winner.config, sort_keys=True) in done.stdout
    exported = tmp_path / f"{winner}-seed0.keras"
    assert exported.read_bytes() == report.winner.model.read_bytes()  # type: ignore[union-attr]
    model = keras.models.load_model(exported, safe_mode=True)
    assert model.output_shape == (None, 1)


def test_export_refuses_a_damaged_model(classification_study: Path, tmp_path: Path) -> None:
    study = tmp_path / "copy"
    shutil.copytree(classification_study, study, ignore=shutil.ignore_patterns("tensorboard"))
    winner = best_report(study).winner
    assert winner.model is not None
    winner.model.write_bytes(b"truncated")
    assert main(["best", str(study), "--export", str(tmp_path / "w.keras")]) == 2
    assert not (tmp_path / "w.keras").exists()


# --- TensorBoard, read back from the event files --------------------------------------------


def _events(run: Path) -> tuple[dict, dict]:
    """A run's hyperparameters and its scalar values, as TensorBoard reads them."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import metadata as hp_metadata
    from tensorboard.plugins.hparams import plugin_data_pb2

    accumulator = EventAccumulator(str(run), size_guidance={"tensors": 0, "scalars": 0})
    accumulator.Reload()
    content = accumulator.SummaryMetadata(hp_metadata.SESSION_START_INFO_TAG).plugin_data.content
    info = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    hparams = {
        name: value.WhichOneof("kind") and getattr(value, value.WhichOneof("kind"))
        for name, value in info.hparams.items()
    }
    scalars = {tag: accumulator.Scalars(tag)[-1] for tag in accumulator.Tags()["scalars"]}
    return hparams, scalars


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_tensorboard_has_one_run_per_evaluation(classification_study: Path, strategy: str) -> None:
    store = StudyStore(classification_study)
    record = store.load_cell(strategy, 0)
    assert record is not None
    cell_dir = store.tensorboard_cell_dir(strategy, 0)
    runs = sorted(p for p in cell_dir.iterdir() if p.is_dir())
    assert runs == [store.tensorboard_run_dir(strategy, 0, e.index) for e in record.evaluations]
    for run, e in zip(runs, record.evaluations, strict=True):
        hparams, scalars = _events(run)
        for name in ("n_hidden", "n_neurons", "learning_rate", "optimizer"):
            assert hparams[name] == pytest.approx(e.config[name])
        assert hparams["strategy"] == strategy and hparams["seed"] == 0
        assert hparams["fidelity_epochs"] == e.fidelity_epochs
        assert hparams["status"] == e.status
        for metric, value in e.metrics.items():
            if math.isfinite(value):
                assert scalars[f"validation/{metric}"].value == pytest.approx(value, rel=1e-6)
                assert scalars[f"validation/{metric}"].step == e.epochs_run
        assert scalars["score"].value == pytest.approx(e.score, rel=1e-6)


def test_tensorboard_experiment_lists_every_column(classification_study: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import metadata as hp_metadata
    from tensorboard.plugins.hparams import plugin_data_pb2

    accumulator = EventAccumulator(str(classification_study / "tensorboard"))
    accumulator.Reload()
    content = accumulator.SummaryMetadata(hp_metadata.EXPERIMENT_TAG).plugin_data.content
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content).experiment
    columns = {h.name for h in experiment.hparam_infos}
    assert {"n_hidden", "n_neurons", "learning_rate", "optimizer", "strategy", "seed"} <= columns
    metrics = {m.name.tag: m.description for m in experiment.metric_infos}
    assert metrics["validation/roc_auc"] == "higher is better"
    assert metrics["validation/log_loss"] == "lower is better"
