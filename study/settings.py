"""Study specification: what a study runs, declared as data and stored with every record."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from itertools import pairwise
from typing import Any, Literal

from study.errors import UsageError

# The compiled engine's hidden-width buckets (see study.mlp.compiled), the setting's default
# and what every study written before the setting existed trained with: fine enough that
# padding adds little arithmetic however many epochs a shape trains.
WIDTH_BUCKETS = (32, 48, 64, 80, 100, 128)


@dataclass(frozen=True)
class ProtocolSettings:
    """How every evaluation of every strategy is scored (the one shared protocol)."""

    validation: Literal["holdout", "kfold"] = "holdout"
    folds: int = 3  # used by kfold
    holdout_fraction: float = 0.2  # share of the training split held out, used by holdout
    test_fraction: float = 0.2
    split_seed: int = 42  # the test split never changes with the study seed
    max_epochs: int = 30  # full fidelity
    patience: int = 5
    preprocessing: Literal["standard", "quantile"] = "standard"
    max_rows: int | None = None  # subsample the data (smoke tests only)
    # The training loop: "compiled" (XLA, the default) or "keras" (Keras' own steps, the
    # reference). Round-off differs, so it is part of a study's identity.
    engine: Literal["compiled", "keras"] = "compiled"
    # The compiled engine pads hidden widths up to these (beyond the last, by its last
    # step): fewer buckets, fewer compiles, more arithmetic for the padded units. Round-off
    # follows the padded width, so it is part of a study's identity.
    width_buckets: tuple[int, ...] = WIDTH_BUCKETS

    def __post_init__(self) -> None:
        if self.validation not in ("holdout", "kfold"):
            raise UsageError(f"validation must be 'holdout' or 'kfold', not {self.validation!r}")
        if self.preprocessing not in ("standard", "quantile"):
            raise UsageError(
                f"preprocessing must be 'standard' or 'quantile', not {self.preprocessing!r}"
            )
        if self.engine not in ("compiled", "keras"):
            raise UsageError(f"engine must be 'compiled' or 'keras', not {self.engine!r}")
        _positive("folds", self.folds, minimum=2)
        _positive("max_epochs", self.max_epochs)
        _positive("patience", self.patience)
        if self.max_rows is not None:
            _positive("max_rows", self.max_rows, minimum=50)
        for name in ("holdout_fraction", "test_fraction"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise UsageError(f"{name} must be between 0 and 1, not {value!r}")
        buckets = self.width_buckets
        if (
            not isinstance(buckets, list | tuple)
            or not buckets
            or any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in buckets)
            or any(a >= b for a, b in pairwise(buckets))
        ):
            raise UsageError(
                f"width_buckets must be increasing integers ≥ 1, not {self.width_buckets!r}"
            )
        object.__setattr__(self, "width_buckets", tuple(buckets))  # a spec file gives a list


# Spec fields that choose extra outputs of a run; a study may switch them between runs.
OUTPUTS = ("save_models", "tensorboard")
# Spec fields that record what the names declared when a study ran (facts, not settings).
DECLARATIONS = ("space_declaration", "strategy_settings")


@dataclass(frozen=True)
class StudySpec:
    name: str
    problem: str
    space: str
    strategies: tuple[str, ...]
    seeds: tuple[int, ...]
    budget: int  # full-fidelity evaluations per cell
    protocol: ProtocolSettings = field(default_factory=ProtocolSettings)
    # What a run writes besides the records; not part of the fingerprint (see OUTPUTS).
    save_models: bool = False  # the retrained incumbent as <cell>.keras beside its record
    tensorboard: bool = False  # one TensorBoard HParams run per evaluation
    # The declarations the study runs under, as a stored spec recorded them: the space's
    # (SearchSpace.declaration) and each strategy's library settings. None, or a name not
    # covered, means this installation's current ones (see declared_space and
    # declared_settings); ``spec_differences`` compares them, not ``==``.
    space_declaration: dict[str, Any] | None = field(default=None, compare=False)
    strategy_settings: dict[str, dict[str, Any]] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or self.name.startswith("."):
            raise UsageError(f"study name {self.name!r} is not a plain directory name")
        _positive("budget", self.budget)
        if not self.strategies:
            raise UsageError("a study needs at least one strategy")
        if not self.seeds:
            raise UsageError("a study needs at least one seed")
        if len(set(self.strategies)) != len(self.strategies):
            raise UsageError("a strategy is listed twice")
        for name in OUTPUTS:
            if not isinstance(getattr(self, name), bool):
                raise UsageError(f"{name} must be true or false, not {getattr(self, name)!r}")

    @property
    def budget_epochs(self) -> int:
        return self.budget * self.protocol.max_epochs

    def cells(self) -> list[tuple[str, int]]:
        return [(strategy, seed) for seed in self.seeds for strategy in self.strategies]

    def declared_space(self) -> dict[str, Any]:
        """The search space's declaration: as stored, else the registered space's."""
        if self.space_declaration is not None and self.space_declaration.get("name") == self.space:
            return _json_data(self.space_declaration)
        from study.space import get_space

        return _json_data(get_space(self.space).declaration())

    def declared_settings(self) -> dict[str, dict[str, Any]]:
        """Each strategy's library settings: as stored, else as registered."""
        from study.strategies import strategy_settings

        stored = self.strategy_settings or {}
        return {
            name: _json_data(stored[name] if name in stored else strategy_settings(name))
            for name in self.strategies
        }

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["strategies"] = list(self.strategies)
        data["seeds"] = list(self.seeds)
        data["space_declaration"] = self.declared_space()
        data["strategy_settings"] = self.declared_settings()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudySpec:
        try:
            # Specs written before the compiled engine existed trained with Keras' loop.
            protocol = ProtocolSettings(**{"engine": "keras", **data["protocol"]})
            return cls(
                name=data["name"],
                problem=data["problem"],
                space=data["space"],
                strategies=tuple(data["strategies"]),
                seeds=tuple(int(s) for s in data["seeds"]),
                budget=int(data["budget"]),
                protocol=protocol,
                # Specs written before these settings existed lack them.
                **{name: data.get(name, False) for name in OUTPUTS},
                # Specs written before declarations were recorded lack them: such a study
                # predates any edit, so it runs under (and is compared with) the current ones.
                **checked_declarations(data),
            )
        except (KeyError, TypeError) as exc:
            raise UsageError(f"malformed study spec: {exc}") from None

    def comparable(self) -> dict[str, Any]:
        """What makes two studies' cells comparable: the problem, the space and its
        declaration, the budget and the protocol. Not the strategy and seed lists, which may
        grow (each strategy's settings are compared per strategy, see spec_differences), nor
        the extra outputs, which change what is written, never a score."""
        ignored = ("strategies", "seeds", "name", "strategy_settings", *OUTPUTS)
        data = {k: v for k, v in asdict(self).items() if k not in ignored}
        return data | {"space_declaration": self.declared_space()}

    def fingerprint(self) -> str:
        digest = hashlib.sha256(json.dumps(self.comparable(), sort_keys=True).encode())
        return digest.hexdigest()[:16]

    def with_overrides(self, **changes: Any) -> StudySpec:
        """This spec with some settings changed: the one merge of a profile or spec file with
        a file's overrides and command-line options. Protocol settings are named directly
        (``max_epochs=8``)."""
        protocol_fields = set(ProtocolSettings.__dataclass_fields__)
        spec_fields = set(StudySpec.__dataclass_fields__) - {"protocol"}
        unknown = sorted(set(changes) - protocol_fields - spec_fields)
        if unknown:
            raise UsageError(f"unknown setting(s) {', '.join(unknown)}")
        protocol_changes = {k: v for k, v in changes.items() if k in protocol_fields}
        spec_changes = {k: v for k, v in changes.items() if k not in protocol_fields}
        protocol = replace(self.protocol, **protocol_changes)
        return replace(self, protocol=protocol, **spec_changes)


def spec_differences(stored: StudySpec, spec: StudySpec) -> list[str]:
    """What running ``spec`` into the study ``stored`` would change, one phrase each (e.g.
    "space 'lab': n_neurons high 100 → 128", "strategy kt_hyperband: factor 3 → 4"); empty
    when its cells stay comparable. A strategy's settings are compared for every strategy the
    study already holds, since the joined study runs their missing cells too; a strategy
    new to the study may join."""
    old, new = stored.comparable(), spec.comparable()
    old_space, new_space = old.pop("space_declaration"), new.pop("space_declaration")
    changes = _changes("", old, new)
    if old["space"] == new["space"] and old_space != new_space:
        label = f"space {old['space']!r}:"
        # Shown by parameter name; the whole declarations if that view hides the change.
        changes += _changes(label, _by_parameter(old_space), _by_parameter(new_space)) or [
            f"{label} {old_space} → {new_space}"
        ]
    joined = replace(spec, strategies=tuple(dict.fromkeys((*spec.strategies, *stored.strategies))))
    current = joined.declared_settings()
    for name, settings in stored.declared_settings().items():
        changes += _changes(f"strategy {name}:", settings, current[name])
    return changes


def refuse_changed_declarations(spec: StudySpec, recorded: dict[str, Any]) -> None:
    """Refuse ``spec`` if ``recorded`` (a spec file's declarations, e.g. a study's
    spec.json passed as a config) differ from what its names declare now."""
    changes = spec_differences(replace(spec, **checked_declarations(recorded)), spec)
    if changes:
        raise UsageError(
            f"the declarations have changed since it was written: {'; '.join(changes)}"
        )


def checked_declarations(data: dict[str, Any]) -> dict[str, Any]:
    """The declarations recorded in spec ``data`` (those it lacks as None), checked for shape."""
    from study.space import SearchSpace

    space, settings = (data.get(key) for key in DECLARATIONS)
    if space is not None:
        SearchSpace.from_declaration(space)  # refuses a malformed one
    if settings is not None and not (
        isinstance(settings, dict) and all(isinstance(v, dict) for v in settings.values())
    ):
        raise UsageError(f"strategy_settings must map names to tables, not {settings!r}")
    return {"space_declaration": space, "strategy_settings": settings}


def _by_parameter(declaration: dict[str, Any]) -> dict[str, Any]:
    params = {p["name"]: {k: v for k, v in p.items() if k != "name"} for p in declaration["params"]}
    return {"parameters": list(params), **params, "defaults": declaration["defaults"]}


_MISSING = object()


def _changes(label: str, old: Any, new: Any) -> list[str]:
    """``label path old → new`` for every leaf where two JSON values differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in dict.fromkeys([*old, *new]):
            changes += _changes(f"{label} {key}", old.get(key, _MISSING), new.get(key, _MISSING))
        return changes
    if old == new:
        return []
    shown = ["(none)" if v is _MISSING else repr(v) for v in (old, new)]
    return [f"{label.strip()} {shown[0]} → {shown[1]}"]


def _json_data(value: Any) -> Any:
    """``value`` as JSON would hand it back (tuples as lists), so stored and declared compare."""
    return json.loads(json.dumps(value))


def _positive(name: str, value: Any, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(f"{name} must be an integer ≥ {minimum}, not {value!r}")
