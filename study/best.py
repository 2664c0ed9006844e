"""The best configuration per strategy, the overall winner, and its saved model.

Rules, from the records alone:

- **winner**: the strategy with the best median *test* objective over its seeds — the
  same ranking as the report's comparison, so the two never disagree. A median over
  paired seeds says which strategy tends to find good models, not which got one lucky run.
- **a strategy's best configuration**: among its cells, the incumbent with the best
  *validation* objective. The test split is never used to pick a model (that would make
  its test score optimistic); the test score of the chosen cell is shown beside it.

The winner's model is the saved ``.keras`` file of its best cell (``--save-models``).
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from study.artifacts import sha256_file
from study.errors import UsageError
from study.records import CellRecord, CorruptRecordWarning
from study.store import MODEL_SUFFIX, StudyStore


@dataclass(frozen=True)
class StrategyBest:
    strategy: str
    n_seeds: int
    median_test: float  # the objective metric over seeds with a test score
    seed: int  # the cell whose incumbent has the best validation objective
    validation: float
    test: float
    config: dict[str, Any]
    model: Path | None  # its saved model, where one was saved
    model_sha256: str | None


@dataclass(frozen=True)
class BestReport:
    directory: Path
    metric: str
    direction: str
    strategies: list[StrategyBest]  # best first

    @property
    def winner(self) -> StrategyBest:
        return self.strategies[0]

    def text(self) -> str:
        better = "lower" if self.direction == "min" else "higher"
        m = self.metric
        lines = [
            f"study {self.directory.name!r}: objective {m} ({better} is better). Winner: best "
            f"median test {m} over seeds; each strategy's configuration: its cell with the "
            f"best validation {m} (the test split never picks a model).",
            "",
            f"{'strategy':<16}{'seeds':>6}{'median test':>13}{'seed':>6}{'val':>10}"
            f"{'test':>10}  configuration",
        ]
        for b in self.strategies:
            lines.append(
                f"{b.strategy:<16}{b.n_seeds:>6}{_num(b.median_test):>13}{b.seed:>6}"
                f"{_num(b.validation):>10}{_num(b.test):>10}  {_config_text(b.config)}"
            )
        w = self.winner
        lines += [
            "",
            f"winner: {w.strategy} (median test {m} {_num(w.median_test)} over {w.n_seeds} seeds)",
            f"configuration (seed {w.seed}): {_config_text(w.config)}",
            f"model: {w.model if w.model is not None else 'not saved (run with --save-models)'}",
        ]
        return "\n".join(lines)


def best_report(directory: Path) -> BestReport:
    store = StudyStore(directory)
    records = _records(store)
    metric = records[0].objective_metric
    direction = records[0].direction
    s = 1.0 if direction == "min" else -1.0
    by_strategy: dict[str, list[CellRecord]] = {}
    for record in records:
        if record.objective_metric != metric:
            raise UsageError(f"{directory}: cells disagree on the objective metric")
        if record.incumbent is not None:
            by_strategy.setdefault(record.strategy, []).append(record)
    if not by_strategy:
        raise UsageError(f"{directory}: no cell found a configuration")
    results = []
    for strategy, cells in by_strategy.items():
        tests = [t for t in (c.test_score() for c in cells) if math.isfinite(t)]
        chosen = min(cells, key=lambda c: (_loss(s, c.validation()), c.seed))
        assert chosen.incumbent is not None
        model = chosen.artifacts.model
        results.append(
            StrategyBest(
                strategy=strategy,
                n_seeds=len(cells),
                median_test=statistics.median(tests) if tests else math.nan,
                seed=chosen.seed,
                validation=chosen.validation(),
                test=chosen.test_score(),
                config=dict(chosen.incumbent.config),
                model=store.model_file(model) if model else None,
                model_sha256=model.sha256 if model else None,
            )
        )
    # Strategies without any test score go last; ties keep name order.
    results.sort(key=lambda b: (_loss(s, b.median_test), b.strategy))
    return BestReport(directory, metric, direction, results)


def export_model(report: BestReport, target: Path) -> Path:
    """Copy the winner's saved model to ``target`` (a ``.keras`` path or a directory)."""
    w = report.winner
    if w.model is None or w.model_sha256 is None:
        raise UsageError(
            f"no model was saved for {w.strategy} seed {w.seed}; run the study with "
            f"--save-models (a new --study name, or delete that cell's record to rerun it)"
        )
    if not w.model.is_file():
        raise UsageError(f"{w.model} is missing; rerun that cell to save it again")
    if sha256_file(w.model) != w.model_sha256:
        raise UsageError(f"{w.model} does not match its record's checksum (edited or truncated)")
    if target.is_dir():
        target = target / w.model.name
    elif target.suffix != MODEL_SUFFIX:
        raise UsageError(f"export to a .keras file or an existing directory, not {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(w.model, target)
    return target


def _records(store: StudyStore) -> list[CellRecord]:
    if not store.cells_dir.is_dir():
        raise UsageError(f"{store.directory} is not a study directory (it has no records)")
    records, skipped = store.records()
    for reason in skipped:
        warnings.warn(f"skipping {reason}", CorruptRecordWarning, stacklevel=3)
    if not records:
        raise UsageError(f"{store.directory} has no readable cell records")
    return records


def _loss(sign: float, value: float) -> tuple[bool, float]:
    """Sort key: finite values first, best first; NaN (no score) last."""
    return (not math.isfinite(value), sign * value if math.isfinite(value) else 0.0)


def _num(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{value:.4g}"


def _config_text(config: dict[str, Any]) -> str:
    return json.dumps(config, sort_keys=True)
