"""The calibration simulation's parts, small: the copy, its seed stream, the stopping rule.

The full simulation (200 studies) is ``python benchmarks/decision_calibration.py``.
"""

from __future__ import annotations

import numpy as np

from analysis.decisions import Rule
from benchmarks import decision_calibration as calibration
from study.strategies import STRATEGIES


def test_the_copy_is_random_search_on_its_own_seed_stream() -> None:
    losses = calibration.paired_losses(studies=2, seeds=3, budget=4)
    assert calibration.COPY not in STRATEGIES  # registered only while simulating
    assert losses.shape == (2, 3, 2) and np.isfinite(losses).all()
    assert not np.array_equal(losses[..., 0], losses[..., 1])  # different draws
    again = calibration.paired_losses(studies=2, seeds=3, budget=4)
    assert np.array_equal(losses, again)  # same seeds, same records


def test_sequential_decision_stops_at_the_first_decided_look() -> None:
    rule = Rule(0.1)
    rng = np.random.default_rng(0)
    base = rng.normal(5.0, 1.0, calibration.MAX_SEEDS)
    clear = np.stack([base, base - 2.0 + rng.normal(0, 0.05, len(base))], axis=1)
    assert calibration.sequential_decision(clear, rule, 0) == ("better", calibration.FIXED_SEEDS)
    same = np.stack([base, base + rng.normal(0, 0.01, len(base))], axis=1)
    assert calibration.sequential_decision(same, rule, 0) == (
        "equivalent",
        calibration.FIXED_SEEDS,
    )


def test_identical_methods_are_rarely_called_different() -> None:
    # 40 small A/A studies of pure noise, twenty times the ROPE: the directional threshold
    # keeps false calls near 5% (the benchmark measures it on 200 real studies).
    rng = np.random.default_rng(1)
    rule = Rule(0.1)
    calls = 0
    for i in range(40):
        losses = rng.normal(0, 2.0, (calibration.FIXED_SEEDS, 2))
        calls += calibration.decision(losses, rule, i) in ("better", "worse")
    assert calls <= 4
