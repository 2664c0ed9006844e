"""Test doubles that need no training."""

from __future__ import annotations

from typing import Any

from study.outcome import Outcome, TestScore


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
