"""Profiles are TOML files read by the spec-file loader; file and command line merge once."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from study.cli import build_parser, spec_from_args
from study.errors import UsageError
from study.profiles import PROFILE_DIR, PROFILES, get_profile
from study.settings import ProtocolSettings, StudySpec
from study.specfile import resolve_spec
from study.strategies import STRATEGIES

ROOT = Path(__file__).resolve().parent.parent


def _spec_as_built_in_code(name: str) -> StudySpec:
    """The profiles as the constructors in study/profiles.py built them before they became
    data: a profile file must give exactly the same spec (and so the same fingerprint).
    Since then quick has taken coarse width buckets, on purpose (see quick.toml)."""
    every = tuple(STRATEGIES)
    common = {"problem": "california_mlp", "space": "lab", "strategies": every}
    return {
        "smoke": StudySpec(
            name="smoke",
            seeds=(0, 1),
            budget=3,
            protocol=ProtocolSettings(
                validation="holdout", max_epochs=3, patience=2, max_rows=2000
            ),
            **common,
        ),
        "quick": StudySpec(
            name="quick",
            seeds=tuple(range(20)),
            budget=12,
            protocol=ProtocolSettings(
                validation="holdout", max_epochs=20, patience=4, width_buckets=(48, 96, 128)
            ),
            **common,
        ),
        "full": StudySpec(
            name="full",
            seeds=tuple(range(20)),
            budget=50,
            protocol=ProtocolSettings(validation="kfold", folds=3, max_epochs=100, patience=10),
            save_models=True,
            **common,
        ),
    }[name]


@pytest.mark.parametrize("name", ["smoke", "quick", "full"])
def test_profile_files_give_the_specs_the_code_built(name: str) -> None:
    spec = get_profile(name)
    assert spec == _spec_as_built_in_code(name)
    assert spec.fingerprint() == _spec_as_built_in_code(name).fingerprint()


def test_profiles_are_the_toml_files_shipped_as_package_data() -> None:
    assert PROFILES == ("full", "quick", "smoke")
    assert sorted(p.name for p in PROFILE_DIR.glob("*.toml")) == [f"{n}.toml" for n in PROFILES]
    # A non-editable install (tox) copies only what package-data names.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["tool"]["setuptools"]["package-data"]["study.profiles"] == ["*.toml"]


def test_unknown_profile_lists_the_profiles() -> None:
    with pytest.raises(
        UsageError, match=r"unknown profile 'nope'; choose from: full, quick, smoke"
    ):
        get_profile("nope")


def test_a_profile_names_no_other_profile(tmp_path: Path) -> None:
    chained = tmp_path / "chained.toml"
    chained.write_text('profile = "smoke"\n')
    from study.specfile import _whole_spec

    with pytest.raises(UsageError, match="names no other profile"):
        _whole_spec(chained)


def test_all_or_omitted_strategies_mean_every_registered_strategy(tmp_path: Path) -> None:
    whole = 'name = "b"\nproblem = "branin"\nspace = "branin"\nseeds = 2\nbudget = 4\n'
    omitted, named_all = tmp_path / "omitted.toml", tmp_path / "all.toml"
    omitted.write_text(whole)
    named_all.write_text(whole + 'strategies = "all"\n')
    assert resolve_spec(config=omitted).strategies == tuple(STRATEGIES)
    assert resolve_spec(config=named_all).strategies == tuple(STRATEGIES)
    over_profile = tmp_path / "over.toml"
    over_profile.write_text('profile = "smoke"\nstrategies = "all"\n')
    assert resolve_spec(config=over_profile) == get_profile("smoke")


def test_file_values_and_command_line_options_merge_once(tmp_path: Path) -> None:
    config = tmp_path / "spec.toml"
    config.write_text(
        'profile = "smoke"\nname = "mine"\nbudget = 5\nproblem = "branin"\n'
        "[protocol]\nmax_epochs = 6\npatience = 3\n"
    )
    args = ["run", "--config", str(config), "--budget", "7", "--max-epochs", "9"]
    spec = spec_from_args(build_parser().parse_args(args))
    smoke = get_profile("smoke")
    # The command line wins over the file, the file over the profile, key by key.
    assert (spec.name, spec.budget, spec.protocol.max_epochs) == ("mine", 7, 9)
    assert spec.protocol.patience == 3
    assert spec.protocol.max_rows == smoke.protocol.max_rows
    assert (spec.strategies, spec.seeds) == (smoke.strategies, smoke.seeds)
    # Another problem brings its own space, from a file as from the command line.
    assert (spec.problem, spec.space) == ("branin", "branin")
    named = spec_from_args(build_parser().parse_args([*args, "--space", "lab"]))
    assert named.space == "lab"


def test_overrides_name_known_settings_only() -> None:
    with pytest.raises(UsageError, match="unknown setting"):
        get_profile("smoke").with_overrides(epochs=3)
