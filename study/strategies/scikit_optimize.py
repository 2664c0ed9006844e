"""scikit-optimize Gaussian-process Bayesian optimisation, ask/tell."""

from __future__ import annotations

from typing import Any

from skopt import Optimizer

from study.ledger import Evaluation, Objective
from study.seeding import derive_seed
from study.space import SearchSpace
from study.strategies.registry import (
    INITIAL_RANDOM_POINTS,
    Proposal,
    Settings,
    ask_tell,
    register,
    resolve,
)


@register(
    "skopt_bayes",
    settings={"base_estimator": "GP", "acq_func": "EI", "n_initial_points": INITIAL_RANDOM_POINTS},
)
def skopt_bayes(objective: Objective, space: SearchSpace, seed: int, settings: Settings) -> None:
    optimizer = Optimizer(
        space.to_skopt(),
        **resolve(settings, objective.remaining_evaluations),
        random_state=derive_seed(seed, "skopt_bayes"),
    )
    names = space.names

    def ask() -> Proposal[list[Any]]:
        point = optimizer.ask()
        return Proposal(point, dict(zip(names, point, strict=True)))

    def tell(proposal: Proposal[list[Any]], evaluation: Evaluation) -> None:
        optimizer.tell(proposal.handle, evaluation.score)

    ask_tell(objective, ask, tell)
