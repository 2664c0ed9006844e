"""The record format: typed round trip, older versions read, newer ones refused by name."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from study.records import (
    SCHEMA_VERSION,
    CellRecord,
    CorruptRecord,
    UnsupportedRecordVersion,
    parse_record,
    record_text,
)
from study.store import StudyStore
from tests.fakes import toy_record

# Written by the record writer of commit 845ac58 (schema version 1): a branin cell, whose
# spec predates the training engine and whose times predate compile times.
VERSION_1 = Path(__file__).parent / "data" / "record-v1-845ac58.json"


def test_a_record_survives_its_json_form() -> None:
    record = toy_record("a", 3, [2.0, 1.0, 1.5])
    again = CellRecord.from_json(json.loads(record_text(record)))
    assert again == record
    assert again.to_json() == record.to_json()
    assert again.to_json()["schema_version"] == SCHEMA_VERSION
    assert again.evaluations[1].epoch_scores == [2.0, 1.0]


def test_non_finite_numbers_are_null_in_json_and_nan_when_read() -> None:
    record = toy_record("a", 0, [1.0])
    diverged = replace(record.evaluations[0], score=math.inf, metrics={"rmse": math.nan})
    record = replace(record, evaluations=[diverged])
    data = json.loads(record_text(record))  # strict JSON: no NaN or Infinity tokens
    assert data["evaluations"][0]["score"] is None
    assert data["evaluations"][0]["metrics"] == {"rmse": None}
    read = CellRecord.from_json(data).evaluations[0]
    assert math.isnan(read.score) and math.isnan(read.metrics["rmse"])


def test_evaluations_without_epoch_scores_read_as_empty_curves() -> None:
    data = toy_record("a", 0, [1.0]).to_json()
    del data["evaluations"][0]["epoch_scores"]  # as a ledger that records no curve writes it
    assert CellRecord.from_json(_with_checksum(data)).evaluations[0].epoch_scores == []


def test_a_version_1_record_from_845ac58_loads_with_defaults() -> None:
    record = parse_record(VERSION_1.read_text())
    assert record.cell == ("random_search", 0)
    assert record.spec.protocol.engine == "keras"  # trained with Keras' own loop then
    assert record.spec.problem == "branin" and record.spec.budget == 3
    assert len(record.evaluations) == 3
    assert all(e.compile_seconds == 0.0 and e.epoch_scores == [] for e in record.evaluations)
    assert record.test.compile_seconds == 0.0 and record.timings.compile_seconds == 0.0
    assert record.test.status == "ok" and math.isfinite(record.test_score())
    assert record.budget.spent_epochs == 9 and record.budget.spent_cost == 3.0
    assert record.incumbent is not None
    assert record.validation() == min(e.metrics["value"] for e in record.evaluations)
    # Written again, it is a current record with the same content.
    again = parse_record(record_text(record))
    assert again.to_json()["schema_version"] == SCHEMA_VERSION
    assert again.evaluations == record.evaluations


def test_a_version_1_record_is_analysed_beside_current_ones(tmp_path: Path) -> None:
    from analysis.load import load_study
    from analysis.tables import cells_table

    store = StudyStore(tmp_path / "old")
    store.cells_dir.mkdir(parents=True)
    store.cell_path("random_search", 0).write_text(VERSION_1.read_text())
    study = load_study(store.directory)
    assert study.spec.name == "old" and study.strategies == ["random_search"]
    cells = cells_table(study)
    assert cells.loc[0, "test_value"] == parse_record(VERSION_1.read_text()).test_score()


def test_an_unknown_version_is_refused_naming_it(tmp_path: Path) -> None:
    data = json.loads(VERSION_1.read_text())
    data["schema_version"] = 99
    with pytest.raises(UnsupportedRecordVersion, match="version 99 is not readable") as caught:
        CellRecord.from_json(data)
    assert "\n" not in str(caught.value)
    store = StudyStore(tmp_path)
    path = store.cell_path("random_search", 0)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data))
    with pytest.raises(UnsupportedRecordVersion, match=r"random_search-seed0\.json: .*version 99"):
        store.load_cell("random_search", 0)
    assert path.exists()  # a newer record is never moved aside as corrupt


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("budget"), "has no 'budget'"),
        (lambda d: d["evaluations"][0].pop("status"), r"record.evaluations\[0\] has no 'status'"),
        (lambda d: d.update(evaluations={}), "evaluations is not a list"),
        (lambda d: d.update(seed="three"), "malformed field"),
        (lambda d: d["spec"].pop("problem"), "malformed study spec"),
    ],
)
def test_an_incomplete_record_is_corrupt_and_says_what_is_missing(edit, message: str) -> None:  # type: ignore[no-untyped-def]
    data = toy_record("a", 0, [1.0, 2.0]).to_json()
    edit(data)
    with pytest.raises(CorruptRecord, match=message):
        CellRecord.from_json(_with_checksum(data))


def test_an_edited_record_fails_its_checksum() -> None:
    data = toy_record("a", 0, [1.0]).to_json()
    data["test"]["metrics"]["rmse"] = 0.0
    with pytest.raises(CorruptRecord, match="checksum mismatch"):
        CellRecord.from_json(data)
    with pytest.raises(CorruptRecord, match="not readable JSON"):
        parse_record(record_text(toy_record("a", 0, [1.0]))[:-40])


def _with_checksum(data: dict) -> dict:
    """``data`` with a checksum that matches it, as a writer of it would have made."""
    from study.records import _checksum

    body = {k: v for k, v in data.items() if k != "checksum"}
    return body | {"checksum": _checksum(body)}
