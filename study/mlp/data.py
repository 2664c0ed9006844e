"""California Housing through scikit-learn's own loader and cache, with an offline import.

``fetch_california_housing`` downloads ``cal_housing.tgz`` once and caches the parsed array
in its data home. Where there is no network, ``python -m study data import PATH`` takes the
same archive, verifies it against the checksum scikit-learn publishes, and writes the cache
exactly as the loader would, so the loader itself then serves identical data.
"""

from __future__ import annotations

import functools
import io
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from study.errors import DataMissingError, UsageError

ARCHIVE_ENV = "TUNEBENCH_ARCHIVE"
_MEMBER = "CaliforniaHousing/cal_housing.data"
# The loader's column order: medianHouseValue... -> the layout fetch_california_housing caches.
_LOADER_COLUMNS = [8, 7, 2, 3, 4, 5, 6, 1, 0]
N_ROWS = 20640
# sha256 of the cal_housing.data member: repacked archives (other tar metadata or gzip level)
# fail scikit-learn's archive checksum but carry exactly the same table.
_DATA_SHA256 = "a2b44dcc7e1c9091b43c4f458b25cbd1f7e8068d08edd26bc4703108d3fa6214"


@dataclass(frozen=True)
class Dataset:
    X: np.ndarray  # float64, (n_rows, n_features)
    y: np.ndarray  # float64, (n_rows,)
    feature_names: tuple[str, ...]
    target_name: str


def _cache_path(data_home: str | os.PathLike[str] | None) -> Path:
    from sklearn.datasets import get_data_home
    from sklearn.datasets._base import _pkl_filepath

    return Path(_pkl_filepath(get_data_home(data_home), "cal_housing.pkz"))


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def import_archive(archive: str | os.PathLike[str], data_home: str | None = None) -> Path:
    """Verify ``cal_housing.tgz`` and install it into scikit-learn's cache; returns the cache path."""
    import joblib
    from sklearn.datasets._california_housing import ARCHIVE

    path = Path(archive)
    if not path.is_file():
        raise UsageError(f"no archive at {path}")
    archive_ok = _sha256(path.read_bytes()) == ARCHIVE.checksum
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            member = tar.extractfile(_MEMBER)
            if member is None:
                raise KeyError(_MEMBER)
            content = member.read()
    except (tarfile.TarError, OSError, KeyError, EOFError) as exc:
        raise UsageError(f"{path} cannot be read as the housing archive ({exc})") from None
    if not archive_ok and _sha256(content) != _DATA_SHA256:
        raise UsageError(
            f"{path} is not scikit-learn's cal_housing.tgz: neither the archive nor its "
            f"{_MEMBER} matches the published checksum"
        )
    raw = np.loadtxt(io.BytesIO(content), delimiter=",")
    if raw.shape != (N_ROWS, 9):
        raise UsageError(f"{path} holds a {raw.shape} table, expected ({N_ROWS}, 9)")

    target = _cache_path(data_home)
    target.parent.mkdir(parents=True, exist_ok=True)
    # A private temporary name: parallel workers on a fresh machine may import at once.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".cal_housing.", suffix=".tmp")
    os.close(fd)
    try:
        # Same array and compression as fetch_california_housing writes after its download.
        joblib.dump(raw[:, _LOADER_COLUMNS], tmp, compress=6)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


@functools.cache  # one parse per process, however many protocols and benchmarks ask
def load_california(data_home: str | None = None) -> Dataset:
    """The 20640 × 8 features and target in $100k, as ``fetch_california_housing`` returns them."""
    from sklearn.datasets import fetch_california_housing

    if not _cache_path(data_home).exists():
        archive = os.environ.get(ARCHIVE_ENV)
        if archive and Path(archive).is_file():
            import_archive(archive, data_home)
    try:
        bunch = fetch_california_housing(data_home=data_home, download_if_missing=True)
    except OSError as exc:
        raise DataMissingError(
            "California Housing is not cached and could not be downloaded "
            f"({type(exc).__name__}); either connect to the internet once, or run "
            "`python -m study data import PATH/TO/cal_housing.tgz` "
            f"(or set {ARCHIVE_ENV}=PATH/TO/cal_housing.tgz)"
        ) from None
    return Dataset(
        X=np.asarray(bunch.data, dtype=np.float64),
        y=np.asarray(bunch.target, dtype=np.float64),
        feature_names=tuple(bunch.feature_names),
        target_name="MedHouseVal",
    )
