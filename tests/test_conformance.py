"""One contract for every registered strategy, checked through the real runner and ledger.

Cells run on the synthetic ``branin`` problem, on a function over log-scaled integers, and on
cheap stand-ins over the MLP spaces (``lab``, ``extended``): a deterministic function of the
config that raises on some configs and returns NaN on others, so no network is trained. A strategy joins this suite by
registering; nothing here names one, except the baseline's documented exception (one
evaluation by definition).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from study.problems import PROBLEMS, function_problem
from study.records import CellRecord
from study.runner import open_study, run_cell
from study.settings import ProtocolSettings, StudySpec
from study.space import SPACES, Float, Int, SearchSpace
from study.strategies import STRATEGIES
from study.strategies.baseline import STOP_REASON as BASELINE_STOP

MAX_EPOCHS = 9  # Hyperband's rungs at factor 3: 1, 3, 9 epochs
BRANIN_BUDGET = 8
SPACE_BUDGET = 5
STANDIN_PENALTY = 50.0


def _mlp_standin(config: dict[str, Any]) -> float:
    """A smooth function of an MLP config; RMSprop "crashes", and nets of fewer than two
    hidden layers "diverge" (the lab's default config among them)."""
    if config["optimizer"] == "rmsprop":
        raise RuntimeError("injected failure")
    if config["n_hidden"] <= 1:
        return math.nan
    lr = (math.log10(config["learning_rate"]) + 2.5) ** 2
    width = ((config["n_neurons"] - 60) / 40) ** 2
    extra = config["dropout"] + 0.1 * math.log10(config["l2"] + 1e-6) ** 2 / 36
    return lr + width + 0.1 * config["n_hidden"] + extra + config["batch_size"] / 1000


# No shipped space has a log-scaled integer; every library converts one its own way.
LOG_INT_SPACE = SearchSpace(
    "log_int",
    (Int("x", 1, 9, log=True), Int("units", 2, 300, log=True), Float("rate", 1e-3, 1.0, log=True)),
    {"x": 3, "units": 24, "rate": 0.03},
)


def _log_int_function(config: dict[str, Any]) -> float:
    logs = (math.log(config["x"] / 4), math.log(config["units"] / 50), math.log10(config["rate"]))
    return logs[0] ** 2 + logs[1] ** 2 + (logs[2] + 2) ** 2


def _expected_status(config: dict[str, Any]) -> set[str]:
    if config["optimizer"] == "rmsprop":
        return {"failed"}
    if config["n_hidden"] <= 1:
        return {"diverged"}
    return {"ok", "pruned"}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., CellRecord]]:
    root = tmp_path_factory.mktemp("conformance")
    done: dict[tuple[Any, ...], dict[str, Any]] = {}
    with pytest.MonkeyPatch.context() as patch:
        for space in ("lab", "extended"):
            problem = function_problem(
                f"standin_{space}",
                _mlp_standin,
                SPACES[space],
                description=f"deterministic stand-in for the MLP on the {space} space",
                penalty=STANDIN_PENALTY,
                noise=0.05,
                bias=1.0,
            )
            patch.setitem(PROBLEMS, problem.name, problem)
        patch.setitem(SPACES, LOG_INT_SPACE.name, LOG_INT_SPACE)
        log_int = function_problem(
            "log_int", _log_int_function, LOG_INT_SPACE, description="log integers", penalty=50.0
        )
        patch.setitem(PROBLEMS, log_int.name, log_int)

        def run_one(strategy: str, problem: str, space: str, seed: int, repeat: int = 0):  # type: ignore[no-untyped-def]
            key = (strategy, problem, space, seed, repeat)
            if key not in done:
                budget = BRANIN_BUDGET if problem == "branin" else SPACE_BUDGET
                spec = StudySpec(
                    name=f"{problem}-{space}-{repeat}",
                    problem=problem,
                    space=space,
                    strategies=(strategy,),
                    seeds=(seed,),
                    budget=budget,
                    protocol=ProtocolSettings(max_epochs=MAX_EPOCHS),
                )
                store = open_study(root, spec)
                run_cell(spec, strategy, seed, store)
                # Read back from disk: the contract is about what the record says.
                done[key] = store.read(store.cell_path(strategy, seed))
            return done[key]

        yield run_one


def _cells(run: Callable[..., CellRecord], strategy: str) -> list[CellRecord]:
    return [
        run(strategy, "branin", "branin", 0),
        run(strategy, "branin", "branin", 1),
        run(strategy, "standin_lab", "lab", 0),
        run(strategy, "standin_extended", "extended", 0),
        run(strategy, "log_int", "log_int", 0),
    ]


def _sequence(record: CellRecord) -> list[tuple[Any, ...]]:
    return [
        (e.config, e.fidelity_epochs, e.charged_epochs, e.score, e.status)
        for e in record.evaluations
    ]


STRATEGY_NAMES = sorted(STRATEGIES)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_budget_never_exceeded_and_used(run: Callable[..., CellRecord], strategy: str) -> None:
    for record in _cells(run, strategy):
        budget = record.budget
        evaluations = record.evaluations
        charged = sum(e.charged_epochs for e in evaluations)
        assert charged == budget.spent_epochs <= budget.budget_epochs
        assert budget.overshoot_epochs == 0
        full = sum(1 for e in evaluations if e.charged_epochs == MAX_EPOCHS)
        assert full <= budget.evaluations
        assert sum(e.cost for e in evaluations) <= budget.evaluations + 1e-9
        assert budget.stop_reason
        if strategy == "baseline":
            assert len(evaluations) == 1
            assert budget.stop_reason == BASELINE_STOP
        else:
            assert budget.used_fraction >= 0.9, budget


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_same_seed_repeats_and_seeds_differ(run: Callable[..., CellRecord], strategy: str) -> None:
    first = run(strategy, "branin", "branin", 0)
    again = run(strategy, "branin", "branin", 0, repeat=1)
    other = run(strategy, "branin", "branin", 1)
    assert _sequence(first) == _sequence(again)
    assert first.incumbent == again.incumbent
    assert _sequence(first) != _sequence(other)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_every_evaluation_recorded_with_fidelity_and_timings(
    run: Callable[..., CellRecord], strategy: str
) -> None:
    for record in _cells(run, strategy):
        evaluations = record.evaluations
        assert evaluations
        cumulative = 0.0
        for i, e in enumerate(evaluations):
            assert e.index == i
            assert 1 <= e.charged_epochs <= e.fidelity_epochs <= MAX_EPOCHS
            cumulative += e.cost
            assert e.cumulative_cost == pytest.approx(cumulative)
            assert e.fit_seconds >= 0.0 and e.overhead_seconds >= 0.0
            assert e.status in ("ok", "diverged", "failed", "pruned")
            if e.status == "pruned":
                assert e.charged_epochs == e.epochs_run < e.fidelity_epochs
        timings = record.timings
        assert timings.train_seconds == pytest.approx(sum(e.fit_seconds for e in evaluations))
        assert timings.overhead_seconds >= sum(e.overhead_seconds for e in evaluations)
        assert timings.search_seconds >= timings.train_seconds


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_failures_recorded_with_finite_penalty_and_study_continues(
    run: Callable[..., CellRecord], strategy: str
) -> None:
    statuses: list[str] = []
    for space in ("lab", "extended"):
        record = run(strategy, f"standin_{space}", space, 0)
        evaluations = record.evaluations
        statuses += [e.status for e in evaluations]
        for e in evaluations:
            assert e.status in _expected_status(e.config), e
            assert math.isfinite(e.score)
            if e.status in ("failed", "diverged"):
                assert e.score == STANDIN_PENALTY
            if e.status == "failed":
                assert "injected failure" in e.error
        if strategy != "baseline":
            assert any(e.status in ("ok", "pruned") for e in evaluations)
            assert _expected_status(record.incumbent.config) == {"ok", "pruned"}
            assert record.test.status == "ok"
    # Half the stand-ins' configs fail, so every strategy meets some within its budget.
    assert {"failed", "diverged"} & set(statuses)


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_configs_stay_inside_each_space(run: Callable[..., CellRecord], strategy: str) -> None:
    for problem, space in (
        ("branin", "branin"),
        ("standin_lab", "lab"),
        ("standin_extended", "extended"),
        ("log_int", "log_int"),
    ):
        record = run(strategy, problem, space, 0)
        if strategy == "baseline":
            # The lab's hand-picked config, even where it lies outside a searched range
            # (it uses no L2 penalty, below the extended space's log range).
            defaults = SPACES[space].config(SPACES[space].default_values())
            assert [e.config for e in record.evaluations] == [defaults]
            continue
        params = SPACES[space].params
        for e in record.evaluations:
            for p in params:
                value = e.config[p.name]
                if hasattr(p, "choices"):
                    assert value in p.choices
                else:
                    assert p.low <= value <= p.high, (p, value)
