"""The run-time estimate printed before a study: a worst case from a real calibration fit."""

from __future__ import annotations

import pytest

from study import estimate
from study.settings import ProtocolSettings, StudySpec

SPEC = StudySpec(
    name="estimate",
    problem="california_mlp",
    space="lab",
    strategies=("random_search",),
    seeds=(0,),
    budget=4,
    protocol=ProtocolSettings(max_epochs=10, max_rows=600),
)


def test_calibration_separates_epochs_from_the_once_per_model_cost() -> None:
    per_epoch, per_model = estimate.calibrate(SPEC)
    assert 0 < per_epoch < 5
    assert per_model >= 0


def test_worst_case_counts_every_evaluation_and_retrain_at_full_fidelity(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(estimate, "calibrate", lambda spec: (0.4, 1.0))
    # 3 cells × (4 evaluations + 1 retrain) × (10 epochs × 0.4 s + 1 s per model) = 75 s
    text = estimate.estimate_seconds(SPEC, 3)
    assert text.startswith("at most 75 s for 3 cells")
    assert "0.40 s per full-fidelity epoch and 1.0 s per new model" in text
