"""Progress over cells: a tqdm bar with elapsed time and ETA, or one line per cell."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from tqdm import tqdm


class StudyProgress:
    def __init__(self, cells: list[tuple[str, int]], quiet: bool = False) -> None:
        self.quiet = quiet
        self.total = len(cells)
        self.count = 0
        self.bar: tqdm | None = None if quiet else tqdm(total=len(cells), unit="cell")

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

    def start(self, strategy: str, seed: int) -> None:
        if self.bar is not None:
            self.bar.set_description(f"{strategy} seed {seed}")

    def done(self, record: dict[str, Any]) -> None:
        self.count += 1
        metric = record.get("objective_metric", "rmse")
        test = record["test"]["metrics"].get(metric)
        score = f"test {metric} {test:.4f}" if test is not None else "no test score"
        summary = (
            f"{record['strategy']} seed {record['seed']}: {len(record['evaluations'])} "
            f"evaluations, {score}, {record['timings']['wall_seconds']:.0f} s"
        )
        if self.bar is None:
            print(f"[{self.count}/{self.total}] {summary}", flush=True)
        else:
            self.bar.write(summary)
            self.bar.update(1)
