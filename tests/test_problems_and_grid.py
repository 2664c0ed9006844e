"""Problems beyond California Housing, the synthetic function's fidelity, the focused grid,
and Keras Tuner's trial files."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pytest
from sklearn.model_selection import ParameterGrid

from study.errors import UsageError
from study.problems import PROBLEMS, function_problem, get_problem, register_problem
from study.runner import open_study, run_cell
from study.settings import ProtocolSettings, StudySpec
from study.space import SPACES, Categorical, Float, Int, SearchSpace
from study.strategies.scikit_learn import grid_counts
from study.synthetic import BRANIN_MIN, FunctionEvaluator, branin, mixed_branin


def test_branin_minimum_is_known() -> None:
    assert branin(math.pi, 2.275) == pytest.approx(BRANIN_MIN)
    assert abs(BRANIN_MIN - 0.397887) < 1e-6
    x2 = 2.275
    best = {"x1": math.pi, "scale": 10 ** (x2 * 4 / 15 - 2), "k": 5, "variant": "b"}
    assert mixed_branin(best) == pytest.approx(BRANIN_MIN)
    assert mixed_branin({**best, "k": 4}) > BRANIN_MIN
    assert mixed_branin({**best, "variant": "a"}) > BRANIN_MIN


def test_synthetic_fidelity_noise_shrinks_and_pruning_is_charged() -> None:
    space = SPACES["branin"]
    config = space.config(space.default_values())
    evaluator = get_problem("branin").make_evaluator(ProtocolSettings(max_epochs=27), 0)
    truth = mixed_branin(config)
    curve = evaluator.curve(config, truth)  # type: ignore[attr-defined]
    # Bias and noise shrink with epochs: late epochs sit closer to the truth than early ones.
    assert abs(curve[-3:] - truth).mean() < abs(curve[:3] - truth).mean()
    full = evaluator.evaluate(config, 27)
    assert full.status == "ok" and full.epochs_run == 27
    assert evaluator.evaluate(config, 27).score == full.score  # a seed repeats exactly
    other = get_problem("branin").make_evaluator(ProtocolSettings(max_epochs=27), 1)
    assert other.evaluate(config, 27).score != full.score
    pruned = evaluator.evaluate(config, 27, report=lambda epoch, value: epoch >= 4)
    assert pruned.status == "pruned" and pruned.epochs_run == 4
    # A stop asked after the last epoch is a complete run, not a pruned one.
    assert evaluator.evaluate(config, 4, report=lambda e, v: True).status == "pruned"
    assert evaluator.evaluate(config, 1, report=lambda e, v: True).status == "ok"
    test = evaluator.test(config, 27)
    assert test.metrics["value"] == pytest.approx(truth)
    assert test.metrics["regret"] == pytest.approx(truth - BRANIN_MIN)


def test_function_evaluator_diverges_on_nan_and_needs_finite_penalty() -> None:
    evaluator = FunctionEvaluator(lambda c: math.nan, seed=0, max_epochs=3, penalty=9.0)
    outcome = evaluator.evaluate({"x": 1}, 3)
    assert outcome.status == "diverged" and outcome.score == 9.0
    with pytest.raises(ValueError, match="finite"):
        FunctionEvaluator(lambda c: 0.0, seed=0, max_epochs=3, penalty=math.inf)


def test_registering_a_problem_twice_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    space = SearchSpace("one_dim", (Float("x", -1.0, 1.0),), {})
    problem = function_problem("parabola", lambda c: c["x"] ** 2, space, description="", penalty=2)
    monkeypatch.setitem(PROBLEMS, "parabola", problem)
    with pytest.raises(UsageError, match="already registered"):
        register_problem(problem)
    with pytest.raises(UsageError, match="unknown problem"):
        get_problem("no_such_problem")


def test_diabetes_trains_through_the_mlp_protocol(tmp_path: Path) -> None:
    spec = StudySpec(
        name="diabetes",
        problem="diabetes_mlp",
        space="lab",
        strategies=("baseline",),
        seeds=(0,),
        budget=1,
        protocol=ProtocolSettings(max_epochs=2, patience=1),
    )
    store = open_study(tmp_path, spec)
    run_cell(spec, "baseline", 0, store)
    record = store.read(store.cell_path("baseline", 0))
    (evaluation,) = record.evaluations
    assert evaluation.status == "ok"
    assert record.objective_metric == "rmse"
    assert set(record.test.metrics) == {"rmse", "r2"}
    assert 0 < record.test.metrics["rmse"] < 3  # target in hundreds: 0.25..3.46


def test_grid_values_are_centred_and_categoricals_start_at_the_default() -> None:
    space = SearchSpace(
        "g",
        (
            Int("n", 0, 3),
            Float("lr", 1e-4, 1e-2, log=True),
            Categorical("opt", ("sgd", "adam", "rmsprop")),
        ),
        {"opt": "adam"},
    )
    grid = space.grid({"n": 4, "lr": 1, "opt": 2})
    assert grid["n"] == [0, 1, 2, 3]
    assert grid["lr"] == [pytest.approx(1e-3)]
    assert grid["opt"] == ["adam", "sgd"]
    assert space.grid(1)["n"] == [2]  # round(1.5): the middle of 0..3


@pytest.mark.parametrize(("space", "budget"), [("lab", 3), ("lab", 12), ("extended", 50)])
def test_grid_is_the_smallest_that_covers_the_budget(space: str, budget: int) -> None:
    s = SPACES[space]
    counts = grid_counts(s, budget)
    size = len(ParameterGrid(s.grid(counts)))
    assert size >= budget
    smaller = [{**counts, name: counts[name] - 1} for name in counts if counts[name] > 1]
    assert all(len(ParameterGrid(s.grid(c))) < budget for c in smaller)


def test_grid_of_a_small_discrete_space_is_taken_whole(tmp_path: Path) -> None:
    space = SearchSpace("tiny", (Categorical("c", ("a", "b")), Int("k", 1, 2)), {})
    assert len(ParameterGrid(space.grid(grid_counts(space, 10)))) == 4


def test_keras_tuner_leaves_no_trial_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    spec = StudySpec(
        name="kt",
        problem="branin",
        space="branin",
        strategies=("kt_random", "kt_hyperband"),
        seeds=(0,),
        budget=6,
        protocol=ProtocolSettings(max_epochs=9),
    )
    directory = open_study(tmp_path / "results", spec)
    for strategy in spec.strategies:
        record = run_cell(spec, strategy, 0, directory)
        assert record.budget.used_fraction == 1.0
    assert list(scratch.iterdir()) == []
