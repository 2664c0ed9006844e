"""Resident memory over one long cell: a worker must not grow over hundreds of evaluations.

``python -m study memory --evaluations 200`` runs random configs of the smoke protocol
through the ledger, the way a cell does, and samples the process's resident set size
(psutil) after every evaluation. Growth is measured from the end of the warm-up (imports,
first graphs traced, data loaded) to the end.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import psutil

from study.ledger import Objective
from study.problems import get_problem
from study.profiles import get_profile
from study.space import Categorical, SearchSpace, get_space

_MB = 1024 * 1024


@dataclass(frozen=True)
class MemoryReport:
    evaluations: int
    warmup: int
    rss_mb: list[float]  # after each evaluation

    @property
    def baseline_mb(self) -> float:
        return self.rss_mb[self.warmup - 1]

    @property
    def final_mb(self) -> float:
        return self.rss_mb[-1]

    @property
    def peak_mb(self) -> float:
        return max(self.rss_mb[self.warmup - 1 :])

    @property
    def growth_fraction(self) -> float:
        return (self.final_mb - self.baseline_mb) / self.baseline_mb

    @property
    def slope_mb_per_100(self) -> float:
        """Least-squares trend after warm-up, in MB per 100 evaluations."""
        tail = np.asarray(self.rss_mb[self.warmup - 1 :])
        if len(tail) < 2:
            return 0.0
        return float(np.polyfit(np.arange(len(tail)), tail, 1)[0] * 100)

    def summary(self) -> str:
        return (
            f"resident memory over {self.evaluations} evaluations: {self.baseline_mb:.0f} MB "
            f"after {self.warmup} warm-up evaluations, {self.final_mb:.0f} MB at the end "
            f"(peak {self.peak_mb:.0f} MB): growth {100 * self.growth_fraction:+.1f}%, "
            f"trend {self.slope_mb_per_100:+.1f} MB per 100 evaluations"
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("baseline_mb", "final_mb", "peak_mb", "growth_fraction", "slope_mb_per_100"):
            data[name] = getattr(self, name)
        return data


def _sample(space: SearchSpace, rng: np.random.Generator) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, dist in space.to_scipy().items():
        param = space.param(name)
        if isinstance(param, Categorical):
            values[name] = param.choices[int(rng.integers(len(param.choices)))]
        else:
            values[name] = dist.rvs(random_state=rng)
    return values


def measure_memory(
    evaluations: int = 200, *, warmup: int = 20, max_epochs: int = 2, seed: int = 0
) -> MemoryReport:
    if not 1 <= warmup < evaluations:
        raise ValueError(f"warm-up ({warmup}) must be shorter than the run ({evaluations})")
    spec = get_profile("smoke").with_overrides(max_epochs=max_epochs, budget=evaluations)
    evaluator = get_problem(spec.problem).make_evaluator(spec.protocol, seed)
    space = get_space(spec.space)
    objective = Objective(evaluator, space, spec.budget)
    rng = np.random.default_rng(seed)
    process = psutil.Process()
    rss: list[float] = []
    for _ in range(evaluations):
        objective.evaluate(_sample(space, rng))
        rss.append(process.memory_info().rss / _MB)
    return MemoryReport(evaluations, warmup, rss)
