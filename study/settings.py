"""Study specification: what a study runs, declared as data and stored with every record."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from study.errors import UsageError


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


# Spec fields that choose extra outputs of a run; a study may switch them between runs.
OUTPUTS = ("save_models", "tensorboard")


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

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["strategies"] = list(self.strategies)
        data["seeds"] = list(self.seeds)
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
            )
        except (KeyError, TypeError) as exc:
            raise UsageError(f"malformed study spec: {exc}") from None

    def fingerprint(self) -> str:
        """What makes two studies' cells comparable: everything but the strategy and seed
        lists and the extra outputs (which change what is written, never a score)."""
        ignored = ("strategies", "seeds", "name", *OUTPUTS)
        core = {k: v for k, v in self.to_dict().items() if k not in ignored}
        return hashlib.sha256(json.dumps(core, sort_keys=True).encode()).hexdigest()[:16]

    def with_overrides(self, **changes: Any) -> StudySpec:
        """This spec with some settings changed: the one merge of a profile or spec file with
        a file's overrides and command-line options. Protocol settings are named directly
        (``max_epochs=8``); another problem brings its own space unless one is named."""
        protocol_fields = set(ProtocolSettings.__dataclass_fields__)
        spec_fields = set(StudySpec.__dataclass_fields__) - {"protocol"}
        unknown = sorted(set(changes) - protocol_fields - spec_fields)
        if unknown:
            raise UsageError(f"unknown setting(s) {', '.join(unknown)}")
        if "problem" in changes and "space" not in changes:
            from study.problems import get_problem

            changes["space"] = get_problem(changes["problem"]).default_space
        protocol_changes = {k: v for k, v in changes.items() if k in protocol_fields}
        spec_changes = {k: v for k, v in changes.items() if k not in protocol_fields}
        protocol = replace(self.protocol, **protocol_changes)
        return replace(self, protocol=protocol, **spec_changes)


def _positive(name: str, value: Any, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(f"{name} must be an integer ≥ {minimum}, not {value!r}")
