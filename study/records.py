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

import hashlib
import json
import math
import os
import platform
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from study.errors import UsageError
from study.settings import StudySpec

SCHEMA_VERSION = 2
# Version 1 records (no compile times) read with these defaults.
READABLE_VERSIONS = (1, 2)
_ADDED_IN_VERSION_2 = {"compile_seconds": 0.0}

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


class _Fields:
    """One JSON object of a record: a missing key is a ``CorruptRecord`` naming it, except
    the keys that ``defaults`` supplies (fields added after the record's version)."""

    def __init__(self, data: Any, where: str, defaults: dict[str, Any] | None = None) -> None:
        if not isinstance(data, dict):
            raise CorruptRecord(f"{where} is not an object")
        self.data = data
        self.where = where
        self.defaults = defaults or {}

    def __getitem__(self, key: str) -> Any:
        if key in self.data:
            return self.data[key]
        if key in self.defaults:
            return self.defaults[key]
        raise CorruptRecord(f"{self.where} has no {key!r}")

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def _float(value: Any) -> float:
    """A recorded number; null (a non-finite value when written) reads as NaN."""
    return math.nan if value is None else float(value)


def _floats(values: Any) -> list[float]:
    return [_float(v) for v in values]


def _metrics(values: Any) -> dict[str, float]:
    return {str(k): _float(v) for k, v in dict(values or {}).items()}


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


# The ledger's incumbent is the best evaluation with one of these statuses.
COUNTED_STATUSES = ("ok", "pruned")


@dataclass(frozen=True)
class EvaluationRecord:
    """One call of the objective, as the ledger recorded it."""

    index: int
    config: dict[str, Any]
    fidelity_epochs: int  # epochs asked for
    charged_epochs: int
    cost: float  # full-fidelity evaluation equivalents charged
    cumulative_cost: float
    score: float  # the minimised objective the strategy saw
    metrics: dict[str, float]  # validation metrics
    fold_metrics: dict[str, list[float]]
    epochs_run: int
    best_epoch: float
    fit_seconds: float
    compile_seconds: float
    overhead_seconds: float
    status: str  # ok, pruned, diverged or failed
    error: str | None
    # The validation objective after each epoch of the first fold (empty where not recorded).
    epoch_scores: list[float] = field(default_factory=list)

    @property
    def counted(self) -> bool:
        """Whether the ledger could pick it as the incumbent."""
        return self.status in COUNTED_STATUSES

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "config": self.config,
            "fidelity_epochs": self.fidelity_epochs,
            "charged_epochs": self.charged_epochs,
            "cost": self.cost,
            "cumulative_cost": self.cumulative_cost,
            "score": self.score,
            "metrics": self.metrics,
            "fold_metrics": self.fold_metrics,
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "fit_seconds": self.fit_seconds,
            "compile_seconds": self.compile_seconds,
            "overhead_seconds": self.overhead_seconds,
            "status": self.status,
            "error": self.error,
            "epoch_scores": self.epoch_scores,
        }

    @classmethod
    def from_json(cls, data: Any, defaults: dict[str, Any] | None = None) -> EvaluationRecord:
        f = _Fields(data, f"evaluation {_index_of(data)}", defaults)
        return cls(
            index=int(f["index"]),
            config=dict(f["config"]),
            fidelity_epochs=int(f["fidelity_epochs"]),
            charged_epochs=int(f["charged_epochs"]),
            cost=_float(f["cost"]),
            cumulative_cost=_float(f["cumulative_cost"]),
            score=_float(f["score"]),
            metrics=_metrics(f["metrics"]),
            fold_metrics={str(k): _floats(v) for k, v in dict(f["fold_metrics"] or {}).items()},
            epochs_run=int(f["epochs_run"] or 0),
            best_epoch=_float(f["best_epoch"]),
            fit_seconds=_float(f["fit_seconds"]),
            compile_seconds=_float(f["compile_seconds"]),
            overhead_seconds=_float(f["overhead_seconds"]),
            status=str(f["status"]),
            error=None if f["error"] is None else str(f["error"]),
            epoch_scores=_floats(f.get("epoch_scores") or []),
        )


def _index_of(data: Any) -> Any:
    return data.get("index", "?") if isinstance(data, dict) else "?"


@dataclass(frozen=True)
class Incumbent:
    """The best counted evaluation: what the strategy hands to its user."""

    index: int
    config: dict[str, Any]
    score: float
    metrics: dict[str, float]  # its validation metrics

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "config": self.config,
            "score": self.score,
            "metrics": self.metrics,
        }

    @classmethod
    def from_json(cls, data: Any) -> Incumbent:
        f = _Fields(data, "incumbent")
        return cls(
            index=int(f["index"]),
            config=dict(f["config"]),
            score=_float(f["score"]),
            metrics=_metrics(f["metrics"]),
        )


@dataclass(frozen=True)
class TestResult:
    """The incumbent retrained on the whole training split and scored on the test split."""

    metrics: dict[str, float]
    epochs: int
    fit_seconds: float
    compile_seconds: float
    status: str  # "ok", or why there is no score ("no incumbent", "diverged", ...)

    __test__ = False  # not a pytest test class, whatever its name

    @classmethod
    def none(cls) -> TestResult:
        """No incumbent, so nothing to test."""
        return cls(
            metrics={}, epochs=0, fit_seconds=0.0, compile_seconds=0.0, status="no incumbent"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "metrics": self.metrics,
            "epochs": self.epochs,
            "fit_seconds": self.fit_seconds,
            "compile_seconds": self.compile_seconds,
            "status": self.status,
        }

    @classmethod
    def from_json(cls, data: Any, defaults: dict[str, Any] | None = None) -> TestResult:
        f = _Fields(data, "test", defaults)
        return cls(
            metrics=_metrics(f["metrics"]),
            epochs=int(f["epochs"] or 0),
            fit_seconds=_float(f["fit_seconds"]),
            compile_seconds=_float(f["compile_seconds"]),
            status=str(f["status"]),
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

    def to_json(self) -> dict[str, Any]:
        return {
            "evaluations": self.evaluations,
            "max_epochs": self.max_epochs,
            "budget_epochs": self.budget_epochs,
            "spent_epochs": self.spent_epochs,
            "used_fraction": self.used_fraction,
            "overshoot_epochs": self.overshoot_epochs,
            "refused_epochs": self.refused_epochs,
            "stop_reason": self.stop_reason,
        }

    @classmethod
    def from_json(cls, data: Any) -> BudgetAccount:
        f = _Fields(data, "budget")
        return cls(
            evaluations=int(f["evaluations"]),
            max_epochs=int(f["max_epochs"]),
            budget_epochs=int(f["budget_epochs"]),
            spent_epochs=int(f["spent_epochs"]),
            used_fraction=_float(f["used_fraction"]),
            overshoot_epochs=int(f["overshoot_epochs"]),
            refused_epochs=int(f["refused_epochs"]),
            stop_reason=str(f["stop_reason"]),
        )


@dataclass(frozen=True)
class Timings:
    """Where a cell's time went, in seconds."""

    search_seconds: float
    train_seconds: float
    # Compiling training functions the process had not compiled before: a cost of the
    # process (the first cells of each worker pay it), not of the strategy.
    compile_seconds: float
    overhead_seconds: float
    final_fit_seconds: float
    wall_seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "search_seconds": self.search_seconds,
            "train_seconds": self.train_seconds,
            "compile_seconds": self.compile_seconds,
            "overhead_seconds": self.overhead_seconds,
            "final_fit_seconds": self.final_fit_seconds,
            "wall_seconds": self.wall_seconds,
        }

    @classmethod
    def from_json(cls, data: Any, defaults: dict[str, Any] | None = None) -> Timings:
        f = _Fields(data, "timings", defaults)
        return cls(
            search_seconds=_float(f["search_seconds"]),
            train_seconds=_float(f["train_seconds"]),
            compile_seconds=_float(f["compile_seconds"]),
            overhead_seconds=_float(f["overhead_seconds"]),
            final_fit_seconds=_float(f["final_fit_seconds"]),
            wall_seconds=_float(f["wall_seconds"]),
        )


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

    def to_json(self) -> dict[str, Any]:
        return {
            "python": self.python,
            "platform": self.platform,
            "cpu": self.cpu,
            "cpu_count": self.cpu_count,
            "packages": self.packages,
            "git_commit": self.git_commit,
            "tf_enable_onednn_opts": self.tf_enable_onednn_opts,
        }

    @classmethod
    def from_json(cls, data: Any) -> Environment:
        f = _Fields(data, "environment")
        return cls(
            python=f.get("python"),
            platform=f.get("platform"),
            cpu=f.get("cpu"),
            cpu_count=f.get("cpu_count"),
            packages={str(k): str(v) for k, v in dict(f.get("packages") or {}).items()},
            git_commit=f.get("git_commit"),
            tf_enable_onednn_opts=f.get("tf_enable_onednn_opts"),
        )


@dataclass(frozen=True)
class ModelArtifact:
    """The retrained incumbent saved beside the record (``--save-models``)."""

    file: str  # its file name, beside the record
    sha256: str
    size_bytes: int
    inputs: str | None  # what rows the model takes

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "inputs": self.inputs,
        }

    @classmethod
    def from_json(cls, data: Any) -> ModelArtifact:
        f = _Fields(data, "artifacts.model")
        inputs = f.get("inputs")
        return cls(
            file=str(f["file"]),
            sha256=str(f["sha256"]),
            size_bytes=int(f["size_bytes"]),
            inputs=None if inputs is None else str(inputs),
        )


@dataclass(frozen=True)
class Artifacts:
    """Files written beside the record."""

    model: ModelArtifact | None = None

    def to_json(self) -> dict[str, Any]:
        return {"model": None if self.model is None else self.model.to_json()}

    @classmethod
    def from_json(cls, data: Any) -> Artifacts:
        model = _Fields(data, "artifacts").get("model")
        return cls(model=None if model is None else ModelArtifact.from_json(model))


@dataclass(frozen=True)
class CellRecord:
    """Everything one finished (strategy, seed) cell leaves behind."""

    study: str
    strategy: str
    seed: int
    spec: StudySpec
    objective_metric: str
    metric_directions: dict[str, str]  # metric -> "min" or "max"
    evaluations: list[EvaluationRecord]
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
        body = _clean(
            {
                "schema_version": SCHEMA_VERSION,
                "study": self.study,
                "strategy": self.strategy,
                "seed": self.seed,
                "spec": self.spec.to_dict(),
                "objective_metric": self.objective_metric,
                "metric_directions": self.metric_directions,
                "evaluations": [e.to_json() for e in self.evaluations],
                "incumbent": None if self.incumbent is None else self.incumbent.to_json(),
                "test": self.test.to_json(),
                "budget": self.budget.to_json(),
                "timings": self.timings.to_json(),
                "environment": self.environment.to_json(),
                "artifacts": self.artifacts.to_json(),
            }
        )
        body["checksum"] = _checksum(body)
        return body

    @classmethod
    def from_json(cls, data: Any) -> CellRecord:
        """Read a record of any readable version; ``CorruptRecord`` names what is wrong,
        ``UnsupportedRecordVersion`` names a version this tunebench does not know."""
        f = _Fields(data, "record")
        version = f["schema_version"]
        if isinstance(version, bool) or version not in READABLE_VERSIONS:
            raise UnsupportedRecordVersion(
                f"record schema version {version!r} is not readable by this tunebench (it "
                f"reads versions {', '.join(map(str, READABLE_VERSIONS))}); analyse it with "
                f"the tunebench that wrote it"
            )
        if _checksum({k: v for k, v in data.items() if k != "checksum"}) != f["checksum"]:
            raise CorruptRecord("checksum mismatch (edited or truncated)")
        added = _ADDED_IN_VERSION_2 if version < 2 else {}
        try:
            spec = StudySpec.from_dict(f["spec"])
        except UsageError as exc:
            raise CorruptRecord(str(exc)) from None
        try:
            evaluations = f["evaluations"]
            if not isinstance(evaluations, list):
                raise CorruptRecord("evaluations is not a list")
            incumbent = f["incumbent"]
            return cls(
                study=str(f["study"]),
                strategy=str(f["strategy"]),
                seed=int(f["seed"]),
                spec=spec,
                objective_metric=str(f["objective_metric"]),
                metric_directions={str(k): str(v) for k, v in dict(f["metric_directions"]).items()},
                evaluations=[EvaluationRecord.from_json(e, added) for e in evaluations],
                incumbent=None if incumbent is None else Incumbent.from_json(incumbent),
                test=TestResult.from_json(f["test"], added),
                budget=BudgetAccount.from_json(f["budget"]),
                timings=Timings.from_json(f["timings"], added),
                environment=Environment.from_json(f["environment"]),
                artifacts=Artifacts.from_json(f.get("artifacts") or {}),
            )
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
