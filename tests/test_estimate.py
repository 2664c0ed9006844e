"""The run-time estimate printed before a study: a worst case from a real calibration fit."""

from __future__ import annotations

import dataclasses

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
KERAS = dataclasses.replace(SPEC, protocol=dataclasses.replace(SPEC.protocol, engine="keras"))


def test_calibration_separates_epochs_evaluations_and_the_once_per_model_cost() -> None:
    per_epoch, per_evaluation, per_model = estimate.calibrate(SPEC)
    assert 0 < per_epoch < 5
    assert per_evaluation >= 0 and per_model >= 0
    assert estimate.calibrate(SPEC, largest=True).per_epoch > 0


def test_worst_case_counts_every_evaluation_and_retrain_at_full_fidelity(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def calibrate(spec: StudySpec, largest: bool = False) -> estimate.Calibration:
        return estimate.Calibration(0.8 if largest else 0.4, 0.2, 1.0)

    monkeypatch.setattr(estimate, "calibrate", calibrate)
    monkeypatch.setattr(estimate, "mean_share", lambda spec: 0.25)
    # Reference engine: every evaluation may be a new model to trace. 3 cells ×
    # (4 evaluations + 1 retrain) × (10 epochs × 0.4 s + 0.2 s + 1 s per model) = 78 s,
    # with 0.8 s epochs 138 s, and a quarter of the way from one to the other 93 s
    text = estimate.estimate_seconds(KERAS, 3)
    assert text.startswith(
        "about 2 min for an average config of the space (78 s if every model were the "
        "default, 2 min if every one were the largest) on one core for 3 cells"
    )
    assert "per full-fidelity epoch 0.400–0.800 s, 0.20–0.20 s more per evaluation" in text
    # Two workers share the training; each traces its own models (8 of the 15 evaluations).
    assert "(40 s if every model were the default" in estimate.estimate_seconds(KERAS, 3, workers=2)


def test_an_average_config_sits_between_the_default_and_the_largest_model() -> None:
    share = estimate.mean_share(SPEC)
    # Most of the lab space's configs are shallow or narrow: nearer the default than the
    # largest, by arithmetic; the reference engine trains unpadded widths, so less again.
    assert 0.0 < estimate.mean_share(KERAS) < share < 0.5
    branin = dataclasses.replace(SPEC, problem="branin", space="branin")
    assert estimate.mean_share(branin) == 0.0


def test_compiled_engine_compiles_each_shape_of_the_space_once_per_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # lab space: 3 optimizers × (no hidden layer + 3 depths × 5 width buckets to 100) = 48
    assert estimate.compiled_shapes(SPEC) == 48
    assert estimate.compiled_shapes(KERAS) is None
    monkeypatch.setattr(
        estimate, "calibrate", lambda spec, largest=False: estimate.Calibration(0.4, 0.0, 1.0)
    )
    many = dataclasses.replace(SPEC, budget=99)
    # 10 cells × 100 evaluations × 4 s training, plus at most 48 compiles of 1 s
    assert estimate.estimate_seconds(many, 10).startswith("about 67 min for an average")
    assert "at most 48 per worker" in estimate.estimate_seconds(many, 10)
