"""The study store: the layout of a study, its lock, and corrupt records moved aside."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from study.errors import UsageError
from study.records import CorruptRecordWarning, reproducible_part
from study.runner import open_study, pending_cells, run_study
from study.settings import ProtocolSettings, StudySpec
from study.store import StudyStore
from tests.fakes import toy_record

BRANIN = StudySpec(
    name="stored",
    problem="branin",
    space="branin",
    strategies=("random_search", "optuna_tpe"),
    seeds=(0,),
    budget=3,
    protocol=ProtocolSettings(max_epochs=3, patience=2),
)


def test_a_written_cell_reads_back_and_its_model_goes_beside_it(tmp_path: Path) -> None:
    store = StudyStore(tmp_path)
    record = toy_record("a", 1, [1.0, 2.0])
    store.write_cell(record, model=b"model bytes")
    assert store.load_cell("a", 1) == record
    assert store.model_path("a", 1).read_bytes() == b"model bytes"
    assert store.model_path("a", 1).parent == store.cell_path("a", 1).parent
    assert store.records() == ([record], [])
    assert store.load_cell("a", 2) is None
    assert not list(tmp_path.rglob("*.tmp"))  # written atomically, nothing left over


def test_a_corrupt_record_is_moved_aside_and_only_its_cell_reruns(tmp_path: Path) -> None:
    store = StudyStore(run_study(BRANIN, tmp_path).directory)
    broken = store.cell_path("optuna_tpe", 0)
    intact = store.cell_path("random_search", 0)
    intact_bytes = intact.read_bytes()
    before = reproducible_part(store.read(broken))
    broken.write_bytes(broken.read_bytes()[:-100])  # truncated mid-write, say
    # Reading all records (the analysis) skips it and moves nothing.
    records, skipped = store.records()
    assert [r.cell for r in records] == [("random_search", 0)]
    assert len(skipped) == 1 and skipped[0].startswith("optuna_tpe-seed0.json: ")
    assert broken.exists()
    # The runner moves it aside, with a warning, and runs that cell again.
    with pytest.warns(CorruptRecordWarning, match="optuna_tpe-seed0.json: not readable JSON"):
        assert pending_cells(store, BRANIN) == [("optuna_tpe", 0)]
    assert not broken.exists()
    assert len(list(store.cells_dir.glob("optuna_tpe-seed0.json.corrupt-*"))) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the intact record reads without a warning
        assert run_study(BRANIN, tmp_path).finished == [("optuna_tpe", 0)]
    assert intact.read_bytes() == intact_bytes
    assert reproducible_part(store.read(broken)) == before


def test_a_locked_study_is_refused_and_released_after(tmp_path: Path) -> None:
    store = open_study(tmp_path, BRANIN)
    with (
        store.locked(),
        pytest.raises(UsageError, match="in use by another run"),
        StudyStore.of(tmp_path, BRANIN).locked(),
    ):
        pass
    with store.locked():
        assert store.lock_path.exists()


def test_the_spec_and_the_sequential_log_round_trip(tmp_path: Path) -> None:
    store = StudyStore.of(tmp_path, BRANIN)
    assert store.read_spec() is None and store.read_log() is None
    store.create(BRANIN)
    assert store.read_spec() == BRANIN and store.cells_dir.is_dir()
    store.write_log({"looks": 2, "history": []})
    assert store.read_log() == {"looks": 2, "history": []}
    store.spec_path.write_text('{"name": "stor')
    with pytest.raises(UsageError, match="unreadable"):
        store.read_spec()
