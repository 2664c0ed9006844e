"""A run-time estimate printed before a study starts, from one short calibration fit."""

from __future__ import annotations

import time

from study.problems import get_problem
from study.progress import duration
from study.settings import StudySpec
from study.space import get_space

_CALIBRATION_EPOCHS = 2


def calibrate(spec: StudySpec) -> tuple[float, float]:
    """Wall seconds of one full-fidelity epoch (all folds) of the space's default model, and
    the once-per-model cost of building and tracing it (a new architecture pays it again)."""
    evaluator = get_problem(spec.problem).make_evaluator(spec.protocol, spec.seeds[0])
    space = get_space(spec.space)
    config = space.config(space.default_values())
    epochs = min(_CALIBRATION_EPOCHS, spec.protocol.max_epochs)
    seconds = []
    for _ in range(2):  # the second fit reuses the first one's traced model
        start = time.perf_counter()
        evaluator.evaluate(config, epochs)
        seconds.append(time.perf_counter() - start)
    per_epoch = seconds[1] / epochs
    return per_epoch, max(0.0, seconds[0] - seconds[1])


def estimate_seconds(spec: StudySpec, n_cells: int) -> str:
    per_epoch, per_model = calibrate(spec)
    # budget evaluations plus the incumbent's retrain, every one at full fidelity and on a
    # new architecture
    per_evaluation = spec.protocol.max_epochs * per_epoch + per_model
    worst = n_cells * (spec.budget + 1) * per_evaluation
    return (
        f"at most {duration(worst)} for {n_cells} cells if no training stops early "
        f"(early stopping usually halves it; {per_epoch:.2f} s per full-fidelity epoch and "
        f"{per_model:.1f} s per new model here)"
    )
