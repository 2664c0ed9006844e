"""An opt-in compile cache on disk for the compiled engine (``TUNEBENCH_XLA_CACHE=DIR``).

TensorFlow can keep XLA-compiled executables in a directory
(``--tf_xla_persistent_cache_directory``). Its key holds the traced function's name, which
carries a per-process counter, so a process finds an executable only when it traced the
same functions in the same order as the one that wrote it (a rerun of the same cells, a
test). A study's workers take cells in whatever order they finish them, so they rarely hit:
measured on the ``quick`` profile at 3 seeds, a warm cache left compile time and wall time
unchanged while the directory grew by about 50 MB a run. Hence off by default.

When on, a loaded executable is the same machine code, so records do not change. The
directory is named after the TensorFlow release and the processor's instruction-set flags,
so an executable is never loaded by another compiler's runtime or on a processor that lacks
its instructions. TensorFlow reads the flag when it starts, so this runs on ``import study``.
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
    """Where compiled executables are kept, or None when the cache is off (the default;
    ``TUNEBENCH_XLA_CACHE`` names a parent directory to turn it on, ``off`` or nothing)."""
    setting = os.environ.get("TUNEBENCH_XLA_CACHE", "")
    if setting.lower() in ("", "off"):
        return None
    parent = Path(setting).expanduser()
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
