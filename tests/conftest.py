"""Shared fixtures: one real smoke study per test session (small, but every code path real)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def analysis_smoke_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished smoke study (2 strategies × 2 seeds, tiny budget) for the analysis tests."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from study.profiles import get_profile
    from study.runner import run_study

    spec = get_profile("smoke").with_overrides(
        strategies=("random_search", "kt_hyperband"), budget=3, max_epochs=3
    )
    return run_study(spec, tmp_path_factory.mktemp("results"))


@pytest.fixture
def study_copy(analysis_smoke_study: Path, tmp_path: Path) -> Path:
    """A private copy of the smoke study that a test may damage or write into."""
    target = tmp_path / analysis_smoke_study.name
    shutil.copytree(
        analysis_smoke_study, target, ignore=shutil.ignore_patterns("tables", "figures", "report*")
    )
    return target


@pytest.fixture(scope="session")
def reported_study(analysis_smoke_study: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the smoke study after ``python -m analysis report`` ran on it once."""
    from analysis.cli import main

    target = tmp_path_factory.mktemp("reported") / analysis_smoke_study.name
    shutil.copytree(analysis_smoke_study, target)
    assert main(["report", str(target)]) == 0
    return target
