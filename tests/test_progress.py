"""The terminal progress line: steps, amounts, rate and time left, on a clock the test drives."""

from __future__ import annotations

import io

import pytest

from aeroops.progress import Progress
from aeroops.views.progress import Speedometer, TerminalProgress, clock_time, describe_progress

MIB = 1 << 20


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def last_line(stream: io.StringIO) -> str:
    return stream.getvalue().rsplit("\r\033[K", 1)[-1]


def test_the_line_shows_rate_and_time_left() -> None:
    clock, out = FakeClock(), io.StringIO()
    progress = TerminalProgress(out, clock=clock, width=lambda: 200)
    progress(Progress("restore", "verify and extract", 3, 11, 0, 700 * MIB))
    assert last_line(out) == "[3/11] verify and extract: 0 B of 700.0 MiB (0%)"
    clock.now = 2.0
    progress(Progress("restore", "verify and extract", 3, 11, 100 * MIB, 700 * MIB))
    # 100 MiB in 2 s: 50 MiB/s, and 600 MiB to go: 12 s.
    assert last_line(out) == "[3/11] verify and extract: 100.0 MiB of 700.0 MiB (14%), 50.0 MiB/s, 0:12 left"


def test_a_new_step_measures_its_own_rate() -> None:
    clock, out = FakeClock(), io.StringIO()
    progress = TerminalProgress(out, clock=clock, width=lambda: 200)
    progress(Progress("drill", "read the archive", 3, 6, 0, 10 * MIB))
    clock.now = 10.0
    progress(Progress("drill", "read the archive", 3, 6, 10 * MIB, 10 * MIB))
    assert "1.0 MiB/s, 0:00 left" in last_line(out)
    progress(Progress("drill", "compare", 5, 6, 0, 4000, unit="documents"))
    clock.now = 11.0
    progress(Progress("drill", "compare", 5, 6, 1000, 4000, unit="documents"))
    assert last_line(out) == "[5/6] compare: 1,000 of 4,000 documents (25%), 1,000 documents/s, 0:03 left"


def test_a_step_without_an_amount_shows_how_long_it_has_run() -> None:
    clock = FakeClock()
    speed = Speedometer(clock)
    event = Progress("drill", "remove the scratch folder", 6, 6)
    speed.update(event)
    assert describe_progress(event, speed) == "[6/6] remove the scratch folder"
    clock.now = 21.0
    speed.update(event)
    assert describe_progress(event, speed) == "[6/6] remove the scratch folder: 0:21"


def test_the_line_fits_the_terminal_and_is_cleared_at_the_end() -> None:
    out = io.StringIO()
    progress = TerminalProgress(out, clock=FakeClock(), width=lambda: 30)
    progress(Progress("backup", "a step with a long name that would wrap", 1, 10, 5, 10))
    # The name gives way to the figures, which are what a person watches.
    assert last_line(out) == "[1/10] a…: 5 B of 10 B (50%)" and len(last_line(out)) <= 29
    progress.close()
    assert out.getvalue().endswith("\r\033[K")


def test_updates_within_the_interval_are_skipped_but_the_end_is_drawn() -> None:
    clock, out = FakeClock(), io.StringIO()
    progress = TerminalProgress(out, interval=0.1, clock=clock, width=lambda: 200)
    for done in range(0, 100):
        progress(Progress("verify", "read", 1, 1, done, 100))
    assert out.getvalue().count("\r") == 1
    progress(Progress("verify", "read", 1, 1, 100, 100))
    assert out.getvalue().count("\r") == 2 and "100 B of 100 B (100%)" in last_line(out)


@pytest.mark.parametrize(("seconds", "shown"), [(0.4, "0:00"), (7, "0:07"), (750, "12:30"), (3723, "1:02:03")])
def test_clock_time(seconds: float, shown: str) -> None:
    assert clock_time(seconds) == shown
