"""The one evaluation protocol every strategy goes through, for every MLP task.

Fixed test split (never seen during search) → validation folds per seed (K-fold or one
holdout) → preprocessing fitted inside each training fold only → the MLP built from the
config → a scikeras estimator fit with early stopping on the validation loss → scores. A
strategy never touches data: it only hands configs to the objective, which calls
``evaluate`` here. What differs between tasks (the output unit and loss, stratified
splits, the metrics and which one is the objective) is declared by a ``Task``; regression
is below, binary classification in ``study.mlp.classification``.

Seeds are paired: study seed ``k`` fixes the folds and each fold's weight-initialisation
stream, whatever the strategy, so the same config scores the same under every strategy.
"""

from __future__ import annotations

import functools
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import keras
import numpy as np
from scikeras.wrappers import BaseWrapper, KerasRegressor
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import (
    KFold,
    ShuffleSplit,
    StratifiedKFold,
    StratifiedShuffleSplit,
    train_test_split,
)
from sklearn.preprocessing import QuantileTransformer, StandardScaler
from tensorflow.python.framework import ops as tf_ops

from study.mlp.data import Dataset
from study.mlp.model import REGRESSION, Head, shared_pool
from study.outcome import EpochReport, KeepModel, Outcome, TestScore
from study.seeding import derive_seed
from study.settings import ProtocolSettings

TF_THREADS = 1


class _Fold(NamedTuple):
    train: np.ndarray
    valid: np.ndarray


class Task(ABC):
    """What one MLP task declares; the protocol does everything else the same way."""

    head: Head = REGRESSION
    estimator: type[BaseWrapper] = KerasRegressor
    stratified = False  # test split, subsample and folds keep the class balance
    metric_directions: dict[str, str]
    objective_metric: str

    def target(self, y: np.ndarray) -> np.ndarray:
        """The dataset's target as the metrics take it (checked)."""
        return y

    @abstractmethod
    def penalty(self, y_train: np.ndarray) -> float:
        """The finite score of a diverged or failed evaluation: worse than knowing nothing."""

    @abstractmethod
    def metrics(self, y_true: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
        """Every metric of the network's outputs on scored rows."""

    def score(self, metrics: dict[str, float]) -> float:
        """The objective metric as the loss strategies minimise."""
        return metrics[self.objective_metric]

    @abstractmethod
    def epoch_score(self, logs: dict[str, float]) -> float:
        """The epoch's validation objective, as a loss, from Keras' logs (for pruning)."""


class RegressionTask(Task):
    """A linear output trained on the MSE; the objective is the RMSE."""

    metric_directions = {"rmse": "min", "r2": "max"}
    objective_metric = "rmse"

    def target(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=np.float64)

    def penalty(self, y_train: np.ndarray) -> float:
        # Three times the RMSE of predicting the mean (the target's standard deviation).
        return float(3.0 * np.std(y_train))

    def metrics(self, y_true: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
        return {
            "rmse": float(math.sqrt(mean_squared_error(y_true, predictions))),
            "r2": float(r2_score(y_true, predictions)),
        }

    def epoch_score(self, logs: dict[str, float]) -> float:
        val_loss = logs.get("val_loss", math.nan)
        return math.sqrt(val_loss) if val_loss >= 0 else math.nan


def _configure_tensorflow() -> None:
    import tensorflow as tf

    # Bit-for-bit repeatable training for a given seed; costs little for dense nets on CPU.
    tf.config.experimental.enable_op_determinism()
    # A tuning study traces a new training function for every new architecture by design;
    # TensorFlow's retracing warnings would only bury the progress output.
    tf.get_logger().setLevel("ERROR")
    # The MLP's ops are tiny: handing them to a thread pool costs more than it saves, and a
    # study may run one worker per core. TensorFlow fixes its pools when its runtime starts,
    # so this only takes effect if nothing has run a TensorFlow op yet in this process.
    threading = tf.config.threading
    if threading.get_intra_op_parallelism_threads() == 0:
        try:
            threading.set_intra_op_parallelism_threads(TF_THREADS)
            threading.set_inter_op_parallelism_threads(TF_THREADS)
        except RuntimeError:
            pass


def make_preprocessor(kind: str, seed: int, n_samples: int) -> Any:
    if kind == "quantile":
        return QuantileTransformer(
            n_quantiles=min(1000, n_samples), output_distribution="normal", random_state=seed
        )
    return StandardScaler()


class MLPProtocol:
    """Scores MLP configs on a tabular dataset for one study seed, as ``task`` declares."""

    def __init__(self, dataset: Dataset, settings: ProtocolSettings, seed: int, task: Task) -> None:
        self.task = task
        self.metric_directions = task.metric_directions
        self.objective_metric = task.objective_metric
        _configure_tensorflow()
        self.settings = settings
        self.seed = seed
        X, y = dataset.X, task.target(dataset.y)
        if settings.max_rows is not None and settings.max_rows < len(y):
            if task.stratified:
                X, _, y, _ = train_test_split(
                    X, y, train_size=settings.max_rows, stratify=y, random_state=settings.split_seed
                )
            else:
                keep = np.random.default_rng(settings.split_seed).permutation(len(y))
                keep = np.sort(keep[: settings.max_rows])
                X, y = X[keep], y[keep]
        self.X_train, self.X_test, self.y_train, self.y_test = train_test_split(
            X,
            y,
            test_size=settings.test_fraction,
            stratify=y if task.stratified else None,
            random_state=settings.split_seed,
        )
        self.folds = self._make_folds()
        self.penalty = task.penalty(self.y_train)
        self._prepared: dict[int | str, _Prepared] = {}
        self._models = shared_pool(settings.engine, rows=len(self.y_train))
        # What scikeras accepts as ``model=``.
        self._build_model = functools.partial(
            self._models.build, head=task.head, widths=settings.width_buckets
        )

    @property
    def max_epochs(self) -> int:
        return self.settings.max_epochs

    def _make_folds(self) -> list[_Fold]:
        s = self.settings
        fold_seed = derive_seed(self.seed, "folds")
        splitter: Any
        if s.validation == "kfold":
            kfold = StratifiedKFold if self.task.stratified else KFold
            splitter = kfold(n_splits=s.folds, shuffle=True, random_state=fold_seed)
        else:
            holdout = StratifiedShuffleSplit if self.task.stratified else ShuffleSplit
            splitter = holdout(n_splits=1, test_size=s.holdout_fraction, random_state=fold_seed)
        return [_Fold(tr, va) for tr, va in splitter.split(self.X_train, self.y_train)]

    # --- data, prepared once per fold ---------------------------------------------------

    def _fold_data(self, i: int) -> _Prepared:
        if i not in self._prepared:
            fold = self.folds[i]
            self._prepared[i] = _Prepared.make(
                self.settings.preprocessing,
                derive_seed(self.seed, "init", i),
                self.X_train[fold.train],
                self.y_train[fold.train],
                self.X_train[fold.valid],
                self.y_train[fold.valid],
                validate=True,
            )
        return self._prepared[i]

    def _final_data(self) -> _Prepared:
        if "final" not in self._prepared:
            self._prepared["final"] = _Prepared.make(
                self.settings.preprocessing,
                derive_seed(self.seed, "init", "final"),
                self.X_train,
                self.y_train,
                self.X_test,
                self.y_test,
                validate=False,
            )
        return self._prepared["final"]

    def _nan_metrics(self) -> dict[str, float]:
        return dict.fromkeys(self.metric_directions, math.nan)

    # --- scoring -----------------------------------------------------------------------

    def evaluate(
        self, config: dict[str, Any], epochs: int, report: EpochReport | None = None
    ) -> Outcome:
        fold_metrics: dict[str, list[float]] = {name: [] for name in self.metric_directions}
        epochs_run = 0
        best_epochs: list[int] = []
        fit_seconds = 0.0
        compile_seconds = 0.0
        epoch_scores: list[float] = []
        status = "ok"
        error: str | None = None
        for i in range(len(self.folds)):
            fit = self._fit(
                config,
                lambda i=i: self._fold_data(i),
                epochs=epochs,
                init_seed=derive_seed(self.seed, "init", i),
                report=report if i == 0 else None,
            )
            fit_seconds += fit.seconds
            compile_seconds += fit.compile_seconds
            epochs_run += fit.epochs_run
            if i == 0:
                epoch_scores = fit.epoch_scores
            if fit.status != "ok":
                status, error = fit.status, fit.error
                break
            best_epochs.append(fit.best_epoch)
            for name, value in self.task.metrics(
                self._fold_data(i).y_score, fit.predictions
            ).items():
                fold_metrics[name].append(value)
            if fit.pruned:
                status = "pruned"
                break
        if status in ("diverged", "failed"):
            return Outcome(
                score=self.penalty,
                metrics=self._nan_metrics(),
                fold_metrics=fold_metrics,
                epochs_run=epochs_run,
                best_epoch=math.nan,
                fit_seconds=fit_seconds,
                compile_seconds=compile_seconds,
                status=status,  # type: ignore[arg-type]
                error=error,
                epoch_scores=epoch_scores,
            )
        metrics = {name: float(np.mean(values)) for name, values in fold_metrics.items()}
        score = self.task.score(metrics)
        return Outcome(
            # Clipped (and NaN-safe) so that one exploding-but-finite model cannot dominate
            # a surrogate model and the penalty stays the worst score.
            score=min(score, self.penalty) if math.isfinite(score) else self.penalty,
            metrics=metrics,
            fold_metrics=fold_metrics,
            epochs_run=epochs_run,
            best_epoch=float(np.mean(best_epochs)),
            fit_seconds=fit_seconds,
            compile_seconds=compile_seconds,
            status=status,  # type: ignore[arg-type]
            epoch_scores=epoch_scores,
        )

    def test(
        self, config: dict[str, Any], epochs: int, keep_model: KeepModel | None = None
    ) -> TestScore:
        """Retrain on the whole training split for ``epochs`` and score on the test split."""
        fit = self._fit(
            config,
            self._final_data,
            epochs=max(1, epochs),
            init_seed=derive_seed(self.seed, "init", "final"),
            keep_model=keep_model,
        )
        if fit.status != "ok":
            return TestScore(
                metrics=self._nan_metrics(),
                epochs=fit.epochs_run,
                fit_seconds=fit.seconds,
                compile_seconds=fit.compile_seconds,
                status=fit.status,  # type: ignore[arg-type]
                error=fit.error,
            )
        return TestScore(
            metrics=self.task.metrics(self._final_data().y_score, fit.predictions),
            epochs=fit.epochs_run,
            fit_seconds=fit.seconds,
            compile_seconds=fit.compile_seconds,
        )

    # --- one training run ----------------------------------------------------------------

    def _fit(
        self,
        config: dict[str, Any],
        data: Callable[[], _Prepared],
        *,
        epochs: int,
        init_seed: int,
        report: EpochReport | None = None,
        keep_model: KeepModel | None = None,
    ) -> _Fit:
        # Timed from the first use of the fold's data, whose preparation it then includes.
        start = time.perf_counter()
        prepared = data()
        callbacks: list[keras.callbacks.Callback] = [_StopOnNaN()]
        fit_kwargs: dict[str, Any] = {}
        tracker = _Tracker(self.task.epoch_score, report)
        if prepared.validate:
            fit_kwargs["validation_data"] = (prepared.X_score, prepared.y_score32)
            # One step per validation pass: the same mean loss as batches of 32, in one op.
            fit_kwargs["validation_batch_size"] = len(prepared.y_score)
            callbacks += [
                # On the validation loss whatever the objective, as the lab's training did.
                keras.callbacks.EarlyStopping(
                    monitor="val_loss",
                    patience=self.settings.patience,
                    restore_best_weights=True,
                ),
                tracker,
            ]
        estimator = self.task.estimator(
            model=self._build_model,
            model__config=config,
            model__n_features=prepared.X_fit.shape[1],
            # The same seed scikeras seeds the global streams with, given to the model's
            # own streams, so that no other thread of the process can change the draws.
            model__seed=init_seed,
            batch_size=int(config["batch_size"]),
            epochs=epochs,
            callbacks=callbacks,
            random_state=init_seed,
            verbose=0,
        )
        try:
            with released_custom_gradients():
                estimator.fit(prepared.X_fit, prepared.y_fit, **fit_kwargs)
        except Exception as exc:  # a config Keras cannot train is a failed evaluation
            # never reuse a model left half-built
            self._models.discard(
                config, prepared.X_fit.shape[1], self.task.head, self.settings.width_buckets
            )
            return _Fit.failed(time.perf_counter() - start, _error_text(exc), tracker.scores)
        compiling = estimator.model_.compile_seconds
        history = estimator.history_
        losses = np.asarray(history.get("loss", []), dtype=float)
        epochs_run = len(losses)
        if epochs_run == 0 or not np.all(np.isfinite(losses)):
            return _Fit.diverged(
                time.perf_counter() - start - compiling, epochs_run, compiling, tracker.scores
            )
        predictions = estimator.model_.predict_rows(prepared.X_score)
        seconds = time.perf_counter() - start - compiling
        if not np.all(np.isfinite(predictions)):
            return _Fit.diverged(seconds, epochs_run, compiling, tracker.scores)
        if keep_model is not None:
            keep_model(estimator.model_.standard_copy(), prepared.preprocessor)
        val_losses = history.get("val_loss")
        best_epoch = int(np.argmin(val_losses)) + 1 if val_losses else epochs_run
        return _Fit(
            "ok",
            predictions,
            epochs_run,
            best_epoch,
            seconds,
            tracker.scores,
            tracker.pruned,
            compile_seconds=compiling,
        )


class MLPRegressionProtocol(MLPProtocol):
    """Scores MLP configs on a tabular regression dataset for one study seed."""

    def __init__(self, dataset: Dataset, settings: ProtocolSettings, seed: int) -> None:
        super().__init__(dataset, settings, seed, RegressionTask())


@contextmanager
def released_custom_gradients() -> Iterator[None]:
    """Drop the gradient functions TensorFlow registers while Keras traces a training step.

    Keras' optimizer sums gradients through the distribution strategy's ``all_reduce``,
    which is a ``tf.custom_gradient``; traced in graph mode, each one registers a
    ``CustomGradient-N`` entry in TensorFlow's global gradient registry that is never
    removed and keeps the whole traced graph alive (megabytes per evaluation). The entries
    are needed only while a step is being traced; the traced functions run without them.
    """
    registry = getattr(getattr(tf_ops, "_gradient_registry", None), "_registry", None)
    before = set(registry) if isinstance(registry, dict) else set()
    try:
        yield
    finally:
        if isinstance(registry, dict):
            for name in set(registry) - before:
                if name.startswith("CustomGradient-"):
                    del registry[name]


@dataclass(frozen=True)
class _Prepared:
    """One fold's data, preprocessed once per protocol instance and reused by every fit."""

    X_fit: np.ndarray  # float32, transformed by a preprocessor fitted on these rows only
    y_fit: np.ndarray  # float32
    X_score: np.ndarray  # validation (or test) rows, float32, transformed the same way
    y_score: np.ndarray  # as the task's metrics take it
    y_score32: np.ndarray  # float32, for Keras' validation loss
    validate: bool  # early stopping on (X_score, y_score) during training
    preprocessor: Any  # fitted on X_fit; kept so that a saved model can include it

    @classmethod
    def make(
        cls,
        kind: str,
        seed: int,
        X_fit: np.ndarray,
        y_fit: np.ndarray,
        X_score: np.ndarray,
        y_score: np.ndarray,
        *,
        validate: bool,
    ) -> _Prepared:
        pre = make_preprocessor(kind, seed, len(X_fit)).fit(X_fit)
        return cls(
            X_fit=_frozen(pre.transform(X_fit).astype(np.float32)),
            y_fit=_frozen(y_fit.astype(np.float32)),
            X_score=_frozen(pre.transform(X_score).astype(np.float32)),
            y_score=_frozen(np.array(y_score)),
            y_score32=_frozen(y_score.astype(np.float32)),
            validate=validate,
            preprocessor=pre,
        )


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)  # shared by every fit of the fold: nobody may change it
    return array


def _error_text(exc: Exception, limit: int = 500) -> str:
    # TensorFlow's messages can quote whole tensors; a record needs the gist.
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class _Fit:
    status: str
    predictions: np.ndarray  # the network's outputs on the scored rows
    epochs_run: int
    best_epoch: int
    seconds: float  # training, preparing the fold's data the first time, and scoring
    epoch_scores: list[float] = field(default_factory=list)
    pruned: bool = False
    error: str | None = None
    compile_seconds: float = 0.0  # tracing and compiling training functions, apart

    # A run that diverged or failed keeps the curve of the epochs it did train.
    @classmethod
    def diverged(
        cls, seconds: float, epochs_run: int, compile_seconds: float, epoch_scores: list[float]
    ) -> _Fit:
        return cls(
            "diverged",
            np.empty(0),
            epochs_run,
            0,
            seconds,
            epoch_scores,
            compile_seconds=compile_seconds,
        )

    @classmethod
    def failed(cls, seconds: float, error: str, epoch_scores: list[float]) -> _Fit:
        return cls("failed", np.empty(0), 0, 0, seconds, epoch_scores, error=error)


class _StopOnNaN(keras.callbacks.Callback):
    """Keras' ``TerminateOnNaN`` without its message: the record says the fit diverged, and
    a print from a worker would only break the progress display."""

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.model.stop_training = True


class _Tracker(keras.callbacks.Callback):
    """Records each epoch's validation objective and hands it to a strategy that may prune
    the run."""

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
