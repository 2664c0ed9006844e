"""The runner: a spec becomes cells (strategy, seed); each finished cell becomes a record.

Cells already recorded are skipped, so an interrupted study resumes where it stopped.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from study.errors import UsageError
from study.ledger import BudgetExhausted, Objective
from study.problems import get_problem
from study.records import (
    CorruptRecord,
    cell_filename,
    environment,
    read_record,
    write_json_atomic,
    write_record,
)
from study.settings import StudySpec
from study.space import get_space
from study.strategies import get_strategy

SPEC_FILE = "spec.json"
CELLS_DIR = "cells"


def validate(spec: StudySpec) -> None:
    """Resolve every name in the spec now, so a typo fails before any training."""
    get_problem(spec.problem)
    get_space(spec.space)
    for name in spec.strategies:
        get_strategy(name)


def study_dir(results_root: Path, spec: StudySpec) -> Path:
    return results_root / spec.name


def open_study(results_root: Path, spec: StudySpec) -> Path:
    """Create the study directory, or check that an existing one belongs to this spec.

    Cells are comparable only under the same problem, space, budget and protocol; new
    strategies or seeds may join an existing study.
    """
    validate(spec)
    directory = study_dir(results_root, spec)
    spec_path = directory / SPEC_FILE
    if spec_path.exists():
        try:
            stored = StudySpec.from_dict(json.loads(spec_path.read_text()))
        except (json.JSONDecodeError, OSError) as exc:
            raise UsageError(f"{spec_path} is unreadable ({exc}); move it aside") from None
        if stored.fingerprint() != spec.fingerprint():
            raise UsageError(
                f"{directory} holds a study with a different spec (problem, space, budget or "
                f"protocol); pass --study NEW_NAME to start a new one"
            )
        strategies = tuple(dict.fromkeys((*stored.strategies, *spec.strategies)))
        seeds = tuple(sorted({*stored.seeds, *spec.seeds}))
        merged = StudySpec(
            spec.name, spec.problem, spec.space, strategies, seeds, spec.budget, spec.protocol
        )
    else:
        merged = spec
    write_json_atomic(spec_path, merged.to_dict())
    (directory / CELLS_DIR).mkdir(parents=True, exist_ok=True)
    return directory


def cell_path(directory: Path, strategy: str, seed: int) -> Path:
    return directory / CELLS_DIR / cell_filename(strategy, seed)


def load_finished(directory: Path, strategy: str, seed: int) -> dict[str, Any] | None:
    path = cell_path(directory, strategy, seed)
    if not path.exists():
        return None
    try:
        return read_record(path)
    except CorruptRecord as exc:
        aside = path.with_suffix(f".corrupt-{int(time.time())}")
        path.rename(aside)
        print(f"warning: {exc}; moved to {aside.name}, the cell will run again")
        return None


def pending_cells(directory: Path, spec: StudySpec) -> list[tuple[str, int]]:
    return [c for c in spec.cells() if load_finished(directory, *c) is None]


def run_cell(spec: StudySpec, strategy_name: str, seed: int, directory: Path) -> dict[str, Any]:
    """Run one cell to completion and write its record; returns the record."""
    problem = get_problem(spec.problem)
    space = get_space(spec.space)
    strategy = get_strategy(strategy_name)
    evaluator = problem.make_evaluator(spec.protocol, seed)
    objective = Objective(evaluator, space, spec.budget)

    started = time.perf_counter()
    try:
        # The strategies' own models (Gaussian processes over tens of points) are far too
        # small for threaded BLAS: on a busy machine its threads only wait for each other,
        # inflating the strategy overhead that records compare. Keras trains on its own pools.
        with threadpool_limits(limits=1, user_api="blas"):
            strategy(objective, space, seed)
        objective.stop_reason = objective.stop_reason or "strategy finished"
    except BudgetExhausted:
        objective.stop_reason = "budget exhausted"
    search_seconds = time.perf_counter() - started
    trailing = objective.trailing_overhead() if objective.evaluations else 0.0

    incumbent = objective.incumbent()
    if incumbent is not None:
        epochs = incumbent.best_epoch
        final_epochs = round(epochs) if math.isfinite(epochs) else incumbent.fidelity_epochs
        test = evaluator.test(incumbent.config, final_epochs)
        test_dict = {
            "metrics": test.metrics,
            "epochs": test.epochs,
            "fit_seconds": test.fit_seconds,
            "status": test.status,
        }
    else:
        test_dict = {"metrics": {}, "epochs": 0, "fit_seconds": 0.0, "status": "no incumbent"}

    evaluations = [e.to_dict() for e in objective.evaluations]
    train_seconds = sum(e.fit_seconds for e in objective.evaluations)
    overhead_seconds = sum(e.overhead_seconds for e in objective.evaluations) + trailing
    record = {
        "study": spec.name,
        "strategy": strategy_name,
        "seed": seed,
        "spec": spec.to_dict(),
        "objective_metric": problem.objective_metric,
        "metric_directions": problem.metric_directions,
        "evaluations": evaluations,
        "incumbent": None
        if incumbent is None
        else {
            "index": incumbent.index,
            "config": incumbent.config,
            "score": incumbent.score,
            "metrics": incumbent.metrics,
        },
        "test": test_dict,
        "budget": {
            "evaluations": spec.budget,
            "max_epochs": objective.max_epochs,
            "budget_epochs": objective.budget_epochs,
            "spent_epochs": objective.spent_epochs,
            "used_fraction": objective.spent_epochs / objective.budget_epochs,
            "overshoot_epochs": max(0, objective.spent_epochs - objective.budget_epochs),
            "refused_epochs": objective.refused_epochs,
            "stop_reason": objective.stop_reason,
        },
        "timings": {
            "search_seconds": search_seconds,
            "train_seconds": train_seconds,
            "overhead_seconds": overhead_seconds,
            "final_fit_seconds": test_dict["fit_seconds"],
            "wall_seconds": time.perf_counter() - started,
        },
        "environment": environment(),
    }
    return write_record(cell_path(directory, strategy_name, seed), record)


ProgressHook = Callable[[str, int, dict[str, Any]], None]


def run_study(
    spec: StudySpec, results_root: Path, on_cell_done: ProgressHook | None = None
) -> Path:
    """Run every missing cell of ``spec`` in order; returns the study directory."""
    directory = open_study(results_root, spec)
    for strategy_name, seed in pending_cells(directory, spec):
        record = run_cell(spec, strategy_name, seed, directory)
        if on_cell_done is not None:
            on_cell_done(strategy_name, seed, record)
    return directory
