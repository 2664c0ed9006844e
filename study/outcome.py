"""What one evaluation and one final test produce: plain data, shared by every problem."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["ok", "diverged", "failed", "pruned"]

# What a classification evaluation reports, each metric with its direction.
CLASSIFICATION_METRICS = {"log_loss": "min", "roc_auc": "max", "accuracy": "max", "f1": "max"}

# Called after every epoch of the first fold with (epoch, validation objective); returning
# True stops that evaluation early (pruning). Charged epochs are the ones trained.
EpochReport = Callable[[int, float], bool]
# Handed the final fit's trained model and its fitted preprocessor (to save them).
KeepModel = Callable[[Any, Any], None]


@dataclass(frozen=True)
class Outcome:
    """One evaluation of one config at one fidelity, as the protocol scored it."""

    score: float  # what strategies minimise: the objective metric, a finite penalty if not ok
    metrics: dict[str, float]  # validation metrics, mean over folds (NaN where not computable)
    fold_metrics: dict[str, list[float]]
    epochs_run: int  # summed over folds
    best_epoch: float  # mean over folds of the epoch early stopping kept
    fit_seconds: float  # training (and scoring), without compile_seconds
    status: Status = "ok"
    error: str | None = None
    epoch_scores: list[float] = field(default_factory=list)  # per-epoch objective, first fold
    compile_seconds: float = 0.0  # tracing and compiling training functions new to the process


@dataclass(frozen=True)
class TestScore:
    """The incumbent retrained on the whole training split and scored on the test split."""

    metrics: dict[str, float]
    epochs: int
    fit_seconds: float
    status: Status = "ok"
    error: str | None = None
    compile_seconds: float = 0.0
