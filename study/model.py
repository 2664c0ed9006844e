"""The MLP every strategy tunes, built from a config (the lab's Keras model, widened).

Building and compiling a model is cheap; tracing its training loops is not (several epochs'
worth of the MLP on 2 cores). ``ModelPool`` keeps the last few compiled models by
architecture, so a config trained again on the same shapes (every fold of a k-fold
evaluation, the final retrain, a Hyperband rung) reuses the traced loops: the pooled model is
reset to exactly the state a fresh build would have.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras

from study.training import InMemorySequential

OPTIMIZERS = {
    "sgd": keras.optimizers.SGD,
    "adam": keras.optimizers.Adam,
    "rmsprop": keras.optimizers.RMSprop,
}
# The Keras metrics a head may ask for, by the name they log under.
METRICS: dict[str, Callable[[], keras.metrics.Metric]] = {
    "rmse": lambda: keras.metrics.RootMeanSquaredError(name="rmse"),
    "auc": lambda: keras.metrics.AUC(name="auc"),
}


@dataclass(frozen=True)
class Head:
    """What differs between tasks in the network: the output unit's activation, the loss
    training minimises, and the Keras metrics the epoch logs must carry."""

    activation: str | None = None  # linear
    loss: str = "mse"
    metrics: tuple[str, ...] = ()


# Regression as the protocol trains it: it scores predictions itself, and a metric nobody
# reads costs ops in every training step.
REGRESSION = Head()
# The lab's model, reporting its RMSE as it trains.
LAB = Head(metrics=("rmse",))


def build_network(
    config: dict[str, Any],
    n_features: int,
    head: Head = REGRESSION,
    network: type[keras.Sequential] = InMemorySequential,
) -> keras.Sequential:
    """The uncompiled MLP; its initial weights come from the seeded random streams.

    ``network=keras.Sequential`` gives the same model trained by Keras' own ``fit`` loop."""
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
    layers.append(keras.layers.Dense(1, activation=head.activation))
    return network(layers)


def compile_network(model: keras.Model, config: dict[str, Any], head: Head = LAB) -> keras.Model:
    optimizer = OPTIMIZERS[config["optimizer"]](learning_rate=config["learning_rate"])
    model.compile(
        optimizer=optimizer,
        loss=head.loss,
        metrics=[METRICS[name]() for name in head.metrics] or None,
    )
    return model


def build_mlp(
    config: dict[str, Any],
    n_features: int,
    meta: dict[str, Any] | None = None,  # scikeras passes its metadata; the config decides
    network: type[keras.Sequential] = InMemorySequential,
) -> keras.Model:
    """A freshly built and compiled MLP (a scikeras ``model=`` callable)."""
    return compile_network(build_network(config, n_features, network=network), config)


def architecture(config: dict[str, Any], n_features: int, head: Head = REGRESSION) -> tuple:
    """Everything that is baked into a traced training function as a constant or a shape
    (the head too: a regression and a classification model never share a pooled model).

    The learning rate is not: Keras keeps it in an optimizer variable.
    """
    hidden: tuple = ()
    if int(config["n_hidden"]) > 0:  # without hidden layers, width and activation are moot
        hidden = (
            int(config["n_hidden"]),
            int(config["n_neurons"]),
            config["activation"],
            float(config["dropout"]),
            float(config["l2"]),
        )
    return (n_features, hidden, config["optimizer"], head)


class ModelPool:
    """Compiled models kept by architecture, handed out reset to a fresh build's state."""

    def __init__(self, capacity: int = 4) -> None:
        self.capacity = capacity
        self._models: OrderedDict[tuple, keras.Model] = OrderedDict()
        self.built = 0
        self.reused = 0

    def build(
        self,
        config: dict[str, Any],
        n_features: int,
        meta: dict[str, Any] | None = None,
        head: Head = REGRESSION,
    ) -> keras.Model:
        """Same weights and optimizer state as a fresh build (scikeras calls it seeded).

        scikeras accepts functions and ``functools.partial`` objects as ``model=``; pass
        ``functools.partial(pool.build, head=...)``.
        """
        # Always build the fresh network: it draws the initial weights (and dropout seeds)
        # from exactly the random streams a fresh model would, under scikeras' seeding.
        fresh = build_network(config, n_features, head)
        key = architecture(config, n_features, head)
        model = self._models.pop(key, None)
        if model is None:
            model = compile_network(fresh, config, head)
            self.built += 1
        else:
            _load_initial_state(model, fresh, float(config["learning_rate"]))
            self.reused += 1
        self._models[key] = model
        while len(self._models) > self.capacity:
            self._models.popitem(last=False)
        return model

    def clear(self) -> None:
        self._models.clear()


def _load_initial_state(model: keras.Model, fresh: keras.Model, learning_rate: float) -> None:
    for target, source in zip(model.layers, fresh.layers, strict=True):
        for variable, value in zip(target.variables, source.variables, strict=True):
            variable.assign(value)  # weights, and dropout's seed-generator state
    optimizer = model.optimizer
    # A new optimizer starts at iteration 0 with zero moments; only the learning rate differs.
    for variable in optimizer.variables:
        variable.assign(keras.ops.zeros_like(variable))
    optimizer.learning_rate.assign(learning_rate)
