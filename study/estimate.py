"""A run-time estimate printed before a study starts, from one short calibration fit."""

from __future__ import annotations

import math
import time

from study.problems import get_problem
from study.progress import duration
from study.settings import StudySpec
from study.space import get_space

_CALIBRATION_EPOCHS = 2
# Configs drawn to count the distinct compiled training functions a space can need.
_SPACE_SAMPLES = 4000


def calibrate(spec: StudySpec) -> tuple[float, float]:
    """Wall seconds of one full-fidelity epoch (all folds) of the space's default model, and
    the once-per-model cost of building and compiling it (a new compiled shape pays it)."""
    evaluator = get_problem(spec.problem).make_evaluator(spec.protocol, spec.seeds[0])
    space = get_space(spec.space)
    config = space.config(space.default_values())
    epochs = min(_CALIBRATION_EPOCHS, spec.protocol.max_epochs)
    seconds = []
    for _ in range(2):  # the second fit reuses the first one's compiled model
        start = time.perf_counter()
        evaluator.evaluate(config, epochs)
        seconds.append(time.perf_counter() - start)
    per_epoch = seconds[1] / epochs
    return per_epoch, max(0.0, seconds[0] - seconds[1])


def compiled_shapes(spec: StudySpec) -> int | None:
    """How many distinct compiled training functions the space's configs need, at most
    (counted over a large sample); None where every new architecture compiles anew (the
    reference engine traces per architecture; a space without an MLP compiles nothing)."""
    space = get_space(spec.space)
    if spec.protocol.engine != "compiled" or "n_hidden" not in space.defaults:
        return None
    from sklearn.model_selection import ParameterSampler

    from study.model import architecture

    sampler = ParameterSampler(space.to_scipy(), n_iter=_SPACE_SAMPLES, random_state=0)
    keys = set()
    for values in sampler:
        config = space.config(values)
        keys.add((architecture(config, 0, engine="compiled"), config["batch_size"]))
    return len(keys)


def estimate_seconds(spec: StudySpec, n_cells: int, workers: int = 1) -> str:
    per_epoch, per_model = calibrate(spec)
    workers = max(1, workers)
    # budget evaluations plus the incumbent's retrain, every one at full fidelity
    evaluations = n_cells * (spec.budget + 1)
    training = evaluations * spec.protocol.max_epochs * per_epoch / workers
    # Each worker compiles each shape it meets once; the reference engine, every new model.
    per_worker = math.ceil(evaluations / workers)
    shapes = compiled_shapes(spec)
    compiles = per_worker if shapes is None else min(shapes, per_worker)
    worst = training + compiles * per_model
    on = "one core" if workers == 1 else f"{workers} workers"
    return (
        f"at most {duration(worst)} on {on} for {n_cells} cells if no training stops early "
        f"(early stopping usually halves it; {per_epoch:.3f} s per full-fidelity epoch of the "
        f"default model, {per_model:.1f} s per new compiled model, at most {compiles} per worker)"
    )
