"""Where cells run: in this process, in local worker processes, or on a Dask cluster.

Every executor takes cells with ``submit`` and hands back events from ``wait``: a cell
started, finished (with its record, plain data) or failed (it raised, or its worker died),
and the evaluations of running cells (best effort: a lost one changes no record).
Executors never write records; the driver does, as the events arrive.

This module imports no TensorFlow at load time: a worker caps its thread pools first.
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pickle import UnpicklingError
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from study.errors import UsageError
from study.events import Cell, CellFailed, CellFinished, CellStarted, EvaluationDone, Event
from study.settings import StudySpec

if TYPE_CHECKING:
    from study.cell import ComputedCell

__all__ = [
    "Cell",
    "CellFailed",
    "CellFinished",
    "CellStarted",
    "DaskCluster",
    "EvaluationDone",
    "Event",
    "Executor",
    "InProcess",
    "LocalPool",
]

# Waiting returns at least this often, with the evaluations heard meanwhile, so that
# progress moves while every cell is still running.
PROGRESS_INTERVAL = 0.5

ProgressSink = Callable[[EvaluationDone], None]
T = TypeVar("T")


class Executor(Protocol):
    # Set by the driver: who hears of evaluations inside running cells. Executors that run
    # cells elsewhere return them from ``wait`` as ``EvaluationDone``.
    progress: ProgressSink | None

    @property
    def in_flight(self) -> int: ...

    def warm_up(self, spec: StudySpec) -> None:
        """Ready every worker for ``spec``'s cells, all at once: each builds one evaluator,
        importing what training needs and loading the data, so that missing or damaged
        data fails here, once, before any cell. Raises what a worker raised."""
        ...

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on one worker, where cells run, for its result (while no cell runs)."""
        ...

    def submit(self, spec: StudySpec, cell: Cell) -> None: ...

    def wait(self) -> list[Event]: ...

    def __enter__(self) -> Executor: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)
_threads_limited: int | None = None


def cell_threads() -> int:
    """Threads for one cell's TensorFlow and BLAS: ``OMP_NUM_THREADS``, else 1. The MLPs'
    ops are so small that a second thread costs more than it saves (a 1-worker quick study
    took 1.4 times as long with 2 threads as the same cells single-threaded)."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS") or 1))
    except ValueError:
        raise UsageError(
            f"OMP_NUM_THREADS must be a whole number, not {os.environ['OMP_NUM_THREADS']!r}"
        ) from None


def thread_environment(threads: int) -> dict[str, str]:
    return {name: str(threads) for name in _THREAD_VARIABLES}


def limit_threads(threads: int) -> None:
    """Cap this process's TensorFlow and BLAS thread pools at ``threads``, once.

    Effective only before TensorFlow runs its first op, which is why workers call it first.
    """
    global _threads_limited
    if _threads_limited is not None:
        return
    os.environ.update(thread_environment(threads))
    import tensorflow as tf
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow already started in this process: keep its pools
        pass
    _threads_limited = threads


def preflight(spec: StudySpec) -> None:
    """Build one evaluator here, so that missing or damaged data fails once, before any cell
    (and the process has imported what training needs)."""
    from study.problems import get_problem

    get_problem(spec.problem).make_evaluator(spec.protocol, spec.seeds[0])


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


# --- this process -------------------------------------------------------------------------


class InProcess:
    workers = 1  # cells run one after another in this process
    """Cells one after another in the driver itself: no isolation, easiest to debug."""

    def __init__(self) -> None:
        self.progress: ProgressSink | None = None
        self._queue: deque[tuple[StudySpec, Cell]] = deque()
        self._next: tuple[StudySpec, Cell] | None = None

    @property
    def in_flight(self) -> int:
        return len(self._queue) + (self._next is not None)

    def submit(self, spec: StudySpec, cell: Cell) -> None:
        self._queue.append((spec, cell))

    def warm_up(self, spec: StudySpec) -> None:
        preflight(spec)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)

    def wait(self) -> list[Event]:
        from study.cell import compute_cell

        if self._next is None:  # announce the cell before it runs, as the other executors do
            self._next = self._queue.popleft()
            return [CellStarted(self._next[1], "this process", os.getpid())]
        (spec, cell), self._next = self._next, None
        try:
            # Evaluations go straight to the driver's sink: the cell runs in this call.
            done = compute_cell(spec, *cell, self.progress)
            return [CellFinished(cell, done.record, done.model)]
        except Exception as exc:  # reported and retried by the driver, never a crashed study
            return [CellFailed(cell, _error_text(exc))]

    def __enter__(self) -> InProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._queue.clear()
        self._next = None


# --- local worker processes ---------------------------------------------------------------


_progress_queue: Any = None  # this worker's queue to the driver


def _init_worker(threads: int, driver_pid: int, progress_queue: Any) -> None:
    global _progress_queue
    atexit.register(_exit_at_once)
    limit_threads(threads)
    threading.Thread(target=_exit_with_driver, args=(driver_pid,), daemon=True).start()
    _progress_queue = progress_queue


def _exit_at_once() -> None:
    # A worker reaches interpreter exit only once its pool has let it go, every result sent
    # (through pipes written in the caller: nothing is left to flush but stdio). Python's
    # and TensorFlow's teardown of the compiled models would only delay the study's end:
    # 1.7 s for six models, measured.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _exit_with_driver(driver_pid: int) -> None:
    # A worker whose driver was killed would train on for nobody: only the driver writes.
    while os.getppid() == driver_pid:
        time.sleep(1.0)
    os._exit(70)


def _send_progress(event: EvaluationDone) -> None:
    with contextlib.suppress(Exception):  # progress must never break a cell
        _progress_queue.put(event)


def _run_in_worker(spec: StudySpec, strategy: str, seed: int) -> ComputedCell:
    from study.cell import compute_cell

    return compute_cell(spec, strategy, seed, _send_progress)


def _worker_result(future: cf.Future[T]) -> T:
    try:
        return future.result()
    except BrokenProcessPool:
        raise RuntimeError(
            "a worker process died outside a cell (killed, crashed or out of memory)"
        ) from None


@dataclass
class _Slot:
    """One worker process in its own single-worker pool, so that a dying worker breaks
    only its own pool and the cell it was running is known for certain."""

    pool: cf.ProcessPoolExecutor
    # The worker's own progress queue. A SimpleQueue writes in the caller, so a cell's
    # evaluations are in the pipe before its result; with one writer per queue, a worker
    # killed while writing cannot leave a lock held that would stall the others.
    progress: Any
    cell: Cell | None = None
    spec: StudySpec | None = None
    future: cf.Future[ComputedCell] | None = None
    pid_future: cf.Future[int] | None = None
    pid: int | None = None
    futures: dict[cf.Future[Any], str] = field(default_factory=dict)


class LocalPool:
    """``workers`` spawned processes, each with TensorFlow capped at ``threads`` (default
    ``cell_threads()``) so that workers never fight over cores."""

    def __init__(self, workers: int, threads: int | None = None) -> None:
        if workers < 1:
            raise UsageError(f"--workers must be at least 1, not {workers}")
        self.workers = workers
        self.threads = threads or cell_threads()
        self.progress: ProgressSink | None = None
        self._context = multiprocessing.get_context("spawn")
        self._waiting: deque[tuple[StudySpec, Cell]] = deque()
        self._slots: list[_Slot] = []

    def _new_slot(self) -> _Slot:
        # Always there (and drained by ``wait``): the driver may start listening later.
        progress = self._context.SimpleQueue()
        pool = cf.ProcessPoolExecutor(
            max_workers=1,
            mp_context=self._context,
            initializer=_init_worker,
            initargs=(self.threads, os.getpid(), progress),
        )
        return _Slot(pool, progress)

    def _heard(self) -> list[Event]:
        """The evaluations that the workers have reported since the last look."""
        events: list[Event] = []
        for slot in self._slots:
            with contextlib.suppress(OSError, EOFError, UnpicklingError):
                while not slot.progress.empty():
                    events.append(slot.progress.get())
        return events

    @property
    def in_flight(self) -> int:
        return len(self._waiting) + sum(s.cell is not None for s in self._slots)

    def submit(self, spec: StudySpec, cell: Cell) -> None:
        self._waiting.append((spec, cell))

    def warm_up(self, spec: StudySpec) -> None:
        for future in [slot.pool.submit(preflight, spec) for slot in self._slots]:
            _worker_result(future)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        return _worker_result(self._slots[0].pool.submit(fn, *args))

    def _fill(self) -> list[Event]:
        started: list[Event] = []
        for slot in self._slots:
            if slot.cell is None and self._waiting:
                slot.spec, slot.cell = self._waiting.popleft()
                if slot.pid is None:  # a fresh worker: it reports its pid once it is up
                    slot.pid_future = slot.pool.submit(os.getpid)
                else:
                    started.append(CellStarted(slot.cell, f"worker pid {slot.pid}", slot.pid))
                slot.future = slot.pool.submit(_run_in_worker, slot.spec, *slot.cell)
        return started

    def wait(self) -> list[Event]:
        started = self._fill()
        if started:
            return started
        watched: dict[cf.Future[Any], _Slot] = {}
        for slot in self._slots:
            if slot.pid_future is not None:
                watched[slot.pid_future] = slot
            elif slot.future is not None:
                watched[slot.future] = slot
        done, _ = cf.wait(watched, timeout=PROGRESS_INTERVAL, return_when=cf.FIRST_COMPLETED)
        # Order matters to the listener: a cell's start, then its evaluations, then its end.
        started: list[Event] = []
        ended: list[Event] = []
        for future in done:
            slot = watched[future]
            assert slot.cell is not None
            if future is slot.pid_future:
                slot.pid_future = None
                try:
                    slot.pid = future.result()
                except BrokenProcessPool:
                    ended.extend(self._replace(slot))
                    continue
                started.append(CellStarted(slot.cell, f"worker pid {slot.pid}", slot.pid))
                continue
            try:
                done = future.result()
                ended.append(CellFinished(slot.cell, done.record, done.model))
            except BrokenProcessPool:
                ended.extend(self._replace(slot))
                continue
            except Exception as exc:
                ended.append(CellFailed(slot.cell, _error_text(exc)))
            slot.cell = slot.spec = slot.future = None
        return started + self._heard() + ended

    def _replace(self, slot: _Slot) -> list[Event]:
        """The slot's worker died mid-cell: report the cell and start a fresh worker."""
        assert slot.cell is not None
        cell, pid = slot.cell, slot.pid
        slot.pool.shutdown(wait=False, cancel_futures=True)
        slot.progress.close()  # what the dead worker said last no longer matters
        self._slots[self._slots.index(slot)] = self._new_slot()
        who = f"worker process {pid}" if pid is not None else "a worker process"
        return [CellFailed(cell, f"{who} died mid-cell (killed, crashed or out of memory)")]

    def __enter__(self) -> LocalPool:
        self._slots = [self._new_slot() for _ in range(self.workers)]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._waiting.clear()
        for slot in self._slots:
            if exc_type is not None and slot.cell is not None and slot.pid is not None:
                # Interrupted: stop the running cells now instead of waiting for them.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(slot.pid, signal.SIGTERM)
            slot.pool.shutdown(wait=exc_type is None, cancel_futures=True)
            slot.progress.close()
        self._slots = []


# --- Dask ---------------------------------------------------------------------------------


def _on_dask(fn: Callable[..., T], *args: Any) -> T:
    # Dask workers run one task per thread; OMP_NUM_THREADS (default 1) sizes TensorFlow.
    limit_threads(cell_threads())
    return fn(*args)


def _run_on_dask(spec: StudySpec, strategy: str, seed: int, progress: str) -> ComputedCell:
    from study.cell import compute_cell

    limit_threads(cell_threads())
    from distributed import Queue

    channel = Queue(progress)  # through the scheduler, to the driver's queue of that name

    def send(event: EvaluationDone) -> None:
        with contextlib.suppress(Exception):  # best effort: the record is what counts
            channel.put(event.to_message(), timeout=5)

    try:
        return compute_cell(spec, strategy, seed, send)
    finally:
        channel.close()


class DaskCluster:
    """Cells as tasks on a Dask cluster: ``"local"`` starts a ``LocalCluster`` on loopback,
    anything else is the address of a running scheduler (``tcp://HOST:PORT``)."""

    def __init__(self, address: str, workers: int) -> None:
        if address != "local" and "://" not in address:
            raise UsageError(
                f"--dask takes 'local' or a scheduler address like tcp://HOST:8786, not {address!r}"
            )
        self.address = address
        self.workers = workers
        self._cluster: Any = None
        self._client: Any = None
        self.progress: ProgressSink | None = None
        self._futures: dict[Any, Cell] = {}
        self._started: list[Event] = []
        self._channel: Any = None  # a distributed.Queue the workers send evaluations to

    def __enter__(self) -> DaskCluster:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise UsageError("--dask needs Dask: pip install 'tunebench[dask]'") from None

        if self.address == "local":
            self._cluster = LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.ERROR,
                env=thread_environment(1),
            )
            self._client = Client(self._cluster)
        else:
            try:
                self._client = Client(self.address, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise UsageError(
                    f"cannot reach the Dask scheduler at {self.address} ({exc})"
                ) from None
        from distributed import Queue

        # Always there (and drained by ``wait``): the driver may start listening later.
        self._channel = Queue(f"tunebench-progress-{uuid.uuid4().hex}", client=self._client)
        return self

    def warm_up(self, spec: StudySpec) -> None:
        workers = list(self._client.scheduler_info()["workers"])
        futures = [
            self._client.submit(_on_dask, preflight, spec, workers=[w], pure=False) for w in workers
        ]
        for future in futures:
            future.result()

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        return self._client.submit(_on_dask, fn, *args, pure=False).result()

    def __exit__(self, *exc_info: object) -> None:
        if self._channel is not None:
            with contextlib.suppress(Exception):
                self._channel.close()
            self._channel = None
        if self._client is not None:
            self._client.cancel(list(self._futures))
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._futures.clear()

    @property
    def in_flight(self) -> int:
        return len(self._futures)

    def submit(self, spec: StudySpec, cell: Cell) -> None:
        strategy, seed = cell
        future = self._client.submit(
            _run_on_dask,
            spec,
            strategy,
            seed,
            self._channel.name,
            key=f"cell-{strategy}-seed{seed}-{uuid.uuid4().hex[:8]}",
            pure=False,
        )
        self._futures[future] = cell
        self._started.append(CellStarted(cell, "dask"))

    def _heard(self) -> list[Event]:
        try:
            messages = self._channel.get(batch=True)
        except Exception:  # best effort: a lost update changes no record
            return []
        return [EvaluationDone.from_message(m) for m in messages]

    def wait(self) -> list[Event]:
        from distributed import wait

        events, self._started = self._started, []
        if events:
            return events
        try:
            done = wait(list(self._futures), PROGRESS_INTERVAL, "FIRST_COMPLETED").done
        except TimeoutError:
            done = set()
        events = self._heard()
        for future in done:
            cell = self._futures.pop(future)
            if future.status == "finished":
                done = future.result()
                events.append(CellFinished(cell, done.record, done.model))
            else:
                # KilledWorker after the scheduler's own retries, or the cell's exception.
                events.append(CellFailed(cell, _error_text(future.exception())))
        return events
