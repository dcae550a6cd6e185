"""Progress as people read it: the terminal's self-rewriting line, and the rate and time left
(`Speedometer`) the notebook panels show too.

Written here rather than taken from tqdm or rich: a job is a sequence of named steps
(``[3/11] verify and extract``), some with an amount and some without, which their
one-bar-per-loop model does not say directly, and tqdm's import alone would spend `aeroops
verify`'s start-up budget.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import TextIO

from aeroops.progress import Progress
from aeroops.terminal import terminal_columns
from aeroops.views.units import human_bytes


class Speedometer:
    """Rate and time left of the current step, from the events it is fed.

    The rate is the step's average since its first event (what a disk or a CPU sustains over
    seconds; it does not jump with one slow read), shown once ``settle`` seconds have passed.
    A new step (another index or name) starts again from zero."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, settle: float = 0.5) -> None:
        self._clock = clock
        self._settle = settle
        self._key: tuple[str, str, int] | None = None
        self._started = 0.0
        self._start_amount = 0
        self.rate: float | None = None  # units a second
        self.seconds_left: float | None = None
        self.elapsed = 0.0  # seconds in this step

    def update(self, event: Progress) -> None:
        now = self._clock()
        key = (event.job, event.step, event.step_index)
        if key != self._key:
            self._key, self._started, self._start_amount = key, now, event.done_bytes
        self.elapsed = now - self._started
        done = event.done_bytes - self._start_amount
        self.rate = done / self.elapsed if self.elapsed >= self._settle and done > 0 else None
        left = event.total_bytes - event.done_bytes
        self.seconds_left = left / self.rate if self.rate and event.total_bytes and left >= 0 else None

    def describe(self, event: Progress) -> str:
        """``52.3 MiB/s, 0:07 left`` (what is known of it so far), else the step's elapsed time
        once it has run ``settle`` seconds (``0:21``), else ``""``."""
        if self.rate is not None:
            text = f"{amount(self.rate, event.unit)}/s"
            return text if self.seconds_left is None else f"{text}, {clock_time(self.seconds_left)} left"
        return clock_time(self.elapsed) if self.elapsed >= self._settle else ""


def amount(value: float, unit: str) -> str:
    """``316.4 MiB`` for bytes (binary units, as every view shows sizes), ``1,200 records``."""
    return human_bytes(round(value)) if unit == "B" else f"{value:,.0f} {unit}"


def clock_time(seconds: float) -> str:
    """``0:07``, ``12:30``, ``1:02:03``."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def describe_progress(event: Progress, speed: Speedometer | None = None, width: int | None = None) -> str:
    """``[3/11] verify and extract: 316.4 MiB of 700.0 MiB (45%), 52.3 MiB/s, 0:07 left``; a step
    without an amount shows its name (and, from ``speed``, how long it has run). Within ``width``
    characters, the step's name gives way (cut with ``…``) before the figures do."""
    name = f"[{event.step_index}/{event.step_count}] {event.step}"
    details = []
    if event.total_bytes:
        done = amount(event.done_bytes, event.unit)
        if event.unit != "B":  # "1,000 of 4,000 documents"
            done = done.removesuffix(f" {event.unit}")
        details.append(f"{done} of {amount(event.total_bytes, event.unit)} ({event.fraction:.0%})")
    if speed is not None and (pace := speed.describe(event)):
        details.append(pace)
    figures = f": {', '.join(details)}" if details else ""
    if width is not None and len(name) + len(figures) > width:
        room = max(width - len(figures), 8)
        name = name if len(name) <= room else name[: room - 1].rstrip() + "…"
        return (name + figures)[:width]
    return name + figures


class TerminalProgress:
    """One self-rewriting line on a terminal, cut to its width; at most ~10 updates a second
    (a new step and a step's end are always drawn)."""

    def __init__(
        self,
        stream: TextIO = sys.stderr,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        width: Callable[[], int] = terminal_columns,
    ) -> None:
        self._stream = stream
        self._interval = interval
        self._clock = clock
        self._width = width
        self._speed = Speedometer(clock)
        self._drawn_at = float("-inf")
        self._drawn_key: tuple[str, str, int] | None = None

    def __call__(self, event: Progress) -> None:
        self._speed.update(event)
        now = self._clock()
        key = (event.job, event.step, event.step_index)
        finished = bool(event.total_bytes) and event.done_bytes >= event.total_bytes
        if key == self._drawn_key and now - self._drawn_at < self._interval and not finished:
            return
        self._drawn_at, self._drawn_key = now, key
        line = describe_progress(event, self._speed, width=max(self._width() - 1, 10))
        self._stream.write(f"\r\033[K{line}")
        self._stream.flush()

    def close(self) -> None:
        if self._drawn_key is not None:
            self._stream.write("\r\033[K")
            self._stream.flush()


@contextlib.contextmanager
def terminal_progress(wanted: bool = True) -> Iterator[TerminalProgress | None]:
    """The commands' progress line: on stderr when it is a terminal and ``wanted``, else None.
    Its line is cleared at the end, however the job ends."""
    if not (wanted and sys.stderr.isatty()):
        yield None
        return
    renderer = TerminalProgress()
    try:
        yield renderer
    finally:
        renderer.close()
