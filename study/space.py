"""Search spaces declared once and translated to each library's dialect.

A space is a flat tuple of typed parameters (``Int``, ``Float`` with optional log scale,
``Categorical``), in the spirit of Optuna's distributions. Translators for scikit-learn,
scikit-optimize, Keras Tuner and Optuna live here so that every strategy samples the very
same space.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from study.errors import UsageError, lookup

Value = int | float | str


@dataclass(frozen=True)
class Int:
    name: str
    low: int
    high: int  # inclusive
    log: bool = False

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise UsageError(f"parameter {self.name!r}: empty range [{self.low}, {self.high}]")
        if self.log and self.low <= 0:
            raise UsageError(f"parameter {self.name!r}: a log-scale range must be positive")

    def cast(self, value: Any) -> int:
        return round(float(value))


@dataclass(frozen=True)
class Float:
    name: str
    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise UsageError(f"parameter {self.name!r}: empty range [{self.low}, {self.high}]")
        if self.log and self.low <= 0:
            raise UsageError(f"parameter {self.name!r}: a log-scale range must be positive")

    def cast(self, value: Any) -> float:
        return float(value)


@dataclass(frozen=True)
class Categorical:
    name: str
    choices: tuple[Value, ...]

    def __post_init__(self) -> None:
        if not self.choices:
            raise UsageError(f"parameter {self.name!r}: no choices")

    def cast(self, value: Any) -> Value:
        # Libraries hand back numpy scalars; records and Keras want plain Python values.
        for choice in self.choices:
            if value == choice:
                return choice
        raise ValueError(f"{value!r} is not a choice of {self.name!r}")


Param = Int | Float | Categorical


@dataclass(frozen=True)
class SearchSpace:
    name: str
    params: tuple[Param, ...]
    defaults: Mapping[str, Value]  # values of model settings the space does not search

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def config(self, values: Mapping[str, Any]) -> dict[str, Value]:
        """A complete, JSON-ready model config: searched values cast, the rest defaulted."""
        config: dict[str, Value] = dict(self.defaults)
        for p in self.params:
            config[p.name] = p.cast(values[p.name])
        return config

    def declaration(self) -> dict[str, Any]:
        """The space as JSON-ready data: what a study's spec records and the analysis reads."""
        return {
            "name": self.name,
            "params": [_declare(p) for p in self.params],
            "defaults": dict(self.defaults),
        }

    @classmethod
    def from_declaration(cls, data: Mapping[str, Any]) -> SearchSpace:
        """The space ``declaration`` wrote."""
        try:
            params = tuple(_PARAM_KINDS[p["kind"]](**_arguments(p)) for p in data["params"])
            return cls(str(data["name"]), params, dict(data["defaults"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UsageError(f"malformed space declaration: {exc!r}") from None

    # --- library dialects -------------------------------------------------------------

    def to_scipy(self) -> dict[str, Any]:
        """``param_distributions`` for scikit-learn's ``RandomizedSearchCV``."""
        from scipy import stats

        out: dict[str, Any] = {}
        for p in self.params:
            if isinstance(p, Categorical):
                out[p.name] = list(p.choices)
            elif isinstance(p, Int):
                out[p.name] = _log_int(p) if p.log else stats.randint(p.low, p.high + 1)
            else:
                out[p.name] = (
                    stats.loguniform(p.low, p.high)
                    if p.log
                    else stats.uniform(p.low, p.high - p.low)
                )
        return out

    def to_skopt(self) -> list[Any]:
        from skopt.space import Categorical as SkCategorical
        from skopt.space import Integer, Real

        dims: list[Any] = []
        for p in self.params:
            if isinstance(p, Categorical):
                dims.append(SkCategorical(list(p.choices), name=p.name))
            elif isinstance(p, Int):
                prior = "log-uniform" if p.log else "uniform"
                dims.append(Integer(p.low, p.high, prior=prior, name=p.name))
            else:
                prior = "log-uniform" if p.log else "uniform"
                dims.append(Real(p.low, p.high, prior=prior, name=p.name))
        return dims

    def to_keras_tuner(self, hp: Any) -> dict[str, Value]:
        """Declare every parameter on a Keras Tuner ``HyperParameters`` and return the values."""
        values: dict[str, Value] = {}
        for p in self.params:
            if isinstance(p, Categorical):
                values[p.name] = hp.Choice(p.name, list(p.choices))
            elif isinstance(p, Int):
                values[p.name] = hp.Int(
                    p.name, p.low, p.high, sampling="log" if p.log else "linear"
                )
            else:
                values[p.name] = hp.Float(
                    p.name, p.low, p.high, sampling="log" if p.log else "linear"
                )
        return values

    def to_optuna(self) -> dict[str, Any]:
        import optuna.distributions as od

        out: dict[str, Any] = {}
        for p in self.params:
            if isinstance(p, Categorical):
                out[p.name] = od.CategoricalDistribution(list(p.choices))
            elif isinstance(p, Int):
                out[p.name] = od.IntDistribution(p.low, p.high, log=p.log)
            else:
                out[p.name] = od.FloatDistribution(p.low, p.high, log=p.log)
        return out

    def grid(self, points_per_axis: int | Mapping[str, int]) -> dict[str, list[Value]]:
        """A ``param_grid`` with ``n`` values per parameter (one ``n`` for all, or per name).

        Numeric axes take the centres of ``n`` equal cells of the range (log cells for log
        parameters), so one point is the middle of the range and more points stay off the
        edges, where the spaces put their extremes. Int axes may collapse to fewer values.
        A categorical axis takes its first ``n`` choices, its default (if any) first.
        """
        grid: dict[str, list[Value]] = {}
        for p in self.params:
            n = max(
                1,
                points_per_axis
                if isinstance(points_per_axis, int)
                else points_per_axis.get(p.name, 1),
            )
            if isinstance(p, Categorical):
                choices = list(p.choices)
                default = self.defaults.get(p.name)
                if default in choices:
                    choices.remove(default)
                    choices.insert(0, default)
                grid[p.name] = choices[:n]
                continue
            grid[p.name] = list(dict.fromkeys(p.cast(v) for v in _cell_centres(p, n)))
        return grid

    def clip(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` with every number moved into its parameter's range."""
        clipped = dict(values)
        for p in self.params:
            if not isinstance(p, Categorical):
                clipped[p.name] = min(max(values[p.name], p.low), p.high)
        return clipped

    def default_values(self) -> dict[str, Value]:
        """The hand-picked config: each parameter's default, else the middle of its range."""
        values: dict[str, Value] = {}
        for p in self.params:
            if p.name in self.defaults:
                values[p.name] = p.cast(self.defaults[p.name])
            elif isinstance(p, Categorical):
                values[p.name] = p.choices[0]
            else:
                values[p.name] = p.cast(_cell_centres(p, 1)[0])
        return values


_PARAM_KINDS: dict[str, type[Int] | type[Float] | type[Categorical]] = {
    "int": Int,
    "float": Float,
    "categorical": Categorical,
}


def _declare(p: Param) -> dict[str, Any]:
    kind = next(k for k, cls in _PARAM_KINDS.items() if isinstance(p, cls))
    if isinstance(p, Categorical):
        return {"name": p.name, "kind": kind, "choices": list(p.choices)}
    return {"name": p.name, "kind": kind, "low": p.low, "high": p.high, "log": p.log}


def _arguments(declared: Mapping[str, Any]) -> dict[str, Any]:
    arguments = {k: v for k, v in declared.items() if k != "kind"}
    if "choices" in arguments:
        arguments["choices"] = tuple(arguments["choices"])
    return arguments


def _cell_centres(p: Int | Float, n: int) -> np.ndarray:
    """Centres of ``n`` equal cells of the range (in log space for log parameters).

    Every integer owns an equal cell: ``[k - 0.5, k + 0.5)`` on a linear Int axis, which
    ``Int.cast`` rounds, and ``[k, k + 1)`` on a log one, which is floored here (log cells
    centred on the integers would reach below a range starting at 1)."""
    low, high = float(p.low), float(p.high)
    if isinstance(p, Int):
        low, high = (low, high + 1) if p.log else (low - 0.5, high + 0.5)
    centres = (np.arange(n) + 0.5) / n
    if p.log:
        values = np.exp(np.log(low) + centres * (np.log(high) - np.log(low)))
        return np.floor(values) if isinstance(p, Int) else values
    return low + centres * (high - low)


def _log_int(p: Int) -> Any:
    """Integers of ``[low, high]``, log-uniform: ``k`` has the mass that a log-uniform draw
    on ``[low, high + 1)`` gives to ``[k, k + 1)``, so every integer is reachable and none
    lies outside the range (rounding a continuous draw could give ``high + 1``)."""
    from scipy import stats

    edges = np.log(np.arange(p.low, p.high + 2, dtype=float))
    return stats.rv_discrete(
        name=p.name, values=(np.arange(p.low, p.high + 1), np.diff(edges) / (edges[-1] - edges[0]))
    )


# The lab's MLP settings for whatever a space does not search.
MODEL_DEFAULTS: dict[str, Value] = {
    "n_hidden": 1,
    "n_neurons": 30,
    "learning_rate": 1e-3,
    "optimizer": "sgd",
    "activation": "relu",
    "batch_size": 32,
    "dropout": 0.0,
    "l2": 0.0,
}

_LAB_PARAMS: tuple[Param, ...] = (
    Int("n_hidden", 0, 3),
    Int("n_neurons", 1, 100),
    Float("learning_rate", 3e-4, 3e-2, log=True),
    Categorical("optimizer", ("sgd", "adam", "rmsprop")),
)

SPACES: dict[str, SearchSpace] = {
    "lab": SearchSpace("lab", _LAB_PARAMS, MODEL_DEFAULTS),
    "extended": SearchSpace(
        "extended",
        (
            *_LAB_PARAMS,
            Categorical("batch_size", (16, 32, 64, 128, 256)),
            Float("dropout", 0.0, 0.5),
            Float("l2", 1e-6, 1e-2, log=True),
            Categorical("activation", ("relu", "elu", "selu", "tanh")),
        ),
        MODEL_DEFAULTS,
    ),
    # The synthetic test function's space (study.synthetic.mixed_branin): one parameter of
    # each kind, so every strategy's handling of Int, log-Float and Categorical is exercised.
    "branin": SearchSpace(
        "branin",
        (
            Float("x1", -5.0, 10.0),
            Float("scale", 1e-2, 1e2, log=True),
            Int("k", 1, 8),
            Categorical("variant", ("a", "b", "c", "d")),
        ),
        {"x1": 2.5, "scale": 1.0, "k": 4, "variant": "a"},
    ),
}


def register_space(space: SearchSpace) -> SearchSpace:
    """Make ``space`` available by name (``--space``, ``StudySpec.space``)."""
    if space.name in SPACES and SPACES[space.name] != space:
        raise UsageError(f"a different space named {space.name!r} is already registered")
    SPACES[space.name] = space
    return space


def get_space(name: str) -> SearchSpace:
    return lookup(SPACES, "space", name)
