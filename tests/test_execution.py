"""Cells on real engines with real training: worker processes, a Dask LocalCluster on
loopback, a driver killed with SIGKILL, a worker killed mid-cell, corrupt records."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from study.errors import UsageError
from study.execution import (
    CellFailed,
    CellStarted,
    DaskCluster,
    EvaluationDone,
    Event,
    InProcess,
    LocalPool,
    cell_threads,
    thread_environment,
)
from study.profiles import get_profile
from study.records import reproducible_part
from study.runner import pending_cells, run_study
from study.settings import StudySpec
from study.store import StudyStore

# Two tiny cells (about 5 s each here) under two strategies that use different libraries.
CLI_SPEC = [
    "--profile", "smoke", "--strategies", "random_search,skopt_bayes",
    "--seeds", "1", "--budget", "2", "--max-epochs", "2", "--study", "tiny",
]  # fmt: skip
SPEC: StudySpec = get_profile("smoke").with_overrides(
    name="tiny", strategies=("random_search", "skopt_bayes"), seeds=(0,), budget=2, max_epochs=2
)
REPO = Path(__file__).resolve().parent.parent


def records(directory: Path) -> dict[str, dict[str, Any]]:
    """Each cell's reproducible part, by cell file name."""
    store = StudyStore(directory)
    return {p.name: reproducible_part(store.read(p)) for p in store.record_paths()}


@pytest.fixture(scope="module")
def reference_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole study, uninterrupted, one cell after another in this process."""
    result = run_study(SPEC, tmp_path_factory.mktemp("reference"), InProcess())
    assert sorted(result.finished) == sorted(SPEC.cells()) and not result.failed
    return result.directory


@pytest.fixture(scope="module")
def reference(reference_dir: Path) -> dict[str, dict[str, Any]]:
    return records(reference_dir)


@pytest.mark.slow
def test_local_workers_and_dask_give_identical_records(
    reference: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    # Bit for bit: op determinism on, every stream seeded from the cell, one thread per
    # worker process or two in this one; only timings and the environment may differ.
    # With progress on (the reference ran without it): evaluations reach the driver from
    # both engines, and the records do not change.
    heard: dict[str, list[Event]] = {"pool": [], "dask": []}
    pooled = run_study(SPEC, tmp_path / "pool", LocalPool(workers=2), on_event=heard["pool"].append)
    assert records(pooled.directory) == reference
    dask = run_study(
        SPEC, tmp_path / "dask", DaskCluster("local", workers=2), on_event=heard["dask"].append
    )
    assert records(dask.directory) == reference
    for events in heard.values():
        # Dask's progress is best effort; the local pool's is complete.
        assert {e.cell for e in events if isinstance(e, EvaluationDone)} == set(SPEC.cells())
    evaluations = sum(len(r["evaluations"]) for r in reference.values())
    assert sum(isinstance(e, EvaluationDone) for e in heard["pool"]) == evaluations
    for name in reference:
        assert reference[name]["evaluations"] and reference[name]["test"]["metrics"]["rmse"] > 0


def _draw_from_the_global_streams_meanwhile() -> None:
    """A worker thread that keeps drawing from Python's and NumPy's global random state, as
    a Dask worker's event loop does now and then (jittered timers, retries)."""
    import random
    import threading

    import numpy

    def draw() -> None:
        while True:
            random.random()
            numpy.random.random()
            time.sleep(0.001)

    threading.Thread(target=draw, daemon=True).start()


@pytest.mark.slow
def test_the_smoke_profile_gives_the_same_records_in_process_and_on_dask(
    tmp_path: Path,
) -> None:
    """Every evaluation of every cell, twice on a LocalCluster whose workers have a thread
    drawing from the global random streams all the while."""
    from distributed import Client, LocalCluster

    spec = get_profile("smoke")
    in_process = records(run_study(spec, tmp_path / "in-process", InProcess()).directory)
    for attempt in range(2):
        with (
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                host="127.0.0.1",
                dashboard_address=None,
                env=thread_environment(1),
            ) as cluster,
            Client(cluster) as client,
        ):
            client.run(_draw_from_the_global_streams_meanwhile)
            on_dask = run_study(
                spec, tmp_path / f"dask-{attempt}", DaskCluster(cluster.scheduler_address, 2)
            )
        assert not on_dask.failed
        assert records(on_dask.directory) == in_process


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}


@pytest.mark.slow
def test_driver_killed_then_resumed_gives_the_uninterrupted_records(
    reference: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    command = [sys.executable, "-m", "study", "run", *CLI_SPEC, "--workers", "1", "--quiet"]
    command += ["--results", str(tmp_path)]
    cells = tmp_path / "tiny" / "cells"
    driver = subprocess.Popen(
        command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while not (cells.exists() and any(cells.glob("*.json"))):
        assert driver.poll() is None, driver.stderr.read().decode() if driver.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.05)
    workers = psutil.Process(driver.pid).children(recursive=True)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    kept = {p.name: p.read_bytes() for p in cells.glob("*.json")}
    assert len(kept) == 1, "killed after the first cell, before the second"
    # Orphaned workers notice the driver is gone and stop instead of training on.
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive

    resumed = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "1 already recorded" in resumed.stdout
    assert {p.name: p.read_bytes() for p in cells.glob("*.json") if p.name in kept} == kept
    assert records(tmp_path / "tiny") == reference


@pytest.mark.slow
def test_a_driver_of_worker_processes_never_imports_tensorflow(
    reference: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    # The workers check the data and calibrate the estimate, so the driver stays light
    # (and quick to exit); the records are those of cells run in the driver.
    argv = ["run", *CLI_SPEC, "--workers", "1", "--quiet", "--results", str(tmp_path)]
    script = (
        f"import sys; from study.cli import main; code = main({argv!r}); "
        "assert 'tensorflow' not in sys.modules, 'the driver imported TensorFlow'; "
        "sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "estimated run time: about" in done.stdout
    assert records(tmp_path / "tiny") == reference


@pytest.mark.slow
def test_a_worker_killed_mid_cell_is_reported_and_retried_up_to_the_limit(
    reference: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    # random_search's worker is killed once (its retry succeeds); skopt_bayes's worker is
    # killed on both attempts (given up); the study goes on either way.
    events: list[Event] = []
    killed: list[tuple[tuple[str, int], int]] = []

    def kill_workers(event: Event) -> None:
        events.append(event)
        if not isinstance(event, CellStarted) or event.pid is None:
            return
        tries = sum(cell == event.cell for cell, _ in killed)
        if tries < (1 if event.cell[0] == "random_search" else 2):
            killed.append((event.cell, event.pid))
            # A quarter of a second into the cell: it is loading data, compiling or training
            # by then (a whole second outlasted the whole cell once training was compiled).
            threading.Timer(0.25, os.kill, (event.pid, signal.SIGKILL)).start()

    result = run_study(SPEC, tmp_path, LocalPool(workers=1), retries=1, on_event=kill_workers)
    failures = [e for e in events if isinstance(e, CellFailed)]
    assert [(e.cell, e.retrying) for e in failures] == [
        (("random_search", 0), True),
        (("skopt_bayes", 0), True),
        (("skopt_bayes", 0), False),
    ]
    for event, (_, pid) in zip(failures, killed, strict=True):
        assert f"worker process {pid} died mid-cell" in event.error
    assert result.finished == [("random_search", 0)]
    assert list(result.failed) == [("skopt_bayes", 0)]
    assert records(result.directory) == {
        "random_search-seed0.json": reference["random_search-seed0.json"]
    }
    assert pending_cells(StudyStore(result.directory), SPEC) == [("skopt_bayes", 0)]


def test_workers_run_one_thread_unless_omp_num_threads_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert cell_threads() == 1 and LocalPool(workers=1).threads == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert LocalPool(workers=2).threads == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "many")
    with pytest.raises(UsageError, match="OMP_NUM_THREADS must be a whole number, not 'many'"):
        LocalPool(workers=2)
