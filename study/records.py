"""Cell records: one JSON file per finished (strategy, seed), written atomically.

A record is data, never a pickle: the spec, every evaluation, the incumbent, the test
scores, timings and the environment (package versions, CPU, git commit), plus a sha256 of
its own content so that a truncated or edited file is detected instead of analysed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
REQUIRED_KEYS = (
    "schema_version",
    "study",
    "strategy",
    "seed",
    "spec",
    "evaluations",
    "incumbent",
    "test",
    "budget",
    "timings",
    "environment",
)
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
    """A record file that is unreadable, incomplete or fails its checksum."""


class CorruptRecordWarning(UserWarning):
    """A corrupt record was moved aside; its cell runs again."""


def cell_filename(strategy: str, seed: int) -> str:
    return f"{strategy}-seed{seed}.json"


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


def write_record(path: Path, record: dict[str, Any]) -> dict[str, Any]:
    body = _clean({k: v for k, v in record.items() if k != "checksum"})
    body["schema_version"] = SCHEMA_VERSION
    body["checksum"] = _checksum({k: v for k, v in body.items() if k != "checksum"})
    write_json_atomic(path, body)
    return body


def read_record(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptRecord(f"{path.name}: not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise CorruptRecord(f"{path.name}: not a record object")
    missing = [k for k in (*REQUIRED_KEYS, "checksum") if k not in data]
    if missing:
        raise CorruptRecord(f"{path.name}: missing {', '.join(missing)}")
    if data["schema_version"] != SCHEMA_VERSION:
        raise CorruptRecord(f"{path.name}: schema version {data['schema_version']!r}")
    if _checksum({k: v for k, v in data.items() if k != "checksum"}) != data["checksum"]:
        raise CorruptRecord(f"{path.name}: checksum mismatch (edited or truncated)")
    return data


# What differs between two runs of the same cell on any machine: clocks and environment.
_RUN_DEPENDENT = ("timings", "environment", "checksum")
_RUN_DEPENDENT_EVALUATION = ("fit_seconds", "compile_seconds", "overhead_seconds")


def reproducible_part(record: dict[str, Any]) -> dict[str, Any]:
    """A record without its timings and environment: what a rerun of the cell must repeat."""
    body = {k: v for k, v in record.items() if k not in _RUN_DEPENDENT}
    body["evaluations"] = [
        {k: v for k, v in e.items() if k not in _RUN_DEPENDENT_EVALUATION}
        for e in record["evaluations"]
    ]
    body["test"] = {k: v for k, v in record["test"].items() if k not in _RUN_DEPENDENT_EVALUATION}
    model = (record.get("artifacts") or {}).get("model")
    if model:
        # A .keras file stamps the time it was saved, so its bytes differ on every run.
        body["artifacts"] = {
            "model": {k: v for k, v in model.items() if k not in ("sha256", "size_bytes")}
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


def environment() -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "packages": versions,
        "git_commit": git_commit(),
        "tf_enable_onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
    }
