"""A run-time estimate printed before a study starts, from one short calibration fit."""

from __future__ import annotations

import time

from study.problems import get_problem
from study.settings import StudySpec
from study.space import get_space

_CALIBRATION_EPOCHS = 2


def seconds_per_epoch(spec: StudySpec) -> float:
    """Wall seconds of one full-fidelity epoch (all folds) of the space's default model."""
    evaluator = get_problem(spec.problem).make_evaluator(spec.protocol, spec.seeds[0])
    space = get_space(spec.space)
    config = space.config(space.default_values())
    epochs = min(_CALIBRATION_EPOCHS, spec.protocol.max_epochs)
    start = time.perf_counter()
    evaluator.evaluate(config, epochs)
    return (time.perf_counter() - start) / epochs


def estimate_seconds(spec: StudySpec, n_cells: int) -> str:
    per_epoch = seconds_per_epoch(spec)
    # budget evaluations plus the incumbent's retrain, every one at full fidelity
    worst = n_cells * (spec.budget + 1) * spec.protocol.max_epochs * per_epoch
    return (
        f"at most {_human(worst)} for {n_cells} cells if no training stops early "
        f"(early stopping usually halves it; {per_epoch:.2f} s per full-fidelity epoch here)"
    )


def _human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
