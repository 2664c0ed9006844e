"""California Housing through scikit-learn's loader, fed by the offline archive import."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest

from study.errors import DataMissingError, UsageError
from study.mlp.data import ARCHIVE_ENV, import_archive, load_california

# Published facts about scikit-learn's California Housing.
FEATURE_MEANS = [
    3.870671,
    28.639486,
    5.428999,
    1.096675,
    1425.476744,
    3.070655,
    35.631861,
    -119.569704,
]
FEATURES = (
    "MedInc",
    "HouseAge",
    "AveRooms",
    "AveBedrms",
    "Population",
    "AveOccup",
    "Latitude",
    "Longitude",
)


@pytest.fixture(scope="module")
def archive() -> Path:
    path = os.environ.get(ARCHIVE_ENV)
    assert path and Path(path).is_file(), f"set {ARCHIVE_ENV} to cal_housing.tgz (tox does)"
    return Path(path)


def test_imported_archive_loads_the_known_dataset(archive: Path, tmp_path: Path) -> None:
    cache = import_archive(archive, str(tmp_path))
    assert cache.exists()
    data = load_california(str(tmp_path))
    assert data.X.shape == (20640, 8)
    assert data.feature_names == FEATURES
    np.testing.assert_allclose(data.X.mean(axis=0), FEATURE_MEANS, rtol=1e-6)
    assert data.y.mean() == pytest.approx(2.068558, abs=1e-6)
    assert data.y.max() == pytest.approx(5.00001)  # the censored target
    assert int(np.isclose(data.y, 5.00001).sum()) == 992


def test_loader_imports_from_the_archive_variable_when_cache_is_empty(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ARCHIVE_ENV, str(archive))
    assert load_california(str(tmp_path)).X.shape == (20640, 8)


def test_truncated_archive_is_refused(archive: Path, tmp_path: Path) -> None:
    broken = tmp_path / "cal_housing.tgz"
    broken.write_bytes(archive.read_bytes()[:50_000])
    with pytest.raises(UsageError, match="cannot be read"):
        import_archive(broken, str(tmp_path / "home"))
    assert not (tmp_path / "home").exists() or not any((tmp_path / "home").iterdir())


def test_archive_with_other_data_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "cal_housing.tgz"
    payload = b"1,2,3,4,5,6,7,8,9\n" * 10
    with tarfile.open(fake, "w:gz") as tar:
        info = tarfile.TarInfo("CaliforniaHousing/cal_housing.data")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    with pytest.raises(UsageError, match="published checksum"):
        import_archive(fake, str(tmp_path / "home"))


def test_missing_data_names_both_ways_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import urllib.error

    import sklearn.datasets._california_housing as loader

    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("no network")

    monkeypatch.delenv(ARCHIVE_ENV, raising=False)
    monkeypatch.setattr(loader, "_fetch_remote", offline)
    with pytest.raises(DataMissingError) as info:
        load_california(str(tmp_path))
    message = str(info.value)
    assert "internet" in message and "python -m study data import" in message
    assert "\n" not in message
