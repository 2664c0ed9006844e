"""Optuna's samplers and pruner, driven ask/tell on the shared protocol.

- ``optuna_tpe``: the Tree-structured Parzen Estimator.
- ``evolution``: NSGA-II used single-objective, i.e. a plain genetic algorithm
  (tournament selection, uniform crossover, per-parameter mutation). Chosen over CMA-ES
  because it evolves every parameter kind natively: Optuna's CMA-ES handles only
  continuous and integer parameters and samples categorical ones independently at random,
  which would leave the optimiser and activation choices of the ``lab`` and ``extended``
  spaces to a random search.
- ``bohb``: TPE with ``HyperbandPruner`` (Optuna's BOHB recipe). Every trial asks for full
  fidelity and reports its validation score after each epoch; a pruned trial is charged
  the epochs it actually trained, and the last trial trains only the epochs left.
"""

from __future__ import annotations

import math
from typing import Any

import optuna
from optuna.trial import TrialState

from study.ledger import Evaluation, Objective
from study.seeding import derive_seed
from study.space import SearchSpace
from study.strategies.registry import (
    INITIAL_RANDOM_POINTS,
    Proposal,
    Settings,
    StrategyFunction,
    ask_tell,
    budget_share,
    register,
    resolve,
)

# One line per trial from Optuna would drown the study's own progress display.
optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study(name: str, settings: Settings, budget: int, seed: int, **pruner: Any) -> optuna.Study:
    """The Optuna study ``settings`` declare: a ``sampler`` and optionally a ``pruner``, each
    a class name with its arguments (the pruner's completed by the run-time ``pruner``)."""
    resolved = resolve(settings, budget)
    sampler = _instance(optuna.samplers, resolved["sampler"], seed=derive_seed(seed, name))
    # A fixed name, not Optuna's random one: HyperbandPruner assigns trials to brackets by
    # hashing the study name, so a random name would make pruning differ run to run.
    return optuna.create_study(
        study_name=f"{name}-seed{seed}",
        direction="minimize",
        sampler=sampler,
        pruner=_instance(optuna.pruners, resolved["pruner"], **pruner)
        if "pruner" in resolved
        else None,
    )


def _instance(module: Any, declared: dict[str, Any], **arguments: Any) -> Any:
    arguments = {k: v for k, v in declared.items() if k != "class"} | arguments
    return getattr(module, declared["class"])(**arguments)


def _search(objective: Objective, space: SearchSpace, study: optuna.Study) -> None:
    distributions = space.to_optuna()

    def ask() -> Proposal[optuna.Trial]:
        trial = study.ask(distributions)
        return Proposal(trial, trial.params)

    def tell(proposal: Proposal[optuna.Trial], evaluation: Evaluation) -> None:
        study.tell(proposal.handle, evaluation.score)

    ask_tell(objective, ask, tell)


def _sampler_search(name: str) -> StrategyFunction:
    """A strategy that searches with the sampler its settings declare, nothing else."""

    def search(objective: Objective, space: SearchSpace, seed: int, settings: Settings) -> None:
        budget = objective.remaining_evaluations
        _search(objective, space, _study(name, settings, budget, seed))

    return search


optuna_tpe = register(
    "optuna_tpe",
    settings={"sampler": {"class": "TPESampler", "n_startup_trials": INITIAL_RANDOM_POINTS}},
)(_sampler_search("optuna_tpe"))

evolution = register(
    "evolution",
    settings={
        # A few generations within any budget: NSGA-II's default of 50 would never leave the
        # random first generation at the budgets studied here.
        "sampler": {"class": "NSGAIISampler", "population_size": budget_share(4, 4, 20)}
    },
)(_sampler_search("evolution"))


@register(
    "bohb",
    settings={
        "sampler": {"class": "TPESampler", "n_startup_trials": INITIAL_RANDOM_POINTS},
        "pruner": {"class": "HyperbandPruner", "min_resource": 1, "reduction_factor": 3},
    },
)
def bohb(objective: Objective, space: SearchSpace, seed: int, settings: Settings) -> None:
    budget = objective.remaining_evaluations
    study = _study("bohb", settings, budget, seed, max_resource=objective.max_epochs)
    distributions = space.to_optuna()
    pruned: set[int] = set()  # trials whose reports the pruner stopped

    def ask() -> Proposal[optuna.Trial]:
        trial = study.ask(distributions)

        def report(epoch: int, value: float) -> bool:
            if not math.isfinite(value):
                return False  # a diverging run is the protocol's to record, not a rung score
            trial.report(value, epoch)
            if trial.should_prune():
                pruned.add(trial.number)
                return True
            return False

        # Full fidelity asked; the last trial trains only the epochs left.
        return Proposal(trial, trial.params, objective.max_epochs, report, fit_to_budget=True)

    def tell(proposal: Proposal[optuna.Trial], evaluation: Evaluation) -> None:
        trial = proposal.handle
        if trial.number in pruned or evaluation.fidelity_epochs < objective.max_epochs:
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, evaluation.score)

    ask_tell(objective, ask, tell)
