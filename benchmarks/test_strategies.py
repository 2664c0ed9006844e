"""One benchmark per (strategy, seed) cell; each drives the cell through the study runner."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from study.runner import run_cell
from study.store import StudyStore


def test_cell(
    benchmark: Any,
    study: tuple[Any, StudyStore],
    cell: tuple[str, int],
    cell_progress: Callable[[Any], None] | None,
) -> None:
    spec, store = study
    strategy, seed = cell
    record = store.load_cell(strategy, seed)
    if record is None:
        record = benchmark.pedantic(
            run_cell,
            args=(spec, strategy, seed, store, cell_progress),
            rounds=1,
            iterations=1,
        )
    metric = record.objective_metric
    benchmark.extra_info.update(
        {
            "strategy": strategy,
            "seed": seed,
            f"test_{metric}": _number(record.test_score()),
            "test_r2": _number(record.test_score("r2")),
            f"best_val_{metric}": _number(record.validation()),
            "evaluations": len(record.evaluations),
            "budget_used": record.budget.used_fraction,
            "wall_seconds": record.timings.wall_seconds,
        }
    )
    assert record.budget.spent_epochs <= record.budget.budget_epochs
    assert record.evaluations, "the strategy evaluated nothing"
    assert record.incumbent is not None, "no evaluation succeeded"


def _number(value: float) -> float | None:
    """JSON has no NaN: a missing score is null in ``--benchmark-json``."""
    return value if math.isfinite(value) else None
