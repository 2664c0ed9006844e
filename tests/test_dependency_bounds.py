"""The oldest-versions environment installs exactly the lower bounds pyproject.toml declares.

``tox -e tests-oldest`` pins every dependency to ``.ci/oldest-constraints.txt``; if a bound
moved, or a dependency was added, without that file following, CI would test versions the
project no longer allows, or leave a new lower bound untested.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / ".ci" / "oldest-constraints.txt"


def declared_lower_bounds() -> dict[str, Version]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {}).values()
    requirements = [*project["dependencies"], *(text for extra in extras for text in extra)]
    bounds: dict[str, Version] = {}
    for text in requirements:
        requirement = Requirement(text)
        lows = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "==")]
        assert len(lows) == 1, f"{text!r} needs exactly one lower bound (>= or ==)"
        name = canonicalize_name(requirement.name)
        assert bounds.setdefault(name, lows[0]) == lows[0], f"two lower bounds for {name}"
    return bounds


def pinned_versions() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in CONSTRAINTS.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        requirement = Requirement(text)
        (pin,) = requirement.specifier
        assert pin.operator == "==", f"{text!r}: a constraint pins one version"
        pins[canonicalize_name(requirement.name)] = Version(pin.version)
    return pins


def test_oldest_constraints_pin_every_lower_bound_and_nothing_else() -> None:
    # Versions compare as versions: a bound of 2.18 is the pin 2.18.0.
    assert pinned_versions() == declared_lower_bounds()
