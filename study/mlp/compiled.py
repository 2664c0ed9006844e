"""Compiled training (the default engine): each epoch is one XLA-compiled call.

For the study's small MLPs, an epoch of the reference engine (``study.mlp.training``) is mostly
TensorFlow's per-step overhead, not arithmetic. Here a whole epoch, every optimizer step and
the validation pass, runs as one ``tf.function(jit_compile=True)``, which XLA fuses into a
few kernels per step. What stays Keras': the layers, the loss functions, the L2 regulariser's
formula, the optimizers (``optimizer.apply``), and ``fit``'s callbacks (early stopping with
``restore_best_weights``, NaN termination, pruning reports), driven per epoch exactly as the
reference engine drives them.

XLA compiles for static shapes, and a compile costs a second or two, so a compiled epoch is
made to serve as many fits as it can:

- **Rows.** The data is padded to a fixed row capacity (the protocol's training split), and
  an epoch takes the number of real rows as a value: every fold, the final retrain and
  Hyperband's rungs share one compile. Batches have a static size; the last, partial batch
  is masked so that its loss is the mean over its real rows, as in Keras.
- **Widths.** A network's hidden width is padded up to one of the protocol's
  ``width_buckets`` (``study.settings.WIDTH_BUCKETS`` unless a profile says otherwise). Padding
  units start at exactly zero, and they stay there: with weights, bias and outgoing weights
  zero and an activation with f(0) = 0, their outputs and every gradient that reaches them are
  exactly zero, so the padded network computes the same function as the real one (up to the
  order of floating-point sums). The real units' initial weights are drawn by building the
  real network, as the reference engine does.
- **Values, not constants.** Learning rate, dropout rate and L2 strength are variables that
  each fit assigns, so a new config on a known shape compiles nothing.

Compiled models are pooled per process (``study.mlp.model.ModelPool``), so later cells of a
study reuse earlier cells' compiles; the time a fit spends compiling is reported apart from
its training time (``compile_seconds``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from study.mlp.training import Epoch, InMemorySequential, Validation
from study.settings import WIDTH_BUCKETS

# Rows per chunk of the validation pass (any validation size runs as whole chunks).
VALIDATION_CHUNK = 1024
# Activations whose value at zero is zero: padding units stay exactly zero only under them.
ZERO_AT_ZERO = ("relu", "elu", "selu", "tanh", "linear", None)


def padded_width(width: int, buckets: tuple[int, ...] = WIDTH_BUCKETS) -> int:
    """The next bucket up; beyond the last, the last plus whole steps of its last step."""
    for bucket in buckets:
        if width <= bucket:
            return bucket
    step = buckets[-1] - (buckets[-2] if len(buckets) > 1 else 0)
    return buckets[-1] + math.ceil((width - buckets[-1]) / step) * step


@dataclass
class Knobs:
    """The per-config values a compiled epoch reads from variables instead of baking in."""

    dropout: tf.Variable
    l2: tf.Variable

    @classmethod
    def make(cls) -> Knobs:
        return cls(
            dropout=tf.Variable(0.0, trainable=False, name="dropout_rate"),
            l2=tf.Variable(0.0, trainable=False, name="l2_strength"),
        )


class VariableL2(keras.regularizers.Regularizer):
    """Keras' L2 penalty (``l2 * sum(x**2)``) with its strength read from a variable."""

    def __init__(self, knobs: Knobs) -> None:
        self.knobs = knobs

    def __call__(self, x: Any) -> Any:
        return keras.ops.cast(self.knobs.l2, x.dtype) * keras.ops.sum(keras.ops.square(x))


class VariableDropout(keras.layers.Dropout):
    """Keras' (inverted) dropout with its rate read from a variable; its seed generator is
    loaded from the real network's ``Dropout``, so it draws from the same seeded stream."""

    def __init__(self, knobs: Knobs, **kwargs: Any) -> None:
        super().__init__(rate=0.5, **kwargs)  # the placeholder rate creates the seed generator
        self.knobs = knobs

    def call(self, inputs: Any, training: bool = False) -> Any:
        if not training:
            return inputs
        rate = keras.ops.cast(self.knobs.dropout, inputs.dtype)
        noise = keras.random.uniform(keras.ops.shape(inputs), seed=self.seed_generator)
        keep = keras.ops.cast(noise >= rate, inputs.dtype)
        return inputs * keep / (1.0 - rate)


class CompiledSequential(InMemorySequential):
    """An MLP of padded width whose ``fit`` runs each epoch as one XLA call.

    ``row_capacity`` is the number of rows data is padded to; a fit on more rows compiles
    for its own size."""

    def __init__(self, layers: list[Any], knobs: Knobs) -> None:
        super().__init__(layers)
        self.knobs = knobs
        self.real_widths: tuple[int, ...] = ()  # each Dense layer's unpadded width, per config
        self.row_capacity = 0
        self.validation_metrics: list[keras.metrics.Metric] = []  # the head's, if any
        self._compiled_epochs: dict[int, Any] = {}

    def _epoch_runner(
        self, X: tf.Tensor, Y: tf.Tensor, validation: Validation | None, batch_size: int, _: Any
    ) -> Epoch:
        # (The validation batch size is not read: the validation pass has its own chunks.)
        rows = int(X.shape[0])
        capacity = max(rows, self.row_capacity)
        X_pad, Y_pad = _padded(X, capacity), _padded(_column(Y), capacity)
        if validation is not None:
            n_val = int(validation[0].shape[0])
            val_rows = max(n_val, capacity)
            X_val = _padded(validation[0], val_rows)
            Y_val = _padded(_column(validation[1]), val_rows)
        else:
            n_val = 0
            X_val, Y_val = X_pad, Y_pad  # not read: no validation rows
        epoch = self._compiled_epochs.get(batch_size)
        if epoch is None:
            self._symbolic_build(data_batch=(X[:1], Y[:1]))  # optimizer variables, untraced
            epoch = self._compiled_epochs[batch_size] = self._compile(batch_size)
        order = np.zeros(capacity + batch_size, np.int32)
        nothing = tf.constant(0, tf.int32)
        # Runs no step (no rows), so it changes nothing; it traces and compiles for these
        # shapes if they are new, which the fit then reports as compile time.
        epoch(X_pad, Y_pad, tf.constant(order), nothing, X_val, Y_val, nothing)
        n_rows, n_validation = tf.constant(rows, tf.int32), tf.constant(n_val, tf.int32)

        def run(permutation: np.ndarray) -> dict[str, float]:
            order[:rows] = permutation
            loss, val_loss = epoch(
                X_pad, Y_pad, tf.constant(order), n_rows, X_val, Y_val, n_validation
            )
            logs = {"loss": float(loss)}
            if validation is not None:
                logs["val_loss"] = float(val_loss)
                logs.update(self._validation_metrics(*validation))
            return logs

        return run

    def _compile(self, batch_size: int) -> Any:
        loss_of = keras.losses.get(self.loss)  # per-row loss, as Keras' compiled loss uses
        variables = self.trainable_variables
        optimizer = self.optimizer

        def penalty() -> tf.Tensor:
            return tf.add_n([tf.cast(loss, tf.float32) for loss in self.losses] or [0.0])

        def epoch(X, Y, order, n, X_val, Y_val, n_val):  # type: ignore[no-untyped-def]
            def step(i: tf.Tensor, total: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
                start = i * batch_size
                rows = tf.slice(order, [start], [batch_size])
                real = tf.cast(start + tf.range(batch_size) < n, tf.float32)
                count = tf.reduce_sum(real)
                with tf.GradientTape() as tape:
                    predicted = self(tf.gather(X, rows), training=True)
                    per_row = loss_of(tf.gather(Y, rows), predicted)
                    loss = tf.reduce_sum(per_row * real) / count + penalty()
                optimizer.apply(tape.gradient(loss, variables), variables)
                return i + 1, total + loss * count

            steps = (n + batch_size - 1) // batch_size
            _, total = tf.while_loop(
                lambda i, _: i < steps, step, (tf.constant(0), tf.constant(0.0))
            )

            def chunk(i: tf.Tensor, summed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
                at = i * VALIDATION_CHUNK + tf.range(VALIDATION_CHUNK)
                real = tf.cast(at < n_val, tf.float32)
                rows = tf.minimum(at, tf.shape(X_val)[0] - 1)
                predicted = self(tf.gather(X_val, rows), training=False)
                per_row = loss_of(tf.gather(Y_val, rows), predicted)
                return i + 1, summed + tf.reduce_sum(per_row * real)

            chunks = (n_val + VALIDATION_CHUNK - 1) // VALIDATION_CHUNK
            _, summed = tf.while_loop(
                lambda i, _: i < chunks, chunk, (tf.constant(0), tf.constant(0.0))
            )
            mean = total / tf.cast(tf.maximum(n, 1), tf.float32)
            # Keras' validation loss includes the regularisation penalty, as here.
            return mean, summed / tf.cast(tf.maximum(n_val, 1), tf.float32) + penalty()

        return tf.function(epoch, jit_compile=True, autograph=False)

    def _validation_metrics(self, X_val: tf.Tensor, Y_val: tf.Tensor) -> dict[str, float]:
        """The head's Keras metrics (e.g. AUC) on the validation rows, once per epoch."""
        if not self.validation_metrics:
            return {}
        predicted = self(X_val, training=False)
        logs = {}
        for metric in self.validation_metrics:
            metric.reset_state()
            metric.update_state(Y_val, predicted)
            logs[f"val_{metric.name}"] = float(metric.result())
        return logs

    def predict_rows(self, X: np.ndarray) -> np.ndarray:
        """Outputs through a traced forward pass, kept with the pooled model (an eager pass
        through Keras' layers costs more than the arithmetic)."""
        forward = self.__dict__.get("_forward")  # kept out of Keras attribute tracking
        if forward is None:
            spec = tf.TensorSpec([None, *self.input_shape[1:]], tf.float32)
            forward = tf.function(
                lambda x: self(x, training=False), input_signature=[spec], autograph=False
            )
            self.__dict__["_forward"] = forward
        return np.asarray(forward(np.asarray(X, np.float32)), dtype=float).reshape(-1)

    def standard_copy(self) -> keras.Sequential:
        """The real, unpadded network with plain Keras layers (``Dense``, ``Dropout`` at the
        config's rate) and the trained weights; it loads anywhere."""
        layers: list[Any] = [keras.Input(self.input_shape[1:])]
        widths = iter(self.real_widths)
        for layer in self.layers:
            if isinstance(layer, VariableDropout):
                layers.append(keras.layers.Dropout(float(self.knobs.dropout.numpy())))
            else:
                regularizer = None
                if isinstance(layer.kernel_regularizer, VariableL2):
                    regularizer = keras.regularizers.L2(float(self.knobs.l2.numpy()))
                layers.append(
                    keras.layers.Dense(
                        next(widths),
                        activation=layer.activation,
                        kernel_regularizer=regularizer,
                        name=layer.name,
                    )
                )
        copy = keras.Sequential(layers, name=self.name)
        for source, target in zip(self.layers, copy.layers, strict=True):
            for variable, value in zip(target.variables, source.variables, strict=True):
                variable.assign(np.asarray(value)[tuple(slice(0, n) for n in variable.shape)])
        return copy


def _column(Y: tf.Tensor) -> tf.Tensor:
    return tf.reshape(tf.cast(Y, tf.float32), [-1, 1])


def _padded(tensor: tf.Tensor, rows: int) -> tf.Tensor:
    missing = rows - int(tensor.shape[0])
    if missing == 0:
        return tensor
    return tf.concat([tensor, tf.zeros([missing, *tensor.shape[1:]], tensor.dtype)], axis=0)
