"""Any Python function of a config as a problem, with epochs as a fidelity.

``FunctionEvaluator`` implements the ledger's ``Evaluator`` protocol for a plain function
``f(config) -> float`` (smaller is better). Training is simulated as a learning curve so that
multi-fidelity strategies (Hyperband, BOHB) have something to prune: after ``e`` of ``E``
epochs an evaluation reads

    f(x) + bias · (1 − e/E) · u(x) + noise · sqrt(E/e) · ε(seed, x, e)

where ``u(x)`` in [0, 1) is a fixed per-config hash (low fidelities rank configs imperfectly)
and ``ε`` is standard normal noise drawn from the study seed and the config (so seeds differ,
and a seed repeats exactly). At full fidelity the bias is gone and the noise is ``noise``.
The final test of the incumbent is the noise-free ``f(x)``, and its regret when the optimum
is known.

``mixed_branin`` is the shipped test function: Branin with one parameter of each kind.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from study.outcome import EpochReport, KeepModel, Outcome, TestScore
from study.seeding import derive_seed

Function = Callable[[dict[str, Any]], float]


class FunctionEvaluator:
    """Scores configs with ``function`` for one study seed (an ``Evaluator``)."""

    def __init__(
        self,
        function: Function,
        *,
        seed: int,
        max_epochs: int,
        penalty: float,
        optimum: float | None = None,
        noise: float = 0.0,
        bias: float = 0.0,
        metric: str = "value",
    ) -> None:
        if not math.isfinite(penalty):
            raise ValueError("the penalty must be finite: optimisers learn from it")
        self.function = function
        self.seed = seed
        self.max_epochs = max_epochs
        self.penalty = float(penalty)
        self.optimum = optimum
        self.noise = noise
        self.bias = bias
        self.metric = metric

    def curve(self, config: dict[str, Any], value: float) -> np.ndarray:
        """The simulated validation score after each epoch 1..max_epochs."""
        key = json.dumps(config, sort_keys=True, default=str)
        u = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64
        eps = np.random.default_rng(derive_seed(self.seed, "noise", key)).standard_normal(
            self.max_epochs
        )
        epochs = np.arange(1, self.max_epochs + 1)
        remaining = 1.0 - epochs / self.max_epochs
        return (
            value + self.bias * remaining * u + self.noise * np.sqrt(self.max_epochs / epochs) * eps
        )

    def evaluate(
        self, config: dict[str, Any], epochs: int, report: EpochReport | None = None
    ) -> Outcome:
        started = time.perf_counter()
        value = float(self.function(config))  # an exception is the ledger's "failed"
        if not math.isfinite(value):
            return Outcome(
                score=self.penalty,
                metrics={self.metric: math.nan},
                fold_metrics={self.metric: []},
                epochs_run=epochs,
                best_epoch=math.nan,
                fit_seconds=time.perf_counter() - started,
                status="diverged",
                # The simulated run trained every epoch to a non-finite score.
                epoch_scores=[math.nan] * epochs,
            )
        curve = self.curve(config, value)
        trained = epochs
        status = "ok"
        if report is not None:
            for epoch in range(1, epochs + 1):
                # A stop asked after the last epoch prunes nothing: the run is complete.
                if report(epoch, float(curve[epoch - 1])) and epoch < epochs:
                    trained = epoch
                    status = "pruned"
                    break
        score = float(curve[trained - 1])
        return Outcome(
            # Clipped like the MLP protocol's scores, so the penalty stays the worst score.
            score=min(score, self.penalty),
            metrics={self.metric: score},
            fold_metrics={self.metric: [score]},
            epochs_run=trained,
            best_epoch=float(trained),
            fit_seconds=time.perf_counter() - started,
            status=status,  # type: ignore[arg-type]
            epoch_scores=[float(v) for v in curve[:trained]],
        )

    def test(
        self, config: dict[str, Any], epochs: int, keep_model: KeepModel | None = None
    ) -> TestScore:
        """The noise-free value of ``config`` (and its regret where the optimum is known).

        A function trains no model, so ``keep_model`` is never called."""
        started = time.perf_counter()
        try:
            value = float(self.function(config))
        except Exception as exc:
            return TestScore({}, epochs, time.perf_counter() - started, "failed", repr(exc))
        metrics = {self.metric: value}
        if self.optimum is not None:
            metrics["regret"] = value - self.optimum
        status = "ok" if math.isfinite(value) else "diverged"
        return TestScore(metrics, epochs, time.perf_counter() - started, status)  # type: ignore[arg-type]


def branin(x1: float, x2: float) -> float:
    """The Branin-Hoo function on x1 ∈ [-5, 10], x2 ∈ [0, 15]; minimum 0.397887 (three places)."""
    a, b, c = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi
    r, s, t = 6.0, 10.0, 1 / (8 * math.pi)
    return a * (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s


# At each minimum the squared term is 0 and cos(x1) = -1, leaving s·t.
BRANIN_MIN = 10 / (8 * math.pi)
VARIANT_OFFSETS = {"a": 1.0, "b": 0.0, "c": 0.5, "d": 2.0}


def mixed_branin(config: dict[str, Any]) -> float:
    """Branin over the ``branin`` space: ``x1`` as is; ``x2`` from the log-scale ``scale``
    (1e-2..1e2 maps linearly in log10 onto 0..15); plus ``0.25 (k − 5)²`` for the integer
    ``k`` and an offset per ``variant``. Minimum ``BRANIN_MIN`` at k = 5, variant "b"."""
    x2 = (math.log10(config["scale"]) + 2.0) / 4.0 * 15.0
    k_term = 0.25 * (int(config["k"]) - 5) ** 2
    return branin(float(config["x1"]), x2) + k_term + VARIANT_OFFSETS[config["variant"]]
