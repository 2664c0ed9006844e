"""Named study profiles: smoke (tests), quick (the default study), full (rigorous).

quick and full both run 20 paired seeds, as the field's benchmark suites do (CARP-S and
Bayesmark 20, HPOBench 24): enough for the Bayesian signed-rank test to decide advantages of
practical size against the control (see analysis.decisions).
"""

from __future__ import annotations

from study.errors import UsageError
from study.settings import ProtocolSettings, StudySpec


def _all_strategies() -> tuple[str, ...]:
    from study.strategies import STRATEGIES

    return tuple(STRATEGIES)


def _smoke() -> StudySpec:
    return StudySpec(
        name="smoke",
        problem="california_mlp",
        space="lab",
        strategies=_all_strategies(),
        seeds=(0, 1),
        # Every registered strategy runs here, so each cell stays tiny: 3 evaluations of
        # 3 epochs (still two Hyperband rungs at factor 3) keeps the profile within 3 minutes
        # on 2 cores.
        budget=3,
        protocol=ProtocolSettings(validation="holdout", max_epochs=3, patience=2, max_rows=2000),
    )


def _quick() -> StudySpec:
    return StudySpec(
        name="quick",
        problem="california_mlp",
        space="lab",
        strategies=_all_strategies(),
        seeds=tuple(range(20)),
        budget=12,
        protocol=ProtocolSettings(validation="holdout", max_epochs=20, patience=4),
    )


def _full() -> StudySpec:
    return StudySpec(
        name="full",
        problem="california_mlp",
        space="lab",
        strategies=_all_strategies(),
        seeds=tuple(range(20)),
        budget=50,
        protocol=ProtocolSettings(validation="kfold", folds=3, max_epochs=100, patience=10),
        save_models=True,  # the lab keeps its best models; a few hundred kB per cell
    )


PROFILES = {"smoke": _smoke, "quick": _quick, "full": _full}


def get_profile(name: str) -> StudySpec:
    try:
        return PROFILES[name]()
    except KeyError:
        raise UsageError(f"unknown profile {name!r}; choose from: {', '.join(PROFILES)}") from None
