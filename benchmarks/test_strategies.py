"""One benchmark per (strategy, seed) cell; each drives the cell through the study runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from study.runner import load_finished, run_cell


def test_cell(
    benchmark: Any,
    study: tuple[Any, Path],
    cell: tuple[str, int],
    cell_progress: Callable[[Any], None] | None,
) -> None:
    spec, directory = study
    strategy, seed = cell
    record = load_finished(directory, strategy, seed)
    if record is None:
        record = benchmark.pedantic(
            run_cell,
            args=(spec, strategy, seed, directory, cell_progress),
            rounds=1,
            iterations=1,
        )
    metric = record["objective_metric"]
    benchmark.extra_info.update(
        {
            "strategy": strategy,
            "seed": seed,
            f"test_{metric}": record["test"]["metrics"].get(metric),
            "test_r2": record["test"]["metrics"].get("r2"),
            f"best_val_{metric}": (record["incumbent"] or {}).get("score"),
            "evaluations": len(record["evaluations"]),
            "budget_used": record["budget"]["used_fraction"],
            "wall_seconds": record["timings"]["wall_seconds"],
        }
    )
    assert record["budget"]["spent_epochs"] <= record["budget"]["budget_epochs"]
    assert record["evaluations"], "the strategy evaluated nothing"
    assert record["incumbent"] is not None, "no evaluation succeeded"
