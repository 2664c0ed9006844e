"""One benchmark per (strategy, seed) cell; each drives the cell through the study runner,
or replays its record when the cell is already recorded (see conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def test_cell(benchmark: Any, cell_run: Callable[[], dict[str, Any]]) -> None:
    figures = benchmark.pedantic(cell_run, rounds=1, iterations=1)
    benchmark.extra_info.update(figures)
    assert figures["spent_epochs"] <= figures["budget_epochs"]
    assert figures["evaluations"], "the strategy evaluated nothing"
    assert figures["incumbent_found"], "no evaluation succeeded"
