"""The study store: the one owner of a study directory's layout.

::

    results/<study>/
        spec.json                   the study's spec (strategies and seeds grow)
        .lock                       flock held by the run writing into the study
        cells/<strategy>-seed<k>.json        one record per finished cell
        cells/<strategy>-seed<k>.keras       its retrained incumbent (--save-models)
        cells/<...>.json.corrupt-<ns>        a corrupt record, moved aside
        tensorboard/                TensorBoard HParams runs (--tensorboard)
        sequential.json             the plan and looks of --until-decided
        tables/ figures/ report.md report.html      what the analysis writes

Nothing else knows a path inside a study. Every file is written atomically (a temporary
file in the same directory, then a rename), so a reader never sees half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from study.errors import UsageError
from study.records import (
    CellRecord,
    CorruptRecord,
    CorruptRecordWarning,
    ModelArtifact,
    parse_record,
    record_text,
)
from study.settings import StudySpec

SPEC_FILE = "spec.json"
CELLS_DIR = "cells"
LOCK_FILE = ".lock"
TENSORBOARD_DIR = "tensorboard"
SEQUENTIAL_LOG = "sequential.json"
TABLES_DIR = "tables"
FIGURES_DIR = "figures"  # also the report's relative link to its figures
REPORT_STEM = "report"
RECORD_SUFFIX = ".json"
MODEL_SUFFIX = ".keras"


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same directory and rename: readers never see half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    text = json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n"
    write_bytes_atomic(path, text.encode())


def cell_stem(strategy: str, seed: int) -> str:
    return f"{strategy}-seed{seed}"


def model_filename(strategy: str, seed: int) -> str:
    """The saved model's file name, beside its record (a worker names it in the record)."""
    return cell_stem(strategy, seed) + MODEL_SUFFIX


def _below(name: str) -> property:
    """A store path: ``name`` inside the study's directory."""

    def path(store: StudyStore) -> Path:
        return store.directory / name

    return property(path, doc=f"``<study>/{name}``")


class StudyStore:
    """One study directory: its spec, records, lock, models, TensorBoard runs and log."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    @classmethod
    def of(cls, results_root: Path, spec: StudySpec) -> StudyStore:
        """Where ``spec``'s study lives under ``results_root``."""
        return cls(Path(results_root) / spec.name)

    def __repr__(self) -> str:
        return f"StudyStore({str(self.directory)!r})"

    def __str__(self) -> str:
        return str(self.directory)

    # --- paths ----------------------------------------------------------------------------

    spec_path = _below(SPEC_FILE)
    cells_dir = _below(CELLS_DIR)
    lock_path = _below(LOCK_FILE)
    tensorboard_dir = _below(TENSORBOARD_DIR)
    log_path = _below(SEQUENTIAL_LOG)
    tables_dir = _below(TABLES_DIR)
    figures_dir = _below(FIGURES_DIR)

    def report_path(self, suffix: str) -> Path:
        """The report as ``suffix`` (".md", ".html")."""
        return self.directory / (REPORT_STEM + suffix)

    def cell_path(self, strategy: str, seed: int) -> Path:
        return self.cells_dir / (cell_stem(strategy, seed) + RECORD_SUFFIX)

    def model_path(self, strategy: str, seed: int) -> Path:
        return self.cells_dir / model_filename(strategy, seed)

    def model_file(self, model: ModelArtifact) -> Path:
        """The file a record's model entry names."""
        return self.cells_dir / model.file

    def tensorboard_cell_dir(self, strategy: str, seed: int) -> Path:
        return self.tensorboard_dir / cell_stem(strategy, seed)

    def tensorboard_run_dir(self, strategy: str, seed: int, index: int) -> Path:
        # Zero-padded so that TensorBoard's alphabetical run list is in evaluation order.
        return self.tensorboard_cell_dir(strategy, seed) / f"{index:04d}"

    def record_paths(self) -> list[Path]:
        return sorted(self.cells_dir.glob("*" + RECORD_SUFFIX))

    # --- the spec -------------------------------------------------------------------------

    def read_spec(self) -> StudySpec | None:
        """The stored spec; None before the study is created."""
        if not self.spec_path.exists():
            return None
        try:
            return StudySpec.from_dict(json.loads(self.spec_path.read_text()))
        except (json.JSONDecodeError, OSError, UnicodeDecodeError, UsageError) as exc:
            raise UsageError(f"{self.spec_path} is unreadable ({exc}); move it aside") from None

    def create(self, spec: StudySpec) -> None:
        """Write (or rewrite) the spec and make room for records."""
        write_json_atomic(self.spec_path, spec.to_dict())
        self.cells_dir.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def locked(self) -> Iterator[StudyStore]:
        """Exclusive use of the study until the block ends; a second user is refused.

        The lock is an ``flock`` on ``.lock``: the kernel drops it when its holder dies, so
        a killed run never leaves a stale lock behind.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.lock_path, timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise UsageError(
                f"{self.directory} is in use by another run of this study; wait for it to "
                f"finish (or pass --study NEW_NAME)"
            ) from None
        try:
            yield self
        finally:
            lock.release()

    # --- records --------------------------------------------------------------------------

    def read(self, path: Path) -> CellRecord:
        """The record in ``path``; ``CorruptRecord`` (or ``UnsupportedRecordVersion``)
        with the file's name otherwise."""
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise CorruptRecord(f"{path.name}: not readable ({exc})") from None
        try:
            return parse_record(text)
        except CorruptRecord as exc:
            raise CorruptRecord(f"{path.name}: {exc}") from None
        except UsageError as exc:  # a version this tunebench cannot read
            raise type(exc)(f"{path.name}: {exc}") from None

    def load_cell(self, strategy: str, seed: int) -> CellRecord | None:
        """The cell's record, or None when it has to run: never run, or its record was
        corrupt (then moved aside with a warning, so the cell runs again)."""
        path = self.cell_path(strategy, seed)
        if not path.exists():
            return None
        try:
            return self.read(path)
        except CorruptRecord as exc:
            aside = self.quarantine(path)
            warnings.warn(
                f"{exc}; moved to {aside.name}, the cell will run again",
                CorruptRecordWarning,
                stacklevel=2,
            )
            return None

    def quarantine(self, path: Path) -> Path:
        """Move a corrupt record aside (kept for inspection, never read again)."""
        aside = path.with_name(f"{path.name}.corrupt-{time.time_ns()}")
        path.rename(aside)
        return aside

    def records(self) -> tuple[list[CellRecord], list[str]]:
        """Every readable record, and why each other record file was skipped; reads only."""
        records: list[CellRecord] = []
        skipped: list[str] = []
        for path in self.record_paths():
            try:
                records.append(self.read(path))
            except (CorruptRecord, UsageError) as exc:
                skipped.append(str(exc))
        return records, skipped

    def write_cell(self, record: CellRecord, model: bytes | None = None) -> CellRecord:
        """Write a record and the model that travels with it. The model goes first, so that
        a record never names a missing model."""
        if model is not None:
            write_bytes_atomic(self.model_path(record.strategy, record.seed), model)
        write_bytes_atomic(
            self.cell_path(record.strategy, record.seed), record_text(record).encode()
        )
        return record

    # --- the sequential log ---------------------------------------------------------------

    def read_log(self) -> dict[str, Any] | None:
        """The ``--until-decided`` log; None when the study was not grown that way."""
        if not self.log_path.exists():
            return None
        try:
            return json.loads(self.log_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UsageError(f"{self.log_path} is unreadable ({exc}); move it aside") from None

    def write_log(self, log: dict[str, Any]) -> None:
        write_json_atomic(self.log_path, log)
