"""Study specs from files (``--config FILE``, JSON or TOML), validated before any work.

A file either names a ``profile`` and overrides some of its settings, or declares a whole
spec. Example (TOML)::

    profile = "smoke"
    name = "smoke-adam"
    strategies = ["random_search", "skopt_bayes"]
    seeds = 3            # or a list: [0, 1, 2]
    budget = 6
    save_models = true   # each cell's retrained incumbent as a .keras file
    tensorboard = false  # one TensorBoard HParams run per evaluation

    [protocol]
    max_epochs = 8
"""

from __future__ import annotations

import json
import tomllib
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
_REQUIRED = ("name", "problem", "space", "strategies", "seeds", "budget")


def load_spec_file(path: Path) -> StudySpec:
    if not path.is_file():
        raise UsageError(f"no config file at {path}")
    suffix = path.suffix.lower()
    try:
        text = path.read_text()
        if suffix == ".json":
            data = json.loads(text)
        elif suffix == ".toml":
            data = tomllib.loads(text)
        else:
            raise UsageError(
                f"{path}: a config file is .json or .toml, not {suffix or 'no suffix'}"
            )
    except (UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path} is not valid {suffix[1:].upper()} ({exc})") from None
    try:
        return spec_from_mapping(data)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None


def spec_from_mapping(data: Any) -> StudySpec:
    if not isinstance(data, dict):
        raise UsageError("a study spec is a table of settings")
    unknown = sorted(set(data) - set(SPEC_KEYS))
    if unknown:
        raise UsageError(f"unknown key(s) {', '.join(unknown)}; valid: {', '.join(SPEC_KEYS)}")
    changes: dict[str, Any] = {}
    for key in ("name", "problem", "space"):
        if key in data:
            changes[key] = _text(key, data[key])
    if "strategies" in data:
        changes["strategies"] = _strategies(data["strategies"])
    if "seeds" in data:
        changes["seeds"] = _seeds(data["seeds"])
    if "budget" in data:
        changes["budget"] = _positive_int("budget", data["budget"])
    for key in OUTPUTS:
        if key in data:
            if not isinstance(data[key], bool):
                raise UsageError(f"{key} must be true or false, not {data[key]!r}")
            changes[key] = data[key]
    protocol = _protocol(data.get("protocol", {}))

    if "profile" in data:
        from study.profiles import get_profile

        spec = get_profile(_text("profile", data["profile"])).with_overrides(**changes, **protocol)
    else:
        missing = [k for k in _REQUIRED if k not in data]
        if missing:
            raise UsageError(f"missing {', '.join(missing)} (or name a base 'profile')")
        try:
            spec = StudySpec(protocol=ProtocolSettings(**protocol), **changes)
        except TypeError as exc:
            raise UsageError(f"malformed study spec ({exc})") from None
    refuse_changed_declarations(spec, {k: data[k] for k in DECLARATIONS if k in data})
    return spec


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise UsageError(f"{key} must be a non-empty string, not {value!r}")
    return value


def _positive_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{key} must be a positive integer, not {value!r}")
    return value


def _strategies(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise UsageError(f"strategies must be a non-empty list of names, not {value!r}")
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
