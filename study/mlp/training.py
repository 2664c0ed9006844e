"""Keras training with each epoch run as one TensorFlow call over tensors in memory.

``keras.Model.fit`` feeds batches through a ``tf.data`` pipeline it rebuilds every epoch and
drives them with a loop of ``Optional`` checks; for a small MLP on a few thousand rows that
machinery, not the arithmetic, is most of an epoch, and tracing it costs more than a second
per model. ``InMemorySequential.fit`` keeps Keras' own ``train_step`` and ``test_step`` (so the
loss, regularisation, optimizer update and metrics are Keras' own, bit for bit) and Keras'
callbacks, but slices the batches itself inside a single traced ``tf.while_loop`` per epoch.
With ``shuffle=False`` it trains exactly as ``keras.Model.fit`` does (a test checks it); with
shuffling it draws its own permutations, from NumPy's global random state, which scikeras
seeds from ``random_state`` before every fit.

This is the reference engine (``--engine keras``). ``study.mlp.compiled`` subclasses it: same
``fit``, same callbacks, but each epoch is one XLA-compiled call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

# keras.Model.fit arguments whose default is the only value this loop supports.
_DEFAULTS_ONLY = {
    "sample_weight": None,
    "class_weight": None,
    "validation_split": 0.0,
    "validation_steps": None,
    "validation_freq": 1,
    "initial_epoch": 0,
    "steps_per_epoch": None,
}

Step = Callable[[tuple[tf.Tensor, tf.Tensor]], Any]
# Runs one epoch over the rows in the given order and returns the epoch's logs (training
# and, when there is validation data, ``val_``-prefixed validation values).
Epoch = Callable[[np.ndarray], dict[str, float]]
Validation = tuple[tf.Tensor, tf.Tensor]  # validation rows and targets


def _batched_loop(step: Step, x_spec: tf.TensorSpec, y_spec: tf.TensorSpec) -> Any:
    """A traced function running ``step`` over the rows ``order`` picks, ``batch_size`` at a
    time (the last batch may be smaller). Shapes are left open in the row dimension, so one
    trace serves every fold, batch size and epoch."""

    def run(X: tf.Tensor, Y: tf.Tensor, order: tf.Tensor, batch_size: tf.Tensor) -> tf.Tensor:
        n = tf.shape(order)[0]
        steps = (n + batch_size - 1) // batch_size

        def body(i: tf.Tensor) -> tuple[tf.Tensor]:
            rows = order[i * batch_size : tf.minimum((i + 1) * batch_size, n)]
            logs = step((tf.gather(X, rows), tf.gather(Y, rows)))
            # The next step must read the weights this one wrote.
            with tf.control_dependencies(tf.nest.flatten(logs)):
                return (i + 1,)

        (done,) = tf.while_loop(lambda i: i < steps, body, (tf.constant(0),), parallel_iterations=1)
        return done

    signature = [
        x_spec,
        y_spec,
        tf.TensorSpec([None], tf.int32),
        tf.TensorSpec([], tf.int32),
    ]
    # Keras' steps are written for graph mode already; autograph would only slow tracing.
    return tf.function(run, input_signature=signature, autograph=False)


def _open_rows(tensor: tf.Tensor) -> tf.TensorSpec:
    return tf.TensorSpec([None, *tensor.shape[1:]], tensor.dtype)


class InMemorySequential(keras.Sequential):
    """A ``keras.Sequential`` whose ``fit`` runs each epoch as one call (see the module)."""

    # Seconds the last ``fit`` spent tracing (or compiling) functions it had not run before.
    compile_seconds: float = 0.0
    # Where the batch order comes from: NumPy's global state seeded with this, or, if None,
    # the global state as it is (scikeras seeds it before every fit).
    shuffle_seed: int | None = None

    def fit(  # type: ignore[override]
        self,
        x: Any,
        y: Any,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: Any = 0,
        callbacks: list[keras.callbacks.Callback] | None = None,
        validation_data: tuple[Any, Any] | None = None,
        shuffle: bool = True,
        validation_batch_size: int | None = None,
        **others: Any,
    ) -> keras.callbacks.History:
        for name, value in others.items():
            if name not in _DEFAULTS_ONLY:
                raise TypeError(f"fit() got an unexpected keyword argument {name!r}")
            default = _DEFAULTS_ONLY[name]
            if value is not default and (default is None or value != default):
                raise ValueError(f"in-memory training does not support {name}={value!r}")
        batch_size = batch_size or 32
        X, Y = _tensors(x, y)
        validation = _tensors(*validation_data) if validation_data is not None else None
        started = time.perf_counter()
        run_epoch = self._epoch_runner(X, Y, validation, batch_size, validation_batch_size)
        self.compile_seconds = time.perf_counter() - started

        history = keras.callbacks.CallbackList(
            callbacks, add_history=True, add_progbar=False, model=self, epochs=epochs, verbose=0
        )
        rows = int(X.shape[0])
        # Drawn as the first thing in a fit from the global state seeded with ``shuffle_seed``
        # would be, but from a private one: no other thread can move it.
        source = (
            np.random if self.shuffle_seed is None else np.random.RandomState(self.shuffle_seed)
        )
        permutations = np.random.default_rng(source.randint(2**31 - 1))
        self.stop_training = False
        history.on_train_begin()
        logs: dict[str, float] = {}
        for epoch in range(epochs):
            history.on_epoch_begin(epoch)
            order = permutations.permutation(rows) if shuffle else np.arange(rows)
            logs = run_epoch(order)
            # Batch-level callbacks (TerminateOnNaN) see the epoch as one batch.
            history.on_train_batch_end(0, logs)
            history.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        history.on_train_end(logs)
        return self.history

    def _epoch_runner(
        self,
        X: tf.Tensor,
        Y: tf.Tensor,
        validation: Validation | None,
        batch_size: int,
        validation_batch_size: int | None,
    ) -> Epoch:
        """Keras' ``train_step`` (and ``test_step``) over the epoch, traced before returning."""
        train = self._loop("train_step", X, Y)
        test = self._loop("test_step", *validation) if validation is not None else None
        size = tf.constant(batch_size, tf.int32)
        validation_size = tf.constant(validation_batch_size or batch_size, tf.int32)

        def run(order: np.ndarray) -> dict[str, float]:
            self.reset_metrics()
            train(X, Y, tf.constant(order, tf.int32), size)
            logs = self._results()
            if validation is not None and test is not None:
                X_val, Y_val = validation
                self.reset_metrics()
                test(X_val, Y_val, tf.range(X_val.shape[0], dtype=tf.int32), validation_size)
                logs.update({f"val_{k}": v for k, v in self._results().items()})
            return logs

        return run

    def _loop(self, step: str, X: tf.Tensor, Y: tf.Tensor) -> Any:
        """The traced loop of ``train_step`` or ``test_step`` for data shaped like ``X, Y``,
        kept on the model for its next fit."""
        key = (step, _open_rows(X), _open_rows(Y))
        loops = getattr(self, "_in_memory_loops", None)
        if loops is None:
            loops = self._in_memory_loops = {}
        if key not in loops:
            # Creates the optimizer and metric variables outside the traced loops.
            self._symbolic_build(data_batch=(X[:1], Y[:1]))
            loop = _batched_loop(getattr(self, step), *key[1:])
            loop.get_concrete_function()  # traced now, so that the fit's time excludes it
            loops[key] = loop
        return loops[key]

    def predict_rows(self, X: np.ndarray) -> np.ndarray:
        """The network's outputs for ``X`` as one vector, in one eager forward pass (what
        ``Model.predict`` does with a data pipeline and a traced function per model)."""
        return np.asarray(self(X, training=False), dtype=float).reshape(-1)

    def _results(self) -> dict[str, float]:
        return {name: float(value) for name, value in self.get_metrics_result().items()}

    def standard_copy(self) -> keras.Sequential:
        """The same layers (and weights) as a plain ``keras.Sequential``, which loads
        anywhere."""
        return keras.Sequential([keras.Input(self.input_shape[1:]), *self.layers], name=self.name)


def _tensors(x: Any, y: Any) -> tuple[tf.Tensor, tf.Tensor]:
    X = tf.convert_to_tensor(np.asarray(x, dtype=np.float32))
    y = np.asarray(y)
    Y = tf.convert_to_tensor(y.astype(np.float32) if y.dtype.kind == "f" else y)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"x has {X.shape[0]} rows but y has {Y.shape[0]}")
    return X, Y
