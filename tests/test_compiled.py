"""The compiled engine trains as Keras' reference loop does, within a documented tolerance."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from study.mlp.compiled import CompiledSequential, padded_width
from study.mlp.model import LAB, REGRESSION, Head, ModelPool
from study.mlp.xla_cache import cache_directory
from study.problems import get_problem
from study.settings import WIDTH_BUCKETS, ProtocolSettings
from study.space import MODEL_DEFAULTS

RNG = np.random.default_rng(5)
X = RNG.normal(size=(300, 6)).astype(np.float32)  # 300 rows: batches of 32 leave 12
Y = (X[:, 0] - 0.5 * X[:, 1] ** 2 + 0.1 * RNG.normal(size=300)).astype(np.float32)
X_VAL, Y_VAL = X[:70] + 0.05, Y[:70]

# Without dropout the engines differ only in floating-point round-off (XLA fuses and
# reorders sums, padded widths add exact zeros), which 10 epochs of training amplify only
# slightly: measured ≤ 5e-5 in validation RMSE/log-loss on these configs.
ROUND_OFF = 1e-3
# With dropout the compiled engine draws its masks over padded shapes, so the masks differ
# from Keras' and the runs are two samples of the same random training (measured up to
# 0.012 apart on California Housing at RMSE ≈ 0.6). Only a loose bound belongs here; the
# performance suite tests the distribution of differences (paired non-inferiority).
DROPOUT = 0.05


def one_epoch(engine: str, config: dict[str, Any], head: Head = LAB) -> tuple[Any, list]:
    keras.utils.set_random_seed(11)
    model = ModelPool(engine=engine).build(config, X.shape[1], head=head)
    history = model.fit(
        X, Y, batch_size=32, epochs=1, shuffle=False, validation_data=(X_VAL, Y_VAL), verbose=0
    ).history
    if isinstance(model, CompiledSequential):
        model = model.standard_copy()
    return history, model.get_weights()


@pytest.mark.parametrize(
    "changes",
    [
        {"optimizer": "sgd", "n_hidden": 2, "n_neurons": 9},
        {"optimizer": "adam", "n_hidden": 1, "n_neurons": 40, "l2": 1e-3},
        {"optimizer": "rmsprop", "n_hidden": 3, "n_neurons": 5, "activation": "tanh"},
        {"optimizer": "adam", "n_hidden": 0},
    ],
)
def test_one_unshuffled_epoch_is_keras_steps_up_to_round_off(changes: dict[str, Any]) -> None:
    """Every step's loss, L2 penalty and optimizer update, the masked last batch of 12 rows,
    and the validation loss (which includes the penalty) as Keras computes them."""
    config = dict(MODEL_DEFAULTS, learning_rate=0.01, **changes)
    reference, reference_weights = one_epoch("keras", config)
    compiled, compiled_weights = one_epoch("compiled", config)
    for name in ("loss", "val_loss"):
        np.testing.assert_allclose(compiled[name], reference[name], rtol=1e-5)
    for mine, theirs in zip(compiled_weights, reference_weights, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-6)


def test_padding_units_stay_exactly_zero_and_the_copy_is_the_real_network() -> None:
    config = dict(MODEL_DEFAULTS, optimizer="adam", n_hidden=2, n_neurons=5, learning_rate=0.05)
    keras.utils.set_random_seed(3)
    model = ModelPool(engine="compiled").build(config, X.shape[1])
    model.fit(X, Y, batch_size=16, epochs=3, verbose=0)
    width = padded_width(5)
    hidden = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)][:-1]
    assert all(layer.units == width for layer in hidden)
    first, second = (layer.get_weights() for layer in hidden)
    assert np.all(first[0][:, 5:] == 0) and np.all(first[1][5:] == 0)
    assert np.all(second[0][5:, :] == 0) and np.all(second[0][:, 5:] == 0)
    assert np.any(first[0][:, :5] != 0)
    copy = model.standard_copy()
    assert type(copy) is keras.Sequential
    assert [layer.units for layer in copy.layers] == [5, 5, 1]
    np.testing.assert_allclose(np.asarray(copy(X)), np.asarray(model(X)), rtol=1e-5, atol=1e-6)


def test_a_pooled_compiled_model_trains_like_a_fresh_pool_and_compiles_once() -> None:
    config = dict(MODEL_DEFAULTS, optimizer="rmsprop", n_hidden=1, n_neurons=20, dropout=0.2)
    pool = ModelPool(engine="compiled")

    def fit(pool: ModelPool, config: dict[str, Any]) -> tuple[np.ndarray, float]:
        keras.utils.set_random_seed(7)
        model = pool.build(config, X.shape[1])
        model.fit(X, Y, batch_size=32, epochs=2, verbose=0, validation_data=(X_VAL, Y_VAL))
        return np.asarray(model(X)), model.compile_seconds

    fit(pool, dict(config, n_neurons=30, dropout=0.4, learning_rate=0.03))  # same padded shape
    reused, compile_seconds = fit(pool, config)
    assert pool.built == 1 and pool.reused == 1
    fresh, fresh_compile_seconds = fit(ModelPool(engine="compiled"), config)
    np.testing.assert_array_equal(reused, fresh)
    # The warm-up call of a compiled shape traces and compiles; a reused shape does neither.
    assert compile_seconds < fresh_compile_seconds


def test_width_buckets_pad_up_and_beyond() -> None:
    assert padded_width(1) == WIDTH_BUCKETS[0]
    assert padded_width(33) == 48 and padded_width(100) == 100
    step = WIDTH_BUCKETS[-1] - WIDTH_BUCKETS[-2]
    assert padded_width(WIDTH_BUCKETS[-1] + 1) == WIDTH_BUCKETS[-1] + step


SETTINGS = ProtocolSettings(validation="holdout", max_epochs=10, patience=3, max_rows=1000)
LAB_CONFIGS = [
    {"n_hidden": 3, "n_neurons": 65, "optimizer": "sgd", "learning_rate": 0.01},
    {"n_hidden": 2, "n_neurons": 29, "optimizer": "adam", "learning_rate": 0.003},
    {"n_hidden": 0, "optimizer": "rmsprop", "learning_rate": 0.01},
]
EXTENDED_CONFIGS = [
    {"n_hidden": 1, "n_neurons": 23, "optimizer": "adam", "dropout": 0.39, "l2": 7e-4},
    {"n_hidden": 3, "n_neurons": 73, "optimizer": "rmsprop", "dropout": 0.45, "batch_size": 16},
]


@pytest.mark.parametrize("problem", ["california_mlp", "breast_cancer_auc_mlp"])
@pytest.mark.parametrize(
    ("changes", "tolerance"),
    [(c, ROUND_OFF) for c in LAB_CONFIGS]
    + [(dict(c, learning_rate=0.003, activation="elu"), DROPOUT) for c in EXTENDED_CONFIGS],
)
def test_the_protocol_scores_a_config_as_the_reference_engine_does(
    problem: str, changes: dict[str, Any], tolerance: float
) -> None:
    config = dict(MODEL_DEFAULTS, **changes)
    scores = {}
    for engine in ("keras", "compiled"):
        settings = ProtocolSettings(**{**SETTINGS.__dict__, "engine": engine})
        outcome = get_problem(problem).make_evaluator(settings, 0).evaluate(config, 10)
        assert outcome.status == "ok"
        scores[engine] = outcome.score
    assert scores["compiled"] == pytest.approx(scores["keras"], abs=tolerance)


def test_a_classification_head_logs_its_validation_metric() -> None:
    head = Head("sigmoid", "binary_crossentropy", ("auc",))
    labels = (X[:, 0] > 0).astype(np.int64)
    keras.utils.set_random_seed(1)
    model = ModelPool(engine="compiled").build(dict(MODEL_DEFAULTS, n_neurons=4), 6, head=head)
    history = model.fit(
        X, labels, batch_size=32, epochs=2, validation_data=(X_VAL, labels[:70]), verbose=0
    ).history
    assert set(history) == {"loss", "val_loss", "val_auc"}
    assert 0.5 < history["val_auc"][-1] <= 1.0
    assert REGRESSION.metrics == ()  # regression logs no metric it would not read


_TRAIN_ONE = """
import keras, numpy as np
from study.mlp.model import ModelPool
from study.space import MODEL_DEFAULTS
X = np.random.default_rng(0).normal(size=(200, 6)).astype("float32")
model = ModelPool(engine="compiled").build(dict(MODEL_DEFAULTS, optimizer="adam"), 6, seed=3)
model.fit(X, X[:, 0], batch_size=32, epochs=2, verbose=0)
print(repr(np.asarray(model(X)).ravel().tolist()))
"""


def test_an_executable_from_the_compile_cache_trains_as_a_fresh_compile(tmp_path: Path) -> None:
    """A second process loads what the first compiled (a file in the cache) and gets the
    same numbers."""
    environment = {**os.environ, "TUNEBENCH_XLA_CACHE": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "3"}
    environment.pop("TF_XLA_FLAGS", None)

    def run() -> str:
        done = subprocess.run(
            [sys.executable, "-c", _TRAIN_ONE], env=environment, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    first = run()
    cached = list(tmp_path.glob("xla-*/*.pb"))
    assert cached, "the first process wrote its compiled executables"
    stamps = {path: path.stat().st_mtime_ns for path in cached}
    assert run() == first
    assert {path: path.stat().st_mtime_ns for path in cached} == stamps  # loaded, not rewritten


def test_the_compile_cache_is_off_unless_a_directory_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TUNEBENCH_XLA_CACHE", raising=False)
    assert cache_directory() is None
    monkeypatch.setenv("TUNEBENCH_XLA_CACHE", "off")
    assert cache_directory() is None
    monkeypatch.setenv("TUNEBENCH_XLA_CACHE", "/somewhere")
    directory = cache_directory()
    assert directory is not None and directory.parent == Path("/somewhere")
    assert directory.name.startswith("xla-tf")


def test_a_diverging_compiled_fit_stops_and_the_protocol_records_it() -> None:
    config = dict(MODEL_DEFAULTS, optimizer="sgd", n_hidden=2, n_neurons=20, learning_rate=1e4)
    keras.utils.set_random_seed(2)
    model = ModelPool(engine="compiled").build(config, X.shape[1])
    history = model.fit(
        X, Y * 1e3, batch_size=8, epochs=10, callbacks=[keras.callbacks.TerminateOnNaN()]
    ).history
    assert len(history["loss"]) < 10 and not np.isfinite(history["loss"][-1])
    evaluator = get_problem("california_mlp").make_evaluator(SETTINGS, 0)
    outcome = evaluator.evaluate(dict(config, learning_rate=1e3), 10)
    assert outcome.status == "diverged" and outcome.score == evaluator.penalty


def test_width_buckets_of_the_protocol_decide_the_padding() -> None:
    assert [padded_width(w, (48, 96, 128)) for w in (1, 48, 49, 97, 129)] == [48, 48, 96, 128, 160]
    assert padded_width(300, (128,)) == 384  # one bucket: whole multiples of it beyond
