"""Cell records: the typed, versioned result of one finished (strategy, seed).

A record is data, never a pickle: the spec, every evaluation, the incumbent, the test
scores, the budget account, timings and the environment (package versions, CPU, git
commit). Its JSON form carries a schema version and a sha256 of its own content, so that a
truncated or edited file is detected instead of analysed; JSON has no NaN, so non-finite
numbers are written as null and read back as NaN.

This module is the record format: every reader goes through these classes, never through
the JSON keys. It reads the current version and every older one it knows (version 1 lacks
the compile times, which read as 0, and its spec may lack the training engine, which
``StudySpec.from_dict`` reads as Keras' own loop); newer versions are refused by name.
Where records live is ``study.store``'s business, not this module's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import platform
import subprocess
import types
import typing
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from study.errors import UsageError
from study.outcome import Evaluation
from study.settings import StudySpec

SCHEMA_VERSION = 2
# Version 1 lacks the compile times, which read as their defaults (0).
READABLE_VERSIONS = (1, 2)

PACKAGES = (
    "tunebench",
    "tensorflow-cpu",
    "tensorflow",
    "keras",
    "scikeras",
    "scikit-learn",
    "keras-tuner",
    "scikit-optimize",
    "optuna",
    "numpy",
    "scipy",
    "pandas",
)


class CorruptRecord(Exception):
    """A record that is unreadable, incomplete or fails its checksum."""


class CorruptRecordWarning(UserWarning):
    """A corrupt record was skipped, or moved aside so that its cell runs again."""


class UnsupportedRecordVersion(UsageError):
    """A record written by a tunebench whose record format this one does not know."""


def _to_json(value: Any) -> Any:
    """A record part as JSON data: dataclasses by their fields, the spec by its own form."""
    if isinstance(value, StudySpec):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


def _from_json(kind: Any, data: Any, where: str) -> Any:
    """``data`` read as the type ``kind`` (a field's annotation); null reads as NaN where a
    number is due, a missing field as its default (fields added after version 1 have one:
    older records read with it) and anything else missing or mistyped as ``CorruptRecord``."""
    origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return data
    if origin in (typing.Union, types.UnionType):  # X | None
        (inner,) = [a for a in arguments if a is not type(None)]
        return None if data is None else _from_json(inner, data, where)
    if kind is float:
        return math.nan if data is None else float(data)
    if kind in (int, str):
        if data is None or isinstance(data, (dict, list)):
            raise CorruptRecord(f"{where} is {data!r}, not a {kind.__name__}")
        return kind(data)
    if kind is StudySpec:
        try:
            return StudySpec.from_dict(data)
        except UsageError as exc:
            raise CorruptRecord(str(exc)) from None
    if origin is dict:
        if not isinstance(data, dict):
            raise CorruptRecord(f"{where} is not an object")
        return {str(k): _from_json(arguments[1], v, f"{where}.{k}") for k, v in data.items()}
    if origin is list:
        if not isinstance(data, list):
            raise CorruptRecord(f"{where} is not a list")
        return [_from_json(arguments[0], v, f"{where}[{i}]") for i, v in enumerate(data)]
    if dataclasses.is_dataclass(kind):
        if not isinstance(data, dict):
            raise CorruptRecord(f"{where} is not an object")
        hints = typing.get_type_hints(kind)
        values = {}
        for f in dataclasses.fields(kind):
            if f.name in data:
                values[f.name] = _from_json(hints[f.name], data[f.name], f"{where}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise CorruptRecord(f"{where} has no {f.name!r}")
        return kind(**values)
    raise TypeError(f"no JSON reading for {kind!r}")  # a field type this module lacks


def _clean(value: Any) -> Any:
    """JSON has no NaN: store non-finite floats as null, so any JSON reader can load a record."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    return value


def _checksum(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Incumbent:
    """The best counted evaluation: what the strategy hands to its user."""

    index: int
    config: dict[str, Any]
    score: float
    metrics: dict[str, float]  # its validation metrics


@dataclass(frozen=True)
class TestResult:
    """The incumbent retrained on the whole training split and scored on the test split."""

    metrics: dict[str, float]
    epochs: int
    fit_seconds: float
    status: str  # "ok", or why there is no score ("no incumbent", "diverged", ...)
    compile_seconds: float = field(default=0.0, kw_only=True)  # since version 2

    __test__ = False  # not a pytest test class, whatever its name

    @classmethod
    def none(cls) -> TestResult:
        """No incumbent, so nothing to test."""
        return cls(
            metrics={}, epochs=0, fit_seconds=0.0, compile_seconds=0.0, status="no incumbent"
        )


@dataclass(frozen=True)
class BudgetAccount:
    """The ledger's account of one cell, in epochs and full-fidelity evaluations."""

    evaluations: int  # the budget, in full-fidelity evaluations
    max_epochs: int
    budget_epochs: int
    spent_epochs: int
    used_fraction: float
    overshoot_epochs: int
    refused_epochs: int  # the request that the ledger refused, if any
    stop_reason: str

    @property
    def spent_cost(self) -> float:
        """Spend in full-fidelity evaluation equivalents."""
        return self.spent_epochs / self.max_epochs


@dataclass(frozen=True)
class Timings:
    """Where a cell's time went, in seconds."""

    search_seconds: float
    train_seconds: float
    overhead_seconds: float
    final_fit_seconds: float
    wall_seconds: float
    # Compiling training functions the process had not compiled before: a cost of the
    # process (the first cells of each worker pay it), not of the strategy. Since version 2.
    compile_seconds: float = field(default=0.0, kw_only=True)


@dataclass(frozen=True)
class Environment:
    """Where the cell ran: described for the reader, never compared."""

    python: str | None = None
    platform: str | None = None
    cpu: str | None = None
    cpu_count: int | None = None
    packages: dict[str, str] = field(default_factory=dict)
    git_commit: str | None = None
    tf_enable_onednn_opts: str | None = None


@dataclass(frozen=True)
class ModelArtifact:
    """The retrained incumbent saved beside the record (``--save-models``)."""

    file: str  # its file name, beside the record
    sha256: str
    size_bytes: int
    inputs: str | None = None  # what rows the model takes


@dataclass(frozen=True)
class Artifacts:
    """Files written beside the record."""

    model: ModelArtifact | None = None


@dataclass(frozen=True)
class CellRecord:
    """Everything one finished (strategy, seed) cell leaves behind."""

    study: str
    strategy: str
    seed: int
    spec: StudySpec
    objective_metric: str
    metric_directions: dict[str, str]  # metric -> "min" or "max"
    evaluations: list[Evaluation]
    incumbent: Incumbent | None
    test: TestResult
    budget: BudgetAccount
    timings: Timings
    environment: Environment
    artifacts: Artifacts = field(default_factory=Artifacts)

    @property
    def cell(self) -> tuple[str, int]:
        return (self.strategy, self.seed)

    @property
    def direction(self) -> str:
        """The objective metric's direction: "min" or "max"."""
        return self.metric_directions[self.objective_metric]

    def validation(self, metric: str | None = None) -> float:
        """The incumbent's validation ``metric`` (default: the objective); NaN without one."""
        if self.incumbent is None:
            return math.nan
        return self.incumbent.metrics.get(metric or self.objective_metric, math.nan)

    def test_score(self, metric: str | None = None) -> float:
        """The test ``metric`` (default: the objective); NaN where there is none."""
        return self.test.metrics.get(metric or self.objective_metric, math.nan)

    def to_json(self) -> dict[str, Any]:
        """The record as written: plain JSON data (no NaN), with its version and checksum."""
        body = _clean({"schema_version": SCHEMA_VERSION, **_to_json(self)})
        body["checksum"] = _checksum(body)
        return body

    @classmethod
    def from_json(cls, data: Any) -> CellRecord:
        """Read a record of any readable version; ``CorruptRecord`` names what is wrong,
        ``UnsupportedRecordVersion`` names a version this tunebench does not know."""
        if not isinstance(data, dict):
            raise CorruptRecord("not a record object")
        version = data.get("schema_version")
        if isinstance(version, bool) or version not in READABLE_VERSIONS:
            raise UnsupportedRecordVersion(
                f"record schema version {version!r} is not readable by this tunebench (it "
                f"reads versions {', '.join(map(str, READABLE_VERSIONS))}); analyse it with "
                f"the tunebench that wrote it"
            )
        if _checksum({k: v for k, v in data.items() if k != "checksum"}) != data.get("checksum"):
            raise CorruptRecord("checksum mismatch (edited or truncated)")
        try:
            return _from_json(cls, data, "record")
        except (TypeError, ValueError) as exc:
            raise CorruptRecord(f"malformed field ({exc})") from None


def parse_record(text: str) -> CellRecord:
    """A record from the text of its file."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptRecord(f"not readable JSON ({exc})") from None
    return CellRecord.from_json(data)


def record_text(record: CellRecord) -> str:
    """The text of a record's file."""
    return json.dumps(record.to_json(), indent=1, sort_keys=True, allow_nan=False) + "\n"


# What differs between two runs of the same cell on any machine: clocks and environment.
_RUN_DEPENDENT = ("timings", "environment", "checksum")
_RUN_DEPENDENT_EVALUATION = ("fit_seconds", "compile_seconds", "overhead_seconds")


def reproducible_part(record: CellRecord) -> dict[str, Any]:
    """A record without its timings and environment: what a rerun of the cell must repeat."""
    data = record.to_json()
    body = {k: v for k, v in data.items() if k not in _RUN_DEPENDENT}
    body["evaluations"] = [
        {k: v for k, v in e.items() if k not in _RUN_DEPENDENT_EVALUATION}
        for e in data["evaluations"]
    ]
    body["test"] = {k: v for k, v in data["test"].items() if k not in _RUN_DEPENDENT_EVALUATION}
    if record.artifacts.model is not None:
        # A .keras file stamps the time it was saved, so its bytes differ on every run.
        body["artifacts"] = {
            "model": {
                "file": record.artifacts.model.file,
                "inputs": record.artifacts.model.inputs,
            }
        }
    return body


def git_commit() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> Environment:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return Environment(
        python=platform.python_version(),
        platform=platform.platform(),
        cpu=_cpu_name(),
        cpu_count=os.cpu_count(),
        packages=versions,
        git_commit=git_commit(),
        tf_enable_onednn_opts=os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
    )
