"""Progress: one callback shape for every long job, three renderers (terminal, JSON lines,
and the notebook widgets in `aeroops.panels`)."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import TextIO


@dataclass(frozen=True, slots=True)
class Progress:
    job: str  # "backup", "verify", "restore", ...
    step: str  # human name of the current step
    step_index: int  # 1-based
    step_count: int
    done_bytes: int = 0
    total_bytes: int = 0

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 0.0


ProgressCallback = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    pass


class TerminalProgress:
    """One self-rewriting line on a terminal; at most ~10 updates a second."""

    def __init__(self, stream: TextIO = sys.stderr, interval: float = 0.1) -> None:
        self._stream = stream
        self._interval = interval
        self._last = 0.0
        self._last_step = ""

    def __call__(self, event: Progress) -> None:
        now = time.monotonic()
        finished = event.total_bytes and event.done_bytes >= event.total_bytes
        if event.step == self._last_step and now - self._last < self._interval and not finished:
            return
        self._last, self._last_step = now, event.step
        bar = ""
        if event.total_bytes:
            bar = f" {event.fraction:6.1%} {_mib(event.done_bytes)}/{_mib(event.total_bytes)}"
        self._stream.write(f"\r\033[K[{event.step_index}/{event.step_count}] {event.step}{bar}")
        self._stream.flush()

    def close(self) -> None:
        if self._last_step:
            self._stream.write("\r\033[K")
            self._stream.flush()


class JsonLinesProgress:
    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self._stream = stream

    def __call__(self, event: Progress) -> None:
        self._stream.write(json.dumps({"progress": asdict(event)}) + "\n")


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


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"
