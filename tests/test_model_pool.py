"""A pooled model trains exactly like a freshly built one: reuse only saves the tracing."""

from __future__ import annotations

import functools
import random
from typing import Any

import numpy as np
import pytest
from scikeras.wrappers import KerasRegressor

from study.mlp.model import REGRESSION, Head, ModelPool, architecture, build_mlp, build_network
from study.space import MODEL_DEFAULTS

RNG = np.random.default_rng(0)
X = RNG.normal(size=(256, 8)).astype(np.float32)
Y = (X[:, 0] - 0.5 * X[:, 1] + 0.1 * RNG.normal(size=256)).astype(np.float32)


def fit_predict(model: Any, config: dict[str, Any], seed: int) -> np.ndarray:
    regressor = KerasRegressor(
        model=model,
        model__config=config,
        model__n_features=X.shape[1],
        batch_size=32,
        epochs=2,
        random_state=seed,
        verbose=0,
    )
    regressor.fit(X, Y)
    return np.asarray(regressor.model_(X, training=False)).reshape(-1)


@pytest.mark.parametrize(
    "changes",
    [
        {"optimizer": "adam", "n_hidden": 2, "n_neurons": 8},
        {"optimizer": "rmsprop", "n_hidden": 1, "n_neurons": 5, "dropout": 0.3, "l2": 1e-3},
        {"optimizer": "sgd", "n_hidden": 0},
    ],
)
def test_a_reused_model_trains_like_a_fresh_one(changes: dict[str, Any]) -> None:
    config = dict(MODEL_DEFAULTS, **changes)
    pool = ModelPool()
    build = functools.partial(pool.build)
    fit_predict(build, dict(config, learning_rate=0.03), seed=1)  # leaves trained state behind
    reused = fit_predict(build, config, seed=2)
    assert pool.built == 1 and pool.reused == 1
    np.testing.assert_array_equal(reused, fit_predict(build_mlp, config, seed=2))


def test_architecture_keys_what_a_traced_function_bakes_in() -> None:
    config = dict(MODEL_DEFAULTS, n_hidden=2)
    key = architecture(config, 8)
    assert architecture(dict(config, learning_rate=0.02), 8) == key
    assert architecture(dict(config, batch_size=128), 8) == key
    for changed in ({"dropout": 0.1}, {"l2": 1e-4}, {"optimizer": "adam"}, {"n_neurons": 7}):
        assert architecture(dict(config, **changed), 8) != key
    bare = dict(MODEL_DEFAULTS, n_hidden=0)
    assert architecture(dict(bare, n_neurons=99, activation="tanh"), 8) == architecture(bare, 8)


def test_a_regression_and_a_classification_model_never_share_a_pooled_model() -> None:
    config = dict(MODEL_DEFAULTS, n_hidden=1, n_neurons=4)
    sigmoid = Head("sigmoid", "binary_crossentropy")
    with_auc = Head("sigmoid", "binary_crossentropy", ("auc",))
    keys = {architecture(config, 8, head) for head in (REGRESSION, sigmoid, with_auc)}
    assert len(keys) == 3
    pool = ModelPool()
    linear = pool.build(config, 8, head=REGRESSION)
    classifier = pool.build(config, 8, head=sigmoid)
    assert pool.built == 2 and pool.reused == 0
    assert classifier is not linear and classifier.loss == "binary_crossentropy"
    assert classifier.layers[-1].activation.__name__ == "sigmoid"
    assert pool.build(config, 8, head=sigmoid) is classifier and pool.reused == 1


def test_the_pool_keeps_only_its_capacity() -> None:
    pool = ModelPool(capacity=2)
    for width in (3, 4, 5, 3):
        pool.build(dict(MODEL_DEFAULTS, n_neurons=width), 8)
    assert pool.built == 4 and pool.reused == 0  # width 3 had been evicted by then


@pytest.mark.parametrize(
    "changes",
    [{"n_hidden": 3, "n_neurons": 7}, {"n_hidden": 2, "dropout": 0.3}, {"n_hidden": 0}],
)
def test_a_seeded_build_draws_what_keras_draws_from_the_seeded_global_state(
    changes: dict[str, Any],
) -> None:
    """The protocol's private streams give the networks scikeras' seeding gave, so records
    keep their values, and nothing another thread draws can change them."""
    from scikeras.utils.random_state import tensorflow_random_state

    config = dict(MODEL_DEFAULTS, **changes)
    with tensorflow_random_state(17):
        expected = build_network(config, 8)
        permutation_seed = np.random.randint(2**31 - 1)
    random.seed(99)  # whatever the global state holds now does not matter
    seeded = build_network(config, 8, seed=17)
    for mine, theirs in zip(seeded.variables, expected.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))
    assert np.random.RandomState(seeded.shuffle_seed).randint(2**31 - 1) == permutation_seed


def test_discarding_a_shape_keeps_the_others() -> None:
    pool = ModelPool()
    narrow, wide = dict(MODEL_DEFAULTS, n_neurons=3), dict(MODEL_DEFAULTS, n_neurons=9)
    pool.build(narrow, 8)
    kept = pool.build(wide, 8)
    pool.discard(narrow, 8)
    assert pool.build(wide, 8) is kept
    pool.build(narrow, 8)
    assert pool.built == 3 and pool.reused == 1
