"""Progress: one callback shape for every long job. Its renderers are views: the terminal line
(`aeroops.views.progress`) and the notebook widgets (`aeroops.panels`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Progress:
    """One progress event of a job: which step, and how much of it is done."""

    job: str  # "backup", "verify", "restore", ...
    step: str  # human name of the current step
    step_index: int  # 1-based
    step_count: int
    done_bytes: int = 0  # the amount done in this step, in `unit`
    total_bytes: int = 0  # the step's whole amount in `unit`; 0: a step without one
    unit: str = "B"  # bytes, or what else a step counts ("records")

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 0.0


ProgressCallback = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    pass


def within_step(progress: ProgressCallback, job: str, step: str, index: int, count: int) -> ProgressCallback:
    """``progress``, to hand to a job that runs inside one step of another: its events are shown
    as that step's, with their amounts, and the inner job's own steps when it has several
    (``[2/3] back it up, 8/10: pack the archive``), so the outer counter never goes back."""

    def report(event: Progress) -> None:
        inner = f", {event.step_index}/{event.step_count}: {event.step}" if event.step_count > 1 else ""
        progress(replace(event, job=job, step=step + inner, step_index=index, step_count=count))

    return report
