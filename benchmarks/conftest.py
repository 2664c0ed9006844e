"""pytest-benchmark entry point: one test per (strategy, seed) cell of a study, and the
performance suite (test_perf.py) when asked for.

    pytest benchmarks/ -k bayes                        # only the matching strategies' cells
    pytest benchmarks/ --tunebench-profile smoke       # or TUNEBENCH_PROFILE=smoke
    pytest benchmarks/ --tunebench-config study.toml   # a spec file, as `study run --config`
    pytest benchmarks/ --perf                          # the performance suite instead
    pytest benchmarks/ --perf -k skopt                 # ... only its matching benchmarks

Selection. Without ``--perf`` only study cells are collected (the performance suite is
deselected, so ``-k NAME`` picks cells whatever the perf tests are called); with ``--perf``
(or ``--perf-long``) only the performance suite is. ``-k`` narrows either.

Recorded cells. A cell already recorded under results/<study>/ is not run again (an
interrupted study resumes), yet it still goes through the ``benchmark`` fixture, so
``--benchmark-json`` and the terminal table list every selected cell: just before such a
test, ``pytest_runtest_setup`` gives it a ``benchmark(timer=...)`` marker whose timer replays
the record's wall time, and ``benchmark.pedantic`` times the record's loading with it. Its
statistics are the recorded wall seconds (one round), its ``options.timer`` reads
``recorded_wall_time`` and its ``extra_info`` has ``"recorded": true``; a cell run now is
timed by the default timer and has ``"recorded": false``.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Imported before any test loads TensorFlow: the package sets TensorFlow's environment.
import study as _study_package  # noqa: F401
from study.errors import UsageError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PERF_MARK = "perf"
_SPEC = pytest.StashKey[Any]()
_RECORD = pytest.StashKey["dict[str, Any] | None"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tunebench")
    group.addoption(
        "--tunebench-profile",
        default=None,
        help="study profile: smoke, quick or full (env TUNEBENCH_PROFILE; default quick)",
    )
    group.addoption(
        "--tunebench-config",
        default=None,
        type=Path,
        help="a study spec file (.toml or .json), instead of a profile",
    )
    group.addoption(
        "--tunebench-results",
        default=os.environ.get("TUNEBENCH_RESULTS", "results"),
        help="results root (env TUNEBENCH_RESULTS; default results/)",
    )
    group.addoption(
        "--perf",
        action="store_true",
        help="run the performance benchmarks (test_perf.py) instead of the study's cells",
    )
    group.addoption(
        "--perf-long",
        action="store_true",
        help="the performance benchmarks with larger samples (implies --perf): more paired "
        "configs, a longer cell, 200 evaluations for the memory check",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{PERF_MARK}: a performance benchmark, collected only with --perf"
    )


def _perf(config: pytest.Config) -> bool:
    return bool(config.getoption("--perf") or config.getoption("--perf-long"))


def _spec(config: pytest.Config) -> Any:
    """The study's spec, resolved once per session by the same loader as ``study run``."""
    if _SPEC not in config.stash:
        from study.runner import validate
        from study.specfile import resolve_spec

        spec_file = config.getoption("--tunebench-config")
        profile = config.getoption("--tunebench-profile")
        if profile is None and spec_file is None:
            profile = os.environ.get("TUNEBENCH_PROFILE", "quick")
        try:
            spec = resolve_spec(profile=profile, config=spec_file)
            validate(spec)
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None  # one line, as `study run` says it
        config.stash[_SPEC] = spec
    return config.stash[_SPEC]


def pytest_sessionstart(session: pytest.Session) -> None:
    if not _perf(session.config):
        _spec(session.config)  # a bad profile or spec file stops the run before collection


def _store(config: pytest.Config) -> Any:
    """The study's ``StudyStore`` (which reads and writes nothing until asked)."""
    from study.store import StudyStore

    return StudyStore.of(Path(config.getoption("--tunebench-results")), _spec(config))


def _cell(item: pytest.Item) -> tuple[str, int] | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("cell") if callspec is not None else None


def cell_figures(record: Any) -> dict[str, Any]:
    """What a benchmark reports of a ``CellRecord`` (its ``extra_info``); a missing score is
    null, as JSON has no NaN."""
    metric = record.objective_metric
    return {
        "strategy": record.strategy,
        "seed": record.seed,
        f"test_{metric}": _number(record.test_score()),
        "test_r2": _number(record.test_score("r2")),
        f"best_val_{metric}": _number(record.validation()),
        "incumbent_found": record.incumbent is not None,
        "evaluations": len(record.evaluations),
        "spent_epochs": record.budget.spent_epochs,
        "budget_epochs": record.budget.budget_epochs,
        "budget_used": record.budget.used_fraction,
        "wall_seconds": record.timings.wall_seconds,
    }


def _number(value: float) -> float | None:
    return value if math.isfinite(value) else None


class RecordedClock:
    """A pytest-benchmark timer that replays a recorded cell's wall time: the fixture reads
    its timer before and after the call it times, and sees the recorded seconds pass."""

    __name__ = "recorded_wall_time"  # what --benchmark-json names as the timer

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._started = False

    def __call__(self) -> float:
        self._started = not self._started
        return 0.0 if self._started else self.seconds


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "cell" in metafunc.fixturenames:
        cells = _spec(metafunc.config).cells()
        metafunc.parametrize("cell", cells, ids=[f"{s}-seed{k}" for s, k in cells])


@pytest.hookimpl(tryfirst=True)  # before -k and -m, so they select within one suite
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    perf = _perf(config)
    kept = [item for item in items if (item.get_closest_marker(PERF_MARK) is not None) == perf]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:  # nowhere to say it (-p no:terminal)
        return
    if not session.items and not _perf(config) and "perf" in (config.option.keyword or ""):
        reporter.write_line("tunebench: the performance benchmarks run with --perf")
    cells = [cell for cell in map(_cell, session.items) if cell is not None]
    if not cells:
        return
    spec = _spec(config)
    from study.estimate import estimate_seconds

    store = _store(config)
    pending = [c for c in cells if store.load_cell(*c) is None]
    reporter.write_line(
        f"tunebench: study {spec.name!r}, {len(cells)} selected cells, "
        f"{len(cells) - len(pending)} already recorded"
    )
    if pending:
        reporter.write_line(f"tunebench: estimated run time {estimate_seconds(spec, len(pending))}")


@pytest.hookimpl(tryfirst=True)  # before fixtures are set up: the benchmark fixture reads marks
def pytest_runtest_setup(item: pytest.Item) -> None:
    cell = _cell(item)
    if cell is None:
        return
    record = _store(item.config).load_cell(*cell)
    item.stash[_RECORD] = record
    if record is not None:
        seconds = cell_figures(record)["wall_seconds"]
        item.add_marker(pytest.mark.benchmark(timer=RecordedClock(seconds)))


@pytest.fixture(scope="session")
def study(pytestconfig: pytest.Config) -> tuple[Any, Any]:
    """The spec and its ``StudyStore``."""
    from study.runner import open_study

    spec = _spec(pytestconfig)
    return spec, open_study(Path(pytestconfig.getoption("--tunebench-results")), spec)


@pytest.fixture
def cell_progress(
    request: pytest.FixtureRequest, cell: tuple[str, int]
) -> Iterator[Callable[[Any], None] | None]:
    """The running cell's progress, condensed to one line on pytest's terminal: rewritten in
    place on a terminal, a few lines per cell otherwise; nothing under ``-qq`` or without
    the terminal plugin (``-p no:terminal``)."""
    config = request.config
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or config.get_verbosity() < -1:
        yield None
        return
    from study.progress import CellLine

    capture = config.pluginmanager.get_plugin("capturemanager")
    live = bool(reporter.isatty())
    shown = False

    def write(line: str, rewrite: bool) -> None:
        nonlocal shown
        # The cell runs inside the test, where output is captured: step around it.
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            if not shown:
                reporter.ensure_newline()  # off the line that names the test
                shown = True
            if rewrite:
                reporter.rewrite(line, erase=True)
            else:
                reporter.write_line(line)
            reporter.flush()

    yield CellLine(cell, write, live)
    # pytest ends the rewritten line itself: its next report starts on a new line.


@pytest.fixture
def cell_run(
    request: pytest.FixtureRequest,
    study: tuple[Any, Any],
    cell: tuple[str, int],
    cell_progress: Callable[[Any], None] | None,
) -> Callable[[], dict[str, Any]]:
    """What the benchmark times: the cell run now, or its record as read before the test
    (``pytest_runtest_setup``, which also set the timer that replays its wall time); either
    way it returns the cell's figures (``cell_figures``) with ``recorded`` saying which."""
    recorded = request.node.stash[_RECORD]
    if recorded is not None:
        return lambda: {**cell_figures(recorded), "recorded": True}
    spec, store = study
    from study.runner import run_cell

    def run() -> dict[str, Any]:
        record = run_cell(spec, *cell, store, cell_progress)
        return {**cell_figures(record), "recorded": False}

    return run


def pytest_benchmark_update_json(
    config: pytest.Config, benchmarks: list[Any], output_json: dict[str, Any]
) -> None:
    if not _perf(config):
        output_json["tunebench_study"] = _spec(config).name
