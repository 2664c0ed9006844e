"""The significance analysis of a study: which strategies differ, on which measure, how much.

Measures: final test objective, final validation objective, and best-so-far validation
at 25/50/100% of the budget (the anytime family, Holm-corrected across checkpoints too).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import stats
from analysis.anytime import CHECKPOINTS, checkpoint_values
from analysis.load import Study


@dataclass(frozen=True)
class Comparison:
    """All tests on one measure, over the complete part of the design."""

    measure: str  # e.g. "test rmse"
    key: str  # file-name friendly, e.g. "test_rmse"
    matrix: pd.DataFrame  # seeds × strategies, as losses
    ranks: pd.Series
    friedman: dict[str, float]
    pairwise: pd.DataFrame
    nemenyi: pd.DataFrame
    rm_anova: dict[str, float]


@dataclass(frozen=True)
class Significance:
    design: stats.Design
    comparisons: list[Comparison]
    min_seeds: int  # fewest paired seeds at which a Holm-corrected Wilcoxon can reject

    @property
    def enough_seeds(self) -> bool:
        return len(self.design.complete_seeds) >= self.min_seeds

    def comparison(self, key: str) -> Comparison:
        return next(c for c in self.comparisons if c.key == key)


def compare(measure: str, key: str, matrix: pd.DataFrame, direction: str) -> Comparison:
    return Comparison(
        measure=measure,
        key=key,
        matrix=matrix,
        ranks=stats.mean_ranks(matrix) if not matrix.empty else pd.Series(dtype=float),
        friedman=stats.friedman(matrix),
        pairwise=stats.pairwise(matrix, direction),
        nemenyi=stats.nemenyi(matrix),
        rm_anova=stats.repeated_measures_anova(matrix),
    )


def significance(study: Study, cells: pd.DataFrame, evaluations: pd.DataFrame) -> Significance:
    metric = study.objective_metric
    direction = study.metric_directions[metric]
    strategies = study.strategies
    design = stats.check_design(cells, strategies, list(study.spec.seeds))
    seeds = design.complete_seeds
    comparisons = [
        compare(
            f"test {metric}",
            f"test_{metric}",
            stats.paired_matrix(cells, f"test_{metric}", strategies, seeds, direction),
            direction,
        ),
        compare(
            f"validation {metric}",
            f"val_{metric}",
            stats.paired_matrix(cells, f"val_{metric}", strategies, seeds, direction),
            direction,
        ),
    ]
    checkpoints = checkpoint_values(evaluations, study.budget)
    anytime = []
    for fraction in CHECKPOINTS:
        at = checkpoints[checkpoints["fraction"] == fraction]
        matrix = stats.paired_matrix(at, "best_so_far", strategies, seeds, direction)
        anytime.append(
            compare(
                f"best-so-far validation {metric} at {fraction:.0%} of budget",
                f"anytime_{round(fraction * 100)}",
                matrix,
                direction,
            )
        )
    _holm_across(anytime)
    return Significance(
        design, comparisons + anytime, stats.min_seeds_for_significance(len(strategies))
    )


def _holm_across(family: list[Comparison]) -> None:
    """Holm over every pair at every checkpoint (one family), and over the Friedman tests."""
    tables = [c.pairwise for c in family if not c.pairwise.empty]
    if tables:
        pooled = np.concatenate([t["p"].to_numpy() for t in tables])
        adjusted, reject = stats.holm(pooled)
        start = 0
        for table in tables:
            stop = start + len(table)
            table["p_holm"] = adjusted[start:stop]
            table["significant"] = reject[start:stop]
            start = stop
    friedman = [c for c in family if np.isfinite(c.friedman["pvalue"])]
    if friedman:
        adjusted, _ = stats.holm(np.array([c.friedman["pvalue"] for c in friedman]))
        for c, p in zip(friedman, adjusted, strict=True):
            c.friedman["pvalue_holm"] = float(p)


def pairwise_table(result: Significance) -> pd.DataFrame:
    """Every measure's pairwise results in one tidy table (for CSV and the report)."""
    frames = [
        c.pairwise.assign(measure=c.measure) for c in result.comparisons if not c.pairwise.empty
    ]
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, ignore_index=True)
    return table[["measure", *[c for c in table.columns if c != "measure"]]]


def omnibus_table(result: Significance) -> pd.DataFrame:
    rows = []
    for c in result.comparisons:
        rows.append(
            {
                "measure": c.measure,
                "n_seeds": c.matrix.shape[0],
                "n_strategies": c.matrix.shape[1],
                "friedman_statistic": c.friedman["statistic"],
                "friedman_p": c.friedman["pvalue"],
                "friedman_p_holm": c.friedman.get("pvalue_holm", c.friedman["pvalue"]),
                "rm_anova_F": c.rm_anova["F"],
                "rm_anova_p": c.rm_anova["pvalue"],
                "rm_anova_residual_normality_p": c.rm_anova["normality_p"],
                **{f"mean_rank_{s}": r for s, r in c.ranks.items()},
            }
        )
    return pd.DataFrame(rows)
