"""``python -m study run --until-decided``: one study grows by batches of seeds until decided."""

from __future__ import annotations

from pathlib import Path

import pytest

from study.cli import main
from study.store import StudyStore

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


def _cells(store: StudyStore) -> set[tuple[str, int]]:
    records, skipped = store.records()
    assert not skipped
    return {r.cell for r in records}


def test_a_study_grows_by_batches_and_keeps_its_cells(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*BRANIN, "--results", str(tmp_path), "--strategies", "random_search,optuna_tpe"]
    assert (
        main([*args, "--seeds", "3", "--until-decided", "--max-seeds", "7", "--seed-batch", "2"])
        == 0
    )
    store = StudyStore(tmp_path / "grow")
    log = store.read_log()
    assert log is not None
    looked_at = [look["seeds"] for look in log["history"]]
    # Looks at 3, 5, 7 seeds unless everything was decided earlier; every look printed.
    assert looked_at == [3, 5, 7][: len(looked_at)]
    assert log["looks"] == 3 and log["control"] == "random_search" and log["rope"] == 0.1
    out = capsys.readouterr().out
    for n in looked_at:
        assert f"{n} seeds: " in out and "optuna_tpe: " in out
    last = looked_at[-1]
    assert _cells(store) == {(s, k) for s in ("random_search", "optuna_tpe") for k in range(last)}
    spec = store.read_spec()
    assert spec is not None and spec.seeds == tuple(range(last))
    # Running it again finds every cell recorded and trains nothing new.
    before = {p: p.stat().st_mtime_ns for p in store.record_paths()}
    assert (
        main([*args, "--seeds", "3", "--until-decided", "--max-seeds", "7", "--seed-batch", "2"])
        == 0
    )
    assert {p: p.stat().st_mtime_ns for p in store.record_paths()} == before
    # Another ROPE or control would judge the same looks differently: refused, nothing written.
    capsys.readouterr()
    assert main([*args, "--until-decided", "--max-seeds", "9", "--rope", "0.5"]) == 2
    assert main([*args, "--until-decided", "--max-seeds", "9", "--control", "optuna_tpe"]) == 2
    assert main([*args, "--until-decided", "--control", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)
    assert {p: p.stat().st_mtime_ns for p in store.record_paths()} == before
    # The analysis judges the grown study by the same plan, and refuses what it cannot use.
    from analysis.cli import main as analysis_main

    assert analysis_main(["resolution", str(store), "--seeds", "10"]) == 0
    out = capsys.readouterr().out
    assert "that 10 paired seeds decide as 'better'" in out and "optuna_tpe: " in out
    assert analysis_main(["tables", str(store), "--control", "nope"]) == 2
    for bad in (
        ["tables", str(store), "--rope", "-1"],
        ["resolution", str(store), "--seeds", "1"],
    ):
        with pytest.raises(SystemExit) as exited:  # argparse's own exit
            analysis_main(bad)
        assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)
