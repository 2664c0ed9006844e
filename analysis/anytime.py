"""Anytime performance: checkpoints, mean rank over time, normalised score, ERT and ECDF.

All functions take the evaluations table and work on losses internally (``tables.sign``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.tables import within

CHECKPOINTS = (0.25, 0.5, 1.0)  # fractions of the budget
ERT_TARGETS = (0.01, 0.02, 0.05)  # relative distance to the best score found on the seed
REFERENCE = "random_search"  # the Bayesmark-style normalisation's reference strategy


def checkpoint_values(
    evaluations: pd.DataFrame, budget: float, fractions: tuple[float, ...] = CHECKPOINTS
) -> pd.DataFrame:
    """Best-so-far of every cell after spending each fraction of the budget (NaN: no score yet)."""
    counted = evaluations[evaluations["counted"]]
    cells = evaluations[["strategy", "seed"]].drop_duplicates()
    rows = []
    for strategy, seed in cells.itertuples(index=False):
        cell = counted[(counted["strategy"] == strategy) & (counted["seed"] == seed)]
        for fraction in fractions:
            spent = cell[cell["cumulative_cost"] <= fraction * budget + 1e-9]
            value = spent["best_so_far"].iloc[-1] if not spent.empty else math.nan
            rows.append(
                {"strategy": strategy, "seed": seed, "fraction": fraction, "best_so_far": value}
            )
    return pd.DataFrame(rows, columns=["strategy", "seed", "fraction", "best_so_far"])


def mean_rank_over_time(curves: pd.DataFrame, direction: str) -> pd.DataFrame:
    """Per budget point: rank strategies on each seed (no score yet ranks last), mean over seeds."""
    s = 1.0 if direction == "min" else -1.0
    wide = curves.pivot_table(
        index=["seed", "x"], columns="strategy", values="best_so_far", dropna=False
    )
    ranks = (s * wide).rank(axis=1, method="average", na_option="bottom")
    mean = ranks.groupby(level="x").mean()
    return mean.reset_index().melt(id_vars="x", var_name="strategy", value_name="mean_rank")


def normalised_score(
    bands: pd.DataFrame, best_known: float, direction: str, reference: str = REFERENCE
) -> pd.DataFrame:
    """Bayesmark-style: (median − best known) / (reference's median − best known).

    The reference sits at 1 and the best known score at 0; lower is better whatever the
    metric's direction. Empty when the reference strategy is absent.
    """
    ref = bands[bands["strategy"] == reference].set_index("x")["median"]
    if ref.empty:
        # Typed even when empty: NumPy 1.x cannot compare an empty object column to a number.
        empty = pd.DataFrame(columns=["strategy", "x", "normalised_score"])
        return empty.astype({"x": float, "normalised_score": float})
    s = 1.0 if direction == "min" else -1.0
    rows = []
    for strategy, band in bands.groupby("strategy", sort=False):
        for x, median in zip(band["x"], band["median"], strict=True):
            if x not in ref.index:
                continue
            gap = s * (ref[x] - best_known)
            value = s * (median - best_known) / gap if gap > 0 else math.nan
            rows.append({"strategy": strategy, "x": x, "normalised_score": value})
    return pd.DataFrame(rows, columns=["strategy", "x", "normalised_score"])


def first_hits(
    evaluations: pd.DataFrame, best_on_seed: pd.Series, direction: str, target: float
) -> pd.DataFrame:
    """Per cell: cost at which the incumbent first comes within ``target`` of the seed's best."""
    s = 1.0 if direction == "min" else -1.0
    rows = []
    for (strategy, seed), cell in evaluations.groupby(["strategy", "seed"], sort=False):
        hit = cell[
            within(s * cell["best_so_far"], best_on_seed.get(seed, np.nan), target).fillna(False)
        ]
        rows.append(
            {
                "strategy": strategy,
                "seed": seed,
                "target": target,
                "hit": not hit.empty,
                "hit_cost": float(hit["cumulative_cost"].iloc[0]) if not hit.empty else math.nan,
                "spent_cost": float(cell["cumulative_cost"].max()),
            }
        )
    return pd.DataFrame(rows)


def expected_running_time(hits: pd.DataFrame) -> pd.DataFrame:
    """COCO/IOH ERT: cost spent by all runs until they hit (or their whole spend) / hits."""
    rows = []
    for (strategy, target), group in hits.groupby(["strategy", "target"], sort=False):
        spent = np.where(group["hit"], group["hit_cost"], group["spent_cost"]).sum()
        n_hits = int(group["hit"].sum())
        rows.append(
            {
                "strategy": strategy,
                "target": target,
                "runs": len(group),
                "hits": n_hits,
                "ert": spent / n_hits if n_hits else math.inf,
            }
        )
    return pd.DataFrame(rows, columns=["strategy", "target", "runs", "hits", "ert"])


def ecdf(hits: pd.DataFrame, grid: np.ndarray) -> pd.DataFrame:
    """Share of (run, target) pairs reached by each cost on ``grid``, per strategy (COCO style)."""
    rows = []
    for strategy, group in hits.groupby("strategy", sort=False):
        costs = group["hit_cost"].to_numpy(dtype=float)
        for x in grid:
            rows.append(
                {
                    "strategy": strategy,
                    "x": float(x),
                    "fraction": float(np.mean(np.nan_to_num(costs, nan=np.inf) <= x)),
                }
            )
    return pd.DataFrame(rows, columns=["strategy", "x", "fraction"])
