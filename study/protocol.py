"""The one evaluation protocol every strategy goes through.

Fixed test split (never seen during search) → validation folds per seed (K-fold or one
holdout) → preprocessing fitted inside each training fold only → the MLP built from the
config → a scikeras ``KerasRegressor`` fit with early stopping → scores. A strategy never
touches data: it only hands configs to the objective, which calls ``evaluate`` here.

Seeds are paired: study seed ``k`` fixes the folds and each fold's weight-initialisation
stream, whatever the strategy, so the same config scores the same under every strategy.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from scikeras.wrappers import KerasRegressor
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import KFold, ShuffleSplit, train_test_split
from sklearn.preprocessing import QuantileTransformer, StandardScaler

from study.data import Dataset
from study.model import build_mlp
from study.outcome import Outcome, TestScore
from study.seeding import derive_seed
from study.settings import ProtocolSettings

OBJECTIVE_METRIC = "rmse"
METRIC_DIRECTIONS = {"rmse": "min", "r2": "max"}

# Called after every epoch of the first fold with (epoch, validation objective); returning
# True stops that evaluation early (pruning). Charged epochs are the ones trained.
EpochReport = Callable[[int, float], bool]
# Handed the final fit's trained network and its fitted preprocessor (to save them).
KeepModel = Callable[[keras.Model, Any], None]


@dataclass(frozen=True)
class _Fold:
    train: np.ndarray
    valid: np.ndarray


def _configure_tensorflow() -> None:
    import tensorflow as tf

    # Bit-for-bit repeatable training for a given seed; costs little for dense nets on CPU.
    tf.config.experimental.enable_op_determinism()


def make_preprocessor(kind: str, seed: int, n_samples: int) -> Any:
    if kind == "quantile":
        return QuantileTransformer(
            n_quantiles=min(1000, n_samples), output_distribution="normal", random_state=seed
        )
    return StandardScaler()


class MLPRegressionProtocol:
    """Scores MLP configs on a tabular regression dataset for one study seed."""

    metric_directions = METRIC_DIRECTIONS
    objective_metric = OBJECTIVE_METRIC

    def __init__(self, dataset: Dataset, settings: ProtocolSettings, seed: int) -> None:
        _configure_tensorflow()
        self.settings = settings
        self.seed = seed
        X, y = dataset.X, dataset.y
        if settings.max_rows is not None and settings.max_rows < len(y):
            keep = np.random.default_rng(settings.split_seed).permutation(len(y))
            keep = np.sort(keep[: settings.max_rows])
            X, y = X[keep], y[keep]
        self.X_train, self.X_test, self.y_train, self.y_test = train_test_split(
            X, y, test_size=settings.test_fraction, random_state=settings.split_seed
        )
        self.folds = self._make_folds()
        # A diverged or failed evaluation scores this: finite for the optimisers, and far
        # worse than predicting the mean (whose RMSE is the target's standard deviation).
        self.penalty = float(3.0 * np.std(self.y_train))

    @property
    def max_epochs(self) -> int:
        return self.settings.max_epochs

    def _make_folds(self) -> list[_Fold]:
        s = self.settings
        fold_seed = derive_seed(self.seed, "folds")
        splitter: Any
        if s.validation == "kfold":
            splitter = KFold(n_splits=s.folds, shuffle=True, random_state=fold_seed)
        else:
            splitter = ShuffleSplit(
                n_splits=1, test_size=s.holdout_fraction, random_state=fold_seed
            )
        return [_Fold(tr, va) for tr, va in splitter.split(self.X_train)]

    # --- scoring -----------------------------------------------------------------------

    def evaluate(
        self, config: dict[str, Any], epochs: int, report: EpochReport | None = None
    ) -> Outcome:
        rmses: list[float] = []
        r2s: list[float] = []
        epochs_run = 0
        best_epochs: list[int] = []
        fit_seconds = 0.0
        epoch_scores: list[float] = []
        status = "ok"
        for i, fold in enumerate(self.folds):
            fit = self._fit(
                config,
                self.X_train[fold.train],
                self.y_train[fold.train],
                self.X_train[fold.valid],
                self.y_train[fold.valid],
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
            rmses.append(_rmse(self.y_train[fold.valid], fit.predictions))
            r2s.append(float(r2_score(self.y_train[fold.valid], fit.predictions)))
            if fit.pruned:
                status = "pruned"
                break
        if status in ("diverged", "failed"):
            return Outcome(
                score=self.penalty,
                metrics={"rmse": math.nan, "r2": math.nan},
                fold_metrics={"rmse": rmses, "r2": r2s},
                epochs_run=epochs_run,
                best_epoch=math.nan,
                fit_seconds=fit_seconds,
                status=status,  # type: ignore[arg-type]
                epoch_scores=epoch_scores,
            )
        rmse = float(np.mean(rmses))
        return Outcome(
            # Clipped so that one exploding-but-finite model cannot dominate a surrogate model.
            score=min(rmse, self.penalty),
            metrics={"rmse": rmse, "r2": float(np.mean(r2s))},
            fold_metrics={"rmse": rmses, "r2": r2s},
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
                metrics={"rmse": math.nan, "r2": math.nan},
                epochs=fit.epochs_run,
                fit_seconds=fit.seconds,
                status=fit.status,  # type: ignore[arg-type]
            )
        return TestScore(
            metrics={
                "rmse": _rmse(self.y_test, fit.predictions),
                "r2": float(r2_score(self.y_test, fit.predictions)),
            },
            epochs=fit.epochs_run,
            fit_seconds=fit.seconds,
        )

    # --- one training run ----------------------------------------------------------------

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
        y_tr_f = y_tr.astype(np.float32)
        callbacks: list[keras.callbacks.Callback] = [keras.callbacks.TerminateOnNaN()]
        fit_kwargs: dict[str, Any] = {}
        X_va_t = None
        if X_va is not None and y_va is not None:
            X_va_t = pre.transform(X_va).astype(np.float32)
            fit_kwargs["validation_data"] = (X_va_t, y_va.astype(np.float32))
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss",
                    patience=self.settings.patience,
                    restore_best_weights=True,
                )
            )
            if report is not None:
                callbacks.append(_Reporter(report))
        # Drops the previous model's graph so that memory stays flat over a long cell.
        keras.backend.clear_session(free_memory=True)
        regressor = KerasRegressor(
            model=build_mlp,
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
            regressor.fit(X_tr_t, y_tr_f, **fit_kwargs)
        except Exception as exc:  # a config Keras cannot train is a failed evaluation
            return _Fit.failed(time.perf_counter() - start, f"{type(exc).__name__}: {exc}")
        history = regressor.history_
        losses = np.asarray(history.get("loss", []), dtype=float)
        epochs_run = len(losses)
        if epochs_run == 0 or not np.all(np.isfinite(losses)):
            return _Fit.diverged(time.perf_counter() - start, epochs_run)
        X_pred = X_va_t if X_score is None else pre.transform(X_score).astype(np.float32)
        predictions = np.asarray(regressor.predict(X_pred), dtype=float).reshape(-1)
        seconds = time.perf_counter() - start
        if not np.all(np.isfinite(predictions)):
            return _Fit.diverged(seconds, epochs_run)
        if keep_model is not None:
            keep_model(regressor.model_, pre)
        val_losses = history.get("val_loss")
        best_epoch = int(np.argmin(val_losses)) + 1 if val_losses else epochs_run
        epoch_scores = [math.sqrt(v) if v >= 0 else math.nan for v in (val_losses or [])]
        pruned = any(isinstance(cb, _Reporter) and cb.pruned for cb in callbacks)
        return _Fit("ok", predictions, epochs_run, best_epoch, seconds, epoch_scores, pruned)


@dataclass
class _Fit:
    status: str
    predictions: np.ndarray
    epochs_run: int
    best_epoch: int
    seconds: float
    epoch_scores: list[float]
    pruned: bool = False
    error: str | None = None

    @classmethod
    def diverged(cls, seconds: float, epochs_run: int) -> _Fit:
        return cls("diverged", np.empty(0), epochs_run, 0, seconds, [])

    @classmethod
    def failed(cls, seconds: float, error: str) -> _Fit:
        return cls("failed", np.empty(0), 0, 0, seconds, [], error=error)


def _rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(math.sqrt(mean_squared_error(y_true, y_pred)))


class _Reporter(keras.callbacks.Callback):
    """Hands each epoch's validation RMSE to a strategy that may prune the run."""

    def __init__(self, report: EpochReport) -> None:
        super().__init__()
        self.report = report
        self.pruned = False

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        val_loss = (logs or {}).get("val_loss", math.nan)
        value = math.sqrt(val_loss) if val_loss >= 0 else math.nan
        # A stop asked after the last epoch prunes nothing: the fold is complete.
        if self.report(epoch + 1, value) and epoch + 1 < self.params.get("epochs", math.inf):
            self.pruned = True
            self.model.stop_training = True
