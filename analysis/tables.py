"""Tidy tables from records: one row per evaluation, per cell, per strategy.

Metrics are named by the records (``objective_metric`` and ``metric_directions``), so a
problem whose objective is maximised plugs in without special cases: internally every
value is turned into a *loss* (``value`` when minimised, ``-value`` when maximised), and
reported back in the metric's own units.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.load import Study

CONVERGENCE_TOLERANCE = 0.01  # "within 1% of the best validation score reached on the seed"
X_AXES = {
    "cumulative_cost": "full-fidelity-equivalent evaluations",
    "cumulative_epochs": "epochs trained",
    "cumulative_seconds": "wall time (s)",
}


def sign(direction: str) -> float:
    """+1 for a metric that is minimised, -1 for one that is maximised."""
    if direction not in ("min", "max"):
        raise ValueError(f"metric direction must be 'min' or 'max', not {direction!r}")
    return 1.0 if direction == "min" else -1.0


def within(loss: Any, best_loss: Any, tolerance: float) -> Any:
    """Whether a loss is within ``tolerance`` (relative) of the best loss."""
    return loss <= best_loss + tolerance * np.abs(best_loss)


def evaluations_table(study: Study) -> pd.DataFrame:
    """One row per evaluation, in order, with running best-so-far and the three x axes."""
    metric = study.objective_metric
    s = sign(study.metric_directions[metric])
    rows: list[dict[str, Any]] = []
    for record in study.records:
        max_epochs = record.budget.max_epochs
        epochs_total = 0.0
        seconds_total = 0.0
        best = np.inf
        for e in sorted(record.evaluations, key=lambda e: e.index):
            epochs_total += e.epochs_run
            seconds_total += _zero(e.fit_seconds) + _zero(e.overhead_seconds)
            value = e.metrics.get(metric, np.nan)
            counted = e.counted and np.isfinite(value)
            if counted:
                best = min(best, s * value)
            row = {
                "study": record.study,
                "strategy": record.strategy,
                "seed": record.seed,
                "index": e.index,
                "status": e.status,
                "fidelity_epochs": e.fidelity_epochs,
                "charged_epochs": e.charged_epochs,
                "full_fidelity": e.fidelity_epochs >= max_epochs,
                "cost": e.cost,
                "cumulative_cost": e.cumulative_cost,
                "epochs_run": e.epochs_run,
                "cumulative_epochs": epochs_total,
                "best_epoch": e.best_epoch,
                "fit_seconds": e.fit_seconds,
                "overhead_seconds": e.overhead_seconds,
                "cumulative_seconds": seconds_total,
                "score": e.score,
                "counted": counted,
            }
            for name in study.metric_directions:
                row[f"val_{name}"] = e.metrics.get(name, np.nan)
            row["best_so_far"] = s * best if np.isfinite(best) else np.nan
            row.update({f"param_{k}": v for k, v in e.config.items()})
            row["error"] = e.error
            rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.sort_values(["strategy", "seed", "index"], kind="stable").reset_index(drop=True)


def best_on_seed(evaluations: pd.DataFrame, study: Study) -> pd.Series:
    """Best validation objective any strategy reached on each seed (as a loss)."""
    metric = study.objective_metric
    s = sign(study.metric_directions[metric])
    counted = evaluations[evaluations["counted"]]
    return (s * counted[f"val_{metric}"]).groupby(counted["seed"]).min()


def convergence(
    evaluations: pd.DataFrame, study: Study, tolerance: float = CONVERGENCE_TOLERANCE
) -> pd.DataFrame:
    """Per cell: cost until the incumbent first comes within ``tolerance`` of the seed's best.

    Runs that never get there are censored at the budget (``censored`` is True).
    """
    s = sign(study.metric_directions[study.objective_metric])
    best = best_on_seed(evaluations, study)
    rows = []
    for (strategy, seed), cell in evaluations.groupby(["strategy", "seed"], sort=False):
        loss = s * cell["best_so_far"]
        hit = cell[within(loss, best.get(seed, np.nan), tolerance).fillna(False)]
        reached = not hit.empty
        rows.append(
            {
                "strategy": strategy,
                "seed": seed,
                "evaluations_to_convergence": float(hit["cumulative_cost"].iloc[0])
                if reached
                else study.budget,
                "censored": not reached,
            }
        )
    return pd.DataFrame(
        rows, columns=["strategy", "seed", "evaluations_to_convergence", "censored"]
    )


def cells_table(study: Study, evaluations: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per cell: spend, incumbent, final test scores, timings, convergence."""
    if evaluations is None:
        evaluations = evaluations_table(study)
    rows = []
    for record in study.records:
        statuses = pd.Series([e.status for e in record.evaluations], dtype=object)
        budget = record.budget
        timings = record.timings
        incumbent = record.incumbent
        row: dict[str, Any] = {
            "study": record.study,
            "strategy": record.strategy,
            "seed": record.seed,
            "n_evaluations": len(record.evaluations),
        }
        for status in ("ok", "pruned", "diverged", "failed"):
            row[f"n_{status}"] = int((statuses == status).sum())
        row.update(
            {
                "spent_cost": budget.spent_cost,
                "budget_cost": budget.evaluations,
                "used_fraction": budget.used_fraction,
                "overshoot_epochs": budget.overshoot_epochs,
                "stop_reason": budget.stop_reason,
            }
        )
        for name in study.metric_directions:
            row[f"val_{name}"] = record.validation(name)
        for name in study.metric_directions:
            row[f"test_{name}"] = record.test_score(name)
        row["test_status"] = record.test.status
        row["test_epochs"] = record.test.epochs
        row.update(
            wall_seconds=timings.wall_seconds,
            search_seconds=timings.search_seconds,
            train_seconds=timings.train_seconds,
            overhead_seconds=timings.overhead_seconds,
            final_fit_seconds=timings.final_fit_seconds,
        )
        row["incumbent_index"] = None if incumbent is None else incumbent.index
        if incumbent is not None:
            row.update({f"param_{k}": v for k, v in incumbent.config.items()})
        rows.append(row)
    cells = pd.DataFrame(rows)
    cells = cells.merge(convergence(evaluations, study), on=["strategy", "seed"], how="left")
    order = {name: i for i, name in enumerate(study.strategies)}
    return cells.sort_values(
        ["strategy", "seed"], key=lambda c: c.map(order) if c.name == "strategy" else c
    ).reset_index(drop=True)


def comparison_table(study: Study, cells: pd.DataFrame) -> pd.DataFrame:
    """One row per strategy: medians (and IQRs) over seeds of what a practitioner compares."""
    rows = []
    for strategy in study.strategies:
        group = cells[cells["strategy"] == strategy]
        row: dict[str, Any] = {"strategy": strategy, "n_seeds": len(group)}
        for name in study.metric_directions:
            values = group[f"test_{name}"].dropna()
            row[f"test_{name}_median"] = values.median()
            row[f"test_{name}_iqr"] = _iqr(values)
        obj = study.objective_metric
        row[f"val_{obj}_median"] = group[f"val_{obj}"].median()
        for key in ("wall_seconds", "train_seconds", "overhead_seconds"):
            row[f"{key}_median"] = group[key].median()
        row["evaluations_to_convergence_median"] = group["evaluations_to_convergence"].median()
        row["converged_runs"] = int((~group["censored"].astype(bool)).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def best_so_far_curves(
    evaluations: pd.DataFrame, x: str = "cumulative_cost", end: float | None = None
) -> pd.DataFrame:
    """Each cell's best-so-far on a common grid of ``x`` (step function; NaN before any score).

    The grid is every ``x`` value any cell reached (so no step is lost to interpolation),
    plus ``end`` (e.g. the budget) so the last incumbent is drawn to the end of the run.
    """
    counted = evaluations[evaluations["counted"]]
    points = counted[x].to_numpy(dtype=float)
    grid = np.unique(np.append(points, end) if end is not None else points)
    frames = []
    for (strategy, seed), cell in counted.groupby(["strategy", "seed"], sort=False):
        xs = cell[x].to_numpy(dtype=float)
        ys = cell["best_so_far"].to_numpy(dtype=float)
        position = np.searchsorted(xs, grid, side="right") - 1
        values = np.where(position >= 0, ys[np.clip(position, 0, None)], np.nan)
        frames.append(
            pd.DataFrame({"strategy": strategy, "seed": seed, "x": grid, "best_so_far": values})
        )
    if not frames:
        return pd.DataFrame(columns=["strategy", "seed", "x", "best_so_far"])
    return pd.concat(frames, ignore_index=True)


def curve_bands(curves: pd.DataFrame) -> pd.DataFrame:
    """Median and interquartile band across seeds, where every seed of the strategy has a score."""
    rows = []
    for (strategy, x), group in curves.groupby(["strategy", "x"], sort=False):
        values = group["best_so_far"]
        if values.isna().any():
            continue
        rows.append(
            {
                "strategy": strategy,
                "x": x,
                "median": values.median(),
                "q25": values.quantile(0.25),
                "q75": values.quantile(0.75),
                "n_seeds": len(values),
            }
        )
    return pd.DataFrame(rows, columns=["strategy", "x", "median", "q25", "q75", "n_seeds"])


def _iqr(values: pd.Series) -> float:
    if values.empty:
        return float("nan")
    return float(values.quantile(0.75) - values.quantile(0.25))


def _zero(seconds: float) -> float:
    """A time that was not recorded (NaN) adds nothing to a running total."""
    return seconds if np.isfinite(seconds) else 0.0
