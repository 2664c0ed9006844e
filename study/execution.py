"""Where cells run: in this process, in local worker processes, or on a Dask cluster.

Every executor takes cells with ``submit`` and hands back events from ``wait``: a cell
started, finished (with its record, plain data) or failed (it raised, or its worker died).
Executors never write records; the driver does, as the events arrive.

This module imports no TensorFlow at load time: a worker caps its thread pools first.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
import uuid
from collections import deque
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

from study.errors import UsageError
from study.settings import StudySpec

Cell = tuple[str, int]


@dataclass
class CellStarted:
    cell: Cell
    where: str  # "this process", "worker pid 1234", "dask"
    pid: int | None = None


@dataclass
class CellFinished:
    cell: Cell
    record: dict[str, Any]


@dataclass
class CellFailed:
    cell: Cell
    error: str
    retrying: bool = False  # the driver decides, from its retry limit


Event = CellStarted | CellFinished | CellFailed


class Executor(Protocol):
    @property
    def in_flight(self) -> int: ...

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


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


# --- this process -------------------------------------------------------------------------


class InProcess:
    """Cells one after another in the driver itself: no isolation, easiest to debug."""

    def __init__(self) -> None:
        self._queue: deque[tuple[StudySpec, Cell]] = deque()

    @property
    def in_flight(self) -> int:
        return len(self._queue)

    def submit(self, spec: StudySpec, cell: Cell) -> None:
        self._queue.append((spec, cell))

    def wait(self) -> list[Event]:
        from study.runner import compute_cell

        spec, cell = self._queue.popleft()
        started = CellStarted(cell, "this process", os.getpid())
        try:
            return [started, CellFinished(cell, compute_cell(spec, *cell))]
        except Exception as exc:  # reported and retried by the driver, never a crashed study
            return [started, CellFailed(cell, _error_text(exc))]

    def __enter__(self) -> InProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._queue.clear()


# --- local worker processes ---------------------------------------------------------------


def _init_worker(threads: int, driver_pid: int) -> None:
    limit_threads(threads)
    threading.Thread(target=_exit_with_driver, args=(driver_pid,), daemon=True).start()


def _exit_with_driver(driver_pid: int) -> None:
    # A worker whose driver was killed would train on for nobody: only the driver writes.
    while os.getppid() == driver_pid:
        time.sleep(1.0)
    os._exit(70)


def _run_in_worker(spec: StudySpec, strategy: str, seed: int) -> dict[str, Any]:
    from study.runner import compute_cell

    return compute_cell(spec, strategy, seed)


@dataclass
class _Slot:
    """One worker process in its own single-worker pool, so that a dying worker breaks
    only its own pool and the cell it was running is known for certain."""

    pool: cf.ProcessPoolExecutor
    cell: Cell | None = None
    spec: StudySpec | None = None
    future: cf.Future[dict[str, Any]] | None = None
    pid_future: cf.Future[int] | None = None
    pid: int | None = None
    futures: dict[cf.Future[Any], str] = field(default_factory=dict)


class LocalPool:
    """``workers`` spawned processes, each with TensorFlow capped at its share of the cores."""

    def __init__(self, workers: int, threads: int | None = None) -> None:
        if workers < 1:
            raise UsageError(f"--workers must be at least 1, not {workers}")
        self.workers = workers
        self.threads = threads or max(1, available_cores() // workers)
        self._context = multiprocessing.get_context("spawn")
        self._waiting: deque[tuple[StudySpec, Cell]] = deque()
        self._slots: list[_Slot] = []

    def _new_slot(self) -> _Slot:
        pool = cf.ProcessPoolExecutor(
            max_workers=1,
            mp_context=self._context,
            initializer=_init_worker,
            initargs=(self.threads, os.getpid()),
        )
        return _Slot(pool)

    @property
    def in_flight(self) -> int:
        return len(self._waiting) + sum(s.cell is not None for s in self._slots)

    def submit(self, spec: StudySpec, cell: Cell) -> None:
        self._waiting.append((spec, cell))

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
        done, _ = cf.wait(watched, return_when=cf.FIRST_COMPLETED)
        events: list[Event] = []
        for future in done:
            slot = watched[future]
            assert slot.cell is not None
            if future is slot.pid_future:
                slot.pid_future = None
                try:
                    slot.pid = future.result()
                except BrokenProcessPool:
                    events.extend(self._replace(slot))
                    continue
                events.append(CellStarted(slot.cell, f"worker pid {slot.pid}", slot.pid))
                continue
            try:
                events.append(CellFinished(slot.cell, future.result()))
            except BrokenProcessPool:
                events.extend(self._replace(slot))
                continue
            except Exception as exc:
                events.append(CellFailed(slot.cell, _error_text(exc)))
            slot.cell = slot.spec = slot.future = None
        return events

    def _replace(self, slot: _Slot) -> list[Event]:
        """The slot's worker died mid-cell: report the cell and start a fresh worker."""
        assert slot.cell is not None
        cell, pid = slot.cell, slot.pid
        slot.pool.shutdown(wait=False, cancel_futures=True)
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
        self._slots = []


# --- Dask ---------------------------------------------------------------------------------


def _run_on_dask(spec: StudySpec, strategy: str, seed: int) -> dict[str, Any]:
    from study.runner import compute_cell

    # Dask workers run one cell per thread; OMP_NUM_THREADS (default 1) sizes TensorFlow.
    limit_threads(int(os.environ.get("OMP_NUM_THREADS", "1") or 1))
    return compute_cell(spec, strategy, seed)


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
        self._futures: dict[Any, Cell] = {}
        self._started: list[Event] = []

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
        return self

    def __exit__(self, *exc_info: object) -> None:
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
            key=f"cell-{strategy}-seed{seed}-{uuid.uuid4().hex[:8]}",
            pure=False,
        )
        self._futures[future] = cell
        self._started.append(CellStarted(cell, "dask"))

    def wait(self) -> list[Event]:
        from distributed import as_completed

        events, self._started = self._started, []
        if events:
            return events
        for future in as_completed(list(self._futures)).next_batch(block=True):
            cell = self._futures.pop(future)
            if future.status == "finished":
                events.append(CellFinished(cell, future.result()))
            else:
                # KilledWorker after the scheduler's own retries, or the cell's exception.
                events.append(CellFailed(cell, _error_text(future.exception())))
        return events
