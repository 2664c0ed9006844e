"""Decisions: the Bayesian signed-rank test with a ROPE, the two families, seeds needed."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import decisions
from analysis.decisions import Rule
from analysis.sequential import planned_looks


def _matrix(differences: dict[str, np.ndarray], seeds: int = 20) -> pd.DataFrame:
    """Losses: the control at a noisy level, each other strategy shifted by its differences."""
    base = np.random.default_rng(0).normal(0.5, 0.02, seeds)
    return pd.DataFrame({"control": base, **{k: base + v for k, v in differences.items()}})


def test_rule_thresholds_and_bonferroni_over_looks() -> None:
    rule = Rule(0.005)
    assert rule.decide(0.98, 0.01, 0.01) == "better"
    assert rule.decide(0.01, 0.01, 0.98) == "worse"
    assert rule.decide(0.96, 0.04, 0.0) == "undecided"  # one direction of two: needs 0.975
    assert rule.decide(0.02, 0.96, 0.02) == "equivalent"
    assert rule.for_looks(5).direction == pytest.approx(1 - 0.025 / 5)
    assert rule.for_looks(5).equivalence == rule.equivalence
    with pytest.raises(ValueError, match="positive"):
        Rule(0.0)


def test_clear_cases_are_decided_each_way() -> None:
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 0.002, 20)
    matrix = _matrix({"faster": -0.03 + noise, "same": 0.3 * noise, "slower": 0.03 + noise})
    table = decisions.versus_control(matrix, "control", Rule(0.005), "min").set_index("a")
    assert table.loc["faster", "decision"] == "better"
    assert table.loc["same", "decision"] == "equivalent"
    assert table.loc["slower", "decision"] == "worse"
    probabilities = table[["p_a_better", "p_equivalent", "p_b_better"]].sum(axis=1)
    assert probabilities.to_numpy() == pytest.approx(1.0)
    # Differences in metric units: a − control, negative when a's loss is lower.
    assert table.loc["faster", "median_difference"] < 0 < table.loc["slower", "median_difference"]
    # Holm over the k − 1 = 3 comparisons of the primary family.
    assert (table["p_holm"] >= table["p"]).all()
    assert len(decisions.all_pairs(matrix, Rule(0.005), "min")) == 6


def test_a_maximised_metric_keeps_its_sign() -> None:
    # AUC-like: the matrix holds losses (−AUC); "better" means a higher AUC.
    matrix = _matrix({"higher_auc": np.full(20, -0.02)})
    row = decisions.versus_control(matrix, "control", Rule(0.005), "max").iloc[0]
    assert row["decision"] == "better"
    assert row["median_difference"] == pytest.approx(0.02)  # +0.02 AUC


def test_posterior_is_deterministic() -> None:
    a, b = np.linspace(0, 1, 12), np.linspace(0, 1, 12)[::-1]
    assert decisions.posterior(a, b, 0.1) == decisions.posterior(a, b, 0.1)


def test_seeds_needed_grows_as_the_advantage_shrinks_against_the_noise() -> None:
    rng = np.random.default_rng(2)
    noise = rng.normal(0, 0.01, 10)
    rule = Rule(0.005)
    clear = decisions.seeds_needed(noise - 0.02, rule, resamples=20, limit=80)
    faint = decisions.seeds_needed(noise - 0.009, rule, resamples=20, limit=80)
    assert clear is not None and faint is not None
    assert 10 <= clear < faint <= 80
    # Differences spread evenly about the ROPE's edge: as likely in it as beyond it.
    spread = np.array([0.001, 0.002, 0.003, 0.004, 0.0045])
    edge = np.r_[-0.005 - spread, -0.005 + spread]
    assert decisions.seeds_needed(edge, rule, resamples=10, limit=40) is None


def test_smallest_decidable_difference_is_beyond_the_rope() -> None:
    noise = np.random.default_rng(3).normal(0, 0.004, 20)
    rule = Rule(0.005)
    smallest = decisions.smallest_decidable_difference(noise, 20, rule, resamples=20)
    assert rule.rope < smallest < 0.05
    assert math.isnan(decisions.smallest_decidable_difference(noise[:1], 20, rule))


def test_verdicts_say_the_decision_the_numbers_and_what_would_decide() -> None:
    matrix = _matrix({"same": np.zeros(20), "unclear": np.tile([0.02, -0.015], 10)})
    result = decisions.decide(matrix, "control", Rule(0.005), "min", unit=" RMSE")
    same, unclear = result.sentences()
    assert same.startswith("**same is practically equivalent to control**: +0 RMSE")
    assert "P(equivalent) = " in same
    assert unclear.startswith("**unclear vs control: undecided at 20 seeds**")
    assert "would" in unclear and "P(better) = " in unclear
    with pytest.raises(ValueError, match="not in this study"):
        decisions.decide(matrix, "absent", Rule(0.005), "min")


def test_default_ropes() -> None:
    assert decisions.default_rope("california_mlp")[0] == 0.005
    value, source = decisions.default_rope("mine", pd.Series([2.0, 3.0, 4.0]))
    assert value == pytest.approx(0.03) and "1%" in source
    with pytest.raises(ValueError, match="--rope"):
        decisions.default_rope("mine")


def test_planned_looks() -> None:
    assert planned_looks(20, 5, 40) == [20, 25, 30, 35, 40]
    assert planned_looks(20, 7, 40) == [20, 27, 34, 40]
    assert planned_looks(40, 5, 40) == [40]
