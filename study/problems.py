"""Problems, registered by name: data + model family + metrics + the default search space.

A problem builds the evaluator for one study seed; everything downstream (ledger,
strategies, records, analysis) only sees configs, scores and metric names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from study.errors import UsageError
from study.ledger import Evaluator
from study.settings import ProtocolSettings


@dataclass(frozen=True)
class Problem:
    name: str
    description: str
    default_space: str
    objective_metric: str  # the metric strategies minimise (or maximise, per direction)
    metric_directions: dict[str, str]  # metric -> "min" | "max"
    make_evaluator: Callable[[ProtocolSettings, int], Evaluator]


@lru_cache(maxsize=1)
def _california():  # type: ignore[no-untyped-def]
    from study.data import load_california

    return load_california()


def _california_mlp(settings: ProtocolSettings, seed: int) -> Evaluator:
    from study.protocol import MLPRegressionProtocol

    return MLPRegressionProtocol(_california(), settings, seed)


PROBLEMS: dict[str, Problem] = {
    "california_mlp": Problem(
        name="california_mlp",
        description="Keras MLP regressor on California Housing (20640 rows, 8 features)",
        default_space="lab",
        objective_metric="rmse",
        metric_directions={"rmse": "min", "r2": "max"},
        make_evaluator=_california_mlp,
    ),
}


def get_problem(name: str) -> Problem:
    try:
        return PROBLEMS[name]
    except KeyError:
        raise UsageError(
            f"unknown problem {name!r}; choose from: {', '.join(sorted(PROBLEMS))}"
        ) from None
