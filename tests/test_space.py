"""One declared space, the same values in every library's dialect."""

from __future__ import annotations

import numpy as np
import pytest

from study.errors import UsageError
from study.space import SPACES, Categorical, Float, Int, get_space


@pytest.mark.parametrize("name", sorted(SPACES))
def test_scipy_samples_stay_inside_the_space(name: str) -> None:
    space = get_space(name)
    rng = np.random.default_rng(0)
    dists = space.to_scipy()
    for _ in range(200):
        values = {
            k: (d.rvs(random_state=rng) if hasattr(d, "rvs") else d[rng.integers(len(d))])
            for k, d in dists.items()
        }
        config = space.config(values)
        _assert_inside(space, config)


@pytest.mark.parametrize("name", sorted(SPACES))
def test_skopt_and_optuna_and_keras_tuner_cover_the_same_ranges(name: str) -> None:
    import keras_tuner as kt

    space = get_space(name)
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
    with pytest.raises(UsageError, match="lab, extended"):
        get_space("huge")


def _assert_inside(space: object, config: dict[str, object]) -> None:
    for param in space.params:  # type: ignore[attr-defined]
        value = config[param.name]
        if isinstance(param, Categorical):
            assert value in param.choices
        else:
            assert param.low <= value <= param.high
