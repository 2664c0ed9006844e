"""pytest-benchmark entry point: one test per (strategy, seed) cell of a study profile.

    pytest benchmarks/ -k bayes                        # only the matching strategies
    pytest benchmarks/ --tunebench-profile smoke       # or TUNEBENCH_PROFILE=smoke
    pytest benchmarks/ -k perf                         # the performance benchmarks only

Cells already recorded under results/<study>/ are not run again (an interrupted study
resumes); their recorded figures are still reported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

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
    if not cells:
        return
    config = session.config
    spec = _spec(config)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    from study.estimate import estimate_seconds
    from study.runner import load_finished, study_dir

    directory = study_dir(Path(config.getoption("--tunebench-results")), spec)
    pending = [c for c in cells if load_finished(directory, *c) is None]
    reporter.write_line(
        f"tunebench: study {spec.name!r}, {len(cells)} selected cells, "
        f"{len(cells) - len(pending)} already recorded"
    )
    if pending:
        reporter.write_line(f"tunebench: estimated run time {estimate_seconds(spec, len(pending))}")


@pytest.fixture(scope="session")
def study(pytestconfig: pytest.Config) -> tuple[Any, Path]:
    from study.runner import open_study

    spec = _spec(pytestconfig)
    return spec, open_study(Path(pytestconfig.getoption("--tunebench-results")), spec)


def pytest_benchmark_update_json(
    config: pytest.Config, benchmarks: list[Any], output_json: dict[str, Any]
) -> None:
    output_json["tunebench_profile"] = config.getoption("--tunebench-profile")
