"""The reference line: the lab's hand-picked configuration, evaluated once per seed.

The configuration is the space's defaults (``study.space.MODEL_DEFAULTS`` for the MLP
spaces), scored through the same protocol as every tuned incumbent. One evaluation is the
whole strategy, so its record's stop reason says so instead of using the budget.
"""

from __future__ import annotations

from study.ledger import Objective
from study.space import SearchSpace
from study.strategies.registry import Settings, register

STOP_REASON = "baseline: the hand-picked configuration, evaluated once by definition"


# The configuration is the space's defaults, declared with the space: no settings here.
@register("baseline", settings={})
def baseline(objective: Objective, space: SearchSpace, seed: int, settings: Settings) -> None:
    objective.evaluate(space.default_values())
    objective.stop_reason = STOP_REASON
