"""Binary classification through the one MLP protocol (``study.mlp.protocol.MLPProtocol``).

Stratified test split, subsample and validation folds (``StratifiedKFold`` or one
``StratifiedShuffleSplit`` holdout) → the same MLP (the same initial weights for a seed)
with a sigmoid on its output unit, trained on binary cross-entropy through scikeras'
``KerasClassifier`` with the same early stopping → scores of the predicted probabilities.

Metrics: log-loss (lower is better), ROC-AUC, accuracy and F1 (higher is better), the last
two at the 0.5 threshold with class 1 as the positive class. Strategies minimise a
*score*; the problem declares which metric that is and its direction once
(``objective_metric``, ``metric_directions``), and the score is the metric as a loss:

- ``log_loss`` (the default): the score is the log-loss itself. It is a proper scoring
  rule, so it rewards calibrated probabilities and not just the ranking; it is smooth,
  where ROC-AUC on a validation fold of about a hundred rows moves in steps of one
  misordered pair and saturates near 1 for most reasonable nets (ties that starve the
  model-based strategies of signal); and it is the loss that training and early stopping
  already minimise, so the search and the training loop pull the same way.
- ``roc_auc``: the score is ``1 − ROC-AUC`` (threshold-free ranking quality, the usual
  headline number for screening tests). Its per-epoch value for pruning is Keras' AUC
  (200 thresholds); the recorded metrics are scikit-learn's exact ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scikeras.wrappers import KerasClassifier
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

from study.errors import UsageError
from study.mlp.data import Dataset
from study.mlp.model import Head
from study.mlp.protocol import MLPProtocol, Task
from study.outcome import CLASSIFICATION_METRICS
from study.settings import ProtocolSettings

# The per-epoch value Keras logs for each objective (the pruning signal), as a loss.
OBJECTIVES: dict[str, Callable[[dict[str, float]], float]] = {
    "log_loss": lambda logs: logs.get("val_loss", math.nan),
    "roc_auc": lambda logs: 1.0 - logs.get("val_auc", math.nan),
}
THRESHOLD = 0.5


def classification_metrics(y_true: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """Every classification metric of predicted probabilities of class 1."""
    predicted = (probability >= THRESHOLD).astype(int)
    try:
        auc = float(roc_auc_score(y_true, probability))
    except ValueError:  # one class only in y_true: AUC is undefined
        auc = math.nan
    return {
        "log_loss": float(log_loss(y_true, probability, labels=[0, 1])),
        "roc_auc": auc,
        "accuracy": float(accuracy_score(y_true, predicted)),
        "f1": float(f1_score(y_true, predicted, zero_division=0.0)),
    }


def as_score(metric: str, value: float) -> float:
    """A metric's value as the loss strategies minimise."""
    return value if CLASSIFICATION_METRICS[metric] == "min" else 1.0 - value


class BinaryClassificationTask(Task):
    """A sigmoid output trained on binary cross-entropy; the objective is ``objective``."""

    estimator = KerasClassifier
    stratified = True
    metric_directions = CLASSIFICATION_METRICS

    def __init__(self, objective: str = "log_loss") -> None:
        if objective not in OBJECTIVES:
            raise UsageError(
                f"unknown classification objective {objective!r}; choose from: "
                f"{', '.join(OBJECTIVES)}"
            )
        self.objective_metric = objective
        # Keras' AUC (200 thresholds) is logged only where it is the pruning signal.
        self.head = Head(
            "sigmoid", "binary_crossentropy", ("auc",) if objective == "roc_auc" else ()
        )

    def target(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y).astype(int)
        if set(np.unique(y)) - {0, 1}:
            raise UsageError("a binary classification target takes the values 0 and 1 only")
        return y

    def penalty(self, y_train: np.ndarray) -> float:
        if self.objective_metric == "roc_auc":
            return 1.0  # 1 − AUC of a perfectly inverted ranking
        # Three times the log-loss of always predicting the training prevalence.
        prevalence = float(np.mean(y_train))
        return 3.0 * float(log_loss(y_train, np.full(len(y_train), prevalence), labels=[0, 1]))

    def metrics(self, y_true: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
        return classification_metrics(y_true, predictions)

    def score(self, metrics: dict[str, float]) -> float:
        return as_score(self.objective_metric, metrics[self.objective_metric])

    def epoch_score(self, logs: dict[str, float]) -> float:
        return OBJECTIVES[self.objective_metric](logs)


class MLPClassificationProtocol(MLPProtocol):
    """Scores MLP configs on a binary classification dataset for one study seed."""

    def __init__(
        self,
        dataset: Dataset,
        settings: ProtocolSettings,
        seed: int,
        objective: str = "log_loss",
    ) -> None:
        super().__init__(dataset, settings, seed, BinaryClassificationTask(objective))
