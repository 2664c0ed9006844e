"""scikit-optimize Gaussian-process Bayesian optimisation, ask/tell."""

from __future__ import annotations

from skopt import Optimizer

from study.ledger import Objective
from study.seeding import derive_seed
from study.space import SearchSpace
from study.strategies.registry import initial_random_points, register


@register("skopt_bayes")
def skopt_bayes(objective: Objective, space: SearchSpace, seed: int) -> None:
    budget = objective.remaining_evaluations
    optimizer = Optimizer(
        space.to_skopt(),
        base_estimator="GP",
        n_initial_points=initial_random_points(budget),
        acq_func="EI",
        random_state=derive_seed(seed, "skopt_bayes"),
    )
    names = space.names
    while True:
        point = optimizer.ask()
        score = objective.evaluate(dict(zip(names, point, strict=True)))
        optimizer.tell(point, score)
