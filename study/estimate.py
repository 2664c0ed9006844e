"""A run-time estimate printed before a study starts, from one short calibration fit."""

from __future__ import annotations

import math
import time
from typing import Any, NamedTuple

from study.problems import get_problem
from study.progress import duration
from study.settings import StudySpec
from study.space import Int, SearchSpace, get_space

_CALIBRATION_EPOCHS = 8
_REPEATS = 3  # warm timings are the fastest of a few: a busy machine only adds to them
# Configs drawn to count the distinct compiled training functions a space can need.
_SPACE_SAMPLES = 4000


class Calibration(NamedTuple):
    per_epoch: float  # one full-fidelity epoch (all folds) of the calibrated model
    per_evaluation: float  # what an evaluation costs besides its epochs (building, scoring)
    per_model: float  # compiling a new model's training functions, once per shape


def calibrate(spec: StudySpec, largest: bool = False) -> Calibration:
    """Times the space's default model, or its largest (every integer parameter, depth and
    width, at its top; the rest at defaults): once cold (it compiles), then warm at one
    epoch and at a few, so that per-epoch and per-evaluation costs come apart."""
    evaluator = get_problem(spec.problem).make_evaluator(spec.protocol, spec.seeds[0])
    space = get_space(spec.space)
    config = space.config(_largest_values(space) if largest else space.default_values())

    def timed(epochs: int, repeats: int = _REPEATS) -> tuple[float, int]:
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            outcome = evaluator.evaluate(config, epochs)
            seconds.append(time.perf_counter() - start)
        return min(seconds), outcome.epochs_run

    cold, _ = timed(1, repeats=1)
    one, folds = timed(1)  # epochs_run at one epoch: one per fold
    longer = min(_CALIBRATION_EPOCHS, spec.protocol.max_epochs)
    if longer == 1:
        return Calibration(one, 0.0, max(0.0, cold - one))
    many, fold_epochs = timed(longer)
    if many > one and fold_epochs > folds:
        per_fold_epoch = (many - one) / (fold_epochs - folds)
    else:  # epochs too cheap to tell from the noise: count the whole evaluation as epochs
        per_fold_epoch = many / max(1, fold_epochs)
    per_epoch = per_fold_epoch * max(1, folds)
    return Calibration(per_epoch, max(0.0, one - per_epoch), max(0.0, cold - one))


def _largest_values(space: SearchSpace) -> dict[str, Any]:
    """The space's defaults with every integer parameter (depth, width) at its top."""
    values = space.default_values()
    values.update({p.name: p.high for p in space.params if isinstance(p, Int)})
    return values


def compiled_shapes(spec: StudySpec) -> int | None:
    """How many distinct compiled training functions the space's configs need, at most
    (counted over a large sample); None where every new architecture compiles anew (the
    reference engine traces per architecture; a space without an MLP compiles nothing)."""
    space = get_space(spec.space)
    if spec.protocol.engine != "compiled" or "n_hidden" not in space.defaults:
        return None
    from sklearn.model_selection import ParameterSampler

    from study.mlp.model import architecture

    sampler = ParameterSampler(space.to_scipy(), n_iter=_SPACE_SAMPLES, random_state=0)
    keys = set()
    for values in sampler:
        config = space.config(values)
        key = architecture(config, 0, engine="compiled", widths=spec.protocol.width_buckets)
        keys.add((key, config["batch_size"]))
    return len(keys)


def _seconds(
    spec: StudySpec, n_cells: int, workers: int, cost: Calibration, shapes: int | None
) -> float:
    # budget evaluations plus the incumbent's retrain, every one at full fidelity
    evaluations = n_cells * (spec.budget + 1)
    per_full_evaluation = spec.protocol.max_epochs * cost.per_epoch + cost.per_evaluation
    training = evaluations * per_full_evaluation / workers
    return training + compiles_per_worker(spec, n_cells, workers, shapes) * cost.per_model


def compiles_per_worker(spec: StudySpec, n_cells: int, workers: int, shapes: int | None) -> int:
    """Each worker compiles each of the ``shapes`` it meets once; the reference engine
    (``shapes`` None), every model."""
    per_worker = math.ceil(n_cells * (spec.budget + 1) / workers)
    return per_worker if shapes is None else min(shapes, per_worker)


def mean_share(spec: StudySpec) -> float:
    """Where the space's configs, drawn as random search draws them, sit on average between
    its default model (0) and its largest (1), by the multiply-adds of one row's forward
    pass (at the widths the engine trains); 0 for a space without an MLP."""
    space = get_space(spec.space)
    if "n_hidden" not in space.defaults:
        return 0.0
    from sklearn.model_selection import ParameterSampler

    from study.mlp.model import architecture

    evaluator = get_problem(spec.problem).make_evaluator(spec.protocol, spec.seeds[0])
    n_features = int(evaluator.X_train.shape[1])

    def work(values: dict[str, Any]) -> int:
        config = space.config(values)
        protocol = spec.protocol
        hidden = architecture(
            config, n_features, engine=protocol.engine, widths=protocol.width_buckets
        )[2]
        if not hidden:
            return n_features
        depth, width = hidden[0], hidden[1]
        return n_features * width + (depth - 1) * width * width + width

    default = work(space.default_values())
    largest = work(_largest_values(space))
    if largest <= default:
        return 0.0
    sampler = ParameterSampler(space.to_scipy(), n_iter=_SPACE_SAMPLES, random_state=0)
    mean = sum(work(values) for values in sampler) / _SPACE_SAMPLES
    return min(1.0, max(0.0, (mean - default) / (largest - default)))


class Costs(NamedTuple):
    """What the estimate measures where cells run (it trains, so it needs what they need)."""

    default: Calibration  # the space's default model
    largest: Calibration  # its largest model
    share: float  # where an average config sits between the two (``mean_share``)
    shapes: int | None  # compiled training functions the space can need (``compiled_shapes``)


def measure_costs(spec: StudySpec) -> Costs:
    return Costs(
        calibrate(spec), calibrate(spec, largest=True), mean_share(spec), compiled_shapes(spec)
    )


def estimate_seconds(
    spec: StudySpec, n_cells: int, workers: int = 1, costs: Costs | None = None
) -> str:
    """The whole run if no training stops early: every evaluation as costly as an average
    config of the space (interpolated between the calibrated default and largest models by
    their arithmetic), within the range from every one as costly as the default model to
    every one as costly as the largest. ``costs`` as measured by ``measure_costs`` (on a
    worker), else measured here."""
    workers = max(1, workers)
    low, high, share, shapes = costs if costs is not None else measure_costs(spec)
    typical = Calibration(
        *(a + share * (b - a) for a, b in zip(low[:2], high[:2], strict=True)), high.per_model
    )

    def seconds(cost: Calibration) -> str:
        return duration(_seconds(spec, n_cells, workers, cost, shapes))

    on = "one core" if workers == 1 else f"{workers} workers"
    return (
        f"about {seconds(typical)} for an average config of the space ({seconds(low)} if "
        f"every model were the default, {seconds(high)} if every one were the largest) on "
        f"{on} for {n_cells} cells if no training stops early (early stopping only shortens "
        f"it); per full-fidelity epoch {low.per_epoch:.3f}–{high.per_epoch:.3f} s, "
        f"{low.per_evaluation:.2f}–{high.per_evaluation:.2f} s more per evaluation, "
        f"{high.per_model:.1f} s per new compiled model, at most "
        f"{compiles_per_worker(spec, n_cells, workers, shapes)} per worker"
    )
