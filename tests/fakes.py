"""Test doubles that need no training."""

from __future__ import annotations

from typing import Any

from study.outcome import Evaluation, Outcome, TestScore
from study.records import (
    BudgetAccount,
    CellRecord,
    Environment,
    Incumbent,
    TestResult,
    Timings,
)
from study.settings import ProtocolSettings, StudySpec


class FakeEvaluator:
    """Deterministic scores without training: enough to test the accounting."""

    max_epochs = 10
    penalty = 99.0

    def __init__(self, fail_when: str | None = None) -> None:
        self.fail_when = fail_when
        self.calls: list[tuple[dict[str, Any], int]] = []

    def evaluate(self, config: dict[str, Any], epochs: int, report: Any = None) -> Outcome:
        self.calls.append((config, epochs))
        if config["optimizer"] == self.fail_when:
            raise RuntimeError("boom")
        score = config["n_neurons"] / 100 + 1 / epochs
        pruned = report is not None and report(1, score)
        return Outcome(
            score=score,
            metrics={"rmse": score},
            fold_metrics={"rmse": [score]},
            epochs_run=1 if pruned else epochs,
            best_epoch=epochs,
            fit_seconds=0.01,
            status="pruned" if pruned else "ok",
        )

    def test(self, config: dict[str, Any], epochs: int) -> TestScore:
        return TestScore(metrics={"rmse": 0.5}, epochs=epochs, fit_seconds=0.0)


def toy_record(
    strategy: str,
    seed: int,
    values: list[float],
    direction: str = "min",
    study: str = "toy",
) -> CellRecord:
    """A minimal valid record whose evaluations score ``values`` at full fidelity (2 epochs)."""
    metric = "rmse" if direction == "min" else "accuracy"
    evaluations = [
        Evaluation(
            index=i,
            config={"lr": 0.01 * (i + 1)},
            fidelity_epochs=2,
            charged_epochs=2,
            cost=1.0,
            cumulative_cost=float(i + 1),
            score=v if direction == "min" else -v,
            metrics={metric: v},
            fold_metrics={metric: [v]},
            epochs_run=2,
            best_epoch=2.0,
            fit_seconds=1.0,
            compile_seconds=0.0,
            overhead_seconds=0.5,
            status="ok",
            error=None,
            epoch_scores=[v + 1.0, v],
        )
        for i, v in enumerate(values)
    ]
    best = min(values) if direction == "min" else max(values)
    return CellRecord(
        study=study,
        strategy=strategy,
        seed=seed,
        spec=StudySpec(
            name=study,
            problem="branin",
            space="branin",
            strategies=(strategy,),
            seeds=(seed,),
            budget=len(values),
            protocol=ProtocolSettings(max_epochs=2),
            strategy_settings={strategy: {}},  # toy strategies are not registered
        ),
        objective_metric=metric,
        metric_directions={metric: direction},
        evaluations=evaluations,
        incumbent=Incumbent(
            index=values.index(best), config={}, score=best, metrics={metric: best}
        ),
        test=TestResult(
            metrics={metric: best + 0.1},
            epochs=2,
            fit_seconds=1.0,
            compile_seconds=0.0,
            status="ok",
        ),
        budget=BudgetAccount(
            evaluations=len(values),
            max_epochs=2,
            budget_epochs=2 * len(values),
            spent_epochs=2 * len(values),
            used_fraction=1.0,
            overshoot_epochs=0,
            refused_epochs=0,
            stop_reason="strategy finished",
        ),
        timings=Timings(
            search_seconds=2.0,
            train_seconds=1.0,
            compile_seconds=0.0,
            overhead_seconds=1.0,
            final_fit_seconds=1.0,
            wall_seconds=3.0,
        ),
        environment=Environment(),
    )
