"""The MLP every strategy tunes, built from a config (the lab's Keras model, widened).

Building and compiling a model is cheap; tracing (or XLA-compiling) its training loops is
not (several epochs' worth of the MLP on 2 cores). ``ModelPool`` keeps compiled models by
architecture, so a config trained again on the same shapes (every fold of a k-fold
evaluation, the final retrain, a Hyperband rung, and with the compiled engine any config of
the same padded shape) reuses them: the pooled model is reset to exactly the state a fresh
build would have, its initial weights drawn by building the real network.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import keras
import numpy as np

from study.mlp.compiled import (
    ZERO_AT_ZERO,
    CompiledSequential,
    Knobs,
    VariableDropout,
    VariableL2,
    padded_width,
)
from study.mlp.training import InMemorySequential
from study.settings import WIDTH_BUCKETS

Engine = Literal["compiled", "keras"]
ENGINES: tuple[Engine, ...] = ("compiled", "keras")

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


class _LayerSeeds:
    """The seeds Keras draws for the network's layers, in the order it draws them: from
    ``random.Random(seed)``, or without a seed from Python's global random state (which
    scikeras seeds before every fit)."""

    def __init__(self, seed: int | None) -> None:
        self._draws = random.Random(seed) if seed is not None else random

    def next(self) -> int:
        return self._draws.randint(1, int(1e9))  # Keras' own default-seed draw


def build_network(
    config: dict[str, Any],
    n_features: int,
    head: Head = REGRESSION,
    network: type[keras.Sequential] = InMemorySequential,
    seed: int | None = None,
) -> keras.Sequential:
    """The uncompiled MLP. Its initial weights (and dropout streams) come from ``seed``, or
    without one from Python's global random state, as Keras draws them.

    With ``seed``, the layers' seeds are the draws Keras would make from Python's random
    state seeded with it, so both give the same network; but a private stream cannot be
    moved by another thread of the process (a Dask worker's event loop draws from the
    global one now and then), which is why the protocol passes one.

    ``network=keras.Sequential`` gives the same model trained by Keras' own ``fit`` loop."""
    seeds = _LayerSeeds(seed)
    regularizer = keras.regularizers.L2(config["l2"]) if config["l2"] > 0 else None
    layers: list[keras.layers.Layer] = [keras.Input(shape=(n_features,))]
    for _ in range(int(config["n_hidden"])):
        layers.append(
            keras.layers.Dense(
                int(config["n_neurons"]),
                activation=config["activation"],
                kernel_initializer=keras.initializers.GlorotUniform(seed=seeds.next()),
                kernel_regularizer=regularizer,
            )
        )
        if config["dropout"] > 0:
            layers.append(keras.layers.Dropout(config["dropout"], seed=seeds.next()))
    layers.append(
        keras.layers.Dense(
            1,
            activation=head.activation,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seeds.next()),
        )
    )
    model = network(layers)
    model.shuffle_seed = seed
    return model


def initial_values(config: dict[str, Any], n_features: int, seed: int | None) -> list[list[Any]]:
    """What each layer of ``build_network(config, n_features, seed=seed)`` starts from (its
    variables' values, layer by layer), drawn by the same initializers without building the
    network: creating Keras layers and variables costs more than the draws themselves."""
    seeds = _LayerSeeds(seed)
    values: list[list[Any]] = []
    fan_in = n_features
    for _ in range(int(config["n_hidden"])):
        width = int(config["n_neurons"])
        kernel = keras.initializers.GlorotUniform(seed=seeds.next())((fan_in, width))
        values.append([kernel, np.zeros(width, np.float32)])
        if config["dropout"] > 0:
            values.append([np.array([seeds.next(), 0], np.int64)])  # its seed generator's state
        fan_in = width
    output = keras.initializers.GlorotUniform(seed=seeds.next())((fan_in, 1))
    values.append([output, np.zeros(1, np.float32)])
    return values


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


def architecture(
    config: dict[str, Any],
    n_features: int,
    head: Head = REGRESSION,
    engine: Engine = "keras",
    widths: tuple[int, ...] = WIDTH_BUCKETS,
) -> tuple:
    """Everything that is baked into a traced training function as a constant or a shape
    (the head too: a regression and a classification model never share a pooled model).

    The learning rate is not: Keras keeps it in an optimizer variable. The compiled engine
    also reads dropout rate and L2 strength from variables and pads the width up to one of
    ``widths`` (the protocol's buckets), so its key holds only whether there is dropout or
    L2, and the padded width.
    """
    hidden: tuple = ()
    if int(config["n_hidden"]) > 0:  # without hidden layers, width and activation are moot
        width = int(config["n_neurons"])
        regularised = (float(config["dropout"]), float(config["l2"]))
        if engine == "compiled":
            if config["activation"] in ZERO_AT_ZERO:  # padding units would not stay zero
                width = padded_width(width, widths)
            regularised = (regularised[0] > 0, regularised[1] > 0)
        hidden = (int(config["n_hidden"]), width, config["activation"], *regularised)
    return (engine, n_features, hidden, config["optimizer"], head)


def _padded_network(key: tuple, config: dict[str, Any]) -> CompiledSequential:
    """The compiled engine's network for an architecture key: hidden layers at the padded
    width, dropout and L2 read from variables."""
    _, n_features, hidden, _, head = key
    knobs = Knobs.make()
    layers: list[keras.layers.Layer] = [keras.Input(shape=(n_features,))]
    if hidden:
        n_hidden, width, activation, dropout, l2 = hidden
        for _ in range(n_hidden):
            layers.append(
                keras.layers.Dense(
                    width,
                    activation=activation,
                    kernel_regularizer=VariableL2(knobs) if l2 else None,
                )
            )
            if dropout:
                layers.append(VariableDropout(knobs))
    layers.append(keras.layers.Dense(1, activation=head.activation))
    model = CompiledSequential(layers, knobs)
    model.validation_metrics = [METRICS[name]() for name in head.metrics]
    return compile_network(model, config, head)


class ModelPool:
    """Compiled models kept by architecture, handed out reset to a fresh build's state.

    ``engine`` chooses the training loop: ``"compiled"`` (``study.mlp.compiled``: XLA, padded
    widths) or ``"keras"`` (``study.mlp.training``: Keras' own steps, the reference). With the
    compiled engine, ``rows`` is the row capacity data is padded to (the largest training set
    the pool's user fits), so that every fit of a model shares one compile.
    """

    def __init__(self, capacity: int = 4, engine: Engine = "keras", rows: int = 0) -> None:
        self.capacity = capacity
        self.engine = engine
        self.rows = rows
        self._models: OrderedDict[tuple, keras.Model] = OrderedDict()
        self.built = 0
        self.reused = 0

    def build(
        self,
        config: dict[str, Any],
        n_features: int,
        meta: dict[str, Any] | None = None,
        head: Head = REGRESSION,
        seed: int | None = None,
        widths: tuple[int, ...] = WIDTH_BUCKETS,
    ) -> keras.Model:
        """Same weights and optimizer state as a fresh build (scikeras calls it seeded; the
        protocol also passes the seed, see ``build_network``). The compiled engine pads
        hidden widths up to one of ``widths``.

        scikeras accepts functions and ``functools.partial`` objects as ``model=``; pass
        ``functools.partial(pool.build, head=..., widths=...)``.
        """
        key = architecture(config, n_features, head, self.engine, widths)
        model = self._models.pop(key, None)
        if model is None and self.engine == "keras":
            model = compile_network(
                build_network(config, n_features, head, seed=seed), config, head
            )
            self.built += 1
        else:
            # Drawn first, from exactly the random streams a fresh build would draw from
            # (building a padded network draws from the global streams too).
            values = initial_values(config, n_features, seed)
            if model is None:
                model = _padded_network(key, config)
                self.built += 1
            else:
                self.reused += 1
            model.row_capacity = self.rows
            _load_initial_state(model, values, config, seed)
        self._models[key] = model
        while len(self._models) > self.capacity:
            self._models.popitem(last=False)
        return model

    def discard(
        self,
        config: dict[str, Any],
        n_features: int,
        head: Head = REGRESSION,
        widths: tuple[int, ...] = WIDTH_BUCKETS,
    ) -> None:
        """Forget the model ``config`` would be handed (say, one a failed fit left half-built);
        the other shapes' compiled models stay."""
        self._models.pop(architecture(config, n_features, head, self.engine, widths), None)


# Models kept per process: compiled ones are cheap to keep (a few hundred kB each) and cost
# a second or two to compile, so later cells of a study reuse earlier cells' compiles.
POOL_CAPACITY: dict[Engine, int] = {"compiled": 64, "keras": 4}
_SHARED_POOLS: dict[Engine, ModelPool] = {}


def shared_pool(engine: Engine, rows: int) -> ModelPool:
    """This process's pool for ``engine``, padding data to ``rows`` rows from now on."""
    pool = _SHARED_POOLS.get(engine)
    if pool is None:
        pool = _SHARED_POOLS[engine] = ModelPool(POOL_CAPACITY[engine], engine)
    pool.rows = rows
    return pool


def _load_initial_state(
    model: keras.Model, values: list[list[Any]], config: dict[str, Any], seed: int | None
) -> None:
    for layer, layer_values in zip(model.layers, values, strict=True):
        for variable, value in zip(layer.variables, layer_values, strict=True):
            # weights, and dropout's seed-generator state; a padded variable gets the real
            # one's values in its leading block and exact zeros elsewhere
            variable.assign(_in_block(np.asarray(value), tuple(variable.shape)))
    optimizer = model.optimizer
    # A new optimizer starts at iteration 0 with zero moments; only the learning rate differs.
    for variable in optimizer.variables:
        variable.assign(keras.ops.zeros_like(variable))
    optimizer.learning_rate.assign(float(config["learning_rate"]))
    model.shuffle_seed = seed
    if isinstance(model, CompiledSequential):
        model.knobs.dropout.assign(float(config["dropout"]))
        model.knobs.l2.assign(float(config["l2"]))
        model.real_widths = tuple(np.shape(layer[0])[1] for layer in values if len(layer) == 2)


def _in_block(value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if value.shape == shape:
        return value
    block = np.zeros(shape, value.dtype)
    block[tuple(slice(0, n) for n in value.shape)] = value
    return block
