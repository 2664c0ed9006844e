"""Is the decision procedure calibrated? A/A studies and a known margin, simulated cheaply.

    python benchmarks/decision_calibration.py --studies 200      # the full simulation
    python benchmarks/decision_calibration.py --studies 200 --json results/calibration.json

Two copies of ``random_search`` (the second on its own seed stream) run on the synthetic
``branin`` problem (no training: a cell is a few hundredths of a second). Study *i* uses
paired seeds 40·i … 40·i + 39, so studies are independent.

- **A/A, fixed seeds**: how often the first 20 seeds call the two copies different
  ("better" or "worse"); they are the same method, so every such call is an error.
- **A/A, seeds until decided**: the same studies grown from 20 seeds by 5 up to 40,
  stopping at the first decision, as ``run --until-decided`` does (same rule, same looks).
- **Power**: the copy's test value lowered by a known margin (a strategy truly better by
  exactly that much, with the A/A seed-to-seed noise); how often 20 seeds decide "better".
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from analysis.decisions import DEFAULT_ROPES, Rule, posterior
from analysis.sequential import planned_looks
from study.cell import compute_cell
from study.ledger import Objective
from study.seeding import derive_seed
from study.settings import ProtocolSettings, StudySpec
from study.space import SearchSpace
from study.strategies import STRATEGIES, get_strategy

COPY = "random_search_copy"
PROBLEM = "branin"
FIXED_SEEDS = 20
MAX_SEEDS = 40
BATCH = 5


def random_search_copy(objective: Objective, space: SearchSpace, seed: int) -> None:
    """``random_search`` itself, on a seed stream of its own."""
    get_strategy("random_search")(objective, space, derive_seed(seed, COPY))


@contextmanager
def copy_registered() -> Iterator[None]:
    """The copy exists only while simulating: profiles and conformance never see it."""
    STRATEGIES[COPY] = random_search_copy
    try:
        yield
    finally:
        del STRATEGIES[COPY]


def spec(budget: int) -> StudySpec:
    return StudySpec(
        name="calibration",
        problem=PROBLEM,
        space=PROBLEM,
        strategies=("random_search", COPY),
        seeds=(0,),
        budget=budget,
        protocol=ProtocolSettings(max_epochs=9),
    )


def paired_losses(studies: int, seeds: int, budget: int) -> np.ndarray:
    """studies × seeds × 2 final test values (random_search, its copy), lower is better."""
    cell_spec = spec(budget)
    out = np.empty((studies, seeds, 2))
    with copy_registered():
        for i in range(studies):
            for j in range(seeds):
                for s, name in enumerate(cell_spec.strategies):
                    record = compute_cell(cell_spec, name, i * MAX_SEEDS + j).record
                    out[i, j, s] = record.test_score("value")
    return out


def decision(losses: np.ndarray, rule: Rule, seed: int) -> str:
    """The copy (a) against random_search (b), as ``analysis.decisions`` decides it."""
    return rule.decide(*posterior(losses[:, 1], losses[:, 0], rule.rope, seed=seed))


def sequential_decision(
    losses: np.ndarray, rule: Rule, seed: int, *, corrected: bool = True
) -> tuple[str, int]:
    """Grow from ``FIXED_SEEDS`` by ``BATCH`` to ``MAX_SEEDS``, stopping at a decision;
    ``corrected=False`` is the naive procedure (the fixed-seeds rule at every look)."""
    looks = planned_looks(FIXED_SEEDS, BATCH, len(losses))
    strict = rule.for_looks(len(looks)) if corrected else rule
    for n in looks:
        found = decision(losses[:n], strict, seed)
        if found != "undecided":
            return found, n
    return "undecided", looks[-1]


@dataclass(frozen=True)
class Calibration:
    studies: int
    rope: float
    seed_sd: float  # sd of the paired differences between the copies, pooled over studies
    aa_fixed_rate: float  # better or worse at FIXED_SEEDS
    aa_fixed_equivalent: float
    aa_sequential_rate: float  # better or worse when grown until decided
    aa_sequential_mean_seeds: float
    aa_sequential_naive_rate: float  # the same without the correction: optional stopping's cost
    power: dict[str, float]  # margin -> share of "better" at FIXED_SEEDS
    cell_seconds: float


def simulate(
    studies: int, budget: int = 10, margins: tuple[float, ...] = (0.5, 0.75, 1.0)
) -> Calibration:
    """``margins`` are true advantages in units of the copies' paired-difference sd."""
    rule = Rule(DEFAULT_ROPES[PROBLEM])
    started = time.perf_counter()
    losses = paired_losses(studies, MAX_SEEDS, budget)
    cell_seconds = (time.perf_counter() - started) / losses[..., 0].size / 2
    fixed = [decision(losses[i, :FIXED_SEEDS], rule, i) for i in range(studies)]
    grown = [sequential_decision(losses[i], rule, i) for i in range(studies)]
    naive = [sequential_decision(losses[i], rule, i, corrected=False) for i in range(studies)]
    differences = losses[:, :, 1] - losses[:, :, 0]
    seed_sd = float(np.std(differences - differences.mean(axis=1, keepdims=True), ddof=1))
    power = {}
    for multiple in margins:
        margin = multiple * seed_sd  # far beyond the ROPE: a practically meaningful advantage
        shifted = losses.copy()
        shifted[:, :, 1] -= margin
        hits = [decision(shifted[i, :FIXED_SEEDS], rule, i) == "better" for i in range(studies)]
        power[f"{margin:.3g} ({multiple:g} sd)"] = float(np.mean(hits))
    return Calibration(
        studies=studies,
        rope=rule.rope,
        seed_sd=seed_sd,
        aa_fixed_rate=float(np.mean([d in ("better", "worse") for d in fixed])),
        aa_fixed_equivalent=float(np.mean([d == "equivalent" for d in fixed])),
        aa_sequential_rate=float(np.mean([d in ("better", "worse") for d, _ in grown])),
        aa_sequential_mean_seeds=float(np.mean([n for _, n in grown])),
        aa_sequential_naive_rate=float(np.mean([d in ("better", "worse") for d, _ in naive])),
        power=power,
        cell_seconds=cell_seconds,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=200)
    parser.add_argument("--budget", type=int, default=10, help="evaluations per cell")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    result = simulate(args.studies, args.budget)
    print(
        f"{result.studies} A/A studies on {PROBLEM} (ROPE ±{result.rope:g}; paired "
        f"differences' sd {result.seed_sd:.3g}, {result.cell_seconds * 1000:.0f} ms per cell):\n"
        f"  better/worse at {FIXED_SEEDS} seeds: {result.aa_fixed_rate:.1%} "
        f"(equivalent: {result.aa_fixed_equivalent:.1%})\n"
        f"  better/worse until decided ({FIXED_SEEDS}..{MAX_SEEDS} by {BATCH}): "
        f"{result.aa_sequential_rate:.1%} (mean seeds {result.aa_sequential_mean_seeds:.1f}); "
        f"without the correction for looking: {result.aa_sequential_naive_rate:.1%}\n"
        "  power, 'better' at 20 seeds for a true margin of: "
        + ", ".join(f"{m} → {p:.1%}" for m, p in result.power.items())
    )
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(asdict(result), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
