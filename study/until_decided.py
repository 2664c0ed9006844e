"""``python -m study run --until-decided``: add paired seeds until every primary comparison
is decided.

The study grows in batches of seeds (its finished cells are kept: this extends one study).
After each batch the comparisons against the control are decided again and printed; the run
stops when all are decided or the seed limit is reached. Every look decides under
``Rule.for_looks`` with the number of looks the plan allows, so stopping on a decision does
not inflate the error of a claim (see ``analysis.sequential``); the log beside the records
lets the report decide the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from study.errors import UsageError
from study.runner import StudyResult, check_study
from study.settings import StudySpec
from study.store import StudyStore

# Runs the missing cells of a spec (locking, progress) and returns what happened.
RunCells = Callable[[StudySpec], StudyResult]


def grow_until_decided(
    spec: StudySpec,
    results_root: Path,
    run: RunCells,
    *,
    max_seeds: int,
    batch: int,
    control: str | None,
    rope: float | None,
    say: Callable[[str], None] = print,
) -> tuple[StudyResult | None, bool]:
    """Run ``spec``, then add ``batch`` seeds at a time up to ``max_seeds``, deciding after
    each batch; returns the last batch's result and whether every comparison was decided."""
    from analysis.load import load_study
    from analysis.report import study_decisions, test_matrix
    from analysis.sequential import planned_looks
    from analysis.tables import cells_table

    merged = check_study(results_root, spec)
    seeds = sorted(merged.seeds)
    if control is not None and control not in merged.strategies:
        raise UsageError(
            f"control {control!r} is not in this study; choose from: {', '.join(merged.strategies)}"
        )
    if max_seeds < len(seeds):
        raise UsageError(f"--max-seeds {max_seeds} is below the study's {len(seeds)} seeds")
    looks = planned_looks(len(seeds), batch, max_seeds)
    store = StudyStore.of(results_root, spec)
    log = store.read_log() or {"history": []}
    for name, given in (("control", control), ("rope", rope)):
        if given is not None and log.get(name) not in (None, given):
            raise UsageError(f"{store} was grown with {name} {log[name]!r}; keep it")
    # A resumed run keeps the largest plan any run of this study made (the stricter rule).
    log["looks"] = max(int(log.get("looks", 1)), len(looks))
    log.update(batch=batch, max_seeds=max_seeds)
    result: StudyResult | None = None
    for n in looks:
        while len(seeds) < n:
            seeds.append(max(seeds) + 1)
        result = run(replace(spec, seeds=tuple(seeds)))
        if result.failed:
            return result, False
        store.write_log(log)  # the report and the decisions below read the plan from it
        study = load_study(store.directory)
        found = study_decisions(
            study, test_matrix(study, cells_table(study)), control, rope, plan=False
        )
        log.update(control=found.control, rope=found.rule.rope)
        log["history"].append(
            {
                "seeds": len(seeds),
                "decisions": dict(zip(found.primary["a"], found.primary["decision"], strict=True)),
            }
        )
        store.write_log(log)
        decided = int((found.primary["decision"] != "undecided").sum())
        say(
            f"{len(seeds)} seeds: {decided} of {len(found.primary)} comparisons with "
            f"{found.control} decided (ROPE ±{found.rule.rope:g}{found.unit}, P ≥ "
            f"{found.rule.for_looks(log['looks']).direction:.4g} for better/worse)"
        )
        for _, row in found.primary.iterrows():
            say(
                f"  {row['a']}: {row['decision']} (P(better) {row['p_a_better']:.3f}, "
                f"P(equivalent) {row['p_equivalent']:.3f}, P(worse) {row['p_b_better']:.3f})"
            )
        if found.all_decided:
            return result, True
    return result, False
