"""The runner: a spec becomes cells (strategy, seed); each finished cell becomes a record.

Cells already recorded are skipped, so an interrupted study resumes where it stopped.
Computing a record (``compute_cell``, anywhere: this process, a worker, a Dask cluster)
is separate from writing it: only the driver process writes, under the study's lock.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout
from threadpoolctl import threadpool_limits

from study.artifacts import PENDING_MODEL, ModelKeeper, model_path, write_pending_model
from study.errors import UsageError
from study.ledger import BudgetExhausted, Objective
from study.problems import get_problem
from study.records import (
    CorruptRecord,
    CorruptRecordWarning,
    cell_filename,
    environment,
    read_record,
    write_json_atomic,
    write_record,
)
from study.settings import StudySpec, spec_differences
from study.space import get_space
from study.strategies import get_strategy

if TYPE_CHECKING:
    from study.events import EvaluationDone, Event
    from study.execution import Executor
    from study.ledger import Evaluation

SPEC_FILE = "spec.json"
CELLS_DIR = "cells"
LOCK_FILE = ".lock"


def validate(spec: StudySpec) -> None:
    """Resolve every name in the spec now, so a typo fails before any training."""
    get_problem(spec.problem)
    get_space(spec.space)
    for name in spec.strategies:
        get_strategy(name)


def preflight(spec: StudySpec) -> None:
    """Build one evaluator here, so missing or damaged data fails once, before any cell."""
    get_problem(spec.problem).make_evaluator(spec.protocol, spec.seeds[0])


def study_dir(results_root: Path, spec: StudySpec) -> Path:
    return results_root / spec.name


def check_study(results_root: Path, spec: StudySpec) -> StudySpec:
    """The spec this study directory will hold; refuses a mismatch. Reads, never writes.

    Cells are comparable only under the same problem, space declaration, budget, protocol
    and strategy settings (``spec_differences``); new strategies or seeds may join.
    """
    validate(spec)
    directory = study_dir(results_root, spec)
    spec_path = directory / SPEC_FILE
    if not spec_path.exists():
        if results_root.exists() and not results_root.is_dir():
            raise UsageError(f"results root {results_root} is not a directory")
        return spec
    try:
        stored = StudySpec.from_dict(json.loads(spec_path.read_text()))
    except (json.JSONDecodeError, OSError, UsageError) as exc:
        raise UsageError(f"{spec_path} is unreadable ({exc}); move it aside") from None
    changes = spec_differences(stored, spec)
    if changes:
        raise UsageError(
            f"{directory} holds a study with a different spec ({'; '.join(changes)}); "
            f"pass --study NEW_NAME to start a new one"
        )
    strategies = tuple(dict.fromkeys((*stored.strategies, *spec.strategies)))
    seeds = tuple(sorted({*stored.seeds, *spec.seeds}))
    return replace(spec, strategies=strategies, seeds=seeds)


def open_study(results_root: Path, spec: StudySpec) -> Path:
    """Create the study directory, or join an existing one that belongs to this spec.

    Every check runs before anything is written, so a refused spec leaves no trace.
    """
    merged = check_study(results_root, spec)
    directory = study_dir(results_root, spec)
    write_json_atomic(directory / SPEC_FILE, merged.to_dict())
    (directory / CELLS_DIR).mkdir(parents=True, exist_ok=True)
    return directory


@contextmanager
def locked_study(results_root: Path, spec: StudySpec) -> Iterator[Path]:
    """``open_study`` under an exclusive lock held until the block ends.

    Two runs writing into one study directory at once are refused, never interleaved. The
    lock is an ``flock`` on ``.lock``: the kernel drops it when its holder dies, so a killed
    run never leaves a stale lock behind.
    """
    check_study(results_root, spec)
    directory = study_dir(results_root, spec)
    directory.mkdir(parents=True, exist_ok=True)
    lock = FileLock(directory / LOCK_FILE, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise UsageError(
            f"{directory} is in use by another run of this study; wait for it to finish "
            f"(or pass --study NEW_NAME)"
        ) from None
    try:
        yield open_study(results_root, spec)
    finally:
        lock.release()


def cell_path(directory: Path, strategy: str, seed: int) -> Path:
    return directory / CELLS_DIR / cell_filename(strategy, seed)


def load_finished(directory: Path, strategy: str, seed: int) -> dict[str, Any] | None:
    path = cell_path(directory, strategy, seed)
    if not path.exists():
        return None
    try:
        return read_record(path)
    except CorruptRecord as exc:
        aside = path.with_name(f"{path.name}.corrupt-{time.time_ns()}")
        path.rename(aside)
        warnings.warn(
            f"{exc}; moved to {aside.name}, the cell will run again",
            CorruptRecordWarning,
            stacklevel=2,
        )
        return None


def pending_cells(directory: Path, spec: StudySpec) -> list[tuple[str, int]]:
    return [c for c in spec.cells() if load_finished(directory, *c) is None]


def progress_hook(
    cell: tuple[str, int], budget: int, metric: str, sink: Callable[[EvaluationDone], None]
) -> Callable[[Evaluation, Evaluation | None], None]:
    """The objective's hook that tells ``sink`` about every evaluation of ``cell``."""
    from study.events import EvaluationDone

    def report(evaluation: Evaluation, best: Evaluation | None) -> None:
        sink(
            EvaluationDone(
                cell=cell,
                index=evaluation.index,
                used=evaluation.cumulative_cost,
                budget=budget,
                status=evaluation.status,
                metric=metric,
                best=None if best is None else best.metrics.get(metric, best.score),
            )
        )

    return report


def compute_cell(
    spec: StudySpec,
    strategy_name: str,
    seed: int,
    on_progress: Callable[[EvaluationDone], None] | None = None,
) -> dict[str, Any]:
    """Run one cell to completion and return its record (plain data); writes nothing.

    ``on_progress`` hears of every evaluation as it is recorded; the record is the same
    with or without it.
    """
    problem = get_problem(spec.problem)
    space = get_space(spec.space)
    strategy = get_strategy(strategy_name)
    evaluator = problem.make_evaluator(spec.protocol, seed)
    hook = None
    if on_progress is not None:
        cell = (strategy_name, seed)
        hook = progress_hook(cell, spec.budget, problem.objective_metric, on_progress)
    objective = Objective(evaluator, space, spec.budget, on_evaluation=hook)

    started = time.perf_counter()
    try:
        # The strategies' own models (Gaussian processes over tens of points) are far too
        # small for threaded BLAS: on a busy machine its threads only wait for each other,
        # inflating the strategy overhead that records compare. Keras trains on its own pools.
        with threadpool_limits(limits=1, user_api="blas"):
            strategy(objective, space, seed)
        objective.stop_reason = objective.stop_reason or "strategy finished"
    except BudgetExhausted:
        objective.stop_reason = "budget exhausted"
    search_seconds = time.perf_counter() - started
    trailing = objective.trailing_overhead() if objective.evaluations else 0.0

    incumbent = objective.incumbent()
    keeper = ModelKeeper() if spec.save_models else None
    if incumbent is not None:
        epochs = incumbent.best_epoch
        final_epochs = round(epochs) if math.isfinite(epochs) else incumbent.fidelity_epochs
        if keeper is None:
            test = evaluator.test(incumbent.config, final_epochs)
        else:
            test = evaluator.test(incumbent.config, final_epochs, keep_model=keeper)
        test_dict = {
            "metrics": test.metrics,
            "epochs": test.epochs,
            "fit_seconds": test.fit_seconds,
            "compile_seconds": test.compile_seconds,
            "status": test.status,
        }
    else:
        test_dict = {
            "metrics": {},
            "epochs": 0,
            "fit_seconds": 0.0,
            "compile_seconds": 0.0,
            "status": "no incumbent",
        }

    evaluations = [e.to_dict() for e in objective.evaluations]
    train_seconds = sum(e.fit_seconds for e in objective.evaluations)
    compile_seconds = test_dict["compile_seconds"] + sum(
        e.compile_seconds for e in objective.evaluations
    )
    overhead_seconds = sum(e.overhead_seconds for e in objective.evaluations) + trailing
    record = {
        "study": spec.name,
        "strategy": strategy_name,
        "seed": seed,
        "spec": spec.to_dict(),
        "objective_metric": problem.objective_metric,
        "metric_directions": problem.metric_directions,
        "evaluations": evaluations,
        "incumbent": None
        if incumbent is None
        else {
            "index": incumbent.index,
            "config": incumbent.config,
            "score": incumbent.score,
            "metrics": incumbent.metrics,
        },
        "test": test_dict,
        "budget": {
            "evaluations": spec.budget,
            "max_epochs": objective.max_epochs,
            "budget_epochs": objective.budget_epochs,
            "spent_epochs": objective.spent_epochs,
            "used_fraction": objective.spent_epochs / objective.budget_epochs,
            "overshoot_epochs": max(0, objective.spent_epochs - objective.budget_epochs),
            "refused_epochs": objective.refused_epochs,
            "stop_reason": objective.stop_reason,
        },
        "timings": {
            "search_seconds": search_seconds,
            "train_seconds": train_seconds,
            # Compiling training functions the process had not compiled before: a cost of
            # the process (the first cells of each worker pay it), not of the strategy.
            "compile_seconds": compile_seconds,
            "overhead_seconds": overhead_seconds,
            "final_fit_seconds": test_dict["fit_seconds"],
            "wall_seconds": time.perf_counter() - started,
        },
        "environment": environment(),
        "artifacts": {
            "model": None
            if keeper is None
            else keeper.describe(model_path(cell_path(Path(), strategy_name, seed)).name)
        },
    }
    if keeper is not None and keeper.data is not None:
        record[PENDING_MODEL] = keeper.data  # written beside the record by write_cell
    return record


def write_cell(directory: Path, spec: StudySpec, record: dict[str, Any]) -> dict[str, Any]:
    """Write a computed record and what travels with it; returns the record as written.

    The model file goes first, so that a record never names a missing model; TensorBoard
    runs are written from the record, so any executor's cells get them.
    """
    path = cell_path(directory, record["strategy"], int(record["seed"]))
    write_pending_model(record, path)
    written = write_record(path, record)
    if spec.tensorboard:
        from study.tensorboard_logging import write_cell_runs

        write_cell_runs(directory, written)
    return written


def run_cell(
    spec: StudySpec,
    strategy_name: str,
    seed: int,
    directory: Path,
    on_progress: Callable[[EvaluationDone], None] | None = None,
) -> dict[str, Any]:
    """Run one cell in this process and write its record; returns the record as written."""
    return write_cell(directory, spec, compute_cell(spec, strategy_name, seed, on_progress))


@dataclass
class StudyResult:
    directory: Path
    finished: list[tuple[str, int]] = field(default_factory=list)
    failed: dict[tuple[str, int], str] = field(default_factory=dict)  # cell -> last error


def run_cells(
    spec: StudySpec,
    directory: Path,
    cells: list[tuple[str, int]],
    executor: Executor,
    *,
    retries: int = 2,
    on_event: Callable[[Event], None] | None = None,
) -> StudyResult:
    """Run ``cells`` on ``executor`` and write each record here, as its cell finishes.

    A cell whose worker died or raised is retried up to ``retries`` times; after that it
    is reported as failed and the other cells go on. Call under ``locked_study``.
    ``on_event`` hears every event, evaluations of running cells included.
    """
    from study.events import CellFailed, CellFinished

    result = StudyResult(directory)
    attempts: dict[tuple[str, int], int] = {}
    executor.progress = on_event
    with executor:
        for cell in cells:
            executor.submit(spec, cell)
        while executor.in_flight:
            for event in executor.wait():
                if isinstance(event, CellFinished):
                    event.record = write_cell(directory, spec, event.record)
                    result.finished.append(event.cell)
                elif isinstance(event, CellFailed):
                    attempts[event.cell] = attempts.get(event.cell, 0) + 1
                    event.retrying = attempts[event.cell] <= retries
                    if event.retrying:
                        executor.submit(spec, event.cell)
                    else:
                        result.failed[event.cell] = event.error
                if on_event is not None:
                    on_event(event)
    return result


def run_study(
    spec: StudySpec,
    results_root: Path,
    executor: Executor | None = None,
    *,
    retries: int = 2,
    on_event: Callable[[Event], None] | None = None,
) -> StudyResult:
    """Run every missing cell of ``spec`` (default: in this process, one after another)."""
    from study.execution import InProcess

    with locked_study(results_root, spec) as directory:
        cells = pending_cells(directory, spec)
        return run_cells(
            spec,
            directory,
            cells,
            executor if executor is not None else InProcess(),
            retries=retries,
            on_event=on_event,
        )
