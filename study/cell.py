"""Computing one cell: a strategy searches under the ledger, its incumbent is tested, and
the result becomes a record. Anywhere (this process, a worker, a Dask machine) and writing
nothing: only the driver writes, through the study store."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from threadpoolctl import threadpool_limits

from study.artifacts import ModelKeeper
from study.events import EvaluationDone
from study.ledger import BudgetExhausted, Evaluation, Objective
from study.problems import get_problem
from study.records import (
    Artifacts,
    BudgetAccount,
    CellRecord,
    Incumbent,
    TestResult,
    Timings,
    environment,
)
from study.settings import StudySpec
from study.space import get_space
from study.store import model_filename
from study.strategies import get_strategy


@dataclass(frozen=True)
class ComputedCell:
    """A cell's record and what travels with it to the driver, which writes both."""

    record: CellRecord
    model: bytes | None = None  # the kept model as ``.keras`` bytes (``--save-models``)


def progress_hook(
    cell: tuple[str, int], budget: int, metric: str, sink: Callable[[EvaluationDone], None]
) -> Callable[[Evaluation, Evaluation | None], None]:
    """The objective's hook that tells ``sink`` about every evaluation of ``cell``."""

    def report(evaluation: Evaluation, best: Evaluation | None) -> None:
        sink(
            EvaluationDone(
                cell=cell,
                index=evaluation.index,
                used=evaluation.cumulative_cost,
                budget=budget,
                status=evaluation.status,
                metric=metric,
                best=None if best is None else best.metrics.get(metric, best.score),
            )
        )

    return report


def compute_cell(
    spec: StudySpec,
    strategy_name: str,
    seed: int,
    on_progress: Callable[[EvaluationDone], None] | None = None,
) -> ComputedCell:
    """Run one cell to completion and return its record; writes nothing.

    ``on_progress`` hears of every evaluation as it is recorded; the record is the same
    with or without it.
    """
    problem = get_problem(spec.problem)
    space = get_space(spec.space)
    strategy = get_strategy(strategy_name)
    evaluator = problem.make_evaluator(spec.protocol, seed)
    hook = None
    if on_progress is not None:
        cell = (strategy_name, seed)
        hook = progress_hook(cell, spec.budget, problem.objective_metric, on_progress)
    objective = Objective(evaluator, space, spec.budget, on_evaluation=hook)

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

    best = objective.incumbent()
    keeper = ModelKeeper() if spec.save_models else None
    test = TestResult.none()
    if best is not None:
        epochs = best.best_epoch
        final_epochs = round(epochs) if math.isfinite(epochs) else best.fidelity_epochs
        if keeper is None:
            score = evaluator.test(best.config, final_epochs)
        else:
            score = evaluator.test(best.config, final_epochs, keep_model=keeper)
        test = TestResult(
            metrics=score.metrics,
            epochs=score.epochs,
            fit_seconds=score.fit_seconds,
            compile_seconds=score.compile_seconds,
            status=score.status,
        )

    evaluations = list(objective.evaluations)  # the ledger's records, in the record's type
    overhead_seconds = sum(e.overhead_seconds for e in evaluations) + trailing
    record = CellRecord(
        study=spec.name,
        strategy=strategy_name,
        seed=seed,
        spec=spec,
        objective_metric=problem.objective_metric,
        metric_directions=dict(problem.metric_directions),
        evaluations=evaluations,
        incumbent=None
        if best is None
        else Incumbent(
            index=best.index, config=best.config, score=best.score, metrics=best.metrics
        ),
        test=test,
        budget=BudgetAccount(
            evaluations=spec.budget,
            max_epochs=objective.max_epochs,
            budget_epochs=objective.budget_epochs,
            spent_epochs=objective.spent_epochs,
            used_fraction=objective.spent_epochs / objective.budget_epochs,
            overshoot_epochs=max(0, objective.spent_epochs - objective.budget_epochs),
            refused_epochs=objective.refused_epochs,
            stop_reason=objective.stop_reason,
        ),
        timings=Timings(
            search_seconds=search_seconds,
            train_seconds=sum(e.fit_seconds for e in evaluations),
            compile_seconds=test.compile_seconds + sum(e.compile_seconds for e in evaluations),
            overhead_seconds=overhead_seconds,
            final_fit_seconds=test.fit_seconds,
            wall_seconds=time.perf_counter() - started,
        ),
        environment=environment(),
        artifacts=Artifacts(
            model=None if keeper is None else keeper.describe(model_filename(strategy_name, seed))
        ),
    )
    return ComputedCell(record, None if keeper is None else keeper.data)
