"""TensorBoard HParams runs: one per evaluation, for every strategy, from the cell records.

Layout under ``results/<study>/tensorboard/`` (``tensorboard --logdir`` there shows every
trial of every strategy in one HParams table)::

    events.out.tfevents.*           the experiment: hyperparameters (with the space's
                                    domains), strategy, seed, fidelity, and the metrics
    <strategy>-seed<k>/<index>/     one run per evaluation: its hyperparameter values and
                                    its validation metrics, at step = epochs trained

Runs are written from the record when the driver writes it, so they exist for any executor
(a Dask worker need not see the study directory) and for any problem, trained or not. A
cell written again (a retried cell) replaces its runs.
"""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path
from typing import Any

from study.records import CellRecord
from study.store import StudyStore

RUN_FIELDS = ("strategy", "seed", "fidelity_epochs", "status")
# Per-evaluation numbers shown beside the validation metrics.
EXTRA_METRICS = {
    "score": "the minimised objective the strategy saw (a finite penalty when not ok)",
    "epochs_run": "epochs trained, summed over folds",
    "cost": "full-fidelity-equivalent evaluations charged",
}


def metric_tag(metric: str) -> str:
    return f"validation/{metric}"


def write_cell_runs(store: StudyStore, record: CellRecord) -> list[Path]:
    """Write (or rewrite) the runs of one cell record; returns the run directories."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.plugins.hparams import api as hp
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    _write_experiment(store.tensorboard_dir, record)
    strategy, seed = record.strategy, record.seed
    searched = _searched_names(record)
    shutil.rmtree(store.tensorboard_cell_dir(strategy, seed), ignore_errors=True)
    runs = []
    for e in record.evaluations:
        path = store.tensorboard_run_dir(strategy, seed, e.index)
        values: dict[str, Any] = {
            name: _hparam_value(e.config[name]) for name in searched if name in e.config
        }
        values.update(
            strategy=strategy, seed=seed, fidelity_epochs=e.fidelity_epochs, status=e.status
        )
        scalars = {metric_tag(k): v for k, v in e.metrics.items()}
        scalars.update({k: getattr(e, k) for k in EXTRA_METRICS})
        writer = EventFileWriter(str(path))
        try:
            session = hp.hparams_pb(values, trial_id=f"{strategy}-seed{seed}/{e.index}")
            writer.add_event(event_pb2.Event(wall_time=time.time(), step=0, summary=session))
            summary = summary_pb2.Summary(
                value=[
                    summary_pb2.Summary.Value(tag=tag, simple_value=float(value))
                    for tag, value in scalars.items()
                    # A diverged evaluation has no metrics: TensorBoard shows a blank.
                    if math.isfinite(value)
                ]
            )
            writer.add_event(
                event_pb2.Event(wall_time=time.time(), step=e.epochs_run, summary=summary)
            )
        finally:
            writer.close()
        runs.append(path)
    return runs


def _write_experiment(root: Path, record: CellRecord) -> None:
    """The HParams experiment (columns and their domains), once per study."""
    from tensorboard.compat.proto import event_pb2
    from tensorboard.plugins.hparams import api as hp
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    if root.is_dir() and any(root.glob("events.out.tfevents.*")):
        return
    hparams = [_hparam(p) for p in _space_params(record)]
    hparams += [
        hp.HParam("strategy"),  # no domain: strategies may join the study later
        hp.HParam("seed"),
        hp.HParam("fidelity_epochs", display_name="epochs asked"),
        hp.HParam("status", hp.Discrete(["ok", "pruned", "diverged", "failed"])),
    ]
    directions = record.metric_directions
    metrics = [
        hp.Metric(
            metric_tag(name),
            display_name=f"validation {name}",
            description=f"{'lower' if direction == 'min' else 'higher'} is better",
            dataset_type=hp.Metric.VALIDATION,
        )
        for name, direction in directions.items()
    ]
    metrics += [hp.Metric(k, description=text) for k, text in EXTRA_METRICS.items()]
    writer = EventFileWriter(str(root))
    try:
        config = hp.hparams_config_pb(hparams=hparams, metrics=metrics)
        writer.add_event(event_pb2.Event(wall_time=time.time(), step=0, summary=config))
    finally:
        writer.close()


def _space_params(record: CellRecord) -> list[Any]:
    from study.errors import UsageError
    from study.space import get_space

    try:
        return list(get_space(record.spec.space).params)
    except UsageError:  # a space this process does not know: columns without domains
        return []


def _searched_names(record: CellRecord) -> list[str]:
    names = [p.name for p in _space_params(record)]
    if names:
        return names
    configs = [e.config for e in record.evaluations]
    return sorted({k for c in configs for k in c})


def _hparam(param: Any) -> Any:
    from tensorboard.plugins.hparams import api as hp

    from study.space import Categorical, Float

    if isinstance(param, Categorical):
        return hp.HParam(param.name, hp.Discrete(list(param.choices)))
    if isinstance(param, Float):
        return hp.HParam(param.name, hp.RealInterval(float(param.low), float(param.high)))
    return hp.HParam(param.name, hp.IntInterval(int(param.low), int(param.high)))


def _hparam_value(value: Any) -> Any:
    return value if isinstance(value, (bool, int, float, str)) else str(value)
