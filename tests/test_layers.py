"""The core of ``study`` loads without TensorFlow: listing, planning, the ledger and the
training-free problems must not pay for (or depend on) the MLP stack."""

from __future__ import annotations

import subprocess
import sys

import pytest

from study.strategies import STRATEGIES

CHECK = """
import sys
import study.ledger, study.problems, study.space, study.settings, study.strategies
import study.runner, study.records, study.profiles, study.cli, study.estimate
assert "tensorflow" not in sys.modules, "importing the core loaded TensorFlow"
from study.cell import compute_cell
from study.settings import ProtocolSettings, StudySpec
spec = StudySpec(name="layers", problem="branin", space="branin", strategies=({strategy!r},),
                 seeds=(0,), budget=4, protocol=ProtocolSettings(max_epochs=3, patience=2))
record = compute_cell(spec, {strategy!r}, 0).record
assert len(record.evaluations) >= 1
loaded = sorted(m for m in ("tensorflow", "keras", "scikeras") if m in sys.modules)
assert not loaded, f"a synthetic-problem cell loaded {{loaded}}"
"""

# Keras Tuner is built on Keras, so its strategies load TensorFlow by design.
TENSORFLOW_FREE = [name for name in STRATEGIES if not name.startswith("kt_")]


@pytest.mark.parametrize("strategy", TENSORFLOW_FREE)
def test_core_and_a_synthetic_cell_load_no_tensorflow(strategy: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK.format(strategy=strategy)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
