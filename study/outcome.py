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


# The ledger's incumbent is the best evaluation with one of these statuses.
COUNTED_STATUSES = ("ok", "pruned")


@dataclass(frozen=True)
class Evaluation:
    """One call of the objective, as the ledger records it (and cell records keep it)."""

    index: int
    config: dict[str, Any]
    fidelity_epochs: int  # epochs asked for
    charged_epochs: int
    cost: float  # full-fidelity evaluation equivalents charged
    cumulative_cost: float
    score: float  # the minimised objective the strategy saw
    metrics: dict[str, float]  # validation metrics
    fold_metrics: dict[str, list[float]]
    epochs_run: int
    best_epoch: float
    fit_seconds: float  # training and scoring
    overhead_seconds: float  # the strategy's own time since the previous evaluation returned
    status: str  # ok, pruned, diverged or failed
    error: str | None
    # The validation objective after each epoch of the first fold, as trained: shorter than
    # ``fidelity_epochs`` when early stopping, pruning or divergence ended the run (NaN where
    # the epoch had no finite score); empty in records written before curves were kept.
    epoch_scores: list[float] = field(default_factory=list)
    # Compiling training functions new to the process, apart (since version 2).
    compile_seconds: float = field(default=0.0, kw_only=True)

    @property
    def counted(self) -> bool:
        """Whether the ledger could pick it as the incumbent."""
        return self.status in COUNTED_STATUSES
