"""``python -m study run --until-decided``: one study grows by batches of seeds until decided."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from study.cli import main

BRANIN = [
    "run",
    "--profile",
    "smoke",
    "--problem",
    "branin",
    "--budget",
    "6",
    "--max-epochs",
    "3",
    "--workers",
    "0",
    "--quiet",
    "--study",
    "grow",
]


def _cells(directory: Path) -> set[str]:
    return {p.name for p in (directory / "cells").glob("*.json")}


def test_a_study_grows_by_batches_and_keeps_its_cells(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*BRANIN, "--results", str(tmp_path), "--strategies", "random_search,optuna_tpe"]
    assert (
        main([*args, "--seeds", "3", "--until-decided", "--max-seeds", "7", "--seed-batch", "2"])
        == 0
    )
    directory = tmp_path / "grow"
    log = json.loads((directory / "sequential.json").read_text())
    looked_at = [look["seeds"] for look in log["history"]]
    # Looks at 3, 5, 7 seeds unless everything was decided earlier; every look printed.
    assert looked_at == [3, 5, 7][: len(looked_at)]
    assert log["looks"] == 3 and log["control"] == "random_search" and log["rope"] == 0.1
    out = capsys.readouterr().out
    for n in looked_at:
        assert f"{n} seeds: " in out and "optuna_tpe: " in out
    last = looked_at[-1]
    assert _cells(directory) == {
        f"{s}-seed{k}.json" for s in ("random_search", "optuna_tpe") for k in range(last)
    }
    spec = json.loads((directory / "spec.json").read_text())
    assert spec["seeds"] == list(range(last))
    # Running it again finds every cell recorded and trains nothing new.
    before = {p: p.stat().st_mtime_ns for p in (directory / "cells").glob("*.json")}
    assert (
        main([*args, "--seeds", "3", "--until-decided", "--max-seeds", "7", "--seed-batch", "2"])
        == 0
    )
    assert {p: p.stat().st_mtime_ns for p in (directory / "cells").glob("*.json")} == before
    # Another ROPE or control would judge the same looks differently: refused, nothing written.
    capsys.readouterr()
    assert main([*args, "--until-decided", "--max-seeds", "9", "--rope", "0.5"]) == 2
    assert main([*args, "--until-decided", "--max-seeds", "9", "--control", "optuna_tpe"]) == 2
    assert main([*args, "--until-decided", "--control", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)
    assert {p: p.stat().st_mtime_ns for p in (directory / "cells").glob("*.json")} == before
    # The analysis judges the grown study by the same plan, and refuses what it cannot use.
    from analysis.cli import main as analysis_main

    assert analysis_main(["resolution", str(directory), "--seeds", "10"]) == 0
    out = capsys.readouterr().out
    assert "that 10 paired seeds decide as 'better'" in out and "optuna_tpe: " in out
    assert analysis_main(["tables", str(directory), "--control", "nope"]) == 2
    for bad in (
        ["tables", str(directory), "--rope", "-1"],
        ["resolution", str(directory), "--seeds", "1"],
    ):
        with pytest.raises(SystemExit) as exited:  # argparse's own exit
            analysis_main(bad)
        assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)
