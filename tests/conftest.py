"""Shared fixtures: one real smoke study per test session, run through the real CLI.

Real data comes through the project's own offline import path (TUNEBENCH_ARCHIVE, which
tox sets to the archive beside the checkout).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Imported before any test loads TensorFlow: the package sets TensorFlow's environment.
import study  # noqa: F401

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent


def run_command(args: list[str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=dict(os.environ), capture_output=True, text=True, timeout=1200
    )


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m ARGS`` from the repository root, as a user would run it."""
    return run_command([sys.executable, "-m", *args])


@pytest.fixture(scope="session")
def smoke_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smoke profile (every strategy × 2 seeds, tiny budget), finished; do not modify."""
    results = tmp_path_factory.mktemp("results")
    done = run_module("study", "run", "--profile", "smoke", "--results", str(results), "--quiet")
    assert done.returncode == 0, done.stdout + done.stderr
    return results / "smoke"


@pytest.fixture(scope="session")
def analysis_smoke_study(smoke_study: Path) -> Path:
    return smoke_study


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


@pytest.fixture(scope="session")
def classification_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every strategy × seed 0 on the ROC-AUC breast-cancer problem (a maximised objective),
    tiny budget, with saved models and TensorBoard runs; do not modify."""
    from study.runner import run_study
    from study.settings import ProtocolSettings, StudySpec
    from study.strategies import STRATEGIES

    spec = StudySpec(
        name="cancer",
        problem="breast_cancer_auc_mlp",
        space="lab",
        strategies=tuple(STRATEGIES),
        seeds=(0,),
        budget=1,
        protocol=ProtocolSettings(max_epochs=3, patience=1, max_rows=200),
        save_models=True,
        tensorboard=True,
    )
    result = run_study(spec, tmp_path_factory.mktemp("classification"))
    assert not result.failed, result.failed
    return result.directory
