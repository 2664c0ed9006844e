"""Learning curves: rank correlation of early scores with final ones, and its report section."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from analysis.curves import (
    CURVE_COLUMNS,
    _resampled_spearman,
    curves_table,
    fidelity_ranks,
    full_fidelity_curves,
    hyperband_rungs,
    rank_correlation_by_epoch,
)
from analysis.load import load_study
from analysis.report import analyse, figure_set, write_figures, write_report
from study.runner import run_study
from study.settings import ProtocolSettings, StudySpec
from study.store import StudyStore


def _rows(
    seed: int,
    index: int,
    curve: list[float],
    final: float,
    *,
    strategy: str = "a",
    config: str | None = None,
    status: str = "ok",
    fidelity: int = 4,
) -> list[dict]:
    return [
        {
            "strategy": strategy,
            "seed": seed,
            "index": index,
            "config": config or f"config{index}",
            "status": status,
            "fidelity_epochs": fidelity,
            "max_epochs": 4,
            "epoch": epoch,
            "score": value,
            "final_score": final,
        }
        for epoch, value in enumerate(curve, start=1)
    ]


def _frame(rows: list[list[dict]]) -> pd.DataFrame:
    return pd.DataFrame([r for run in rows for r in run], columns=CURVE_COLUMNS)


def test_curves_that_keep_the_final_order_correlate_perfectly_at_every_epoch() -> None:
    runs = []
    for seed in (0, 1):
        for i, final in enumerate([0.3, 0.1, 0.7, 0.5, 0.9]):
            # Monotone in the final score at every epoch, on a different scale per epoch.
            curve = [math.exp(final) / e + seed for e in range(1, 5)]
            if i == 4:
                curve = curve[:2]  # stopped early: carried forward, still the worst
            runs.append(_rows(seed, i, curve, final))
        # Neither a pruned run, nor a low rung, nor a repeat of a config on the seed counts.
        runs.append(_rows(seed, 5, [0.0], 0.0, status="pruned"))
        runs.append(_rows(seed, 6, [0.0, 0.0], 0.0, fidelity=2))
        runs.append(_rows(seed, 0, [9.0] * 4, 9.0, strategy="b", config="config0"))
    full = full_fidelity_curves(_frame(runs))
    assert len(full) == 2 * 5 * 4
    carried = full[full["carried"]]
    assert set(zip(carried["index"], carried["epoch"], strict=True)) == {(4, 3), (4, 4)}
    assert (carried["score"] == math.exp(0.9) / 2 + carried["seed"]).all()
    correlation = rank_correlation_by_epoch(full, samples=200)
    assert list(correlation["epoch"]) == [1, 2, 3, 4]
    assert list(correlation["fraction"]) == [0.25, 0.5, 0.75, 1.0]
    assert np.allclose(correlation[["rho", "low", "high"]], 1.0)
    assert set(correlation["n_evaluations"]) == {10} and set(correlation["n_seeds"]) == {2}
    assert list(correlation["carried_share"]) == [0.0, 0.0, 0.2, 0.2]


def test_a_known_spearman_value_a_reversal_and_a_nan_that_ranks_last() -> None:
    finals = [1.0, 2.0, 3.0, 4.0]
    first = [2.0, 1.0, 3.0, 4.0]  # one swapped pair: ρ = 1 − 6·2 / (4·15) = 0.8
    second = [4.0, 3.0, 2.0, 1.0]  # reversed: ρ = −1
    third = [1.0, 2.0, 3.0, math.nan]  # NaN ranks as the worst: still the final order
    runs = [_rows(0, i, [first[i], second[i], third[i], finals[i]], finals[i]) for i in range(4)]
    correlation = rank_correlation_by_epoch(full_fidelity_curves(_frame(runs)), samples=100)
    assert list(correlation["rho"]) == pytest.approx([0.8, -1.0, 1.0, 1.0])
    assert (correlation["low"] <= correlation["rho"] + 1e-12).all()
    assert (correlation["rho"] <= correlation["high"] + 1e-12).all()


def test_the_best_value_so_far_ranks_like_a_score_taken_after_restoring_the_best_epoch() -> None:
    # Each final score is the curve's best, as an MLP's after Keras restores those weights.
    curves = [[5.0, 1.0, 9.0, 9.0], [6.0, 2.0, 2.0, 2.0], [7.0, 3.0, 3.0, 3.0], [8.0, 4.0, 4.0]]
    runs = [_rows(0, i, curve, min(curve)) for i, curve in enumerate(curves)]
    full = full_fidelity_curves(_frame(runs))
    assert list(full[full["index"] == 0]["best_so_far"]) == [5.0, 1.0, 1.0, 1.0]
    value = rank_correlation_by_epoch(full, "score", samples=50)
    best = rank_correlation_by_epoch(full, "best_so_far", samples=50)
    assert set(value["measure"]) == {"value at epoch"}
    assert set(best["measure"]) == {"best up to epoch"}
    # Last epoch: values 9, 2, 3, 4 (the last one carried) against finals 1..4: ρ = −0.2.
    assert list(value["rho"]) == pytest.approx([1.0, 1.0, -0.2, -0.2])
    assert list(best["rho"]) == pytest.approx([1.0, 1.0, 1.0, 1.0])
    assert list(best["carried_share"]) == [0.0, 0.0, 0.0, 0.25]


def test_the_bootstrap_ranks_each_resample_as_spearman_would() -> None:
    rng = np.random.default_rng(7)
    scores = np.round(rng.normal(size=(12, 3)), 1)  # rounded: ties within epochs
    scores[2, 1] = np.inf  # a non-finite score, ranked last
    finals = np.round(rng.normal(size=12), 1)
    counts = rng.multinomial(12, np.full(12, 1 / 12), size=20)
    fast = _resampled_spearman(scores, finals, counts)
    for sample, drawn in enumerate(counts):
        rows = np.repeat(np.arange(12), drawn)
        for epoch in range(3):
            expected = spearmanr(scores[rows, epoch], finals[rows]).statistic
            assert fast[sample, epoch] == pytest.approx(expected)


def test_too_few_evaluations_or_no_curves_give_an_empty_frame_and_a_note() -> None:
    two = _frame([_rows(0, i, [1.0, 2.0, 3.0, 4.0], float(i)) for i in range(2)])
    correlation, note = fidelity_ranks(two)
    assert correlation.empty and note is not None and "3 or more" in note
    correlation, note = fidelity_ranks(_frame([]))
    assert correlation.empty and note is not None and "no learning curves" in note


def test_hyperband_rungs_are_keras_tuners_brackets_at_factor_three() -> None:
    assert hyperband_rungs(9) == [1, 3]
    assert hyperband_rungs(20) == [3, 7]
    assert hyperband_rungs(100) == [2, 4, 12, 34]
    assert hyperband_rungs(2) == []


@pytest.fixture(scope="module")
def branin_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = StudySpec(
        name="curves",
        problem="branin",
        space="branin",
        strategies=("random_search", "bohb"),
        seeds=(0, 1),
        budget=6,
        protocol=ProtocolSettings(max_epochs=9),
    )
    return run_study(spec, tmp_path_factory.mktemp("results")).directory


def test_the_report_shows_the_rank_correlation_of_a_study_with_curves(
    branin_study: Path,
) -> None:
    study = load_study(branin_study)
    table = curves_table(study)
    assert set(table["status"]) >= {"ok", "pruned"}  # bohb prunes, and its curves stop there
    result = analyse(study)
    assert result.fidelity_note is None
    ranks = result.fidelity_ranks
    assert set(ranks["measure"]) == {"value at epoch", "best up to epoch"}
    value = ranks[ranks["measure"] == "value at epoch"]
    assert list(value["epoch"]) == list(range(1, 10))
    # A synthetic evaluation records its last epoch's value: no folds, no early stopping.
    assert value["rho"].iloc[-1] == pytest.approx(1.0)
    write_figures(result)
    assert (branin_study / "figures" / "fidelity_rank_correlation.png").stat().st_size > 10_000
    markdown = write_report(result)[0].read_text()
    section = markdown[markdown.index("## Learning curves") : markdown.index("## Parameter")]
    assert "figures/fidelity_rank_correlation.png" in section
    assert "at 3 epochs (33% of the maximum, Hyperband's highest lower rung)" in section
    assert "No curve was stopped early." in section


def test_records_without_curves_leave_the_figure_out_with_a_note(
    branin_study: Path, tmp_path: Path
) -> None:
    old = StudyStore(tmp_path)
    for record in StudyStore(branin_study).records()[0]:
        # As records written before curves were kept read (test_records reads one).
        plain = [dataclasses.replace(e, epoch_scores=[]) for e in record.evaluations]
        old.write_cell(dataclasses.replace(record, evaluations=plain))
    result = analyse(load_study(tmp_path))
    assert result.fidelity_ranks.empty
    assert "fidelity_rank_correlation" not in figure_set(result)
    write_figures(result)
    markdown = write_report(result)[0].read_text()
    section = markdown[markdown.index("## Learning curves") : markdown.index("## Parameter")]
    assert "hold no learning curves" in section and ".png" not in section
