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

import optuna
from optuna.trial import TrialState

from study.ledger import Objective
from study.seeding import derive_seed
from study.space import SearchSpace
from study.strategies.registry import initial_random_points, register

# One line per trial from Optuna would drown the study's own progress display.
optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study(
    name: str,
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner | None = None,
) -> optuna.Study:
    # A fixed name, not Optuna's random one: HyperbandPruner assigns trials to brackets by
    # hashing the study name, so a random name would make pruning differ run to run.
    return optuna.create_study(
        study_name=name, direction="minimize", sampler=sampler, pruner=pruner
    )


def _ask_tell(objective: Objective, space: SearchSpace, study: optuna.Study) -> None:
    distributions = space.to_optuna()
    while True:
        trial = study.ask(distributions)
        study.tell(trial, objective.evaluate(trial.params))


@register("optuna_tpe")
def optuna_tpe(objective: Objective, space: SearchSpace, seed: int) -> None:
    sampler = optuna.samplers.TPESampler(
        n_startup_trials=initial_random_points(objective.remaining_evaluations),
        seed=derive_seed(seed, "optuna_tpe"),
    )
    _ask_tell(objective, space, _study(f"optuna_tpe-seed{seed}", sampler))


def population_size(budget: int) -> int:
    """A few generations within any budget: NSGA-II's default of 50 would never leave the
    random first generation at the budgets studied here."""
    return max(4, min(20, budget // 4))


@register("evolution")
def evolution(objective: Objective, space: SearchSpace, seed: int) -> None:
    sampler = optuna.samplers.NSGAIISampler(
        population_size=population_size(objective.remaining_evaluations),
        seed=derive_seed(seed, "evolution"),
    )
    _ask_tell(objective, space, _study(f"evolution-seed{seed}", sampler))


@register("bohb")
def bohb(objective: Objective, space: SearchSpace, seed: int) -> None:
    sampler = optuna.samplers.TPESampler(
        n_startup_trials=initial_random_points(objective.remaining_evaluations),
        seed=derive_seed(seed, "bohb"),
    )
    pruner = optuna.pruners.HyperbandPruner(
        min_resource=1, max_resource=objective.max_epochs, reduction_factor=3
    )
    study = _study(f"bohb-seed{seed}", sampler, pruner)
    distributions = space.to_optuna()
    while True:
        trial = study.ask(distributions)
        pruned = False

        def report(epoch: int, value: float, trial: optuna.Trial = trial) -> bool:
            nonlocal pruned
            if not math.isfinite(value):
                return False  # a diverging run is the protocol's to record, not a rung score
            trial.report(value, epoch)
            pruned = trial.should_prune()
            return pruned

        epochs = max(1, min(objective.max_epochs, objective.remaining_epochs))
        score = objective.evaluate(trial.params, epochs=epochs, report=report)
        if pruned or epochs < objective.max_epochs:
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, score)
