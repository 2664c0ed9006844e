"""The budget ledger: charges, refusals, failures recorded, overhead kept apart from training."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from study.ledger import BudgetExhausted, Objective
from study.problems import get_problem
from study.records import parse_record, record_text, reproducible_part
from study.settings import ProtocolSettings
from study.space import SPACES
from study.synthetic import FunctionEvaluator, mixed_branin
from tests.fakes import FakeEvaluator, toy_record

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


def _branin_objective(budget: int, max_epochs: int = 9) -> tuple[Objective, FunctionEvaluator]:
    evaluator = get_problem("branin").make_evaluator(ProtocolSettings(max_epochs=max_epochs), 0)
    return Objective(evaluator, SPACES["branin"], budget=budget), evaluator  # type: ignore[return-value]


def test_every_evaluation_keeps_the_learning_curve_it_trained() -> None:
    objective, evaluator = _branin_objective(budget=3)
    values = SPACES["branin"].default_values()
    objective.evaluate(values)  # full fidelity
    objective.evaluate(values, epochs=3)  # a low rung
    objective.evaluate(values, report=lambda epoch, score: epoch >= 4)  # pruned at epoch 4
    full, low, pruned = objective.evaluations
    curve = evaluator.curve(full.config, mixed_branin(full.config))
    assert full.epoch_scores == pytest.approx(list(curve))
    assert full.epoch_scores[-1] == full.score  # the last epoch is what full fidelity scores
    assert low.epoch_scores == pytest.approx(list(curve[:3]))
    assert pruned.status == "pruned" and len(pruned.epoch_scores) == pruned.charged_epochs == 4
    assert pruned.epoch_scores == pytest.approx(list(curve[:4]))


def test_a_diverged_curve_is_stored_as_null_and_a_failed_one_as_empty() -> None:
    evaluator = FunctionEvaluator(
        lambda c: math.nan if c["variant"] == "d" else 1.0, seed=0, max_epochs=3, penalty=9.0
    )
    objective = Objective(evaluator, SPACES["branin"], budget=3)
    values = SPACES["branin"].default_values()
    objective.evaluate(dict(values, variant="d"))
    objective.evaluate(values)
    diverged, ok = objective.evaluations
    assert diverged.status == "diverged" and len(diverged.epoch_scores) == 3
    assert all(math.isnan(v) for v in diverged.epoch_scores)
    failing = Objective(FakeEvaluator(fail_when="sgd"), SPACES["lab"], budget=1)
    failing.evaluate(dict(VALUES, optimizer="sgd"))
    assert failing.evaluations[0].status == "failed" and failing.evaluations[0].epoch_scores == []
    # JSON has no NaN: the record holds null where the score was not finite, and reads back so.
    record = dataclasses.replace(toy_record("a", 0, [1.0]), evaluations=objective.evaluations)
    text = record_text(record)
    written = json.loads(text)["evaluations"]
    assert written[0]["epoch_scores"] == [None, None, None]
    again = parse_record(text)
    assert all(math.isnan(v) for v in again.evaluations[0].epoch_scores)
    assert again.evaluations[1].epoch_scores == pytest.approx(ok.epoch_scores)
    # Curves are results, not timings: a rerun of the cell must repeat them.
    kept = reproducible_part(again)["evaluations"]
    assert [e["epoch_scores"] for e in kept] == [w["epoch_scores"] for w in written]
