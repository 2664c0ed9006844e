"""pytest-benchmark entry point: one test per (strategy, seed) cell of a study profile.

    pytest benchmarks/ -k bayes                        # only the matching strategies
    pytest benchmarks/ --tunebench-profile smoke       # or TUNEBENCH_PROFILE=smoke
    pytest benchmarks/ -k perf                         # the performance benchmarks only

Cells already recorded under results/<study>/ are not run again (an interrupted study
resumes); their recorded figures are still reported.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Imported before any test loads TensorFlow: the package sets TensorFlow's environment.
import study as _study_package  # noqa: F401

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tunebench")
    group.addoption(
        "--tunebench-profile",
        default=os.environ.get("TUNEBENCH_PROFILE", "quick"),
        help="study profile: smoke, quick or full (env TUNEBENCH_PROFILE; default quick)",
    )
    group.addoption(
        "--tunebench-results",
        default=os.environ.get("TUNEBENCH_RESULTS", "results"),
        help="results root (env TUNEBENCH_RESULTS; default results/)",
    )
    group.addoption(
        "--perf-long",
        action="store_true",
        help="performance benchmarks (-k perf) with larger samples: more paired "
        "configs, a longer cell, 200 evaluations for the memory check",
    )


def _spec(config: pytest.Config) -> Any:
    from study.profiles import get_profile
    from study.runner import validate

    spec = get_profile(config.getoption("--tunebench-profile"))
    validate(spec)
    return spec


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "cell" in metafunc.fixturenames:
        cells = _spec(metafunc.config).cells()
        metafunc.parametrize("cell", cells, ids=[f"{s}-seed{k}" for s, k in cells])


def pytest_collection_finish(session: pytest.Session) -> None:
    cells = [
        item.callspec.params["cell"]
        for item in session.items
        if hasattr(item, "callspec") and "cell" in item.callspec.params
    ]
    config = session.config
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if not cells or reporter is None:  # nothing to say, or nowhere to say it (-p no:terminal)
        return
    spec = _spec(config)
    from study.estimate import estimate_seconds
    from study.store import StudyStore

    store = StudyStore.of(Path(config.getoption("--tunebench-results")), spec)
    pending = [c for c in cells if store.load_cell(*c) is None]
    reporter.write_line(
        f"tunebench: study {spec.name!r}, {len(cells)} selected cells, "
        f"{len(cells) - len(pending)} already recorded"
    )
    if pending:
        reporter.write_line(f"tunebench: estimated run time {estimate_seconds(spec, len(pending))}")


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


def pytest_benchmark_update_json(
    config: pytest.Config, benchmarks: list[Any], output_json: dict[str, Any]
) -> None:
    output_json["tunebench_profile"] = config.getoption("--tunebench-profile")
