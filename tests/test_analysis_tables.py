"""Tables from records: known small examples, corrupt records, and a real smoke study."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main
from analysis.document import design_text
from analysis.load import SkippedRecordWarning, load_study
from analysis.report import analyse
from analysis.tables import best_so_far_curves, curve_bands, within
from study.store import StudyStore
from tests.fakes import toy_record


def write_toy(
    directory: Path, cells: dict[tuple[str, int], list[float]], direction: str = "min"
) -> Path:
    store = StudyStore(directory)
    for (strategy, seed), values in cells.items():
        store.write_cell(toy_record(strategy, seed, values, direction))
    return directory


def test_convergence_counts_cost_until_within_one_percent_of_the_seeds_best(tmp_path: Path) -> None:
    # Seed 0's best is 1.00 (b); a reaches 1.005 (within 1%) at its 2nd evaluation and never
    # gets within 1% otherwise; c never gets closer than 1.02 -> censored at the budget (4).
    write_toy(
        tmp_path,
        {
            ("a", 0): [2.0, 1.005, 1.2, 1.1],
            ("b", 0): [3.0, 3.0, 3.0, 1.0],
            ("c", 0): [1.5, 1.02, 1.03, 1.04],
        },
    )
    cells = analyse(load_study(tmp_path)).cells.set_index("strategy")
    assert cells.loc["a", "evaluations_to_convergence"] == 2.0
    assert cells.loc["b", "evaluations_to_convergence"] == 4.0
    assert cells.loc["c", "evaluations_to_convergence"] == 4.0
    assert list(cells["censored"]) == [False, False, True]


def test_higher_is_better_metrics_need_no_special_case(tmp_path: Path) -> None:
    write_toy(tmp_path, {("a", 0): [0.5, 0.9, 0.7], ("b", 0): [0.905, 0.6, 0.6]}, "max")
    result = analyse(load_study(tmp_path))
    ev = result.evaluations
    assert list(ev[ev["strategy"] == "a"]["best_so_far"]) == [0.5, 0.9, 0.9]
    cells = result.cells.set_index("strategy")
    assert cells.loc["a", "evaluations_to_convergence"] == 2.0  # 0.9 ≥ 0.905 − 1%
    assert cells.loc["b", "evaluations_to_convergence"] == 1.0
    assert result.comparison.set_index("strategy").loc["a", "test_accuracy_median"] == 1.0


def test_within_is_relative_to_the_best() -> None:
    assert within(1.01, 1.0, 0.01)
    assert not within(1.011, 1.0, 0.01)
    assert within(-0.99, -1.0, 0.01)  # a maximised 0.99 against a best of 1.0


def test_bands_are_median_and_quartiles_over_seeds(tmp_path: Path) -> None:
    write_toy(tmp_path, {("a", 0): [3.0, 1.0], ("a", 1): [2.0, 2.0], ("a", 2): [4.0, 4.0]})
    curves = best_so_far_curves(analyse(load_study(tmp_path)).evaluations, end=3.0)
    bands = curve_bands(curves).set_index("x")
    assert list(bands.index) == [1.0, 2.0, 3.0]
    assert bands.loc[1.0, "median"] == 3.0 and bands.loc[2.0, "median"] == 2.0
    assert bands.loc[2.0, "q25"] == pd.Series([1.0, 2.0, 4.0]).quantile(0.25)
    assert bands.loc[3.0, "median"] == 2.0  # the last incumbent carries on to the end


def test_corrupt_records_are_skipped_with_a_warning(tmp_path: Path) -> None:
    write_toy(tmp_path, {("a", 0): [1.0, 2.0], ("b", 0): [2.0, 1.0]})
    store = StudyStore(tmp_path)
    store.cell_path("broken", 0).write_text('{"truncated": ')
    edited = store.cell_path("b", 0)
    data = json.loads(edited.read_text())
    data["test"]["metrics"]["rmse"] = 0.0
    edited.write_text(json.dumps(data))
    with pytest.warns(SkippedRecordWarning) as caught:
        study = load_study(tmp_path)
    assert [r.strategy for r in study.records] == ["a"]
    assert len(study.skipped) == 2
    assert any("checksum" in str(w.message) for w in caught)


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["report", str(tmp_path / "missing")]) == 2
    (tmp_path / "cells").mkdir()
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err)


def test_report_from_a_real_smoke_study(reported_study: Path) -> None:
    study_copy = reported_study
    evaluations = pd.read_csv(study_copy / "tables" / "evaluations.csv")
    cells = pd.read_csv(study_copy / "tables" / "cells.csv")
    comparison = pd.read_csv(study_copy / "tables" / "comparison.csv")
    store = StudyStore(study_copy)
    records, skipped = store.records()
    assert not skipped
    assert len(evaluations) == sum(len(r.evaluations) for r in records)
    spec = store.read_spec()
    assert spec is not None
    assert len(cells) == len(records) == len(spec.strategies) * len(spec.seeds)
    assert set(comparison["strategy"]) == set(spec.strategies)
    for column in (
        "test_rmse_median",
        "test_r2_median",
        "wall_seconds_median",
        "evaluations_to_convergence_median",
    ):
        assert comparison[column].notna().all()
    assert (cells["evaluations_to_convergence"] <= cells["budget_cost"]).all()
    assert (study_copy / "figures" / "best_so_far.png").stat().st_size > 10_000


FIGURES = (
    "best_so_far",
    "best_so_far_epochs",
    "best_so_far_time",
    "mean_rank",
    "normalised_score",
    "ecdf",
    "critical_difference",
    "decision_matrix",
    "time_vs_performance",
    "importance",
    "marginals",
    "interaction",
    "fidelity_rank_correlation",
)


def test_every_figure_and_a_self_contained_report(reported_study: Path) -> None:
    study_copy = reported_study
    for name in FIGURES:
        for suffix in (".png", ".svg"):
            assert (study_copy / "figures" / f"{name}{suffix}").stat().st_size > 5_000, name
    html = (study_copy / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(FIGURES)
    assert 'src="figures/' not in html and "<link" not in html
    markdown = (study_copy / "report.md").read_text()
    # The answer comes first: the verdicts against the control, before any other section.
    assert markdown.index("## Answer: each strategy against random_search") < markdown.index(
        "## What this study shows"
    )
    assert "<details><summary>All " in html  # the long pairwise tables are folded
    assert "repeated-measures ANOVA" not in markdown
    for section in (
        "What this study shows",
        "Design check",
        "Comparison",
        "Frequentist tests (second view; secondary family: all pairs)",
        "Anytime performance",
        "Learning curves: do early ranks predict final ranks?",
        "Parameter importance",
        "Environment",
    ):
        assert f"## {section}" in markdown
    assert "Too few seeds for significance" in markdown  # 2 seeds cannot reach p < 0.05
    for table in (
        "decisions_vs_control",
        "decisions_all_pairs",
        "pairwise",
        "omnibus",
        "ert",
        "importance",
        "normalised_score",
        "fidelity_rank_correlation",
    ):
        assert not pd.read_csv(study_copy / "tables" / f"{table}.csv").empty, table


def test_missing_cells_are_named_and_the_rest_analysed(study_copy: Path) -> None:
    store = StudyStore(study_copy)
    store.cell_path("kt_hyperband", 1).unlink()
    assert main(["tables", str(study_copy)]) == 0
    result = analyse(load_study(study_copy))
    assert "Incomplete: missing kt_hyperband seed 1" in design_text(result.significance)
    assert result.significance.design.complete_seeds == [0]
    missing = pd.read_csv(study_copy / "tables" / "missing_cells.csv")
    assert missing.to_dict("records") == [{"strategy": "kt_hyperband", "seed": 1}]
    spec = store.read_spec()
    assert spec is not None
    expected_cells = len(spec.strategies) * len(spec.seeds) - 1
    assert len(pd.read_csv(study_copy / "tables" / "cells.csv")) == expected_cells
