"""One declared space, the same values in every library's dialect."""

from __future__ import annotations

import numpy as np
import pytest

from study.errors import UsageError
from study.space import SPACES, Categorical, Float, Int, SearchSpace, get_space

# No shipped space has a log-scaled integer, so the converters are held to one here too.
LOG_INT = SearchSpace(
    "log_int", (Int("x", 1, 9, log=True), Int("units", 2, 300, log=True)), {"x": 3}
)
ALL_SPACES = [*SPACES.values(), LOG_INT]


@pytest.mark.parametrize("space", ALL_SPACES, ids=lambda s: s.name)
def test_scipy_samples_stay_inside_the_space(space: SearchSpace) -> None:
    rng = np.random.default_rng(0)
    dists = space.to_scipy()
    for _ in range(200):
        values = {
            k: (d.rvs(random_state=rng) if hasattr(d, "rvs") else d[rng.integers(len(d))])
            for k, d in dists.items()
        }
        config = space.config(values)
        _assert_inside(space, config)


@pytest.mark.parametrize("space", ALL_SPACES, ids=lambda s: s.name)
def test_skopt_and_optuna_and_keras_tuner_cover_the_same_ranges(space: SearchSpace) -> None:
    import keras_tuner as kt

    dims = space.to_skopt()
    optuna_dists = space.to_optuna()
    hp = kt.HyperParameters()
    space.to_keras_tuner(hp)
    for param, dim in zip(space.params, dims, strict=True):
        kt_param = hp.space[space.names.index(param.name)]
        assert dim.name == kt_param.name == param.name
        dist = optuna_dists[param.name]
        if isinstance(param, Categorical):
            assert list(dim.categories) == list(param.choices) == list(kt_param.values)
            assert list(dist.choices) == list(param.choices)
        else:
            assert (dim.low, dim.high) == (param.low, param.high) == (dist.low, dist.high)
            assert (kt_param.min_value, kt_param.max_value) == (param.low, param.high)
            assert dist.log == param.log == (dim.prior == "log-uniform")
            assert kt_param.sampling == ("log" if param.log else "linear")


def test_log_int_sampling_stays_in_range_reaches_every_integer_and_is_log_uniform() -> None:
    draws = LOG_INT.to_scipy()["x"].rvs(size=20_000, random_state=np.random.default_rng(0))
    assert draws.min() == 1 and draws.max() == 9  # never high + 1
    shares = np.bincount(draws, minlength=10)[1:] / len(draws)
    # k has the mass a log-uniform draw on [1, 10) gives to [k, k + 1).
    expected = np.log10(np.arange(2, 11) / np.arange(1, 10))
    np.testing.assert_allclose(shares, expected, atol=0.01)


def test_log_int_in_every_library_stays_in_range() -> None:
    import optuna
    from skopt.space import Space

    points = Space(LOG_INT.to_skopt()).rvs(2000, random_state=0)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trials = [study.ask(LOG_INT.to_optuna()) for _ in range(500)]
    grid = LOG_INT.grid(40)
    for name, low, high in (("x", 1, 9), ("units", 2, 300)):
        i = LOG_INT.names.index(name)
        seen = {*(p[i] for p in points), *(t.params[name] for t in trials), *grid[name]}
        assert min(seen) == low and max(seen) == high, name
    assert grid["x"] == list(range(1, 10))  # every integer owns a log cell
    assert LOG_INT.default_values()["units"] == 24  # the log-middle of [2, 301)


def test_keras_tuner_bayesian_upper_edge_is_clipped_into_the_range() -> None:
    import keras_tuner as kt

    hp = kt.HyperParameters()
    LOG_INT.to_keras_tuner(hp)
    # Keras Tuner maps the unit cube's upper edge to max_value + 1.
    top = {p.name: p.prob_to_value(1.0) for p in hp.space}
    assert top == {"x": 10, "units": 301}
    assert LOG_INT.clip(top) == {"x": 9, "units": 300}


def test_a_declaration_rebuilds_its_space() -> None:
    import json

    for space in ALL_SPACES:
        declared = json.loads(json.dumps(space.declaration()))
        assert SearchSpace.from_declaration(declared) == space
    with pytest.raises(UsageError, match="malformed space declaration"):
        SearchSpace.from_declaration({"name": "x", "params": [{"kind": "bool"}], "defaults": {}})


def test_config_fills_unsearched_settings_with_defaults_and_casts_types() -> None:
    space = get_space("lab")
    config = space.config(
        {
            "n_hidden": np.int64(2),
            "n_neurons": 30.4,
            "learning_rate": np.float64(0.01),
            "optimizer": np.str_("adam"),
        }
    )
    assert config["n_hidden"] == 2 and type(config["n_hidden"]) is int
    assert config["n_neurons"] == 30 and type(config["optimizer"]) is str
    assert config["batch_size"] == 32 and config["dropout"] == 0.0


def test_grid_respects_log_scale_and_stays_inside_the_range() -> None:
    space = get_space("lab")
    lr = space.grid(3)["learning_rate"]
    assert len(lr) == 3 and 3e-4 < lr[0] < lr[1] < lr[2] < 3e-2
    assert lr[1] / lr[0] == pytest.approx(lr[2] / lr[1])  # evenly spaced in log space
    assert space.grid(3)["optimizer"] == ["sgd", "adam", "rmsprop"]  # the default first


@pytest.mark.parametrize(
    "make",
    [
        lambda: Int("a", 5, 1),
        lambda: Float("b", 1.0, 1.0),
        lambda: Float("c", 0.0, 1.0, log=True),
        lambda: Categorical("d", ()),
    ],
)
def test_empty_or_inverted_ranges_are_refused(make: object) -> None:
    with pytest.raises(UsageError):
        make()  # type: ignore[operator]


def test_unknown_space_lists_the_valid_names() -> None:
    with pytest.raises(UsageError, match="choose from: branin, extended, lab"):
        get_space("huge")


def _assert_inside(space: object, config: dict[str, object]) -> None:
    for param in space.params:  # type: ignore[attr-defined]
        value = config[param.name]
        if isinstance(param, Categorical):
            assert value in param.choices
        else:
            assert param.low <= value <= param.high
