"""Bad input through the real CLI: one line on stderr, exit status 2, nothing on disk changed."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from filelock import FileLock

from study.cli import main
from study.errors import UsageError
from study.profiles import get_profile
from study.runner import open_study
from study.space import Float, Int

TINY = ["--profile", "smoke", "--strategies", "random_search", "--seeds", "1", "--budget", "1"]


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()} | {
        str(p.relative_to(root)) + "/": b"" for p in root.rglob("*") if p.is_dir()
    }


def refused(argv: list[str], root: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI, check it refused cleanly and left ``root`` as it was; returns the error."""
    before = snapshot(root)
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own refusals
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert snapshot(root) == before
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--profile", "nope"], "choose from: full, quick, smoke"),
        (["--strategies", "random_search,nope"], "unknown strategy 'nope'; choose from:"),
        (["--space", "nope"], "unknown space 'nope'"),
        (
            ["--problem", "nope"],
            "unknown problem 'nope'; choose from: branin, breast_cancer_auc_mlp",
        ),
        (["--budget", "0"], "'0' is not a positive integer"),
        (["--budget", "two"], "'two' is not an integer"),
        (["--seeds", "-1"], "'-1' is not a positive integer"),
        (["--seeds", "1.5"], "'1.5' is not an integer"),
        (["--workers", "-2"], "'-2' is not an integer ≥ 0"),
        (["--retries", "x"], "'x' is not an integer"),
        (["--dask", "somewhere"], "--dask takes 'local' or a scheduler address"),
    ],
)
def test_bad_run_arguments(
    args: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", *TINY, "--results", str(tmp_path / "results"), *args]
    if args[0] == "--profile":
        argv = ["run", "--results", str(tmp_path / "results"), *args]
    assert expected in refused(argv, tmp_path, capsys)
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("spec.json", '{"profile": "smoke", "budget": ', "is not valid JSON"),
        ("spec.toml", 'profile = "smoke"\nbudget = [', "is not valid TOML"),
        ("spec.yaml", "profile: smoke", "a config file is .json or .toml"),
        ("spec.json", "[1, 2]", "a study spec is a table of settings"),
        ("spec.json", '{"profile": "smoke", "budjet": 3}', "unknown key(s) budjet; valid:"),
        ("spec.json", '{"profile": "smoke", "budget": "3"}', "budget must be a positive integer"),
        ("spec.json", '{"profile": "smoke", "budget": 0}', "budget must be a positive integer"),
        ("spec.toml", 'profile = "smoke"\nseeds = [0, -1]', "seeds must be a count or a list"),
        ("spec.toml", 'profile = "smoke"\nseeds = 0', "seeds must be a positive integer"),
        ("spec.toml", 'profile = "nope"', "unknown profile 'nope'"),
        ("spec.toml", 'profile = "smoke"\nstrategies = ["nope"]', "unknown strategy 'nope'"),
        ("spec.toml", 'profile = "smoke"\n[protocol]\nepochs = 3', "unknown protocol setting"),
        (
            "spec.toml",
            'profile = "smoke"\n[protocol]\nholdout_fraction = 1.5',
            "holdout_fraction must be between 0 and 1",
        ),
        (
            "spec.toml",
            'profile = "smoke"\n[protocol]\nholdout_fraction = "a"',
            "malformed protocol settings",
        ),
        ("spec.json", '{"name": "x", "problem": "california_mlp"}', "missing space, seeds, budget"),
    ],
)
def test_bad_config_files(
    name: str, content: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / name
    config.write_text(content)
    argv = ["run", "--config", str(config), "--results", str(tmp_path / "results")]
    assert expected in refused(argv, tmp_path, capsys)


def test_missing_config_and_config_with_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = ["--results", str(tmp_path / "results")]
    assert "no config file" in refused(
        ["run", "--config", str(tmp_path / "no.toml"), *results], tmp_path, capsys
    )
    (tmp_path / "ok.toml").write_text('profile = "smoke"\n')
    both = ["run", "--config", str(tmp_path / "ok.toml"), "--profile", "smoke", *results]
    assert "not both" in refused(both, tmp_path, capsys)


def test_results_of_another_spec_are_refused_before_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = get_profile("smoke").with_overrides(strategies=("random_search",), budget=2)
    open_study(tmp_path, spec)
    argv = ["run", *TINY, "--study", spec.name, "--results", str(tmp_path)]
    assert "different spec" in refused(argv, tmp_path, capsys)
    assert "--study NEW_NAME" in refused(argv, tmp_path, capsys)


def test_unreadable_spec_file_in_results_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "smoke").mkdir()
    (tmp_path / "smoke" / "spec.json").write_text('{"name": "smo')
    argv = ["run", *TINY, "--results", str(tmp_path)]
    assert "unreadable" in refused(argv, tmp_path, capsys)


def test_a_second_run_on_a_locked_study_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = get_profile("smoke").with_overrides(strategies=("random_search",), budget=1)
    store = open_study(tmp_path, spec)
    with FileLock(store.lock_path, timeout=0):
        argv = ["run", *TINY, "--results", str(tmp_path)]
        assert "in use by another run of this study" in refused(argv, tmp_path, capsys)


def _tgz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_bad_data_archives(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "data-home"
    home.mkdir()
    missing = tmp_path / "missing.tgz"
    truncated = tmp_path / "truncated.tgz"
    real = Path(os.environ["TUNEBENCH_ARCHIVE"]).read_bytes()
    truncated.write_bytes(real[: len(real) // 2])
    other = tmp_path / "other.tgz"
    other.write_bytes(_tgz({"CaliforniaHousing/cal_housing.data": b"1,2,3,4,5,6,7,8,9\n" * 9}))
    empty = tmp_path / "empty.tgz"
    empty.write_bytes(gzip.compress(b""))
    expected = {
        missing: "no archive at",
        truncated: "cannot be read as the housing archive",
        other: "not scikit-learn's cal_housing.tgz",
        empty: "cannot be read as the housing archive",
    }
    for archive, message in expected.items():
        argv = ["data", "import", str(archive), "--data-home", str(home)]
        assert message in refused(argv, tmp_path, capsys)


@pytest.mark.parametrize("param", [lambda: Int("n", 5, 1), lambda: Float("lr", 0.1, 0.1)])
def test_empty_or_inverted_ranges_are_usage_errors(param: object) -> None:
    with pytest.raises(UsageError, match="empty range"):
        param()  # type: ignore[operator]


def test_valid_config_file_is_accepted(tmp_path: Path) -> None:
    from study.specfile import resolve_spec

    config = tmp_path / "spec.toml"
    config.write_text(
        'profile = "smoke"\nname = "mine"\nstrategies = ["random_search"]\nseeds = [3, 5]\n'
        "budget = 3\n[protocol]\nmax_epochs = 6\n"
    )
    spec = resolve_spec(config=config)
    assert (spec.name, spec.strategies, spec.seeds, spec.budget) == (
        "mine",
        ("random_search",),
        (3, 5),
        3,
    )
    assert spec.protocol.max_epochs == 6
    assert spec.protocol.max_rows == get_profile("smoke").protocol.max_rows
    whole = tmp_path / "whole.json"
    whole.write_text(json.dumps(spec.to_dict()))
    assert resolve_spec(config=whole) == spec
