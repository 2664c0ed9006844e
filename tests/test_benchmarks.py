"""The pytest-benchmark entry point (benchmarks/): what `-k` selects, and what
`--benchmark-json` holds for cells run now and cells already recorded. On the synthetic
branin problem, so no training runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_module

SPEC = """profile = "smoke"
name = "bench-branin"
problem = "branin"
strategies = ["random_search", "baseline"]
seeds = 2
budget = 3
"""


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "branin.toml"
    path.write_text(SPEC)
    return path


def _pytest(spec_file: Path, *args: str) -> str:
    done = run_module(
        "pytest", "benchmarks/", "--tunebench-config", str(spec_file),
        "--tunebench-results", str(spec_file.parent / "results"), "-p", "no:cacheprovider", *args,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _collected(spec_file: Path, *args: str) -> list[str]:
    out = _pytest(spec_file, "--collect-only", "-q", *args)
    return [line.split("::")[1] for line in out.splitlines() if "::" in line]


def test_keyword_selects_cells_and_perf_selects_the_performance_suite(spec_file: Path) -> None:
    # "random_search" is also in a performance benchmark's id; only --perf collects it.
    assert _collected(spec_file, "-k", "random_search") == [
        "test_cell[random_search-seed0]",
        "test_cell[random_search-seed1]",
    ]
    assert _collected(spec_file, "--perf", "-k", "random_search") == [
        "test_perf_strategy_overhead[perf-random_search]"
    ]


def test_benchmark_json_has_every_cell_run_now_or_recorded(spec_file: Path) -> None:
    runs = []
    for name in ("first.json", "again.json"):
        _pytest(spec_file, "-q", "--benchmark-json", str(spec_file.parent / name))
        data = json.loads((spec_file.parent / name).read_text())
        runs.append({b["param"]: b for b in data["benchmarks"]})
    first, again = runs
    cells = {"random_search-seed0", "random_search-seed1", "baseline-seed0", "baseline-seed1"}
    assert set(first) == set(again) == cells
    for cell in cells:
        ran, replayed = first[cell], again[cell]
        assert ran["extra_info"]["recorded"] is False
        assert replayed["extra_info"]["recorded"] is True
        assert ran["options"]["timer"] == "perf_counter"
        assert replayed["options"]["timer"] == "recorded_wall_time"
        # The recorded cell reports what the record holds: the wall time of the run that made it.
        recorded_seconds = ran["extra_info"]["wall_seconds"]
        assert replayed["stats"]["rounds"] == 1
        assert replayed["stats"]["mean"] == pytest.approx(recorded_seconds)
        assert {k: v for k, v in replayed["extra_info"].items() if k != "recorded"} == {
            k: v for k, v in ran["extra_info"].items() if k != "recorded"
        }
        assert ran["extra_info"]["evaluations"] >= 1
