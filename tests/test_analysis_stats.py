"""Statistics against values worked out by hand on small examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import anytime, stats
from analysis.significance import compare


def test_wilcoxon_exact_p_values() -> None:
    # All five differences positive: W− = 0; exact two-sided p = 2 · 1/2⁵.
    assert stats.wilcoxon_p(np.array([1.0, 2.0, 3.0, 4.0, 5.0])) == (0.0, pytest.approx(2 / 32))
    # One negative difference of rank 2: W− = 2; subsets of {1..5} summing to ≤ 2 are
    # {}, {1}, {2}, so p = 2 · 3/32.
    statistic, p = stats.wilcoxon_p(np.array([1.0, -2.0, 3.0, 4.0, 5.0]))
    assert statistic == 2.0 and p == pytest.approx(6 / 32)
    assert stats.wilcoxon_p(np.zeros(4)) == (pytest.approx(math.nan, nan_ok=True), 1.0)


def test_friedman_on_a_consistent_ordering() -> None:
    # 4 seeds all rank A < B < C: rank sums 4, 8, 12; χ² = 12/(4·3·4)·224 − 3·4·4 = 8,
    # and with 2 degrees of freedom p = exp(−8/2).
    matrix = pd.DataFrame({"A": [1.0, 2, 3, 4], "B": [2.0, 3, 4, 5], "C": [3.0, 4, 5, 6]})
    result = stats.friedman(matrix)
    assert result["statistic"] == pytest.approx(8.0)
    assert result["pvalue"] == pytest.approx(math.exp(-4.0))
    assert list(stats.mean_ranks(matrix)) == [1.0, 2.0, 3.0]
    assert math.isnan(stats.friedman(matrix[["A", "B"]])["pvalue"])  # undefined for 2


def test_cliffs_delta_and_a12() -> None:
    # Of the 9 pairs (a, b): a < b in 6, a > b in 1 (3 vs 2), ties 2 → δ = 5/9, A12 = 7/9.
    a, b = np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0])
    assert stats.cliffs_delta(a, b) == pytest.approx(5 / 9)
    assert stats.vargha_delaney_a12(a, b) == pytest.approx(7 / 9)
    assert stats.cliffs_delta(b, a) == pytest.approx(-5 / 9)


def test_holm() -> None:
    # Sorted: 0.01·3 = 0.03, 0.03·2 = 0.06, then max(0.04·1, 0.06) = 0.06.
    adjusted, reject = stats.holm(np.array([0.01, 0.04, 0.03]))
    assert adjusted == pytest.approx([0.03, 0.06, 0.06])
    assert list(reject) == [True, False, False]


@pytest.mark.parametrize(("strategies", "seeds"), [(2, 6), (3, 7), (10, 11)])
def test_fewest_seeds_that_can_reach_significance(strategies: int, seeds: int) -> None:
    assert stats.min_seeds_for_significance(strategies) == seeds
    m = strategies * (strategies - 1) / 2
    assert m * 2 / 2**seeds <= 0.05 < m * 2 / 2 ** (seeds - 1)


def test_nemenyi_critical_difference_matches_demsar() -> None:
    # Demšar (2006), table 5(a): q_0.05 = 2.343 for k = 3; CD = q √(k(k+1)/6N).
    assert stats.nemenyi_critical_difference(3, 10) == pytest.approx(
        2.343 * math.sqrt(12 / 60), abs=1e-3
    )


def test_nemenyi_separates_a_consistent_ordering_over_many_seeds() -> None:
    # Ranks 1, 2, 3 on all 20 seeds: mean-rank gaps of 1 and 2 exceed CD ≈ 0.74.
    rng = np.random.default_rng(0)
    base = rng.normal(size=20)
    matrix = pd.DataFrame({"A": base, "B": base + 1, "C": base + 2})
    p = stats.nemenyi(matrix)
    assert (p.to_numpy()[~np.eye(3, dtype=bool)] < 0.05).all()


def test_pairwise_effect_sizes_in_metric_units_for_both_directions() -> None:
    values = pd.DataFrame({"A": [0.80, 0.82, 0.85], "B": [0.70, 0.75, 0.81]})
    # Accuracy-like (maximised): losses are −values; A is better on every seed, and of the
    # 9 unpaired comparisons A wins 8 (0.80 < 0.81 is the loss): δ = 7/9, A12 = 8/9.
    table = stats.pairwise(-values, "max")
    row = table.iloc[0]
    assert row["median_difference"] == pytest.approx(0.07)  # median of 0.10, 0.07, 0.04
    assert row["cliffs_delta"] == pytest.approx(7 / 9) and row["a12"] == pytest.approx(8 / 9)
    assert row["p"] == pytest.approx(0.25)  # n = 3, all one sign: 2 · 1/2³
    # The same numbers as RMSE (minimised): B is better, A − B is still +0.07.
    row = stats.pairwise(values, "min").iloc[0]
    assert row["median_difference"] == pytest.approx(0.07)
    assert row["cliffs_delta"] == pytest.approx(-7 / 9)


def test_bootstrap_ci_brackets_the_median() -> None:
    diffs = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    low, high = stats.median_difference_ci(diffs)
    assert 0.1 <= low < np.median(diffs) < high <= 0.8
    assert stats.median_difference_ci(np.array([0.2, 0.2, 0.2])) == (0.2, 0.2)
    assert all(math.isnan(v) for v in stats.median_difference_ci(np.array([0.1, 0.2])))


def test_design_check_names_missing_cells_and_keeps_complete_seeds() -> None:
    cells = pd.DataFrame({"strategy": ["a", "b", "a", "b", "a"], "seed": [0, 0, 1, 1, 2]})
    design = stats.check_design(cells, ["a", "b"], [0, 1, 2])
    assert design.missing == [("b", 2)]
    assert design.complete_seeds == [0, 1]


def test_repeated_measures_anova_is_a_second_opinion() -> None:
    matrix = pd.DataFrame(
        {"A": [1.0, 2.0, 3.0, 4.0], "B": [2.1, 2.9, 4.2, 5.0], "C": [3.0, 4.1, 4.9, 6.2]},
        index=pd.Index([0, 1, 2, 3], name="seed"),
    )
    result = stats.repeated_measures_anova(matrix)
    assert (result["df_num"], result["df_den"]) == (2.0, 6.0)
    assert result["pvalue"] < 0.001
    assert compare("x", "x", matrix, "min").rm_anova["F"] == pytest.approx(result["F"])


def test_expected_running_time() -> None:
    # Runs hit at 2 and 4; a third never hits and spends 10: ERT = (2 + 4 + 10) / 2.
    hits = pd.DataFrame(
        {
            "strategy": ["s"] * 3 + ["t"] * 2,
            "seed": [0, 1, 2, 0, 1],
            "target": [0.01] * 5,
            "hit": [True, True, False, False, False],
            "hit_cost": [2.0, 4.0, math.nan, math.nan, math.nan],
            "spent_cost": [10.0, 10.0, 10.0, 10.0, 10.0],
        }
    )
    ert = anytime.expected_running_time(hits).set_index("strategy")
    assert ert.loc["s", "ert"] == 8.0 and ert.loc["s", "hits"] == 2
    assert math.isinf(ert.loc["t", "ert"])
    ecdf = anytime.ecdf(hits, np.array([1.0, 2.0, 4.0])).set_index(["strategy", "x"])
    assert list(ecdf.loc["s", "fraction"]) == pytest.approx([0.0, 1 / 3, 2 / 3])


def test_normalised_score_puts_reference_at_one_and_best_at_zero() -> None:
    bands = pd.DataFrame(
        {
            "strategy": ["random_search", "tpe", "random_search", "tpe"],
            "x": [1.0, 1.0, 2.0, 2.0],
            "median": [0.9, 0.7, 0.8, 0.6],
            "q25": 0.0,
            "q75": 0.0,
            "n_seeds": 3,
        }
    )
    out = anytime.normalised_score(bands, best_known=0.5, direction="min").set_index(
        ["strategy", "x"]
    )
    assert out.loc[("random_search", 1.0), "normalised_score"] == pytest.approx(1.0)
    assert out.loc[("tpe", 1.0), "normalised_score"] == pytest.approx(0.2 / 0.4)
    assert out.loc[("tpe", 2.0), "normalised_score"] == pytest.approx(0.1 / 0.3)
    # The same as accuracy (maximised) mirrored around 0: identical normalised scores.
    mirrored = bands.assign(median=-bands["median"])
    again = anytime.normalised_score(mirrored, best_known=-0.5, direction="max")
    assert list(again["normalised_score"]) == pytest.approx(list(out["normalised_score"]))


def test_mean_rank_over_time_ranks_missing_scores_last() -> None:
    curves = pd.DataFrame(
        {
            "strategy": ["a", "b", "a", "b"],
            "seed": [0, 0, 0, 0],
            "x": [1.0, 1.0, 2.0, 2.0],
            "best_so_far": [0.5, math.nan, 0.5, 0.4],
        }
    )
    ranks = anytime.mean_rank_over_time(curves, "min").set_index(["x", "strategy"])["mean_rank"]
    assert ranks[(1.0, "a")] == 1.0 and ranks[(1.0, "b")] == 2.0
    assert ranks[(2.0, "a")] == 2.0 and ranks[(2.0, "b")] == 1.0
