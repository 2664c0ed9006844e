"""Progress per evaluation: the objective's hook, events from worker processes, and what
the CLI and the pytest benchmarks show. The problem is Branin (no training), so that cells
take a fraction of a second and Hyperband's partial evaluations count fractionally."""

from __future__ import annotations

import io
import itertools
from dataclasses import replace
from pathlib import Path

import pytest

from study.cell import compute_cell
from study.events import CellFailed, CellFinished, CellStarted, EvaluationDone, Event
from study.execution import LocalPool
from study.ledger import Evaluation, Objective
from study.progress import CellLine, StudyProgress
from study.records import CellRecord, reproducible_part
from study.runner import run_study
from study.settings import ProtocolSettings, StudySpec
from study.space import SPACES
from tests.fakes import FakeEvaluator, toy_record

VALUES = {"n_hidden": 1, "n_neurons": 50, "learning_rate": 1e-3, "optimizer": "adam"}
BRANIN = StudySpec(
    name="branin-progress",
    problem="branin",
    space="branin",
    strategies=("kt_hyperband", "optuna_tpe"),
    seeds=(0,),
    budget=4,
    protocol=ProtocolSettings(max_epochs=9),
)


def test_the_hook_hears_every_recorded_evaluation_with_the_budget_used_so_far() -> None:
    heard: list[tuple[Evaluation, Evaluation | None]] = []
    evaluator = FakeEvaluator(fail_when="sgd")
    objective = Objective(
        evaluator, SPACES["lab"], budget=3, on_evaluation=lambda *a: heard.append(a)
    )
    objective.evaluate(VALUES)  # 10 epochs, score 0.6
    objective.evaluate(VALUES | {"optimizer": "sgd"}, epochs=5)  # failed: not an incumbent
    objective.evaluate(VALUES | {"n_neurons": 20}, epochs=5)  # score 0.4: the new incumbent
    objective.evaluate(VALUES | {"n_neurons": 90}, epochs=8)
    with pytest.raises(BaseException, match="epochs asked"):
        objective.evaluate(VALUES, epochs=3)  # refused: no evaluation, so no call
    assert [e for e, _ in heard] == objective.evaluations
    assert [e.cumulative_cost for e, _ in heard] == pytest.approx([1.0, 1.5, 2.0, 2.8])
    assert [e.status for e, _ in heard] == ["ok", "failed", "ok", "ok"]
    assert [best.index for _, best in heard if best is not None] == [0, 0, 2, 2]
    assert heard[-1][1] == objective.incumbent()


def test_a_cell_reports_each_evaluation_and_its_record_is_unchanged() -> None:
    fractions = {}
    for strategy in BRANIN.strategies:
        heard: list[EvaluationDone] = []
        with_hook = compute_cell(BRANIN, strategy, 0, heard.append).record
        without = compute_cell(BRANIN, strategy, 0).record
        assert reproducible_part(with_hook) == reproducible_part(without)
        evaluations = with_hook.evaluations
        assert [e.index for e in heard] == list(range(len(evaluations)))
        assert [e.used for e in heard] == [e.cumulative_cost for e in evaluations]
        assert all(a.used < b.used for a, b in itertools.pairwise(heard))
        assert {(e.cell, e.budget, e.metric) for e in heard} == {((strategy, 0), 4, "value")}
        assert heard[-1].best == with_hook.validation()
        fractions[strategy] = any(e.used != int(e.used) for e in heard)
    # Hyperband trains most configurations for a fraction of the epochs; TPE trains fully.
    assert fractions == {"kt_hyperband": True, "optuna_tpe": False}


def test_evaluations_arrive_from_spawned_worker_processes(tmp_path: Path) -> None:
    events: list[Event] = []
    result = run_study(BRANIN, tmp_path, LocalPool(workers=2, threads=1), on_event=events.append)
    assert sorted(result.finished) == sorted(BRANIN.cells()) and not result.failed
    finished = {e.cell: e.record for e in events if isinstance(e, CellFinished)}
    for cell, record in finished.items():
        heard = [e for e in events if isinstance(e, EvaluationDone) and e.cell == cell]
        # Every evaluation, in order, before the cell's result.
        assert [e.index for e in heard] == list(range(len(record.evaluations)))
        assert [(e.used, e.status) for e in heard] == [
            (r.cumulative_cost, r.status) for r in record.evaluations
        ]
        assert events.index(heard[-1]) < next(
            i for i, e in enumerate(events) if isinstance(e, CellFinished) and e.cell == cell
        )
        started = next(
            i for i, e in enumerate(events) if isinstance(e, CellStarted) and e.cell == cell
        )
        assert events.index(heard[0]) > started  # the listener hears of the cell first


def _done(cell: tuple[str, int], index: int, used: float, best: float | None) -> EvaluationDone:
    return EvaluationDone(cell, index, used, 2, "ok", "rmse", best)


def _record(strategy: str, seed: int, spent_epochs: int) -> CellRecord:
    """Two evaluations, test rmse 0.5, 42 s, ``spent_epochs`` of 10-epoch evaluations."""
    record = toy_record(strategy, seed, [0.6, 0.4])
    return replace(
        record,
        test=replace(record.test, metrics={"rmse": 0.5}),
        timings=replace(record.timings, wall_seconds=42.0),
        budget=replace(record.budget, spent_epochs=spent_epochs, max_epochs=10),
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_quiet_progress_prints_cells_and_a_periodic_summary_not_every_evaluation() -> None:
    out, clock = io.StringIO(), Clock()
    cells = [("skopt_bayes", 0), ("random_search", 0)]
    progress = StudyProgress(cells, budget=2, quiet=True, file=out, clock=clock)
    progress(CellStarted(cells[0], "worker pid 7", 7))
    progress(_done(cells[0], 0, 0.5, 0.61))
    clock.now += 30
    progress(_done(cells[0], 1, 1.0, 0.5412))
    assert out.getvalue() == ""  # nothing per evaluation
    clock.now += 31
    progress(_done(cells[0], 2, 1.5, 0.5412))
    assert out.getvalue() == (
        "progress: 0/2 cells, 1.5/4 evaluations (38%), 61 s elapsed, ETA 2 min; "
        "running skopt_bayes seed 0 (1.5/2, best val rmse 0.5412)\n"
    )
    progress(CellFinished(cells[0], _record("skopt_bayes", 0, 20)))
    progress(_done(cells[0], 3, 2.0, 0.5))  # late, after its cell finished: ignored
    progress(CellStarted(cells[1], "worker pid 8", 8))
    progress(_done(cells[1], 0, 1.0, 0.7))
    progress(CellFailed(cells[1], "worker process 8 died mid-cell", retrying=True))
    assert progress.budget_used == 2.0  # the failed attempt's spend is dropped
    lines = out.getvalue().splitlines()
    assert lines[1:] == [
        "[1/2] skopt_bayes seed 0: 2 evaluations, test rmse 0.5000, 42 s",
        "random_search seed 0 failed: worker process 8 died mid-cell; retrying",
    ]


def test_progress_bars_show_cells_budget_and_the_running_cells() -> None:
    out = io.StringIO()
    cells = [("kt_hyperband", 0), ("optuna_tpe", 0)]
    with StudyProgress(cells, budget=2, file=out) as progress:
        progress(CellStarted(cells[0], "this process", 1))
        progress(CellStarted(cells[1], "this process", 1))
        progress(_done(cells[0], 0, 0.3, 0.71))
        progress(_done(cells[0], 1, 0.6, 0.5412))
        assert progress.budget_bar is not None and progress.budget_bar.n == pytest.approx(0.6)
        assert "running kt_hyperband seed 0 (0.6/2, best val rmse 0.5412), optuna_tpe " in (
            out.getvalue()
        )
        progress(CellFinished(cells[0], _record("kt_hyperband", 0, 19)))
    text = out.getvalue()
    assert "[1/2] kt_hyperband seed 0: 2 evaluations, test rmse 0.5000, 42 s" in text
    assert "1/2 [" in text and "1.9/4 evaluations [" in text
    assert "optuna_tpe seed 0 (starting)" in text


def test_the_condensed_cell_line_rewrites_live_and_is_sparing_otherwise() -> None:
    cell = ("skopt_bayes", 0)
    clock = Clock()
    written: list[tuple[str, bool]] = []
    live = CellLine(cell, lambda line, rewrite: written.append((line, rewrite)), True, clock)
    clock.now += 41
    live(EvaluationDone(cell, 6, 7.0, 12, "ok", "rmse", 0.54118))
    assert written == [
        ("skopt_bayes seed 0: 7/12 evaluations, best val rmse 0.5412, 41 s elapsed, ETA 29 s", True)
    ]

    written.clear()
    logged = CellLine(cell, lambda line, rewrite: written.append((line, rewrite)), False, clock)
    for index in range(12):
        logged(EvaluationDone(cell, index, index + 1.0, 12, "ok", "rmse", None))
    # The first evaluation, then each quarter of the budget.
    assert [line.split(":")[1].split(",")[0] for line, _ in written] == [
        " 1/12 evaluations",
        " 3/12 evaluations",
        " 6/12 evaluations",
        " 9/12 evaluations",
        " 12/12 evaluations",
    ]
    assert not any(rewrite for _, rewrite in written)
    assert "no score yet" in written[0][0]
