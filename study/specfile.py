"""Study specs as data: the shipped profiles (study/profiles/*.toml) and ``--config FILE``
(JSON or TOML) are read by this one loader and validated before any work.

A file either names a ``profile`` and overrides some of its settings, or declares a whole
spec, as the profiles do. Example (TOML)::

    profile = "smoke"
    name = "smoke-adam"
    strategies = ["random_search", "skopt_bayes"]   # or "all" (every registered strategy)
    seeds = 3            # or a list: [0, 1, 2]
    budget = 6
    save_models = true   # each cell's retrained incumbent as a .keras file
    tensorboard = false  # one TensorBoard HParams run per evaluation

    [protocol]
    max_epochs = 8

A whole spec names ``name``, ``problem``, ``space``, ``seeds`` and ``budget``; ``strategies``
left out means every registered strategy, as ``"all"`` does. ``resolve_spec`` assembles the
spec of a run in one merge: the base (a profile, or a whole-spec file), then the file's
overrides and the command line's together, command-line values winning.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from study.errors import UsageError
from study.settings import (
    DECLARATIONS,
    OUTPUTS,
    ProtocolSettings,
    StudySpec,
    refuse_changed_declarations,
)

SPEC_KEYS = (
    "profile",
    "name",
    "problem",
    "space",
    "strategies",
    "seeds",
    "budget",
    "protocol",
    *OUTPUTS,
    *DECLARATIONS,  # as a study's spec.json records them; they must still hold
)
_REQUIRED = ("name", "problem", "space", "seeds", "budget")
ALL_STRATEGIES = "all"
# The shipped profiles: one spec file each, NAME.toml (a new file is a new profile).
PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
PROFILES: tuple[str, ...] = tuple(sorted(p.stem for p in PROFILE_DIR.glob("*.toml")))
# Where read_settings keeps a file's declarations (a study's spec.json carries them): they
# are checked against what the names declare now, never applied.
_RECORDED = "recorded declarations"


def resolve_spec(
    *,
    profile: str | None = None,
    config: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> StudySpec:
    """The spec of a run: a profile (default ``quick``) or a config file, with ``overrides``
    (settings as ``StudySpec.with_overrides`` takes them, e.g. from the command line) last."""
    if config is not None and profile is not None:
        raise UsageError("give --profile or --config, not both (a config file may name a profile)")
    recorded: dict[str, Any] = {}
    if config is None:
        base, changes = _whole_spec(profile_file(profile or "quick")), {}
    else:
        changes = read_settings(config)
        recorded = changes.pop(_RECORDED, {})
        base_profile = changes.pop("profile", None)
        if base_profile is None:
            base, changes = _whole_spec(config, changes), {}
        else:
            try:
                base = _whole_spec(profile_file(base_profile))
            except UsageError as exc:
                raise UsageError(f"{config}: {exc}") from None
    changes.update(overrides or {})
    if "problem" in changes and "space" not in changes:  # another problem, its own space
        from study.problems import get_problem

        changes["space"] = get_problem(changes["problem"]).default_space
    spec = base.with_overrides(**changes)
    try:
        refuse_changed_declarations(spec, recorded)
    except UsageError as exc:
        raise UsageError(f"{config}: {exc}") from None
    return spec


def profile_file(name: str) -> Path:
    if name not in PROFILES:
        raise UsageError(f"unknown profile {name!r}; choose from: {', '.join(PROFILES)}")
    return PROFILE_DIR / f"{name}.toml"


def read_settings(path: Path) -> dict[str, Any]:
    """A spec file's settings, checked and in ``with_overrides`` form: protocol settings
    beside the others, seeds as a tuple, ``"all"`` strategies resolved; ``profile`` kept."""
    data = _parse(path)
    try:
        return _settings(data)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None


def _whole_spec(path: Path, settings: dict[str, Any] | None = None) -> StudySpec:
    settings = read_settings(path) if settings is None else settings
    try:
        if "profile" in settings:
            raise UsageError("a profile is a whole spec; it names no other profile")
        missing = [k for k in _REQUIRED if k not in settings]
        if missing:
            raise UsageError(f"missing {', '.join(missing)} (or name a base 'profile')")
        protocol_keys = {f.name for f in fields(ProtocolSettings)}
        protocol = {k: v for k, v in settings.items() if k in protocol_keys}
        spec = {k: v for k, v in settings.items() if k not in protocol_keys}
        spec.setdefault("strategies", _every_strategy())
        return StudySpec(protocol=ProtocolSettings(**protocol), **spec)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None


def _parse(path: Path) -> Any:
    if not path.is_file():
        raise UsageError(f"no config file at {path}")
    suffix = path.suffix.lower()
    try:
        text = path.read_text()
        if suffix == ".json":
            return json.loads(text)
        if suffix == ".toml":
            return tomllib.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path} is not valid {suffix[1:].upper()} ({exc})") from None
    raise UsageError(f"{path}: a config file is .json or .toml, not {suffix or 'no suffix'}")


def _settings(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise UsageError("a study spec is a table of settings")
    unknown = sorted(set(data) - set(SPEC_KEYS))
    if unknown:
        raise UsageError(f"unknown key(s) {', '.join(unknown)}; valid: {', '.join(SPEC_KEYS)}")
    settings: dict[str, Any] = {}
    for key in ("profile", "name", "problem", "space"):
        if key in data:
            settings[key] = _text(key, data[key])
    if "strategies" in data:
        settings["strategies"] = _strategies(data["strategies"])
    if "seeds" in data:
        settings["seeds"] = _seeds(data["seeds"])
    if "budget" in data:
        settings["budget"] = _positive_int("budget", data["budget"])
    for key in OUTPUTS:
        if key in data:
            if not isinstance(data[key], bool):
                raise UsageError(f"{key} must be true or false, not {data[key]!r}")
            settings[key] = data[key]
    settings.update(_protocol(data.get("protocol", {})))
    recorded = {k: data[k] for k in DECLARATIONS if k in data}
    if recorded:
        settings[_RECORDED] = recorded
    return settings


def _every_strategy() -> tuple[str, ...]:
    # Resolved when read, so a strategy registered later joins every profile.
    from study.strategies import STRATEGIES

    return tuple(STRATEGIES)


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise UsageError(f"{key} must be a non-empty string, not {value!r}")
    return value


def _positive_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{key} must be a positive integer, not {value!r}")
    return value


def _strategies(value: Any) -> tuple[str, ...]:
    if value == ALL_STRATEGIES:
        return _every_strategy()
    if not isinstance(value, list) or not value:
        raise UsageError(
            f"strategies must be {ALL_STRATEGIES!r} or a non-empty list of names, not {value!r}"
        )
    return tuple(_text("a strategy", v) for v in value)


def _seeds(value: Any) -> tuple[int, ...]:
    if isinstance(value, list):
        if not value or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in value):
            raise UsageError(f"seeds must be a count or a list of integers ≥ 0, not {value!r}")
        return tuple(value)
    return tuple(range(_positive_int("seeds", value)))


def _protocol(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsageError(f"protocol must be a table of settings, not {value!r}")
    valid = [f.name for f in fields(ProtocolSettings)]
    unknown = sorted(set(value) - set(valid))
    if unknown:
        raise UsageError(
            f"unknown protocol setting(s) {', '.join(unknown)}; valid: {', '.join(valid)}"
        )
    try:
        ProtocolSettings(**value)  # its own checks, with their messages
    except TypeError as exc:
        raise UsageError(f"malformed protocol settings ({exc})") from None
    return dict(value)
