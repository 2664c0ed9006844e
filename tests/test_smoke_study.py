"""End to end through the entry points users run: the CLI study and the pytest benchmarks."""

from __future__ import annotations

from pathlib import Path

from study.profiles import get_profile
from study.store import StudyStore
from tests.conftest import run_module


def test_smoke_study_records_every_cell_within_budget(smoke_study: Path) -> None:
    spec = get_profile("smoke")
    records, skipped = StudyStore(smoke_study).records()
    assert len(records) == len(spec.cells()) and not skipped
    for record in records:
        budget = record.budget
        assert budget.spent_epochs <= budget.budget_epochs
        assert record.evaluations and record.incumbent is not None
        assert all(e.status != "failed" for e in record.evaluations)
        assert record.test.status == "ok"
        assert 0 < record.test.metrics["rmse"] < 2


def test_rerunning_a_finished_study_runs_nothing(smoke_study: Path) -> None:
    done = run_module(
        "study", "run", "--profile", "smoke", "--results", str(smoke_study.parent), "--quiet"
    )
    assert done.returncode == 0, done.stderr
    assert f"{len(get_profile('smoke').cells())} already recorded" in done.stdout


def test_benchmark_keyword_selects_only_matching_strategies(tmp_path: Path) -> None:
    done = run_module(
        "pytest", "benchmarks/", "-k", "skopt", "-q",
        "--tunebench-profile", "smoke", "--tunebench-results", str(tmp_path),
        "--benchmark-json", str(tmp_path / "bench.json"), "-p", "no:cacheprovider",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    records, _ = StudyStore(tmp_path / "smoke").records()
    assert sorted(r.cell for r in records) == [("skopt_bayes", 0), ("skopt_bayes", 1)]
    assert '"test_rmse"' in (tmp_path / "bench.json").read_text()
