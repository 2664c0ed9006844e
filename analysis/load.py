"""Reading a study's records: spec.json and one JSON file per finished cell.

Only the record format is relied on. Unreadable or corrupt cell files are reported and
skipped, so that one bad file never hides the rest of a study.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from study.errors import UsageError
from study.records import CorruptRecord, read_record

SPEC_FILE = "spec.json"
CELLS_DIR = "cells"


class SkippedRecordWarning(UserWarning):
    """A cell file that could not be analysed (unreadable, truncated, edited)."""


@dataclass(frozen=True)
class Study:
    """Everything analysis knows about a study: its spec and its valid cell records."""

    directory: Path
    spec: dict[str, Any]
    records: list[dict[str, Any]]
    skipped: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.spec.get("name", self.directory.name))

    @property
    def objective_metric(self) -> str:
        return str(self.records[0]["objective_metric"])

    @property
    def metric_directions(self) -> dict[str, str]:
        return dict(self.records[0]["metric_directions"])

    @property
    def strategies(self) -> list[str]:
        """Strategies in the spec's order, then any recorded strategy the spec does not list."""
        recorded = {r["strategy"] for r in self.records}
        listed = [s for s in self.spec.get("strategies", []) if s in recorded]
        return listed + sorted(recorded - set(listed))

    @property
    def seeds(self) -> list[int]:
        return sorted({int(r["seed"]) for r in self.records})

    @property
    def budget(self) -> float:
        """Full-fidelity evaluations per cell."""
        return float(self.records[0]["budget"]["evaluations"])


def load_study(directory: Path | str) -> Study:
    """Load ``results/<study>``; raises ``UsageError`` when there is nothing to analyse."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a study directory")
    spec_path = directory / SPEC_FILE
    spec: dict[str, Any] = {}
    if spec_path.exists():
        try:
            spec = json.loads(spec_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            warnings.warn(
                f"{spec_path} is unreadable ({exc}); using the cells' own spec",
                SkippedRecordWarning,
                stacklevel=2,
            )
    paths = sorted((directory / CELLS_DIR).glob("*.json"))
    records: list[dict[str, Any]] = []
    skipped: list[str] = []
    for path in paths:
        try:
            record = read_record(path)
            _check_fields(path, record)
        except CorruptRecord as exc:
            skipped.append(str(exc))
            warnings.warn(f"skipping {exc}", SkippedRecordWarning, stacklevel=2)
            continue
        records.append(record)
    if not records:
        found = f"{len(paths)} unreadable" if paths else "no"
        raise UsageError(
            f"{directory} has {found} cell records in {CELLS_DIR}/; nothing to analyse"
        )
    if not spec:
        spec = dict(records[0]["spec"])
    _check_comparable(directory, records)
    return Study(directory=directory, spec=spec, records=records, skipped=skipped)


def _check_fields(path: Path, record: dict[str, Any]) -> None:
    for key in ("objective_metric", "metric_directions"):
        if key not in record:
            raise CorruptRecord(f"{path.name}: missing {key}")
    if not isinstance(record["evaluations"], list):
        raise CorruptRecord(f"{path.name}: evaluations is not a list")


def _check_comparable(directory: Path, records: list[dict[str, Any]]) -> None:
    """Cells of one study share the objective; mixing them would compare unlike numbers."""
    first = records[0]
    for record in records[1:]:
        for key in ("objective_metric", "metric_directions"):
            if record[key] != first[key]:
                raise UsageError(
                    f"{directory}: cells disagree on {key} "
                    f"({first['strategy']}-seed{first['seed']} vs "
                    f"{record['strategy']}-seed{record['seed']})"
                )
