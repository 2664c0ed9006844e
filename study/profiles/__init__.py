"""Named study profiles: one TOML file each in this directory, read by the same loader as
``--config`` files (study.specfile), so a profile is a spec file that ships with the package.

smoke.toml (tests), quick.toml (the default study) and full.toml (rigorous); each file's
comments explain its sizing. A new ``NAME.toml`` here is a new profile.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from study.errors import UsageError

if TYPE_CHECKING:
    from study.settings import StudySpec

PROFILE_DIR = Path(__file__).resolve().parent
PROFILES: tuple[str, ...] = tuple(sorted(p.stem for p in PROFILE_DIR.glob("*.toml")))


def profile_file(name: str) -> Path:
    if name not in PROFILES:
        raise UsageError(f"unknown profile {name!r}; choose from: {', '.join(PROFILES)}")
    return PROFILE_DIR / f"{name}.toml"


def get_profile(name: str) -> StudySpec:
    from study.specfile import resolve_spec

    return resolve_spec(profile=name)
