"""Problems, registered by name: data + model family + metrics + the default search space.

A problem builds the evaluator for one study seed; everything downstream (ledger,
strategies, records, analysis) only sees configs, scores and metric names. Three builders
cover most needs: ``regression_problem`` (a tabular dataset scored by the shared MLP
protocol), ``classification_problem`` (a binary target, scored by the same protocol design
with a sigmoid output; see ``study.mlp.classification``) and ``function_problem`` (any Python
function of a config).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from study.errors import UsageError, lookup
from study.ledger import Evaluator
from study.mlp.data import Dataset
from study.outcome import CLASSIFICATION_METRICS
from study.settings import ProtocolSettings
from study.space import SearchSpace, register_space

MLP_METRICS = {"rmse": "min", "r2": "max"}
# The classification metrics a problem may optimise (each has a per-epoch pruning signal).
CLASSIFICATION_OBJECTIVES = ("log_loss", "roc_auc")


@dataclass(frozen=True)
class Problem:
    name: str
    description: str
    default_space: str
    objective_metric: str  # the metric strategies minimise (or maximise, per direction)
    metric_directions: dict[str, str]  # metric -> "min" | "max"
    make_evaluator: Callable[[ProtocolSettings, int], Evaluator]


PROBLEMS: dict[str, Problem] = {}


def register_problem(problem: Problem) -> Problem:
    """Make ``problem`` available by name (``--problem``, ``StudySpec.problem``)."""
    if problem.name in PROBLEMS:
        raise UsageError(f"a problem named {problem.name!r} is already registered")
    PROBLEMS[problem.name] = problem
    return problem


def regression_problem(
    name: str, load: Callable[[], Dataset], description: str, default_space: str = "lab"
) -> Problem:
    """A tabular regression dataset tuned through the shared MLP protocol.

    ``load`` is called once per process, when the first evaluator is built.
    """
    cached = cache(load)

    def make_evaluator(settings: ProtocolSettings, seed: int) -> Evaluator:
        from study.mlp.protocol import MLPRegressionProtocol

        return MLPRegressionProtocol(cached(), settings, seed)

    return Problem(name, description, default_space, "rmse", dict(MLP_METRICS), make_evaluator)


def classification_problem(
    name: str,
    load: Callable[[], Dataset],
    description: str,
    objective: str = "log_loss",
    default_space: str = "lab",
) -> Problem:
    """A tabular binary-classification dataset (target 0/1) tuned through the MLP protocol
    design; ``objective`` is ``log_loss`` (minimised) or ``roc_auc`` (maximised)."""
    if objective not in CLASSIFICATION_OBJECTIVES:
        raise UsageError(f"unknown classification objective {objective!r}")
    cached = cache(load)

    def make_evaluator(settings: ProtocolSettings, seed: int) -> Evaluator:
        from study.mlp.classification import MLPClassificationProtocol

        return MLPClassificationProtocol(cached(), settings, seed, objective)

    return Problem(
        name, description, default_space, objective, dict(CLASSIFICATION_METRICS), make_evaluator
    )


def function_problem(
    name: str,
    function: Callable[[dict[str, Any]], float],
    space: SearchSpace,
    *,
    description: str,
    penalty: float,
    optimum: float | None = None,
    noise: float = 0.0,
    bias: float = 0.0,
) -> Problem:
    """Any Python function of a config (smaller is better) over ``space``, which is
    registered too. ``penalty`` is the finite score of a config where the function raises
    or returns NaN; ``optimum``, where known, adds the regret to the final test metrics.
    ``noise`` and ``bias`` shape the simulated learning curve (see ``study.synthetic``)."""
    from study.synthetic import FunctionEvaluator

    register_space(space)

    def make_evaluator(settings: ProtocolSettings, seed: int) -> Evaluator:
        return FunctionEvaluator(
            function,
            seed=seed,
            max_epochs=settings.max_epochs,
            penalty=penalty,
            optimum=optimum,
            noise=noise,
            bias=bias,
        )

    directions = {"value": "min"} if optimum is None else {"value": "min", "regret": "min"}
    return Problem(name, description, space.name, "value", directions, make_evaluator)


def _load_california() -> Dataset:
    from study.mlp.data import load_california

    return load_california()


def _load_diabetes() -> Dataset:
    from sklearn.datasets import load_diabetes

    # Shipped inside scikit-learn: no download. The target (disease progression one year
    # after baseline, 25..346) is in hundreds, as California's is in $100k, so that the
    # lab's learning rates train it without diverging.
    bunch = load_diabetes()
    return Dataset(
        X=bunch.data.astype("float64"),
        y=bunch.target.astype("float64") / 100.0,
        feature_names=tuple(bunch.feature_names),
        target_name="progression_per_100",
    )


def _load_breast_cancer() -> Dataset:
    from sklearn.datasets import load_breast_cancer

    # Shipped inside scikit-learn: no download. scikit-learn codes malignant as 0; here it
    # is the positive class 1, so that F1 measures finding the malignant tumours.
    bunch = load_breast_cancer()
    return Dataset(
        X=bunch.data.astype("float64"),
        y=(bunch.target == 0).astype("float64"),
        feature_names=tuple(bunch.feature_names),
        target_name="malignant",
    )


def _register_shipped() -> None:
    from study.space import SPACES
    from study.synthetic import BRANIN_MIN, mixed_branin

    register_problem(
        regression_problem(
            "california_mlp",
            _load_california,
            "Keras MLP regressor on California Housing (20640 rows, 8 features)",
        )
    )
    register_problem(
        regression_problem(
            "diabetes_mlp",
            _load_diabetes,
            "Keras MLP regressor on scikit-learn's diabetes data (442 rows, 10 features)",
        )
    )
    register_problem(
        classification_problem(
            "breast_cancer_mlp",
            _load_breast_cancer,
            "Keras MLP classifier on scikit-learn's breast-cancer data (569 rows, 30 "
            "features, 37% malignant); optimises validation log-loss",
        )
    )
    register_problem(
        classification_problem(
            "breast_cancer_auc_mlp",
            _load_breast_cancer,
            "The breast-cancer MLP classifier optimising validation ROC-AUC instead",
            objective="roc_auc",
        )
    )
    register_problem(
        function_problem(
            "branin",
            mixed_branin,
            SPACES["branin"],
            description=(
                "Branin with an Int, a log-Float and a Categorical parameter; known minimum "
                "0.397887; epochs are a fidelity (noise and bias shrink with epochs); no training"
            ),
            penalty=400.0,  # above the function's maximum (~315) on its space
            optimum=BRANIN_MIN,
            noise=0.1,
            bias=20.0,
        )
    )


_register_shipped()


def get_problem(name: str) -> Problem:
    return lookup(PROBLEMS, "problem", name)
