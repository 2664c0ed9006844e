"""The budget ledger: the objective every strategy calls, and the harness's own accounting.

Budget is counted in full-fidelity evaluation equivalents: ``budget`` evaluations ×
``max_epochs`` epochs. An evaluation at ``e`` epochs is charged ``e`` epochs (a pruned one
the epochs it actually trained). A request that would take the spend past the budget is
refused by raising ``BudgetExhausted``, which ends the strategy: libraries' own trial
counters are never trusted to stop in time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from study.outcome import EpochReport, Evaluation, KeepModel, Outcome, TestScore
from study.space import SearchSpace


class BudgetExhausted(BaseException):
    """The ledger refused an evaluation. A ``BaseException`` on purpose: scikit-learn and
    Keras Tuner catch ``Exception`` from a trial and carry on with the next one."""


class Evaluator(Protocol):
    """What a problem offers the ledger: scoring at a fidelity, and the final test."""

    max_epochs: int
    penalty: float

    def evaluate(
        self, config: dict[str, Any], epochs: int, report: EpochReport | None = None
    ) -> Outcome: ...

    def test(
        self, config: dict[str, Any], epochs: int, keep_model: KeepModel | None = None
    ) -> TestScore:
        """Retrain ``config`` and score it on the test split; an evaluator that trains a
        model hands it to ``keep_model`` (the runner passes one only to save models)."""
        ...


EvaluationHook = Callable[[Evaluation, Evaluation | None], None]


class Objective:
    """The only door from a strategy to the data: ``evaluate(values, epochs) -> score``.

    ``on_evaluation``, if given, is called after every recorded evaluation with it and the
    incumbent so far; it only observes (progress), and its time is not charged to the
    strategy's overhead.
    """

    def __init__(
        self,
        evaluator: Evaluator,
        space: SearchSpace,
        budget: int,
        on_evaluation: EvaluationHook | None = None,
    ) -> None:
        self.evaluator = evaluator
        self.space = space
        self.budget = budget
        self.max_epochs = evaluator.max_epochs
        self.budget_epochs = budget * evaluator.max_epochs
        self.spent_epochs = 0
        self.refused_epochs = 0
        self.evaluations: list[Evaluation] = []
        self.stop_reason: str | None = None
        self.on_evaluation = on_evaluation
        self._best: Evaluation | None = None  # incumbent(), kept up to date for the hook
        self._last_return = time.perf_counter()

    @property
    def remaining_epochs(self) -> int:
        return self.budget_epochs - self.spent_epochs

    @property
    def remaining_evaluations(self) -> int:
        """Full-fidelity evaluations still affordable."""
        return self.remaining_epochs // self.max_epochs

    def evaluate(
        self,
        values: Mapping[str, Any],
        epochs: int | None = None,
        report: EpochReport | None = None,
        fit_to_budget: bool = False,
    ) -> float:
        """Score ``values`` at ``epochs`` (default: full fidelity). With ``fit_to_budget``
        (multi-fidelity methods, whose last rung may outlast the budget) it trains only the
        epochs left when fewer are left, at least one: with none left the ledger refuses."""
        started = time.perf_counter()
        overhead = started - self._last_return
        fidelity = self.max_epochs if epochs is None else int(epochs)
        if not 1 <= fidelity <= self.max_epochs:
            raise ValueError(f"fidelity {fidelity} outside 1..{self.max_epochs} epochs")
        if fit_to_budget:
            fidelity = max(1, min(fidelity, self.remaining_epochs))
        if fidelity > self.remaining_epochs:
            self.refused_epochs = fidelity
            self.stop_reason = "budget exhausted"
            raise BudgetExhausted(f"{fidelity} epochs asked, {self.remaining_epochs} left")
        config = self.space.config(values)
        try:
            outcome = self.evaluator.evaluate(config, fidelity, report)
        except Exception as exc:  # a broken evaluation is recorded, never a crashed study
            outcome = Outcome(
                score=self.evaluator.penalty,
                metrics={},
                fold_metrics={},
                epochs_run=0,
                best_epoch=float("nan"),
                fit_seconds=time.perf_counter() - started,
                status="failed",
                error=f"{type(exc).__name__}: {exc}",
            )
        charged = fidelity
        if outcome.status == "pruned":
            # Pruning stops the first fold, so its epochs are all that was trained.
            charged = min(fidelity, max(1, outcome.epochs_run))
        self.spent_epochs += charged
        evaluation = Evaluation(
            index=len(self.evaluations),
            config=config,
            fidelity_epochs=fidelity,
            charged_epochs=charged,
            cost=charged / self.max_epochs,
            cumulative_cost=self.spent_epochs / self.max_epochs,
            score=float(outcome.score),
            metrics=outcome.metrics,
            fold_metrics=outcome.fold_metrics,
            epochs_run=outcome.epochs_run,
            best_epoch=outcome.best_epoch,
            fit_seconds=outcome.fit_seconds,
            compile_seconds=outcome.compile_seconds,
            overhead_seconds=overhead,
            status=outcome.status,
            error=outcome.error,
            epoch_scores=[float(v) for v in outcome.epoch_scores],
        )
        self.evaluations.append(evaluation)
        if self.on_evaluation is not None:
            if evaluation.status in ("ok", "pruned") and (
                self._best is None or evaluation.score < self._best.score
            ):
                self._best = evaluation
            self.on_evaluation(evaluation, self._best)
        self._last_return = time.perf_counter()
        return float(outcome.score)

    def trailing_overhead(self) -> float:
        """Strategy time after the last evaluation returned (for the cell's overhead total)."""
        return time.perf_counter() - self._last_return

    def incumbent(self) -> Evaluation | None:
        """The best successful evaluation: what the strategy would hand to its user."""
        done = [e for e in self.evaluations if e.status in ("ok", "pruned")]
        return min(done, key=lambda e: (e.score, e.index)) if done else None
