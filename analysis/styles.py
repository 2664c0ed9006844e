"""One place for plot styles: a fixed colour per strategy, axis labels, the Agg backend.

Known strategies keep their colour in every study and figure; strategies this module does
not know yet take the unused colours in name order, so every figure of one study agrees.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # figures are files; never open a window (CI, servers, tests)

import matplotlib.pyplot as plt

KNOWN_COLOURS = {
    "random_search": "#4c72b0",
    "grid_search": "#8c8c8c",
    "kt_random": "#64b5cd",
    "kt_hyperband": "#dd8452",
    "kt_bayes": "#c44e52",
    "skopt_bayes": "#55a868",
    "optuna_tpe": "#8172b3",
    "evolution": "#937860",
    "bohb": "#da8bc3",
    "baseline": "#000000",
}
SPARE_COLOURS = ["#ccb974", "#17becf", "#bcbd22", "#7f7f7f", "#e377c2", "#1f77b4", "#ff7f0e"]
BASELINE = "baseline"  # drawn as a reference line, not as a search curve


def strategy_colours(strategies: list[str]) -> dict[str, str]:
    colours = {s: KNOWN_COLOURS[s] for s in strategies if s in KNOWN_COLOURS}
    spare = [c for c in SPARE_COLOURS if c not in colours.values()]
    for i, name in enumerate(sorted(s for s in strategies if s not in KNOWN_COLOURS)):
        colours[name] = spare[i % len(spare)]
    return colours


# Units of each problem's target; metrics measured in target units carry them on axes.
TARGET_UNITS = {"california_mlp": "$100k"}
TARGET_UNIT_METRICS = ("rmse", "mae")
DISPLAY_NAMES = {
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R²",
    "auc": "AUC",
    "roc_auc": "ROC-AUC",
    "log_loss": "log-loss",
    "f1": "F1",
}


def metric_label(metric: str, problem: str = "", kind: str = "validation") -> str:
    """``validation RMSE ($100k)``-style labels; units only where the metric has them."""
    name = DISPLAY_NAMES.get(metric, metric)
    unit = TARGET_UNITS.get(problem) if metric in TARGET_UNIT_METRICS else None
    return f"{kind} {name}" + (f" ({unit})" if unit else "")


def new_figure(width: float = 7.0, height: float = 4.5) -> tuple[plt.Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    ax.grid(True, alpha=0.3)
    return fig, ax
