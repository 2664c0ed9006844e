"""The whole pipeline: load records, compute tables, write CSVs, figures and the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import figures
from analysis.load import Study, load_study
from analysis.tables import cells_table, comparison_table, evaluations_table

TABLES_DIR = "tables"
FIGURES_DIR = "figures"


@dataclass
class Analysis:
    """The computed results of one study (frames only; nothing rendered yet)."""

    study: Study
    evaluations: pd.DataFrame
    cells: pd.DataFrame
    comparison: pd.DataFrame
    extra_tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def analyse(study: Study) -> Analysis:
    evaluations = evaluations_table(study)
    cells = cells_table(study, evaluations)
    comparison = comparison_table(study, cells)
    return Analysis(study, evaluations, cells, comparison)


def write_tables(result: Analysis) -> list[Path]:
    directory = result.study.directory / TABLES_DIR
    directory.mkdir(parents=True, exist_ok=True)
    tables = {
        "evaluations": result.evaluations,
        "cells": result.cells,
        "comparison": result.comparison,
        **result.extra_tables,
    }
    paths = []
    for name, frame in tables.items():
        path = directory / f"{name}.csv"
        frame.to_csv(path, index=False)
        paths.append(path)
    return paths


def write_figures(result: Analysis) -> list[Path]:
    directory = result.study.directory / FIGURES_DIR
    fig = figures.best_so_far_figure(result.study, result.evaluations)
    return figures.save(fig, directory, "best_so_far")


def report(directory: Path | str) -> list[Path]:
    result = analyse(load_study(directory))
    return write_tables(result) + write_figures(result)


def write_report(result: Analysis) -> list[Path]:
    study = result.study
    lines = [
        f"# Study {study.name}",
        "",
        f"{len(study.strategies)} strategies × {len(study.seeds)} seeds, budget "
        f"{study.budget:g} full-fidelity evaluations per cell; objective: validation "
        f"{study.objective_metric} ({study.metric_directions[study.objective_metric]}imised).",
        "",
        "## Comparison (medians over seeds)",
        "",
        result.comparison.to_markdown(index=False, floatfmt=".4g"),
        "",
        "## Best-so-far",
        "",
        f"![best-so-far]({FIGURES_DIR}/best_so_far.png)",
        "",
    ]
    path = study.directory / "report.md"
    path.write_text("\n".join(lines))
    return [path]
