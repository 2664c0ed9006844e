"""A compile cache on disk for the compiled engine, shared by every process of a machine.

XLA-compiling one training function costs a second or more; TensorFlow can keep compiled
executables in a directory (``--tf_xla_persistent_cache_directory``) keyed by the compiled
program, so a study's workers, a resumed study and the next study load what another process
compiled instead of compiling it again. A loaded executable is the same machine code, so
records do not change. The directory is named after the TensorFlow release and the
processor's instruction-set flags, so an executable is never loaded by another compiler's
runtime or on a processor that lacks its instructions.

``TUNEBENCH_XLA_CACHE`` sets the parent directory (default ``~/.cache/tunebench``), or
turns the cache off with ``off``. TensorFlow reads the flag when it starts, so this runs on
``import study``.
"""

from __future__ import annotations

import hashlib
import os
import platform
from importlib import metadata
from pathlib import Path

_FLAG = "--tf_xla_persistent_cache_directory"


def _tensorflow_release() -> str:
    for name in ("tensorflow-cpu", "tensorflow"):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


def _processor_features() -> str:
    try:
        flags = next(
            line
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("flags")
        )
    except (OSError, StopIteration):
        flags = platform.processor() or platform.machine()
    return hashlib.sha256(flags.encode()).hexdigest()[:12]


def cache_directory() -> Path | None:
    """Where compiled executables are kept, or None when the cache is off."""
    setting = os.environ.get("TUNEBENCH_XLA_CACHE", "")
    if setting.lower() == "off":
        return None
    parent = Path(setting).expanduser() if setting else Path.home() / ".cache" / "tunebench"
    return parent / f"xla-tf{_tensorflow_release()}-{platform.machine()}-{_processor_features()}"


def enable_xla_cache() -> None:
    """Point TensorFlow's persistent XLA cache at ``cache_directory()``, unless the
    environment already names one (TF_XLA_FLAGS) or the directory cannot be made."""
    flags = os.environ.get("TF_XLA_FLAGS", "")
    directory = cache_directory()
    if directory is None or _FLAG in flags:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # a read-only home: compile every time, as without the cache
    os.environ["TF_XLA_FLAGS"] = f"{flags} {_FLAG}={directory}".strip()
