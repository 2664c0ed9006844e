"""Seeds until decided: the looks of a growing study and its log.

A study grows in batches of paired seeds; after each batch (a *look*) the primary family
is decided again, and the study stops when every comparison is decided or the seed limit
is reached. Looking repeatedly and stopping on a decision (optional stopping) would inflate
the error of a claim, so every look uses ``Rule.for_looks`` with the number of looks the
plan allows (Bonferroni). The study's log (``StudyStore.read_log``) records the plan, the
control, the ROPE and each look's decisions, so the report decides the same way.
"""

from __future__ import annotations

import math

DEFAULT_BATCH = 5  # seeds added per look
DEFAULT_MAX_SEEDS = 40


def planned_looks(start: int, batch: int, max_seeds: int) -> list[int]:
    """Seed counts at which the study is looked at: ``start``, then every ``batch`` to the limit."""
    if start >= max_seeds:
        return [start]
    steps = math.ceil((max_seeds - start) / batch)
    return [min(start + i * batch, max_seeds) for i in range(steps + 1)]
