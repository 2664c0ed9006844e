"""Runner: cells to records, resume, and refusing to mix different studies."""

from __future__ import annotations

from pathlib import Path

import pytest

from study.errors import UsageError
from study.problems import PROBLEMS, Problem
from study.records import reproducible_part
from study.runner import open_study, pending_cells, run_cell, run_study
from study.settings import ProtocolSettings, StudySpec
from study.store import StudyStore
from tests.fakes import FakeEvaluator


@pytest.fixture
def fake_problem(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(
        PROBLEMS,
        "fake",
        Problem(
            name="fake",
            description="scores without training",
            default_space="lab",
            objective_metric="rmse",
            metric_directions={"rmse": "min"},
            make_evaluator=lambda settings, seed: FakeEvaluator(),
        ),
    )
    return "fake"


def spec(name: str = "s", budget: int = 3, **changes: object) -> StudySpec:
    base = StudySpec(
        name=name,
        problem="fake",
        space="lab",
        strategies=("random_search", "skopt_bayes"),
        seeds=(0, 1),
        budget=budget,
        protocol=ProtocolSettings(max_epochs=10),
    )
    return base.with_overrides(**changes) if changes else base


def test_study_writes_one_complete_record_per_cell(tmp_path: Path, fake_problem: str) -> None:
    store = StudyStore(run_study(spec(), tmp_path).directory)
    for strategy, seed in spec().cells():
        record = store.load_cell(strategy, seed)
        assert record is not None
        assert record.strategy == strategy and record.seed == seed
        assert len(record.evaluations) == 3
        assert record.budget.spent_epochs == 30
        assert record.test.metrics == {"rmse": 0.5}
        assert record.environment.packages["keras"]
        assert record.environment.git_commit
        assert record.spec == spec()
    assert store.read_spec() == spec()


def test_rerun_runs_only_missing_cells(tmp_path: Path, fake_problem: str) -> None:
    store = StudyStore(run_study(spec(), tmp_path).directory)
    kept = store.cell_path("random_search", 0)
    removed = store.cell_path("skopt_bayes", 1)
    before = kept.read_bytes()
    removed.unlink()
    assert pending_cells(store, spec()) == [("skopt_bayes", 1)]
    assert run_study(spec(), tmp_path).finished == [("skopt_bayes", 1)]
    assert kept.read_bytes() == before
    assert removed.exists()


def test_same_seed_gives_the_same_records(tmp_path: Path, fake_problem: str) -> None:
    a = StudyStore(run_study(spec("a"), tmp_path).directory)
    b = StudyStore(run_study(spec("b"), tmp_path).directory)
    for cell in spec().cells():
        ra, rb = a.load_cell(*cell), b.load_cell(*cell)
        assert ra is not None and rb is not None
        assert [e.config for e in ra.evaluations] == [e.config for e in rb.evaluations]
        assert [e.score for e in ra.evaluations] == [e.score for e in rb.evaluations]


def test_a_different_spec_is_refused_and_nothing_is_written(
    tmp_path: Path, fake_problem: str
) -> None:
    store = open_study(tmp_path, spec())
    stored = store.spec_path.read_text()
    with pytest.raises(UsageError, match="--study"):
        open_study(tmp_path, spec(budget=5))
    assert store.spec_path.read_text() == stored


def test_new_strategies_and_seeds_may_join_a_study(tmp_path: Path, fake_problem: str) -> None:
    open_study(tmp_path, spec())
    store = open_study(tmp_path, spec(strategies=("kt_hyperband",), seeds=(2,)))
    merged = store.read_spec()
    assert merged is not None
    assert merged.strategies == ("random_search", "skopt_bayes", "kt_hyperband")
    assert merged.seeds == (0, 1, 2)


def test_a_rerun_repeats_every_learning_curve(tmp_path: Path) -> None:
    branin = StudySpec(
        name="curves",
        problem="branin",
        space="branin",
        strategies=("bohb",),  # prunes: its curves stop where the pruner stopped them
        seeds=(0,),
        budget=8,  # enough trials that every supported Optuna's pruner stops some
        protocol=ProtocolSettings(max_epochs=9),
    )
    first = run_cell(branin, "bohb", 0, open_study(tmp_path / "a", branin))
    second = run_cell(branin, "bohb", 0, open_study(tmp_path / "b", branin))
    assert reproducible_part(first) == reproducible_part(second)
    evaluations = first.evaluations
    assert any(e.status == "pruned" for e in evaluations)
    for e in evaluations:
        assert len(e.epoch_scores) == e.epochs_run == e.charged_epochs
