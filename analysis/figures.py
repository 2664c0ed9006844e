"""Figures, rendered from the computed tables; PNG and SVG under ``results/<study>/figures``."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from analysis import styles
from analysis.curves import HYPERBAND_FACTOR, hyperband_rungs
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
    ax.set_xlabel(X_AXES[x])
    ax.set_ylabel("best-so-far " + styles.metric_label(metric, study.spec.problem))
    ax.set_title(f"{study.name}: best-so-far, median and interquartile band over seeds")
    _clip_to_interesting(ax, searches, study.metric_directions[metric])
    if not baseline.empty:
        # The baseline is one fixed configuration: its final score, as a reference level.
        level = baseline.groupby("seed")["best_so_far"].last().median()
        low, high = sorted(ax.get_ylim())
        off_scale = "" if low <= level <= high else ", off scale"
        ax.axhline(
            level,
            color=colours[styles.BASELINE],
            ls="--",
            lw=1.5,
            label=f"{styles.BASELINE} (median {level:.4g}{off_scale})",
        )
        ax.set_ylim(low, high)  # a reference line off scale must not rescale the axes
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


def _x_label(x: str) -> str:
    return X_AXES[x]


def lines_figure(
    study: Study,
    frame: pd.DataFrame,
    value: str,
    ylabel: str,
    title: str,
    xlabel: str = X_AXES["cumulative_cost"],
    reference: float | None = None,
    reference_label: str = "",
) -> plt.Figure:
    """One step line per strategy of ``value`` against ``x`` (mean ranks, normalised scores...)."""
    colours = styles.strategy_colours(study.strategies)
    fig, ax = styles.new_figure()
    for strategy in study.strategies:
        part = frame[frame["strategy"] == strategy]
        if part.empty:
            continue
        ax.step(part["x"], part[value], where="post", color=colours[strategy], lw=2, label=strategy)
    if reference is not None:
        ax.axhline(reference, color="0.3", ls=":", lw=1, label=reference_label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small")
    return fig


def critical_difference_figure(
    study: Study, ranks: pd.Series, nemenyi: pd.DataFrame, measure: str, cd: float
) -> plt.Figure:
    """Mean ranks on one axis; bars join strategies Nemenyi cannot tell apart (α = 0.05)."""
    import scikit_posthocs as sp

    colours = styles.strategy_colours(study.strategies)
    fig, ax = plt.subplots(figsize=(7.0, 0.6 + 0.35 * len(ranks)), layout="constrained")
    sp.critical_difference_diagram(
        ranks, nemenyi.fillna(1.0), ax=ax, color_palette={s: colours[s] for s in ranks.index}
    )
    ax.set_title(f"{study.name}: mean rank on {measure} (1 = best); Nemenyi CD = {cd:.2f}")
    return fig


def time_performance_figure(study: Study, cells: pd.DataFrame) -> plt.Figure:
    """Left: wall time vs final test score per cell. Right: median time split per strategy."""
    metric = study.objective_metric
    colours = styles.strategy_colours(study.strategies)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.5), layout="constrained")
    for strategy in study.strategies:
        part = cells[cells["strategy"] == strategy]
        left.scatter(
            part["wall_seconds"],
            part[f"test_{metric}"],
            color=colours[strategy],
            label=strategy,
            s=36,
            alpha=0.85,
        )
    left.set_xlabel("wall time per cell (s)")
    left.set_ylabel(styles.metric_label(metric, study.spec.problem, "test"))
    left.set_title("time vs performance (one point per seed)")
    left.grid(True, alpha=0.3)
    left.legend(fontsize="small")
    medians = (
        cells.groupby("strategy")[["train_seconds", "overhead_seconds", "final_fit_seconds"]]
        .median()
        .reindex(study.strategies)
    )
    bottom = pd.Series(0.0, index=medians.index)
    for column, label, hatch in (
        ("train_seconds", "training (search)", ""),
        ("overhead_seconds", "strategy overhead", "//"),
        ("final_fit_seconds", "final refit", ".."),
    ):
        right.bar(
            medians.index,
            medians[column],
            bottom=bottom,
            label=label,
            hatch=hatch,
            color=[colours[s] for s in medians.index],
            edgecolor="0.2",
            alpha=0.8,
        )
        bottom += medians[column].fillna(0.0)
    right.set_ylabel("median wall time per cell (s)")
    right.set_title("where the time goes")
    right.tick_params(axis="x", rotation=30)
    right.legend(fontsize="small")
    right.grid(True, axis="y", alpha=0.3)
    return fig


def importance_figure(study: Study, tables: list[pd.DataFrame]) -> plt.Figure:
    """Importance bars per method; error bars are the sd over forest seeds (fANOVA)."""
    present = [t for t in tables if not t.empty]
    fig, axes = plt.subplots(
        1,
        max(1, len(present)),
        figsize=(5.5 * max(1, len(present)), 4.0),
        layout="constrained",
        squeeze=False,
    )
    for ax, table in zip(axes[0], present, strict=False):
        ordered = table.sort_values("importance")
        ax.barh(
            ordered["parameter"],
            ordered["importance"],
            xerr=ordered["sd"].fillna(0.0),
            color="#4c72b0",
            alpha=0.85,
            capsize=3,
        )
        ax.set_xlabel("importance (share, sums to 1)")
        ax.set_title(f"{table['method'].iloc[0]}, {int(table['n_trials'].iloc[0])} trials")
        ax.grid(True, axis="x", alpha=0.3)
    return fig


def marginals_figure(study: Study, trials: pd.DataFrame, params: list, metric: str) -> plt.Figure:
    """Validation score against each parameter: every trial, plus a LOWESS trend."""
    from statsmodels.nonparametric.smoothers_lowess import lowess

    colours = styles.strategy_colours(study.strategies)
    n = max(1, len(params))
    fig, axes = plt.subplots(
        1, n, figsize=(3.6 * n, 3.8), layout="constrained", squeeze=False, sharey=True
    )
    y = trials[f"val_{metric}"].astype(float)
    for ax, p in zip(axes[0], params, strict=False):
        raw = trials[f"param_{p.name}"]
        categorical = raw.map(lambda v: isinstance(v, str)).any()
        if categorical:
            levels = sorted(raw.unique(), key=str)
            x = raw.map({v: i for i, v in enumerate(levels)}).astype(float)
            jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(x))
            ax.set_xticks(range(len(levels)), levels)
        else:
            x = p.transform(raw).astype(float)
            jitter = 0.0
        ax.scatter(x + jitter, y, c=[colours[s] for s in trials["strategy"]], s=14, alpha=0.7)
        if categorical:
            means = y.groupby(x).median()
            ax.plot(means.index, means.to_numpy(), color="k", lw=2, marker="o")
        elif len(x) >= 4 and x.nunique() > 2:
            trend = lowess(y, x, frac=0.6)
            ax.plot(trend[:, 0], trend[:, 1], color="k", lw=2)
        ax.set_xlabel(p.label)
        ax.grid(True, alpha=0.3)
    for strategy in [s for s in study.strategies if s in set(trials["strategy"])]:
        axes[0][-1].scatter([], [], color=colours[strategy], s=14, label=strategy)
    axes[0][-1].legend(fontsize="small")
    axes[0][0].set_ylabel(styles.metric_label(metric, study.spec.problem))
    low, high = np.nanpercentile(y, [0, 90]) if len(y) else (0, 1)
    if high > low:
        axes[0][0].set_ylim(low - 0.05 * (high - low), high + 0.3 * (high - low))
    fig.suptitle(
        "validation score per parameter (dots: full-fidelity trials, coloured by "
        "strategy; line: LOWESS trend or median)",
        fontsize="medium",
    )
    return fig


def interaction_figure(study: Study, trials: pd.DataFrame, pair: tuple, metric: str) -> plt.Figure:
    """Median validation score over a binned grid of the strongest interacting pair."""
    a, b = pair
    fig, ax = plt.subplots(figsize=(6.5, 5.0), layout="constrained")
    binned = pd.DataFrame(
        {
            a.label: _bins(trials[f"param_{a.name}"], a),
            b.label: _bins(trials[f"param_{b.name}"], b),
            "y": trials[f"val_{metric}"].astype(float),
        }
    )
    grid = binned.pivot_table(
        index=b.label, columns=a.label, values="y", aggfunc="median", observed=False
    )
    image = ax.imshow(
        grid.to_numpy(dtype=float),
        origin="lower",
        aspect="auto",
        cmap="viridis_r" if study.metric_directions[metric] == "min" else "viridis",
    )
    ax.set_xticks(
        range(grid.shape[1]), [str(c) for c in grid.columns], rotation=30, fontsize="small"
    )
    ax.set_yticks(range(grid.shape[0]), [str(i) for i in grid.index], fontsize="small")
    ax.set_xlabel(a.label)
    ax.set_ylabel(b.label)
    fig.colorbar(image, ax=ax, label="median " + styles.metric_label(metric, study.spec.problem))
    ax.set_title(f"interaction: {a.label} × {b.label} (blank: no trial)")
    return fig


def _bins(values: pd.Series, param) -> pd.Series:  # type: ignore[no-untyped-def]
    if values.map(lambda v: isinstance(v, str)).any():
        return values.astype(str)
    x = param.transform(values).astype(float)
    if x.nunique() <= 4:
        return x.map(lambda v: f"{v:g}")
    return pd.cut(x, bins=4, precision=2).astype(str)


def decision_matrix_figure(
    study: Study, pairs: pd.DataFrame, order: list[str], rope_text: str
) -> plt.Figure:
    """Strategy × strategy: P(row better than column) from the all-pairs Bayesian tests.

    Colour is the probability; a cell decided "equivalent" is hatched and marked ≈, one
    decided "better" (for the row) is framed; undecided cells show the probability only.
    """
    k = len(order)
    index = {s: i for i, s in enumerate(order)}
    better = np.full((k, k), np.nan)
    marks = np.full((k, k), "", dtype=object)
    for row in pairs.itertuples(index=False):
        i, j = index[row.a], index[row.b]
        better[i, j], better[j, i] = row.p_a_better, row.p_b_better
        mirrored = {"better": "worse", "worse": "better"}.get(row.decision, row.decision)
        marks[i, j], marks[j, i] = row.decision, mirrored
    size = 1.0 + 0.62 * k
    fig, ax = plt.subplots(figsize=(size + 1.8, size), layout="constrained")
    image = ax.imshow(better, cmap="RdYlGn", vmin=0.0, vmax=1.0)
    for i in range(k):
        for j in range(k):
            if i == j:
                continue
            p = better[i, j]
            if marks[i, j] == "equivalent":
                # Neutral, not the colour of a small P(row better): neither side wins.
                ax.add_patch(
                    plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fc="0.9", hatch="///", ec="0.6", lw=0)
                )
                text = "≈"
            else:
                text = "–" if not np.isfinite(p) else f"{p:.2f}"
            if marks[i, j] == "better":
                ax.add_patch(
                    plt.Rectangle((j - 0.46, i - 0.46), 0.92, 0.92, fill=False, ec="k", lw=2)
                )
            dark = np.isfinite(p) and marks[i, j] != "equivalent" and not 0.15 < p < 0.85
            ax.text(
                j, i, text, ha="center", va="center", fontsize="small", color="w" if dark else "k"
            )
    ax.set_xticks(range(k), order, rotation=35, ha="right")
    ax.set_yticks(range(k), order)
    ax.set_xlabel("column strategy")
    ax.set_ylabel("row strategy")
    fig.colorbar(image, ax=ax, label="P(row better than column)", shrink=0.8)
    ax.set_title(
        f"{study.name}: P(row better), all pairs\n≈ practically equivalent ({rope_text}); "
        "framed: decided better",
        fontsize="medium",
    )
    return fig


def rank_correlation_figure(study: Study, correlation: pd.DataFrame) -> plt.Figure:
    """Spearman ρ between each epoch's score and the final score of full-fidelity
    evaluations, per way of reading the curve (lines), with 95% bootstrap bands, and the
    Hyperband rungs at factor 3."""
    max_epochs = int(correlation["epoch"].max())
    fig, ax = styles.new_figure()
    # Solid, then dashed on top: where the two measures agree, both stay visible.
    looks = (("#333333", "-", "o"), ("#b8860b", "--", "s"))  # no strategy has these colours
    for (label, part), (colour, line, marker) in zip(
        correlation.groupby("measure", sort=False), looks, strict=False
    ):
        ax.fill_between(part["fraction"], part["low"], part["high"], color=colour, alpha=0.15, lw=0)
        ax.plot(
            part["fraction"],
            part["rho"],
            color=colour,
            ls=line,
            lw=2,
            marker=marker if max_epochs <= 30 else None,
            ms=4,
            mfc="none" if line == "--" else colour,
            label=f"{label} e (band: 95% bootstrap)",
        )
    for i, rung in enumerate(hyperband_rungs(max_epochs)):
        ax.axvline(
            rung / max_epochs,
            color="0.4",
            ls=":",
            lw=1.2,
            label=f"Hyperband rungs (factor {HYPERBAND_FACTOR})" if i == 0 else None,
        )
        ax.annotate(
            f"{rung} ep.",
            (rung / max_epochs, 0.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, 4),
            textcoords="offset points",
            fontsize="small",
            color="0.3",
        )
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_xlim(0.0, 1.02)
    ax.set_ylim(min(-0.1, float(np.nanmin(correlation["low"])) - 0.05), 1.05)
    ax.set_xlabel(f"epoch e as a fraction of the maximum ({max_epochs} epochs)")
    ax.set_ylabel("Spearman ρ with the final score (mean over seeds)")
    top = ax.secondary_xaxis("top", functions=(lambda f: f * max_epochs, lambda e: e / max_epochs))
    top.xaxis.set_major_locator(MaxNLocator(integer=True))
    top.set_xlabel("epoch e")
    n, seeds = int(correlation["n_evaluations"].iloc[0]), int(correlation["n_seeds"].iloc[0])
    ax.set_title(
        f"{study.name}: do early ranks predict final ranks?\n"
        f"{n} full-fidelity evaluations, {seeds} seeds",
        fontsize="medium",
    )
    ax.legend(fontsize="small", loc="lower right")
    return fig
