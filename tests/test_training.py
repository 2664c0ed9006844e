"""In-memory training is Keras' training: same steps, same callbacks, same numbers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from scikeras.wrappers import KerasRegressor

from study.mlp.model import LAB, METRICS, OPTIMIZERS, Head, build_mlp, build_network
from study.mlp.training import InMemorySequential
from study.space import MODEL_DEFAULTS

RNG = np.random.default_rng(3)
X = RNG.normal(size=(300, 6)).astype(np.float32)
Y = (X[:, 0] - 0.5 * X[:, 1] + 0.1 * RNG.normal(size=300)).astype(np.float32)
LABELS = (X[:, 0] + 0.3 * RNG.normal(size=300) > 0).astype(np.int64)
X_VAL, Y_VAL = X[:70] + 0.05, Y[:70]
NOISE_LABELS = RNG.integers(0, 2, size=70)  # nothing to learn: validation loss soon rises


def compiled(network: type[keras.Sequential], config: dict[str, Any], head: Head) -> Any:
    keras.utils.set_random_seed(11)
    model = build_network(config, X.shape[1], head, network=network)
    model.compile(
        optimizer=OPTIMIZERS[config["optimizer"]](learning_rate=config["learning_rate"]),
        loss=head.loss,
        metrics=[METRICS[name]() for name in head.metrics] or None,
    )
    return model


def train_both(
    config: dict[str, Any], head: Head, y: np.ndarray, callbacks: Any = list, **fit: Any
) -> tuple[dict[str, list[float]], dict[str, list[float]], list[Any], list[Any]]:
    """Keras' fit and the in-memory fit from the same initial state, batches unshuffled."""
    results = []
    for network in (keras.Sequential, InMemorySequential):
        model = compiled(network, config, head)
        history = model.fit(X, y, shuffle=False, verbose=0, callbacks=callbacks(), **fit).history
        results.append((history, model.get_weights()))
    (keras_history, keras_weights), (ours, our_weights) = results
    return keras_history, ours, keras_weights, our_weights


@pytest.mark.parametrize(
    "changes",
    [
        {"optimizer": "adam", "n_hidden": 2, "n_neurons": 9},
        {"optimizer": "rmsprop", "n_hidden": 1, "n_neurons": 5, "dropout": 0.3, "l2": 1e-3},
        {"optimizer": "sgd", "n_hidden": 0},
    ],
)
def test_unshuffled_training_matches_keras_fit_bit_for_bit(changes: dict[str, Any]) -> None:
    config = dict(MODEL_DEFAULTS, learning_rate=0.01, **changes)
    keras_history, ours, keras_weights, our_weights = train_both(
        config, LAB, Y, batch_size=32, epochs=3, validation_data=(X_VAL, Y_VAL)
    )
    assert set(ours) == {"loss", "rmse", "val_loss", "val_rmse"}
    assert ours == keras_history
    for mine, theirs in zip(our_weights, keras_weights, strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_classification_metrics_and_early_stopping_match_keras() -> None:
    config = dict(MODEL_DEFAULTS, n_hidden=1, n_neurons=4, learning_rate=0.05)
    head = Head("sigmoid", "binary_crossentropy", ("auc",))

    def stop_early() -> list[keras.callbacks.Callback]:
        return [keras.callbacks.EarlyStopping("val_loss", patience=1, restore_best_weights=True)]

    keras_history, ours, keras_weights, our_weights = train_both(
        config,
        head,
        LABELS,
        callbacks=stop_early,
        batch_size=16,
        epochs=40,
        validation_data=(X_VAL, NOISE_LABELS),
        validation_batch_size=70,
    )
    assert {"auc", "val_auc"} <= set(ours)
    assert len(ours["loss"]) < 40  # stopped early, at the same epoch as Keras
    assert ours == keras_history
    for mine, theirs in zip(our_weights, keras_weights, strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_a_diverging_fit_stops_after_the_epoch_its_loss_turns_nan() -> None:
    config = dict(MODEL_DEFAULTS, optimizer="sgd", n_hidden=2, n_neurons=20, learning_rate=1e4)
    model = compiled(InMemorySequential, config, LAB)
    history = model.fit(
        X, Y * 1e3, batch_size=8, epochs=10, callbacks=[keras.callbacks.TerminateOnNaN()]
    ).history
    assert len(history["loss"]) < 10
    assert not math.isfinite(history["loss"][-1])


def scikeras_predictions(seed: int, shuffle: bool = True) -> np.ndarray:
    config = dict(MODEL_DEFAULTS, n_hidden=1, n_neurons=6, learning_rate=0.01)
    regressor = KerasRegressor(
        model=build_mlp,
        model__config=config,
        model__n_features=X.shape[1],
        batch_size=32,
        epochs=3,
        shuffle=shuffle,
        random_state=seed,
        verbose=0,
    )
    regressor.fit(X, Y)
    return np.asarray(regressor.model_(X, training=False)).reshape(-1)


def test_shuffled_training_is_repeatable_per_seed() -> None:
    first = scikeras_predictions(seed=5)
    np.testing.assert_array_equal(first, scikeras_predictions(seed=5))
    assert not np.array_equal(first, scikeras_predictions(seed=6))
    # The seed reaches the batch order, not only the initial weights.
    assert not np.array_equal(first, scikeras_predictions(seed=5, shuffle=False))


def test_options_it_cannot_honour_are_refused() -> None:
    model = compiled(InMemorySequential, MODEL_DEFAULTS, LAB)
    with pytest.raises(ValueError, match=r"does not support validation_split=0\.2"):
        model.fit(X, Y, validation_split=0.2)
    with pytest.raises(ValueError, match="does not support sample_weight"):
        model.fit(X, Y, sample_weight=np.ones(len(Y)))
    with pytest.raises(TypeError, match="unexpected keyword argument 'steps'"):
        model.fit(X, Y, steps=3)
    with pytest.raises(ValueError, match="x has 300 rows but y has 299"):
        model.fit(X, Y[:-1])
    model.fit(X, Y, epochs=1, initial_epoch=0, sample_weight=None, validation_split=0.0)


def test_a_plain_copy_saves_and_loads_without_this_project(tmp_path: Path) -> None:
    model = compiled(InMemorySequential, dict(MODEL_DEFAULTS, n_hidden=1), LAB)
    model.fit(X, Y, epochs=1, verbose=0)
    copy = model.standard_copy()
    assert type(copy) is keras.Sequential
    path = tmp_path / "model.keras"
    copy.save(path)
    loaded = keras.models.load_model(path, safe_mode=True, compile=False)
    np.testing.assert_array_equal(np.asarray(loaded(X)), np.asarray(model(X)))
