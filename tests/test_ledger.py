"""The budget ledger: charges, refusals, failures recorded, overhead kept apart from training."""

from __future__ import annotations

import math

import pytest

from study.ledger import BudgetExhausted, Objective
from study.space import SPACES
from tests.fakes import FakeEvaluator

VALUES = {"n_hidden": 1, "n_neurons": 50, "learning_rate": 1e-3, "optimizer": "adam"}


def test_budget_is_counted_in_full_fidelity_equivalents_and_never_exceeded() -> None:
    objective = Objective(FakeEvaluator(), SPACES["lab"], budget=3)
    objective.evaluate(VALUES)  # 10 epochs
    objective.evaluate(VALUES, epochs=5)
    objective.evaluate(VALUES, epochs=5)
    assert objective.remaining_evaluations == 1
    objective.evaluate(VALUES, epochs=8)
    with pytest.raises(BudgetExhausted):
        objective.evaluate(VALUES, epochs=3)  # 2 epochs left: refused, not overshot
    assert objective.spent_epochs == 28 <= objective.budget_epochs
    assert objective.refused_epochs == 3
    assert [e.cost for e in objective.evaluations] == [1.0, 0.5, 0.5, 0.8]
    assert objective.evaluations[-1].cumulative_cost == pytest.approx(2.8)
    assert objective.stop_reason == "budget exhausted"


def test_budget_exhausted_escapes_libraries_that_catch_exception() -> None:
    assert not issubclass(BudgetExhausted, Exception)


def test_fidelity_outside_the_range_is_a_programming_error() -> None:
    objective = Objective(FakeEvaluator(), SPACES["lab"], budget=3)
    with pytest.raises(ValueError):
        objective.evaluate(VALUES, epochs=11)


def test_a_raising_evaluation_is_recorded_as_failed_with_the_penalty() -> None:
    objective = Objective(FakeEvaluator(fail_when="sgd"), SPACES["lab"], budget=3)
    score = objective.evaluate(dict(VALUES, optimizer="sgd"))
    assert score == 99.0 and math.isfinite(score)
    failed = objective.evaluations[0]
    assert failed.status == "failed" and "boom" in (failed.error or "")
    objective.evaluate(VALUES)  # the study goes on
    assert objective.incumbent() is objective.evaluations[1]


def test_pruned_evaluation_is_charged_the_epochs_it_trained() -> None:
    objective = Objective(FakeEvaluator(), SPACES["lab"], budget=2)
    objective.evaluate(VALUES, report=lambda epoch, score: True)
    assert objective.evaluations[0].status == "pruned"
    assert objective.evaluations[0].charged_epochs == 1
    assert objective.spent_epochs == 1


def test_config_recorded_complete_and_overhead_apart_from_training() -> None:
    objective = Objective(FakeEvaluator(), SPACES["lab"], budget=2)
    objective.evaluate(VALUES)
    evaluation = objective.evaluations[0]
    assert evaluation.config["batch_size"] == 32  # defaults filled in
    assert evaluation.fit_seconds == 0.01
    assert evaluation.overhead_seconds >= 0.0
