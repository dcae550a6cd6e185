"""The WAL archive of a folder as tables (for the audit panel and notebooks): one row per
timeline, per problem, per base backup's restorable range. `aeroops.views.pitr` renders the
same report as text (``inventory --wal``); these take the same `WalArchiveReport`."""

from __future__ import annotations

import pandas as pd

from aeroops.core.pitr import WalArchiveReport
from aeroops.errors import Code

TIMELINE_COLUMNS = [
    "timeline",
    "segments",
    "first",
    "last",
    "restorable_to",
    "oldest_archived",
    "newest_archived",
    "bases",
    "problems",
    "ok",
]
PROBLEM_COLUMNS = ["timeline", "code", "sequence", "file", "message"]
COVERAGE_COLUMNS = ["base", "timeline", "from_sequence", "to_sequence", "earliest", "latest"]


def _time(value: object) -> object:
    return pd.NaT if value is None else pd.Timestamp(value)


def wal_timelines_frame(report: WalArchiveReport) -> pd.DataFrame:
    """A row per timeline: its segments, first and last archived sequence, how far the good
    chain from 1 reaches (``restorable_to``), when, the bases that start it, its problems."""
    rows = [
        (
            t.timeline,
            t.segments,
            t.first,
            t.last,
            t.reach,
            _time(t.oldest_archived),
            _time(t.newest_archived),
            ", ".join(t.bases) if t.bases else "no base starts it",
            len(t.problems),
            t.ok,
        )
        for t in report.timelines
    ]
    return pd.DataFrame(rows, columns=TIMELINE_COLUMNS)


def wal_problems_frame(report: WalArchiveReport) -> pd.DataFrame:
    """A row per problem (gap, overlap, damage, missing sidecar, broken link, stray file), with
    its code and the sequence it begins at."""
    rows = [
        (t.timeline, str(p.code), p.sequence, p.file or "", p.message) for t in report.timelines for p in t.problems
    ]
    rows += [
        ("", str(Code.SEGMENT_DAMAGED), 0, name, "named like a segment, but its name does not parse")
        for name in report.strays
    ]
    return pd.DataFrame(rows, columns=PROBLEM_COLUMNS)


def wal_coverage_frame(report: WalArchiveReport) -> pd.DataFrame:
    """A row per good base backup: the timeline it starts and the range it can restore to
    (from/to sequence, earliest/latest time)."""
    rows = [
        (c.base, c.timeline, c.from_sequence, c.to_sequence, _time(c.earliest), _time(c.latest))
        for c in report.coverage
    ]
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def wal_summary(report: WalArchiveReport) -> str:
    """One line: segments, timelines, how many bases can restore, problems."""
    segments = sum(t.segments for t in report.timelines)
    problems = len(report.problems)
    read = "read whole" if report.checked else "listed (Verify all reads them whole)"
    return (
        f"{_count(segments, 'WAL segment')} on {_count(len(report.timelines), 'timeline')}, {read}; "
        f"{_count(len(report.coverage), 'base backup')} can restore to a point on them; "
        + (_count(problems, "problem") if problems else "no problem found")
    )
