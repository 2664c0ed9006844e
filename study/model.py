"""The MLP every strategy tunes, built from a config (the lab's Keras model, widened)."""

from __future__ import annotations

from typing import Any

import keras

OPTIMIZERS = {
    "sgd": keras.optimizers.SGD,
    "adam": keras.optimizers.Adam,
    "rmsprop": keras.optimizers.RMSprop,
}


def build_mlp(
    config: dict[str, Any],
    n_features: int,
    steps_per_execution: int = 1,
    meta: dict[str, Any] | None = None,  # scikeras passes its metadata; the config decides
) -> keras.Model:
    regularizer = keras.regularizers.L2(config["l2"]) if config["l2"] > 0 else None
    layers: list[keras.layers.Layer] = [keras.Input(shape=(n_features,))]
    for _ in range(int(config["n_hidden"])):
        layers.append(
            keras.layers.Dense(
                int(config["n_neurons"]),
                activation=config["activation"],
                kernel_regularizer=regularizer,
            )
        )
        if config["dropout"] > 0:
            layers.append(keras.layers.Dropout(config["dropout"]))
    layers.append(keras.layers.Dense(1))
    model = keras.Sequential(layers)
    optimizer = OPTIMIZERS[config["optimizer"]](learning_rate=config["learning_rate"])
    model.compile(
        optimizer=optimizer,
        loss="mse",
        metrics=[keras.metrics.RootMeanSquaredError(name="rmse")],
        steps_per_execution=steps_per_execution,
    )
    return model
