"""Figures, rendered from the computed tables; PNG and SVG under ``results/<study>/figures``."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from analysis import styles
from analysis.load import Study
from analysis.tables import X_AXES, best_so_far_curves, curve_bands


def save(fig: plt.Figure, directory: Path, name: str) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{name}.png", directory / f"{name}.svg"]
    fig.savefig(paths[0], dpi=130)
    fig.savefig(paths[1])
    plt.close(fig)
    return paths


def best_so_far_figure(
    study: Study, evaluations: pd.DataFrame, x: str = "cumulative_cost"
) -> plt.Figure:
    """Best-so-far validation objective: median line and IQR band over seeds per strategy."""
    metric = study.objective_metric
    colours = styles.strategy_colours(study.strategies)
    end = study.budget if x == "cumulative_cost" else None
    curves = best_so_far_curves(evaluations, x, end)
    fig, ax = styles.new_figure()
    baseline = curves[curves["strategy"] == styles.BASELINE]
    searches = curve_bands(curves[curves["strategy"] != styles.BASELINE])
    for strategy in study.strategies:
        band = searches[searches["strategy"] == strategy]
        if band.empty:
            continue
        colour = colours[strategy]
        n = int(band["n_seeds"].max())
        ax.step(
            band["x"], band["median"], where="post", color=colour, lw=2, label=f"{strategy} (n={n})"
        )
        ax.fill_between(
            band["x"], band["q25"], band["q75"], step="post", color=colour, alpha=0.2, lw=0
        )
    if not baseline.empty:
        # The baseline is one fixed configuration: its final score, as a reference level.
        level = baseline.groupby("seed")["best_so_far"].last().median()
        ax.axhline(
            level,
            color=colours[styles.BASELINE],
            ls="--",
            lw=1.5,
            label=f"{styles.BASELINE} (median)",
        )
    ax.set_xlabel(X_AXES[x])
    ax.set_ylabel("best-so-far " + styles.metric_label(metric, study.spec.get("problem", "")))
    ax.set_title(f"{study.name}: best-so-far, median and interquartile band over seeds")
    _clip_to_interesting(ax, searches, study.metric_directions[metric])
    ax.legend(fontsize="small")
    return fig


def _clip_to_interesting(ax: plt.Axes, bands: pd.DataFrame, direction: str) -> None:
    """Early scores can be penalties many times the final ones; keep the finish readable."""
    if bands.empty:
        return
    worse, better = ("q75", "q25") if direction == "min" else ("q25", "q75")
    s = 1.0 if direction == "min" else -1.0
    best = (s * bands[better]).min()
    finals = (s * bands.groupby("strategy")[worse].last()).max()
    starts = (s * bands.groupby("strategy")[worse].first()).max()
    worst = min(starts, best + 4 * max(finals - best, 1e-12))
    if worst > best:
        pad = 0.05 * (worst - best)
        ax.set_ylim(sorted((s * (best - pad), s * (worst + pad))))
