"""Paired comparisons across strategies, seeds as blocks.

Every test takes a *paired matrix*: one row per seed, one column per strategy, values as
losses (lower is better, see ``tables.sign``), built from the complete part of the design
only. Test statistics come from scipy, statsmodels and scikit-posthocs; only the effect
sizes with one-line definitions (Cliff's delta, A12) are computed here.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
import scikit_posthocs as sp
from scipy import stats
from statsmodels.stats.anova import AnovaRM
from statsmodels.stats.multitest import multipletests

ALPHA = 0.05


@dataclass(frozen=True)
class Design:
    """Which (strategy, seed) cells exist, and the complete part the tests can use."""

    strategies: list[str]
    seeds: list[int]
    missing: list[tuple[str, int]]
    complete_seeds: list[int]  # seeds on which every strategy has a cell

    @property
    def is_complete(self) -> bool:
        return not self.missing


def check_design(cells: pd.DataFrame, strategies: list[str], seeds: list[int]) -> Design:
    present = set(zip(cells["strategy"], cells["seed"].astype(int), strict=True))
    missing = [(s, k) for k in seeds for s in strategies if (s, k) not in present]
    incomplete = {k for _, k in missing}
    return Design(strategies, seeds, missing, [k for k in seeds if k not in incomplete])


def paired_matrix(
    frame: pd.DataFrame, value: str, strategies: list[str], seeds: list[int], direction: str
) -> pd.DataFrame:
    """Seeds × strategies of ``value`` turned into losses; seeds with any gap dropped."""
    s = 1.0 if direction == "min" else -1.0
    matrix = frame.pivot_table(index="seed", columns="strategy", values=value, aggfunc="first")
    matrix = matrix.reindex(index=seeds, columns=strategies)
    return (s * matrix).dropna(axis=0, how="any")


def min_seeds_for_significance(n_strategies: int, alpha: float = ALPHA) -> int:
    """Fewest paired seeds at which Holm-corrected exact Wilcoxon tests can reject at all.

    The smallest two-sided exact Wilcoxon p-value with n pairs is 2 / 2**n, and Holm
    multiplies the smallest of m p-values by m (m = number of pairs).
    """
    m = max(1, n_strategies * (n_strategies - 1) // 2)
    return max(1, math.ceil(math.log2(2 * m / alpha)))


def mean_ranks(matrix: pd.DataFrame) -> pd.Series:
    """Mean over seeds of each strategy's rank on that seed (1 = best, ties averaged)."""
    return matrix.rank(axis=1, method="average").mean(axis=0)


def friedman(matrix: pd.DataFrame) -> dict[str, float]:
    """Friedman's omnibus test; NaN when it is undefined (fewer than 3 strategies or 2 seeds)."""
    if matrix.shape[1] < 3 or matrix.shape[0] < 2:
        return {"statistic": math.nan, "pvalue": math.nan, "n_seeds": matrix.shape[0]}
    result = stats.friedmanchisquare(*(matrix[c].to_numpy() for c in matrix.columns))
    return {
        "statistic": float(result.statistic),
        "pvalue": float(result.pvalue),
        "n_seeds": matrix.shape[0],
    }


def cliffs_delta(a: np.ndarray, b: np.ndarray) -> float:
    """P(a < b) − P(a > b) over all pairs of runs, on losses: > 0 means a tends to beat b."""
    diff = np.subtract.outer(np.asarray(a, float), np.asarray(b, float))
    if diff.size == 0:
        return math.nan
    return float((np.sum(diff < 0) - np.sum(diff > 0)) / diff.size)


def vargha_delaney_a12(a: np.ndarray, b: np.ndarray) -> float:
    """Probability that a run of a beats a run of b (ties count half), on losses."""
    return (cliffs_delta(a, b) + 1.0) / 2.0


def median_difference_ci(
    differences: np.ndarray, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap CI of the median paired difference (NaN below 3 pairs)."""
    differences = np.asarray(differences, float)
    if len(differences) < 3 or np.ptp(differences) == 0:
        value = float(np.median(differences)) if len(differences) else math.nan
        return (value, value) if len(differences) >= 3 else (math.nan, math.nan)
    result = stats.bootstrap(
        (differences,),
        np.median,
        confidence_level=confidence,
        method="percentile",
        n_resamples=2000,
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def wilcoxon_p(differences: np.ndarray) -> tuple[float, float]:
    """Two-sided Wilcoxon signed-rank statistic and p-value; p = 1 when every pair ties."""
    differences = np.asarray(differences, float)
    if len(differences) == 0 or np.all(differences == 0):
        return math.nan, 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sample size too small" for n < 10
        result = stats.wilcoxon(differences, zero_method="wilcox", alternative="two-sided")
    return float(result.statistic), float(result.pvalue)


def pairwise(matrix: pd.DataFrame, direction: str) -> pd.DataFrame:
    """Every pair (a, b): Wilcoxon with Holm, median difference + bootstrap CI, Cliff's delta, A12.

    ``median_difference`` is a − b in the metric's own units (sign as reported, not as loss).
    """
    s = 1.0 if direction == "min" else -1.0
    rows = []
    for a, b in combinations(matrix.columns, 2):
        diff = (matrix[a] - matrix[b]).to_numpy()
        statistic, p = wilcoxon_p(diff)
        low, high = median_difference_ci(s * diff)
        rows.append(
            {
                "a": a,
                "b": b,
                "n_seeds": len(diff),
                "median_difference": float(np.median(s * diff)) if len(diff) else math.nan,
                "ci_low": low,
                "ci_high": high,
                "cliffs_delta": cliffs_delta(matrix[a].to_numpy(), matrix[b].to_numpy()),
                "a12": vargha_delaney_a12(matrix[a].to_numpy(), matrix[b].to_numpy()),
                "wilcoxon_statistic": statistic,
                "p": p,
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["p_holm"], table["significant"] = holm(table["p"].to_numpy())
    return table


def holm(pvalues: np.ndarray, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    reject, adjusted, _, _ = multipletests(pvalues, alpha=alpha, method="holm")
    return adjusted, reject


def nemenyi(matrix: pd.DataFrame) -> pd.DataFrame:
    """Nemenyi post-hoc p-values after Friedman (strategies × strategies)."""
    if matrix.shape[1] < 2 or matrix.shape[0] < 2:
        return pd.DataFrame(index=matrix.columns, columns=matrix.columns, dtype=float)
    result = sp.posthoc_nemenyi_friedman(matrix.reset_index(drop=True))
    return result.loc[list(matrix.columns), list(matrix.columns)]


def nemenyi_critical_difference(n_strategies: int, n_seeds: int, alpha: float = ALPHA) -> float:
    """Demšar's CD = q_α √(k(k+1) / 6N), q_α from the studentized range distribution."""
    k = n_strategies
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    return float(q * math.sqrt(k * (k + 1) / (6.0 * n_seeds)))


def repeated_measures_anova(matrix: pd.DataFrame) -> dict[str, float]:
    """statsmodels' AnovaRM (strategy within seed), with a Shapiro–Wilk check of its residuals.

    A second opinion only: it assumes normal residuals and sphericity, which few seeds
    cannot confirm; ``normality_p`` < 0.05 says the assumption is doubtful.
    """
    if matrix.shape[1] < 2 or matrix.shape[0] < 2:
        return {
            "F": math.nan,
            "df_num": math.nan,
            "df_den": math.nan,
            "pvalue": math.nan,
            "normality_p": math.nan,
        }
    long = matrix.reset_index().melt(id_vars="seed", var_name="strategy", value_name="loss")
    table = AnovaRM(long, depvar="loss", subject="seed", within=["strategy"]).fit().anova_table
    residuals = matrix.sub(matrix.mean(axis=1), axis=0) - (
        matrix.mean(axis=0) - matrix.values.mean()
    )
    flat = residuals.to_numpy().ravel()
    normality = (
        float(stats.shapiro(flat).pvalue) if len(flat) >= 3 and np.ptp(flat) > 0 else math.nan
    )
    row = table.iloc[0]
    return {
        "F": float(row["F Value"]),
        "df_num": float(row["Num DF"]),
        "df_den": float(row["Den DF"]),
        "pvalue": float(row["Pr > F"]),
        "normality_p": normality,
    }
