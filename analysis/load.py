"""Reading a study: its spec and one record per finished cell, through the study store.

Only the record format (``study.records``) is relied on. Unreadable or corrupt cell files
are reported and skipped, so that one bad file never hides the rest of a study.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

from study.errors import UsageError
from study.records import CellRecord
from study.settings import StudySpec
from study.store import StudyStore


class SkippedRecordWarning(UserWarning):
    """A cell file that could not be analysed (unreadable, truncated, edited, too new)."""


@dataclass(frozen=True)
class Study:
    """Everything analysis knows about a study: its spec and its valid cell records."""

    directory: Path
    spec: StudySpec
    records: list[CellRecord]
    skipped: list[str] = field(default_factory=list)

    @property
    def store(self) -> StudyStore:
        return StudyStore(self.directory)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def objective_metric(self) -> str:
        return self.records[0].objective_metric

    @property
    def metric_directions(self) -> dict[str, str]:
        return dict(self.records[0].metric_directions)

    @property
    def strategies(self) -> list[str]:
        """Strategies in the spec's order, then any recorded strategy the spec does not list."""
        recorded = {r.strategy for r in self.records}
        listed = [s for s in self.spec.strategies if s in recorded]
        return listed + sorted(recorded - set(listed))

    @property
    def seeds(self) -> list[int]:
        return sorted({r.seed for r in self.records})

    @property
    def budget(self) -> float:
        """Full-fidelity evaluations per cell."""
        return float(self.records[0].budget.evaluations)


def load_study(directory: Path | str) -> Study:
    """Load ``results/<study>``; raises ``UsageError`` when there is nothing to analyse."""
    store = StudyStore(directory)
    if not store.directory.is_dir():
        raise UsageError(f"{store.directory} is not a study directory")
    spec: StudySpec | None = None
    try:
        spec = store.read_spec()
    except UsageError as exc:
        warnings.warn(f"{exc}; using the cells' own spec", SkippedRecordWarning, stacklevel=2)
    records, skipped = store.records()
    for reason in skipped:
        warnings.warn(f"skipping {reason}", SkippedRecordWarning, stacklevel=2)
    if not records:
        found = f"{len(skipped)} unreadable" if skipped else "no"
        raise UsageError(f"{store.directory} has {found} cell records; nothing to analyse")
    _check_comparable(store.directory, records)
    return Study(
        directory=store.directory,
        spec=spec if spec is not None else records[0].spec,
        records=records,
        skipped=skipped,
    )


def _check_comparable(directory: Path, records: list[CellRecord]) -> None:
    """Cells of one study share the objective; mixing them would compare unlike numbers."""
    first = records[0]
    for record in records[1:]:
        for what, mine, theirs in (
            ("objective_metric", record.objective_metric, first.objective_metric),
            ("metric_directions", record.metric_directions, first.metric_directions),
        ):
            if mine != theirs:
                raise UsageError(
                    f"{directory}: cells disagree on {what} ({first.strategy}-seed"
                    f"{first.seed} vs {record.strategy}-seed{record.seed})"
                )
