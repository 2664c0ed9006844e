"""The whole pipeline: load records, compute, then render CSV tables, figures and the report."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import anytime, decisions, figures, stats, styles
from analysis.curves import curves_table, fidelity_ranks
from analysis.importance import Importance, parameter_importance
from analysis.load import Study, load_study
from analysis.significance import Significance, omnibus_table, pairwise_table, significance
from analysis.tables import (
    best_on_seed,
    best_so_far_curves,
    cells_table,
    comparison_table,
    curve_bands,
    evaluations_table,
)
from study.errors import UsageError
from study.store import FIGURES_DIR

# Tables also written under the names the lab's notebooks used.
LAB_NAMES = {"comparison": "hyperparameter_tuning_comparison"}


@dataclass
class Analysis:
    """The computed results of one study (frames only; nothing rendered yet)."""

    study: Study
    evaluations: pd.DataFrame
    cells: pd.DataFrame
    comparison: pd.DataFrame
    significance: Significance
    bands: pd.DataFrame  # best-so-far against cost: median and IQR per strategy
    mean_ranks: pd.DataFrame
    normalised: pd.DataFrame
    hits: pd.DataFrame
    ert: pd.DataFrame
    importance: Importance
    decisions: decisions.Decisions
    # Per epoch: rank correlation of full-fidelity evaluations' scores with their final ones.
    fidelity_ranks: pd.DataFrame
    fidelity_note: str | None  # why ``fidelity_ranks`` is empty, if it is
    notes: list[str] = field(default_factory=list)


def analyse(study: Study, control: str | None = None, rope: float | None = None) -> Analysis:
    """Compute everything; ``control`` and ``rope`` override the study's (or the defaults)."""
    metric = study.objective_metric
    direction = study.metric_directions[metric]
    s = 1.0 if direction == "min" else -1.0
    evaluations = evaluations_table(study)
    cells = cells_table(study, evaluations)
    comparison = comparison_table(study, cells)
    curves = best_so_far_curves(evaluations, "cumulative_cost", study.budget)
    bands = curve_bands(curves)
    counted = evaluations[evaluations["counted"]]
    best_known = s * float((s * counted[f"val_{metric}"]).min()) if not counted.empty else math.nan
    normalised = anytime.normalised_score(bands, best_known, direction)
    seed_best = best_on_seed(evaluations, study)
    hits = pd.concat(
        [anytime.first_hits(evaluations, seed_best, direction, t) for t in anytime.ERT_TARGETS],
        ignore_index=True,
    )
    ert = anytime.expected_running_time(hits)
    comparison = _with_anytime_columns(comparison, normalised, ert, study.budget)
    notes = [f"skipped unreadable record {s}" for s in study.skipped]
    sig = significance(study, cells, evaluations)
    ranks, ranks_note = fidelity_ranks(curves_table(study))
    return Analysis(
        study=study,
        evaluations=evaluations,
        cells=cells,
        comparison=comparison,
        significance=sig,
        bands=bands,
        mean_ranks=anytime.mean_rank_over_time(curves, direction),
        normalised=normalised,
        hits=hits,
        ert=ert,
        importance=parameter_importance(evaluations, study.spec.to_dict(), metric, direction),
        decisions=study_decisions(
            study, sig.comparison(f"test_{study.objective_metric}").matrix, control, rope
        ),
        fidelity_ranks=ranks,
        fidelity_note=ranks_note,
        notes=notes,
    )


def test_matrix(study: Study, cells: pd.DataFrame) -> pd.DataFrame:
    """Seeds × strategies of the final test objective as losses, complete seeds only."""
    metric = study.objective_metric
    seeds = list(study.spec.seeds)
    design = stats.check_design(cells, study.strategies, seeds)
    return stats.paired_matrix(
        cells,
        f"test_{metric}",
        study.strategies,
        design.complete_seeds,
        study.metric_directions[metric],
    )


def study_decisions(
    study: Study,
    matrix: pd.DataFrame,
    control: str | None = None,
    rope: float | None = None,
    *,
    plan: bool = True,
) -> decisions.Decisions:
    """The decision families on the final test objective (``matrix``, as losses), under the
    study's control and ROPE; ``plan`` estimates the seeds undecided comparisons need.

    A study grown by ``--until-decided`` keeps its control, ROPE and number of planned looks
    in its log; explicit arguments override the control and ROPE.
    """
    metric = study.objective_metric
    log = study.store.read_log() or {}
    control = control or log.get("control")
    if control is None:
        # The default control where the study ran it, else the study's first strategy.
        control = next(
            s for s in (decisions.DEFAULT_CONTROL, *study.strategies) if s in study.strategies
        )
    elif control not in study.strategies:
        raise UsageError(
            f"control {control!r} is not in this study; choose from: {', '.join(study.strategies)}"
        )
    if rope is not None:
        source = "given on the command line"
    elif log.get("rope") is not None:
        rope, source = float(log["rope"]), "the one the study was grown with"
    else:
        try:
            rope, source = decisions.default_rope(study.spec.problem, matrix.get(control))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return decisions.decide(
        matrix,
        control,
        decisions.Rule(rope),
        study.metric_directions[metric],
        measure=f"test {metric}",
        unit=" " + styles.DISPLAY_NAMES.get(metric, metric),
        rope_source=source,
        looks=int(log.get("looks", 1)),
        plan=plan,
    )


def _with_anytime_columns(
    comparison: pd.DataFrame, normalised: pd.DataFrame, ert: pd.DataFrame, budget: float
) -> pd.DataFrame:
    out = comparison.copy()
    final = normalised[np.isclose(normalised["x"], budget)].set_index("strategy")[
        "normalised_score"
    ]
    out["normalised_score"] = out["strategy"].map(final)
    for target in anytime.ERT_TARGETS:
        part = ert[np.isclose(ert["target"], target)].set_index("strategy")["ert"]
        out[f"ert_{round(target * 100)}pct"] = out["strategy"].map(part)
    return out


def tables(result: Analysis) -> dict[str, pd.DataFrame]:
    sig = result.significance
    imp = result.importance
    return {
        "evaluations": result.evaluations,
        "cells": result.cells,
        "comparison": result.comparison,
        "decisions_vs_control": result.decisions.primary,
        "decisions_all_pairs": result.decisions.secondary,
        "pairwise": pairwise_table(sig),
        "omnibus": omnibus_table(sig),
        "missing_cells": pd.DataFrame(sig.design.missing, columns=["strategy", "seed"]),
        "best_so_far": result.bands,
        "mean_rank": result.mean_ranks,
        "normalised_score": result.normalised,
        "ert": result.ert,
        "importance": pd.concat([imp.fanova, imp.ped_anova], ignore_index=True),
        "anova": imp.anova,
        "fidelity_rank_correlation": result.fidelity_ranks,
    }


def write_tables(result: Analysis) -> list[Path]:
    directory = result.study.store.tables_dir
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in tables(result).items():
        for stem in (name, LAB_NAMES.get(name)):
            if stem is not None:
                path = directory / f"{stem}.csv"
                frame.to_csv(path, index=False)
                paths.append(path)
    return paths


def figure_set(result: Analysis) -> dict[str, object]:
    """Every figure of the report by file name (figures that need absent data are left out)."""
    study, metric = result.study, result.study.objective_metric
    out: dict[str, object] = {}
    for x, name in (
        ("cumulative_cost", "best_so_far"),
        ("cumulative_epochs", "best_so_far_epochs"),
        ("cumulative_seconds", "best_so_far_time"),
    ):
        out[name] = lambda x=x: figures.best_so_far_figure(study, result.evaluations, x)
    out["mean_rank"] = lambda: figures.lines_figure(
        study,
        result.mean_ranks,
        "mean_rank",
        "mean rank over seeds (1 = best)",
        f"{study.name}: mean rank of best-so-far {metric} over time",
    )
    if not result.normalised.empty:
        out["normalised_score"] = lambda: figures.lines_figure(
            study,
            result.normalised,
            "normalised_score",
            f"normalised score ({anytime.REFERENCE} = 1, best known = 0)",
            f"{study.name}: Bayesmark-style normalised best-so-far {metric}",
            reference=1.0,
            reference_label=anytime.REFERENCE,
        )
    grid = np.unique(np.append(result.evaluations["cumulative_cost"].to_numpy(float), study.budget))
    ecdf = anytime.ecdf(result.hits, grid)
    out["ecdf"] = lambda: figures.lines_figure(
        study,
        ecdf,
        "fraction",
        "share of (run, target) pairs reached",
        f"{study.name}: ECDF of runs reaching 1/2/5% of the seed's best {metric}",
    )
    main = result.significance.comparison(f"test_{metric}")
    pairs = result.decisions.secondary
    if not pairs.empty and pairs["p_a_better"].notna().any():
        order = list(main.ranks.sort_values().index)
        out["decision_matrix"] = lambda: figures.decision_matrix_figure(
            study, pairs, order, rope_text(result.decisions)
        )
    if main.matrix.shape[0] >= 2 and main.matrix.shape[1] >= 2:
        cd = stats.nemenyi_critical_difference(main.matrix.shape[1], main.matrix.shape[0])
        out["critical_difference"] = lambda: figures.critical_difference_figure(
            study, main.ranks, main.nemenyi, main.measure, cd
        )
    if not result.fidelity_ranks.empty:
        out["fidelity_rank_correlation"] = lambda: figures.rank_correlation_figure(
            study, result.fidelity_ranks
        )
    out["time_vs_performance"] = lambda: figures.time_performance_figure(study, result.cells)
    imp = result.importance
    if not imp.fanova.empty or not imp.ped_anova.empty:
        out["importance"] = lambda: figures.importance_figure(study, [imp.fanova, imp.ped_anova])
    if imp.params and not imp.all_trials.empty:
        out["marginals"] = lambda: figures.marginals_figure(
            study, imp.all_trials, imp.params, metric
        )
    pair = strongest_pair(imp)
    if pair is not None:
        out["interaction"] = lambda: figures.interaction_figure(study, imp.all_trials, pair, metric)
    return out


def rope_text(d: decisions.Decisions) -> str:
    return f"ROPE ±{d.rule.rope:g}{d.unit}"


def strongest_pair(imp: Importance) -> tuple | None:
    """The interaction with the largest partial η² in the OLS ANOVA, else the top two by fANOVA."""
    by_label = {p.label: p for p in imp.params}
    interactions = (
        imp.anova[imp.anova["term"].str.contains(" × ")] if not imp.anova.empty else imp.anova
    )
    if not interactions.empty:
        a, b = interactions.iloc[0]["term"].split(" × ")
        return by_label[a], by_label[b]
    ranked = imp.fanova if not imp.fanova.empty else imp.ped_anova
    if len(ranked) >= 2:
        return by_label[ranked.iloc[0]["parameter"]], by_label[ranked.iloc[1]["parameter"]]
    return None


def write_figures(result: Analysis) -> list[Path]:
    directory = result.study.store.figures_dir
    paths: list[Path] = []
    for name, make in figure_set(result).items():
        paths += figures.save(make(), directory, name)  # type: ignore[operator]
    return paths


def write_report(result: Analysis) -> list[Path]:
    from analysis.document import build_document

    document = build_document(result, FIGURES_DIR)
    md = result.study.store.report_path(".md")
    html = result.study.store.report_path(".html")
    md.write_text(document.markdown())
    html.write_text(document.html(result.study.directory))
    return [md, html]


def report(directory: Path | str) -> list[Path]:
    result = analyse(load_study(directory))
    return write_tables(result) + write_figures(result) + write_report(result)
