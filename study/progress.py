"""Progress of a running study, at two levels: cells, and the evaluation budget inside them.

The budget level counts full-fidelity evaluation equivalents (a Hyperband evaluation at a
third of the epochs counts a third), so its ETA holds across strategies of every kind; the
cell level alone jumps by whole cells. On a terminal both are tqdm bars with the running
cells and their incumbents; quiet mode (logs) prints one line per finished cell and, at
most once a minute, a summary line. ``CellLine`` is the condensed one-cell view that the
pytest benchmarks show.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from tqdm import tqdm

from study.events import Cell, CellFailed, CellFinished, CellStarted, EvaluationDone, Event
from study.records import CellRecord


def summary(record: CellRecord) -> str:
    metric = record.objective_metric
    test = record.test_score()
    score = f"test {metric} {test:.4f}" if math.isfinite(test) else "no test score"
    return (
        f"{record.strategy} seed {record.seed}: {len(record.evaluations)} "
        f"evaluations, {score}, {record.timings.wall_seconds:.0f} s"
    )


def amount(value: float) -> str:
    """Budget in evaluation equivalents: ``7`` when whole, ``7.3`` when not."""
    return f"{value:.1f}".removesuffix(".0")


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def eta_seconds(elapsed: float, done: float, total: float) -> float | None:
    """Time left at the average rate so far; None before anything is done."""
    if done <= 0 or elapsed <= 0:
        return None
    return max(0.0, elapsed * (total - done) / done)


def best_text(event: EvaluationDone) -> str:
    return f"best val {event.metric} {event.best:.4f}" if event.best is not None else "no score yet"


def cell_name(cell: Cell) -> str:
    return f"{cell[0]} seed {cell[1]}"


class StudyProgress:
    """Follows the runner's events (pass it as ``on_event``).

    ``budget`` is each cell's budget in full-fidelity evaluations. The bars show cells done
    and budget used out of the whole run, with elapsed time and ETA, and the running cells
    with their budget used and incumbent; quiet mode prints one line per finished (or
    failed) cell and, every ``summary_every`` seconds while events arrive, one summary line.
    """

    def __init__(
        self,
        cells: list[Cell],
        budget: int,
        quiet: bool = False,
        *,
        file: TextIO | None = None,
        summary_every: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.quiet = quiet
        self.total = len(cells)
        self.budget_total = float(len(cells) * budget)
        self.count = 0
        self.running: dict[Cell, str] = {}
        self.used: dict[Cell, float] = {}  # budget spent by each cell's current attempt
        self.latest: dict[Cell, EvaluationDone] = {}
        self.file = file
        self.summary_every = summary_every
        self.clock = clock
        self.started = clock()
        self.last_summary = self.started
        self.bar: tqdm | None = None
        self.budget_bar: tqdm | None = None
        if not quiet:
            common: dict[str, Any] = {"dynamic_ncols": True, "file": file, "smoothing": 0}
            self.bar = tqdm(
                total=self.total,
                unit="cell",
                position=0,
                bar_format="cells  {bar}| {n_fmt}/{total_fmt} [{elapsed}] {desc}",
                **common,
            )
            self.budget_bar = tqdm(
                total=self.budget_total,
                unit="evaluation",
                position=1,
                bar_format=(
                    "budget {bar}| {n:.1f}/{total:.0f} evaluations [{elapsed}<{remaining}]"
                ),
                **common,
            )

    def __enter__(self) -> StudyProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for bar in (self.budget_bar, self.bar):
            if bar is not None:
                bar.close()

    @property
    def budget_used(self) -> float:
        return sum(self.used.values())

    def __call__(self, event: Event) -> None:
        if isinstance(event, EvaluationDone):
            # Only the running attempt counts: a late report from a finished cell, or from
            # a worker that died, is stale.
            if event.cell not in self.running:
                return
            self.latest[event.cell] = event
            self._spend(event.cell, event.used)
        elif isinstance(event, CellStarted):
            self.running[event.cell] = event.where
        elif isinstance(event, CellFinished):
            self._stop(event.cell)
            self._spend(event.cell, event.record.budget.spent_cost)
            self.count += 1
            self._say(f"[{self.count}/{self.total}] {summary(event.record)}", advance=1)
        elif isinstance(event, CellFailed):
            self._stop(event.cell)
            self._spend(event.cell, 0.0)  # a retry starts its budget afresh
            strategy, seed = event.cell
            then = "retrying" if event.retrying else "giving up on this cell"
            self._say(f"{strategy} seed {seed} failed: {event.error}; {then}", err=True)
        self._describe()

    def _stop(self, cell: Cell) -> None:
        self.running.pop(cell, None)
        self.latest.pop(cell, None)

    def _spend(self, cell: Cell, used: float) -> None:
        change = used - self.used.get(cell, 0.0)
        self.used[cell] = used
        if self.budget_bar is not None and change:
            self.budget_bar.update(change)

    def running_text(self, limit: int = 2) -> str:
        parts = []
        for cell in list(self.running)[:limit]:
            event = self.latest.get(cell)
            if event is None:
                parts.append(f"{cell_name(cell)} (starting)")
            else:
                done = f"{amount(event.used)}/{event.budget}"
                parts.append(f"{cell_name(cell)} ({done}, {best_text(event)})")
        extra = len(self.running) - limit
        return ", ".join(parts) + (f" +{extra} more" if extra > 0 else "")

    def summary_line(self) -> str:
        elapsed = self.clock() - self.started
        used = self.budget_used
        share = used / self.budget_total if self.budget_total else 1.0
        eta = eta_seconds(elapsed, used, self.budget_total)
        line = (
            f"progress: {self.count}/{self.total} cells, {amount(used)}/"
            f"{amount(self.budget_total)} evaluations ({share:.0%}), {duration(elapsed)} "
            f"elapsed, ETA {'unknown' if eta is None else duration(eta)}"
        )
        return line + (f"; running {self.running_text()}" if self.running else "")

    def _describe(self) -> None:
        if self.bar is None:
            now = self.clock()
            if self.running and now - self.last_summary >= self.summary_every:
                self.last_summary = now
                self._say(self.summary_line())
            return
        self.bar.set_description_str(
            f"running {self.running_text()}" if self.running else "", refresh=False
        )
        self.bar.refresh()

    def _say(self, line: str, advance: int = 0, err: bool = False) -> None:
        out = self.file or (sys.stderr if err else sys.stdout)
        if self.bar is None:
            print(line, file=out, flush=True)
            return
        self.bar.write(line, file=out)
        self.bar.update(advance)


class CellLine:
    """One running cell in one line, for a host that owns the terminal (pytest).

    ``write(line, live)`` shows it: ``live`` lines rewrite the previous one in place (a
    terminal); otherwise each is a new line, and only a few are written per cell: the first
    evaluation and each quarter of the budget.
    """

    def __init__(
        self,
        cell: Cell,
        write: Callable[[str, bool], None],
        live: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cell = cell
        self.write = write
        self.live = live
        self.clock = clock
        self.started = clock()
        self.quarter = -1  # the last quarter of the budget reported (not live)
        self.last: EvaluationDone | None = None

    def text(self, event: EvaluationDone) -> str:
        elapsed = self.clock() - self.started
        eta = eta_seconds(elapsed, event.used, event.budget)
        return (
            f"{cell_name(self.cell)}: {amount(event.used)}/{event.budget} evaluations, "
            f"{best_text(event)}, {duration(elapsed)} elapsed, "
            f"ETA {'unknown' if eta is None else duration(eta)}"
        )

    def __call__(self, event: EvaluationDone) -> None:
        self.last = event
        if self.live:
            self.write(self.text(event), True)
            return
        quarter = min(4, math.floor(4 * event.used / event.budget)) if event.budget else 4
        if quarter > self.quarter:
            self.quarter = quarter
            self.write(self.text(event), False)
