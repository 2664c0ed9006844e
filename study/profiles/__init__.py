"""Named study profiles: one TOML file each in this directory, read by the same loader as
``--config`` files (study.specfile), so a profile is a spec file that ships with the package.

smoke.toml (tests), quick.toml (the default study) and full.toml (rigorous); each file's
comments explain its sizing. A new ``NAME.toml`` here is a new profile.
"""

from __future__ import annotations

from study.settings import StudySpec
from study.specfile import PROFILE_DIR, PROFILES, profile_file, resolve_spec

__all__ = ["PROFILES", "PROFILE_DIR", "get_profile", "profile_file"]


def get_profile(name: str) -> StudySpec:
    return resolve_spec(profile=name)
