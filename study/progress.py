"""Progress over cells: a tqdm bar with elapsed time and ETA, or one line per cell (quiet)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from tqdm import tqdm

from study.execution import CellFailed, CellFinished, CellStarted, Event


def summary(record: dict[str, Any]) -> str:
    metric = record.get("objective_metric", "rmse")
    test = record["test"]["metrics"].get(metric)
    score = f"test {metric} {test:.4f}" if test is not None else "no test score"
    return (
        f"{record['strategy']} seed {record['seed']}: {len(record['evaluations'])} "
        f"evaluations, {score}, {record['timings']['wall_seconds']:.0f} s"
    )


class StudyProgress:
    """Follows the runner's events. The bar shows cells done, elapsed time, ETA and the
    cells now running; quiet mode prints one line per finished (or failed) cell instead."""

    def __init__(self, cells: list[tuple[str, int]], quiet: bool = False) -> None:
        self.quiet = quiet
        self.total = len(cells)
        self.count = 0
        self.running: dict[tuple[str, int], str] = {}
        self.bar: tqdm | None = (
            None
            if quiet
            else tqdm(
                total=len(cells),
                unit="cell",
                dynamic_ncols=True,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} cells [{elapsed}<{remaining}]",
            )
        )

    def __enter__(self) -> StudyProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.bar is not None:
            self.bar.close()

    def __call__(self, event: Event) -> None:
        if isinstance(event, CellStarted):
            self.running[event.cell] = event.where
        elif isinstance(event, CellFinished):
            self.running.pop(event.cell, None)
            self.count += 1
            self._say(f"[{self.count}/{self.total}] {summary(event.record)}", advance=1)
        elif isinstance(event, CellFailed):
            self.running.pop(event.cell, None)
            strategy, seed = event.cell
            then = "retrying" if event.retrying else "giving up on this cell"
            self._say(f"{strategy} seed {seed} failed: {event.error}; {then}", err=True)
        self._describe()

    def _describe(self) -> None:
        if self.bar is None:
            return
        names = [f"{s} seed {k}" for s, k in self.running]
        shown = ", ".join(names[:2]) + (f" +{len(names) - 2}" if len(names) > 2 else "")
        self.bar.set_description(f"running {shown}" if names else "")

    def _say(self, line: str, advance: int = 0, err: bool = False) -> None:
        if self.bar is None:
            print(line, file=sys.stderr if err else sys.stdout, flush=True)
            return
        self.bar.write(line, file=sys.stderr if err else sys.stdout)
        self.bar.update(advance)
