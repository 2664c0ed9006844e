"""The runner: a spec becomes cells (strategy, seed); each finished cell becomes a record.

Cells already recorded are skipped, so an interrupted study resumes where it stopped.
Computing a record (``study.cell``, anywhere: this process, a worker, a Dask cluster) is
separate from writing it: only the driver process writes, through the study store and
under its lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from study.cell import ComputedCell, compute_cell
from study.errors import UsageError
from study.events import CellFailed, CellFinished
from study.problems import get_problem
from study.records import CellRecord
from study.settings import StudySpec, spec_differences
from study.space import get_space
from study.store import StudyStore
from study.strategies import get_strategy

if TYPE_CHECKING:
    from study.events import EvaluationDone, Event
    from study.execution import Executor


def validate(spec: StudySpec) -> None:
    """Resolve every name in the spec now, so a typo fails before any training."""
    get_problem(spec.problem)
    get_space(spec.space)
    for name in spec.strategies:
        get_strategy(name)


def check_study(results_root: Path, spec: StudySpec) -> StudySpec:
    """The spec this study directory will hold; refuses a mismatch. Reads, never writes.

    Cells are comparable only under the same problem, space declaration, budget, protocol
    and strategy settings (``spec_differences``); new strategies or seeds may join.
    """
    validate(spec)
    store = StudyStore.of(results_root, spec)
    if results_root.exists() and not results_root.is_dir():
        raise UsageError(f"results root {results_root} is not a directory")
    stored = store.read_spec()
    if stored is None:
        return spec
    changes = spec_differences(stored, spec)
    if changes:
        raise UsageError(
            f"{store.directory} holds a study with a different spec ({'; '.join(changes)}); "
            f"pass --study NEW_NAME to start a new one"
        )
    strategies = tuple(dict.fromkeys((*stored.strategies, *spec.strategies)))
    seeds = tuple(sorted({*stored.seeds, *spec.seeds}))
    return replace(spec, strategies=strategies, seeds=seeds)


def open_study(results_root: Path, spec: StudySpec) -> StudyStore:
    """Create the study, or join an existing one that belongs to this spec.

    Every check runs before anything is written, so a refused spec leaves no trace.
    """
    merged = check_study(results_root, spec)
    store = StudyStore.of(results_root, spec)
    store.create(merged)
    return store


@contextmanager
def locked_study(results_root: Path, spec: StudySpec) -> Iterator[StudyStore]:
    """``open_study`` under the study's lock, held until the block ends: two runs writing
    into one study at once are refused, never interleaved."""
    check_study(results_root, spec)
    with StudyStore.of(results_root, spec).locked():
        yield open_study(results_root, spec)


def pending_cells(store: StudyStore, spec: StudySpec) -> list[tuple[str, int]]:
    return [c for c in spec.cells() if store.load_cell(*c) is None]


def write_cell(store: StudyStore, spec: StudySpec, computed: ComputedCell) -> CellRecord:
    """Write a computed record and what travels with it; returns the record as written.

    TensorBoard runs are written from the record, so any executor's cells get them.
    """
    record = store.write_cell(computed.record, computed.model)
    if spec.tensorboard:
        from study.tensorboard_logging import write_cell_runs

        write_cell_runs(store, record)
    return record


def run_cell(
    spec: StudySpec,
    strategy_name: str,
    seed: int,
    store: StudyStore,
    on_progress: Callable[[EvaluationDone], None] | None = None,
) -> CellRecord:
    """Run one cell in this process and write its record; returns the record as written."""
    return write_cell(store, spec, compute_cell(spec, strategy_name, seed, on_progress))


@dataclass
class StudyResult:
    directory: Path
    finished: list[tuple[str, int]] = field(default_factory=list)
    failed: dict[tuple[str, int], str] = field(default_factory=dict)  # cell -> last error


def run_cells(
    spec: StudySpec,
    store: StudyStore,
    cells: list[tuple[str, int]],
    executor: Executor,
    *,
    retries: int = 2,
    on_event: Callable[[Event], None] | None = None,
) -> StudyResult:
    """Run ``cells`` on ``executor`` (entered) and write each record here, as its cell
    finishes.

    A cell whose worker died or raised is retried up to ``retries`` times; after that it
    is reported as failed and the other cells go on. Call under ``locked_study``.
    ``on_event`` hears every event, evaluations of running cells included.
    """
    result = StudyResult(store.directory)
    attempts: dict[tuple[str, int], int] = {}
    executor.progress = on_event
    for cell in cells:
        executor.submit(spec, cell)
    while executor.in_flight:
        for event in executor.wait():
            if isinstance(event, CellFinished):
                computed = ComputedCell(event.record, event.model)
                event.record, event.model = write_cell(store, spec, computed), None
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

    executor = executor if executor is not None else InProcess()
    with locked_study(results_root, spec) as store, executor:
        cells = pending_cells(store, spec)
        return run_cells(spec, store, cells, executor, retries=retries, on_event=on_event)
