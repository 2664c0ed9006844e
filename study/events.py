"""What the driver hears while a study runs: cells starting, finishing or failing, and every
evaluation inside a running cell. Plain picklable data, light to import (no TensorFlow), so
worker processes and Dask workers can send them and the driver can render them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from study.records import CellRecord

Cell = tuple[str, int]


@dataclass
class CellStarted:
    cell: Cell
    where: str  # "this process", "worker pid 1234", "dask"
    pid: int | None = None


@dataclass
class CellFinished:
    cell: Cell
    record: CellRecord
    # The kept model's bytes on their way to the driver; None once written (or none kept).
    model: bytes | None = None


@dataclass
class CellFailed:
    cell: Cell
    error: str
    retrying: bool = False  # the driver decides, from its retry limit


@dataclass(frozen=True)
class EvaluationDone:
    """One evaluation of a running cell was recorded. Progress only: the cell's record
    stays the authority, so an event that is lost or late changes nothing."""

    cell: Cell
    index: int
    used: float  # budget spent so far, in full-fidelity evaluation equivalents
    budget: int  # the cell's budget, in the same units
    status: str  # this evaluation's: ok, diverged, failed or pruned
    metric: str  # the problem's objective metric, e.g. "rmse"
    best: float | None  # the incumbent's value of ``metric`` so far (None: nothing succeeded)

    def to_message(self) -> dict[str, Any]:
        """Plain lists and numbers, for transports that take only msgpack data (Dask)."""
        return asdict(self) | {"cell": list(self.cell)}

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> EvaluationDone:
        strategy, seed = message["cell"]
        return cls(**(message | {"cell": (str(strategy), int(seed))}))


Event = CellStarted | CellFinished | CellFailed | EvaluationDone
