"""Decisions with practical meaning: each comparison is better, equivalent, worse or undecided.

One comparison is a paired one: strategy ``a`` against strategy ``b`` over the seeds both
ran, as losses (see ``tables.sign``). The Bayesian signed-rank test of Benavoli et al.
("Time for a change", JMLR 2017), as baycomp implements it, gives the posterior
probabilities that ``a`` is better by more than the region of practical equivalence (ROPE),
that the two are within it, and that ``b`` is better by more than it. A decision is taken
when one of them is high enough (``Rule``); otherwise the comparison is undecided, and
``seeds_needed`` estimates from the observed differences how many paired seeds would decide
it.

The primary family is every strategy against one control; all pairs form the secondary
family. The frequentist view (Wilcoxon signed-rank, Holm within each family) stays beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from baycomp import SignedRankTest

from analysis import stats

DEFAULT_CONTROL = "random_search"  # the lab's method: the question is "better than it?"
DECISIONS = ("better", "equivalent", "worse", "undecided")
# Monte Carlo draws of the posterior: 20000 puts its error near 0.95 at about ±0.0015.
POSTERIOR_SAMPLES = 20_000
PLANNING_SAMPLES = 1_000  # per resampled study in ``seeds_needed``: only the decision counts
SEEDS_LIMIT = 200  # ``seeds_needed`` looks no further

# The default ROPE per problem, in the objective's own units. Each is a difference a user
# would not act on (justifications in the README's "Decisions" section).
DEFAULT_ROPES = {
    "california_mlp": 0.005,  # RMSE in $100k: 1% of a tuned MLP's 0.50
    "diabetes_mlp": 0.005,  # RMSE in hundreds: 1% of a tuned MLP's ~0.55
    "breast_cancer_mlp": 0.005,  # log-loss (nats): under the test split's resolution
    "breast_cancer_auc_mlp": 0.005,  # ROC-AUC: half a point
    "branin": 0.1,  # the function's value: one evaluation's noise (noise = 0.1)
}
RELATIVE_ROPE = 0.01  # other problems: 1% of the control's median objective


@dataclass(frozen=True)
class Rule:
    """When a posterior is a decision.

    ``equivalent`` needs P(within the ROPE) ≥ ``equivalence``. ``better`` or ``worse``
    needs its probability ≥ ``direction``: either direction could have been claimed, so
    each gets half of the 5% error, as a two-sided test would (0.95 for each would call
    about 10% of identical pairs different when the ROPE is small against the seed noise).
    """

    rope: float
    direction: float = 0.975
    equivalence: float = 0.95

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rope) and self.rope > 0):
            raise ValueError(f"the ROPE must be a positive number, not {self.rope!r}")

    def decide(self, p_better: float, p_equivalent: float, p_worse: float) -> str:
        if p_better >= self.direction:
            return "better"
        if p_worse >= self.direction:
            return "worse"
        if p_equivalent >= self.equivalence:
            return "equivalent"
        return "undecided"

    def for_looks(self, looks: int) -> Rule:
        """The rule for one of ``looks`` planned looks at a growing study (optional stopping).

        Bonferroni over looks: a directional claim at any look keeps its 2.5% per direction.
        """
        return replace(self, direction=1.0 - (1.0 - self.direction) / max(1, looks))


def default_rope(problem: str, control_losses: pd.Series | None = None) -> tuple[float, str]:
    """The ROPE for ``problem`` and where it comes from (a sentence for the report)."""
    if problem in DEFAULT_ROPES:
        return DEFAULT_ROPES[problem], f"the default for `{problem}`"
    if control_losses is None or control_losses.empty:
        raise ValueError(f"no default ROPE for problem {problem!r}; pass --rope")
    value = RELATIVE_ROPE * abs(float(control_losses.median()))
    if not value > 0:
        raise ValueError(f"no default ROPE for problem {problem!r}; pass --rope")
    return value, f"{RELATIVE_ROPE:.0%} of the control's median (no default for `{problem}`)"


def posterior(
    losses_a: np.ndarray,
    losses_b: np.ndarray,
    rope: float,
    samples: int = POSTERIOR_SAMPLES,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(P(a better), P(equivalent), P(b better)) from paired losses, by baycomp."""
    # baycomp reads y − x > rope as "right": with x = a's losses, that is b's loss being
    # larger, i.e. a better.
    p_b, p_rope, p_a = SignedRankTest.probs(
        np.asarray(losses_a, float),
        np.asarray(losses_b, float),
        rope=rope,
        nsamples=samples,
        random_state=seed,
    )
    return float(p_a), float(p_rope), float(p_b)


def compare_pair(
    matrix: pd.DataFrame, a: str, b: str, rule: Rule, direction: str
) -> dict[str, object]:
    """One comparison: difference in metric units with its interval, probabilities, decision."""
    s = 1.0 if direction == "min" else -1.0
    loss_a, loss_b = matrix[a].to_numpy(float), matrix[b].to_numpy(float)
    difference = s * (loss_a - loss_b)  # a − b as the metric reads
    low, high = stats.median_difference_ci(difference)
    if len(difference) >= 2:
        p_a, p_rope, p_b = posterior(loss_a, loss_b, rule.rope)
    else:  # one seed says nothing about seed-to-seed variation
        p_a = p_rope = p_b = math.nan
    _, p = stats.wilcoxon_p(loss_a - loss_b)
    return {
        "a": a,
        "b": b,
        "n_seeds": len(difference),
        "median_difference": float(np.median(difference)) if len(difference) else math.nan,
        "ci_low": low,
        "ci_high": high,
        "p_a_better": p_a,
        "p_equivalent": p_rope,
        "p_b_better": p_b,
        "decision": rule.decide(p_a, p_rope, p_b),
        "p": p,
    }


def _with_holm(rows: list[dict[str, object]]) -> pd.DataFrame:
    table = pd.DataFrame(rows)
    if not table.empty:
        table["p_holm"], table["significant"] = stats.holm(table["p"].to_numpy())
    return table


def versus_control(matrix: pd.DataFrame, control: str, rule: Rule, direction: str) -> pd.DataFrame:
    """The primary family: every other strategy (``a``) against ``control`` (``b``); Holm
    over these k − 1 comparisons."""
    others = [c for c in matrix.columns if c != control]
    return _with_holm([compare_pair(matrix, a, control, rule, direction) for a in others])


def all_pairs(matrix: pd.DataFrame, rule: Rule, direction: str) -> pd.DataFrame:
    """The secondary family: every pair, Holm over all k(k − 1)/2."""
    columns = list(matrix.columns)
    rows = [
        compare_pair(matrix, a, b, rule, direction)
        for i, a in enumerate(columns)
        for b in columns[i + 1 :]
    ]
    return _with_holm(rows)


def seeds_needed(
    loss_differences: np.ndarray,
    rule: Rule,
    *,
    share: float = 0.8,
    resamples: int = 30,
    limit: int = SEEDS_LIMIT,
    seed: int = 0,
) -> int | None:
    """Fewest paired seeds at which ``share`` of studies resampled from the observed paired
    differences (a − b, as losses) reach a decision; None when even ``limit`` does not.

    The observed differences stand in for the population of seeds (a bootstrap): what they
    cannot show (a difference never seen) no resampling can add. Decisions grow more likely
    with seeds, so the smallest such number is found by bisection.
    """
    differences = np.asarray(loss_differences, float)
    if len(differences) < 2:
        return None
    draws = np.random.default_rng(seed).integers(0, len(differences), (resamples, limit))

    def decided_share(n: int) -> float:
        decided = 0
        for r in range(resamples):
            d = differences[draws[r, :n]]
            probs = posterior(d, np.zeros(n), rule.rope, PLANNING_SAMPLES, seed=r)
            decided += rule.decide(*probs) != "undecided"
        return decided / resamples

    low = len(differences)  # the observed number, undecided by assumption
    if decided_share(limit) < share:
        return None
    high = limit
    while high - low > max(1, low // 10):
        middle = (low + high) // 2
        if decided_share(middle) >= share:
            high = middle
        else:
            low = middle
    return high


def verdict(
    row: pd.Series, control: str, unit: str, seeds_hint: int | None = None, planned: bool = True
) -> str:
    """One sentence: the decision, the difference with its interval, and the probability."""
    a = row["a"]
    numbers = f"{_signed(row['median_difference'])}{unit} [{_signed(row['ci_low'])}, {_signed(row['ci_high'])}]"
    decision = row["decision"]
    if decision == "better":
        return (
            f"**{a} is better than {control}**: {numbers}, P({a} better) = {row['p_a_better']:.2f}"
        )
    if decision == "worse":
        return f"**{a} is worse than {control}**: {numbers}, P({control} better) = {row['p_b_better']:.2f}"
    if decision == "equivalent":
        return f"**{a} is practically equivalent to {control}**: {numbers}, P(equivalent) = {row['p_equivalent']:.2f}"
    probs = (
        f"P(better) = {row['p_a_better']:.2f}, P(equivalent) = {row['p_equivalent']:.2f}, "
        f"P(worse) = {row['p_b_better']:.2f}"
    )
    if not planned:
        return f"**{a} vs {control}: undecided at {row['n_seeds']} seeds**: {numbers}, {probs}"
    if seeds_hint is None:
        need = f"more than {SEEDS_LIMIT} seeds would be needed to decide it"
    else:
        need = f"about {seeds_hint} would decide it"
    return f"**{a} vs {control}: undecided at {row['n_seeds']} seeds**, {need}: {numbers}, {probs}"


def _signed(value: float) -> str:
    return "–" if not np.isfinite(value) else f"{value:+.3g}".replace("-", "−")


def smallest_decidable_difference(
    loss_differences: np.ndarray,
    n_seeds: int,
    rule: Rule,
    *,
    share: float = 0.8,
    resamples: int = 30,
    seed: int = 0,
) -> float:
    """Smallest true advantage (in loss units) that ``n_seeds`` paired seeds call "better"
    in ``share`` of studies, with seed-to-seed noise resampled from the observed differences
    (centred on zero, then shifted by the advantage). NaN with fewer than 2 differences."""
    centred = np.asarray(loss_differences, float)
    if len(centred) < 2:
        return math.nan
    centred = centred - np.median(centred)
    draws = np.random.default_rng(seed).integers(0, len(centred), (resamples, n_seeds))

    def power(advantage: float) -> float:
        hits = 0
        for r in range(resamples):
            d = centred[draws[r]] - advantage  # a's loss lower by ``advantage``
            probs = posterior(d, np.zeros(n_seeds), rule.rope, PLANNING_SAMPLES, seed=r)
            hits += rule.decide(*probs) == "better"
        return hits / resamples

    low, high = rule.rope, 2 * rule.rope
    while power(high) < share:
        low, high = high, 2 * high
        if high > 1e6 * rule.rope:
            return math.inf
    while high - low > 0.02 * high:
        middle = (low + high) / 2
        low, high = (low, middle) if power(middle) >= share else (middle, high)
    return high


@dataclass(frozen=True)
class Decisions:
    """Both families of comparisons on one measure (the final test objective)."""

    measure: str
    unit: str  # appended to differences in sentences, e.g. " RMSE"
    control: str
    rule: Rule
    rope_source: str  # where the ROPE comes from, for the report
    looks: int  # planned looks of a growing study (1: a fixed number of seeds)
    primary: pd.DataFrame  # versus_control, with ``seeds_needed`` for undecided rows
    secondary: pd.DataFrame  # all_pairs

    def sentences(self) -> list[str]:
        planned = "seeds_needed" in self.primary
        return [
            verdict(row, self.control, self.unit, _optional_int(row.get("seeds_needed")), planned)
            for _, row in self.primary.iterrows()
        ]

    @property
    def all_decided(self) -> bool:
        return bool((self.primary["decision"] != "undecided").all())


def decide(
    matrix: pd.DataFrame,
    control: str,
    rule: Rule,
    direction: str,
    *,
    measure: str = "test objective",
    unit: str = "",
    rope_source: str = "",
    looks: int = 1,
    plan: bool = True,
) -> Decisions:
    """Both families on a seeds × strategies loss matrix; ``plan`` adds ``seeds_needed``."""
    if control not in matrix.columns:
        raise ValueError(
            f"control {control!r} is not in this study; choose from: {', '.join(matrix.columns)}"
        )
    primary_rule = rule.for_looks(looks)  # a growing study decides under the stricter rule
    primary = versus_control(matrix, control, primary_rule, direction)
    if plan and not primary.empty:
        primary["seeds_needed"] = [
            seeds_needed((matrix[row["a"]] - matrix[control]).to_numpy(), primary_rule)
            if row["decision"] == "undecided"
            else None
            for _, row in primary.iterrows()
        ]
    return Decisions(
        measure=measure,
        unit=unit,
        control=control,
        rule=rule,
        rope_source=rope_source,
        looks=looks,
        primary=primary,
        secondary=all_pairs(matrix, rule, direction),
    )


def _optional_int(value: object) -> int | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return int(value)  # type: ignore[call-overload]
