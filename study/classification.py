"""Binary classification through the same protocol design as regression.

Fixed stratified test split → stratified validation folds per seed (``StratifiedKFold`` or
one ``StratifiedShuffleSplit`` holdout) → preprocessing fitted inside each training fold
→ the same MLP (``study.model.build_mlp``'s layers and initial weights) with a sigmoid on
its output unit, trained on binary cross-entropy through scikeras' ``KerasClassifier``
with the same early stopping → scores.

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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
from scikeras.wrappers import KerasClassifier
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit, train_test_split

from study.data import Dataset
from study.errors import UsageError
from study.model import OPTIMIZERS, build_mlp
from study.outcome import Outcome, TestScore
from study.protocol import (
    EpochReport,
    KeepModel,
    make_preprocessor,
    released_custom_gradients,
)
from study.seeding import derive_seed
from study.settings import ProtocolSettings

CLASSIFICATION_METRICS = {"log_loss": "min", "roc_auc": "max", "accuracy": "max", "f1": "max"}
# The objectives a classification problem may optimise, and the per-epoch value Keras logs
# for each (the pruning signal), as a loss.
OBJECTIVES: dict[str, Callable[[dict[str, float]], float]] = {
    "log_loss": lambda logs: logs.get("val_loss", math.nan),
    "roc_auc": lambda logs: 1.0 - logs.get("val_auc", math.nan),
}
THRESHOLD = 0.5


def build_classifier(
    config: dict[str, Any],
    n_features: int,
    steps_per_execution: int = 1,
    meta: dict[str, Any] | None = None,  # scikeras passes its metadata; the config decides
) -> keras.Model:
    """The regression MLP's layers (the same initial weights for a seed) with a sigmoid on
    the output unit, compiled for binary cross-entropy; Keras' AUC is the pruning signal."""
    layers = build_mlp(config, n_features, steps_per_execution).layers
    model = keras.Sequential(
        [keras.Input(shape=(n_features,)), *layers, keras.layers.Activation("sigmoid")]
    )
    model.compile(
        optimizer=OPTIMIZERS[config["optimizer"]](learning_rate=config["learning_rate"]),
        loss="binary_crossentropy",
        metrics=[keras.metrics.AUC(name="auc")],
        steps_per_execution=steps_per_execution,
    )
    return model


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


def _nan_metrics() -> dict[str, float]:
    return dict.fromkeys(CLASSIFICATION_METRICS, math.nan)


class MLPClassificationProtocol:
    """Scores MLP configs on a binary classification dataset for one study seed."""

    metric_directions = CLASSIFICATION_METRICS

    def __init__(
        self,
        dataset: Dataset,
        settings: ProtocolSettings,
        seed: int,
        objective: str = "log_loss",
    ) -> None:
        if objective not in OBJECTIVES:
            raise UsageError(
                f"unknown classification objective {objective!r}; choose from: "
                f"{', '.join(OBJECTIVES)}"
            )
        import tensorflow as tf

        # Bit-for-bit repeatable training for a given seed, as in the regression protocol.
        tf.config.experimental.enable_op_determinism()
        self.settings = settings
        self.seed = seed
        self.objective_metric = objective
        X, y = dataset.X, dataset.y.astype(int)
        if set(np.unique(y)) - {0, 1}:
            raise UsageError("a binary classification target takes the values 0 and 1 only")
        if settings.max_rows is not None and settings.max_rows < len(y):
            X, _, y, _ = train_test_split(
                X, y, train_size=settings.max_rows, stratify=y, random_state=settings.split_seed
            )
        self.X_train, self.X_test, self.y_train, self.y_test = train_test_split(
            X, y, test_size=settings.test_fraction, stratify=y, random_state=settings.split_seed
        )
        self.folds = self._make_folds()
        if objective == "log_loss":
            # Three times the log-loss of always predicting the training prevalence: far
            # worse than knowing nothing, and finite for the optimisers.
            prevalence = float(np.mean(self.y_train))
            self.penalty = 3.0 * float(
                log_loss(self.y_train, np.full(len(self.y_train), prevalence), labels=[0, 1])
            )
        else:
            self.penalty = 1.0  # 1 − AUC of a perfectly inverted ranking

    @property
    def max_epochs(self) -> int:
        return self.settings.max_epochs

    def _make_folds(self) -> list[tuple[np.ndarray, np.ndarray]]:
        s = self.settings
        fold_seed = derive_seed(self.seed, "folds")
        splitter: Any
        if s.validation == "kfold":
            splitter = StratifiedKFold(n_splits=s.folds, shuffle=True, random_state=fold_seed)
        else:
            splitter = StratifiedShuffleSplit(
                n_splits=1, test_size=s.holdout_fraction, random_state=fold_seed
            )
        return list(splitter.split(self.X_train, self.y_train))

    def evaluate(
        self, config: dict[str, Any], epochs: int, report: EpochReport | None = None
    ) -> Outcome:
        fold_metrics: dict[str, list[float]] = {name: [] for name in CLASSIFICATION_METRICS}
        epochs_run = 0
        best_epochs: list[int] = []
        fit_seconds = 0.0
        epoch_scores: list[float] = []
        status = "ok"
        for i, (train, valid) in enumerate(self.folds):
            fit = self._fit(
                config,
                self.X_train[train],
                self.y_train[train],
                self.X_train[valid],
                self.y_train[valid],
                epochs=epochs,
                init_seed=derive_seed(self.seed, "init", i),
                report=report if i == 0 else None,
            )
            fit_seconds += fit.seconds
            epochs_run += fit.epochs_run
            if i == 0:
                epoch_scores = fit.epoch_scores
            if fit.status != "ok":
                status = fit.status
                break
            best_epochs.append(fit.best_epoch)
            for name, value in classification_metrics(self.y_train[valid], fit.probability).items():
                fold_metrics[name].append(value)
            if fit.pruned:
                status = "pruned"
                break
        if status in ("diverged", "failed"):
            return Outcome(
                score=self.penalty,
                metrics=_nan_metrics(),
                fold_metrics=fold_metrics,
                epochs_run=epochs_run,
                best_epoch=math.nan,
                fit_seconds=fit_seconds,
                status=status,  # type: ignore[arg-type]
                epoch_scores=epoch_scores,
            )
        metrics = {name: float(np.mean(values)) for name, values in fold_metrics.items()}
        score = as_score(self.objective_metric, metrics[self.objective_metric])
        return Outcome(
            # Clipped (and NaN-safe) so that the penalty stays the worst score.
            score=min(score, self.penalty) if math.isfinite(score) else self.penalty,
            metrics=metrics,
            fold_metrics=fold_metrics,
            epochs_run=epochs_run,
            best_epoch=float(np.mean(best_epochs)),
            fit_seconds=fit_seconds,
            status=status,  # type: ignore[arg-type]
            epoch_scores=epoch_scores,
        )

    def test(
        self, config: dict[str, Any], epochs: int, keep_model: KeepModel | None = None
    ) -> TestScore:
        """Retrain on the whole training split for ``epochs`` and score on the test split."""
        fit = self._fit(
            config,
            self.X_train,
            self.y_train,
            None,
            None,
            epochs=max(1, epochs),
            init_seed=derive_seed(self.seed, "init", "final"),
            X_score=self.X_test,
            keep_model=keep_model,
        )
        if fit.status != "ok":
            return TestScore(
                metrics=_nan_metrics(),
                epochs=fit.epochs_run,
                fit_seconds=fit.seconds,
                status=fit.status,  # type: ignore[arg-type]
                error=fit.error,
            )
        return TestScore(
            metrics=classification_metrics(self.y_test, fit.probability),
            epochs=fit.epochs_run,
            fit_seconds=fit.seconds,
        )

    def _fit(
        self,
        config: dict[str, Any],
        X_tr: np.ndarray,
        y_tr: np.ndarray,
        X_va: np.ndarray | None,
        y_va: np.ndarray | None,
        *,
        epochs: int,
        init_seed: int,
        report: EpochReport | None = None,
        X_score: np.ndarray | None = None,
        keep_model: KeepModel | None = None,
    ) -> _Fit:
        pre = make_preprocessor(self.settings.preprocessing, init_seed, len(X_tr)).fit(X_tr)
        X_tr_t = pre.transform(X_tr).astype(np.float32)
        callbacks: list[keras.callbacks.Callback] = [keras.callbacks.TerminateOnNaN()]
        fit_kwargs: dict[str, Any] = {}
        X_va_t = None
        tracker = _ObjectiveTracker(OBJECTIVES[self.objective_metric], report)
        if X_va is not None and y_va is not None:
            X_va_t = pre.transform(X_va).astype(np.float32)
            fit_kwargs["validation_data"] = (X_va_t, y_va.astype(np.float32))
            callbacks += [
                # The same early stopping as regression: on the validation loss (here the
                # cross-entropy), whatever the objective, as the lab's training loop did.
                keras.callbacks.EarlyStopping(
                    monitor="val_loss",
                    patience=self.settings.patience,
                    restore_best_weights=True,
                ),
                tracker,
            ]
        # Drops the previous model's graph so that memory stays flat over a long cell.
        keras.backend.clear_session(free_memory=True)
        classifier = KerasClassifier(
            model=build_classifier,
            model__config=config,
            model__n_features=X_tr.shape[1],
            model__steps_per_execution=self.settings.steps_per_execution,
            batch_size=int(config["batch_size"]),
            epochs=epochs,
            callbacks=callbacks,
            random_state=init_seed,
            verbose=0,
        )
        start = time.perf_counter()
        try:
            with released_custom_gradients():
                classifier.fit(X_tr_t, y_tr.astype(np.float32), **fit_kwargs)
        except Exception as exc:  # a config Keras cannot train is a failed evaluation
            return _Fit.failed(time.perf_counter() - start, f"{type(exc).__name__}: {exc}")
        losses = np.asarray(classifier.history_.get("loss", []), dtype=float)
        epochs_run = len(losses)
        if epochs_run == 0 or not np.all(np.isfinite(losses)):
            return _Fit.diverged(time.perf_counter() - start, epochs_run)
        X_pred = X_va_t if X_score is None else pre.transform(X_score).astype(np.float32)
        probability = np.asarray(classifier.predict_proba(X_pred), dtype=float)[:, 1]
        seconds = time.perf_counter() - start
        if not np.all(np.isfinite(probability)):
            return _Fit.diverged(seconds, epochs_run)
        if keep_model is not None:
            keep_model(classifier.model_, pre)
        val_losses = classifier.history_.get("val_loss")
        best_epoch = int(np.argmin(val_losses)) + 1 if val_losses else epochs_run
        return _Fit(
            "ok", probability, epochs_run, best_epoch, seconds, tracker.scores, tracker.pruned
        )


@dataclass
class _Fit:
    status: str
    probability: np.ndarray
    epochs_run: int
    best_epoch: int
    seconds: float
    epoch_scores: list[float] = field(default_factory=list)
    pruned: bool = False
    error: str | None = None

    @classmethod
    def diverged(cls, seconds: float, epochs_run: int) -> _Fit:
        return cls("diverged", np.empty(0), epochs_run, 0, seconds)

    @classmethod
    def failed(cls, seconds: float, error: str) -> _Fit:
        return cls("failed", np.empty(0), 0, 0, seconds, error=error)


class _ObjectiveTracker(keras.callbacks.Callback):
    """Records each epoch's validation objective (as a loss) and hands it to a strategy
    that may prune the run."""

    def __init__(
        self, value: Callable[[dict[str, float]], float], report: EpochReport | None
    ) -> None:
        super().__init__()
        self.value = value
        self.report = report
        self.scores: list[float] = []
        self.pruned = False

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        score = float(self.value(logs or {}))
        self.scores.append(score)
        if self.report is None:
            return
        # A stop asked after the last epoch prunes nothing: the fold is complete.
        if self.report(epoch + 1, score) and epoch + 1 < self.params.get("epochs", math.inf):
            self.pruned = True
            self.model.stop_training = True
