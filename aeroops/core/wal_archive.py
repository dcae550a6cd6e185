"""Planning one ``archive-wal`` pass: pure, from what the shell saw (the timeline
``checkpoint.json`` names, the segments already in the folder, the WAL's size, the clock) to
where the new records start in the WAL and what must be checked there, or a refusal.

The executor (`aeroops.executor.archive_wal`) reads and writes; nothing here touches a file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aeroops.errors import Code, UsageError
from aeroops.formats.segment import SegmentName

TAIL_CHECK = 4096  # bytes of the archived prefix compared with the WAL at each end, per pass


@dataclass(frozen=True, slots=True)
class ArchivedSegment:
    """A segment file as listed: its name's facts and its size in bytes."""

    name: SegmentName
    size: int


@dataclass(frozen=True, slots=True)
class PassStart:
    """Where the pass picks up: the WAL offset just past the last archived record, the sequence
    the next record must carry, and the byte ranges of the archived prefix to compare with the
    WAL (``(segment file, offset in it, WAL offset, length)``)."""

    timeline: str
    offset: int
    first_sequence: int
    link: int | None  # None: the link is the last 4 bytes of ``compare``'s tail (read by the shell)
    compare: tuple[tuple[str, int, int, int], ...]
    new_timeline: bool
    ended_timelines: tuple[str, ...]  # timelines archived before, now behind a checkpoint


@dataclass(frozen=True, slots=True)
class PassRefusal:
    code: Code
    message: str


def plan_pass(
    timeline: str,
    segments: Iterable[ArchivedSegment],
    wal_size: int,
    now: datetime,
) -> PassStart | PassRefusal:
    """Where the next pass starts on ``timeline``, or why it must not run.

    The archived records of a timeline are a chain from sequence 1: its segments hold
    consecutive sequences and consecutive WAL bytes, so their sizes add up to the WAL offset
    where the next record starts. A chain that does not start at 1 or has a hole (pruned,
    damaged by hand) cannot say where that offset is without reading the WAL: the pass refuses
    rather than guess.
    """
    every = sorted(segments, key=lambda s: (s.name.timeline, s.name.first, s.name.last))
    newest = max((s.name.archived_at for s in every), default=None)
    if newest is not None and now < newest:
        return PassRefusal(
            Code.WAL_ARCHIVE_CLOCK,
            f"the clock reads {_time(now)}, earlier than the newest segment's archive time {_time(newest)}: "
            "segments would no longer be in time order; fix the clock (or wait) and run again",
        )
    chain = [s for s in every if s.name.timeline == timeline]
    others = tuple(sorted({s.name.timeline for s in every if s.name.timeline < timeline}))
    if any(s.name.timeline > timeline for s in every):
        later = max(s.name.timeline for s in every)
        return PassRefusal(
            Code.WAL_ARCHIVE_DIVERGED,
            f"the folder holds segments of timeline {later}, newer than the one checkpoint.json names "
            f"({timeline}): this data directory went back to an older checkpoint (a restore?), or the folder "
            "holds another data directory's WAL; archive it into another folder",
        )
    if not chain:
        return PassStart(timeline, 0, 1, 0, (), True, others)
    expected, offset = 1, 0
    for segment in chain:
        if segment.name.first != expected:
            what = "a gap" if segment.name.first > expected else "an overlap"
            return PassRefusal(
                Code.SEGMENT_GAP if segment.name.first > expected else Code.SEGMENT_OVERLAP,
                f"the archived segments of timeline {timeline} have {what} at sequence {expected} "
                f"({segment.name.file_name}): the pass cannot tell where the WAL's next record starts; "
                "`aeroops verify` the folder and move the stray segment away",
            )
        expected, offset = segment.name.last + 1, offset + segment.size
    if wal_size < offset:
        return PassRefusal(
            Code.WAL_ARCHIVE_DIVERGED,
            f"the WAL holds {wal_size} bytes, fewer than the {offset} already archived of timeline {timeline}, "
            "and checkpoint.json names no new checkpoint: it was truncated or replaced. Nothing was archived; "
            "find out what rewrote it before archiving again (into a new folder)",
        )
    head, tail = chain[0], chain[-1]
    compare = [(head.name.file_name, 0, 0, min(TAIL_CHECK, head.size))]
    tail_length = min(TAIL_CHECK, tail.size)
    compare.append((tail.name.file_name, tail.size - tail_length, offset - tail_length, tail_length))
    return PassStart(timeline, offset, expected, None, tuple(compare), False, others)


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


_PERIOD = re.compile(r"([0-9]{1,9})(d|h|m|s)")
_PERIOD_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_period(text: str) -> timedelta:
    """``30s``, ``5m`` (minutes), ``1h30m``, ``2d``: a period for ``--every`` and
    ``--max-wal-age`` (unlike retention's durations, ``m`` is minutes here). Raises `UsageError`."""
    cleaned = text.strip().lower()
    parts = _PERIOD.findall(cleaned)
    seconds = sum(int(number) * _PERIOD_UNITS[unit] for number, unit in parts)
    if not parts or "".join(n + u for n, u in parts) != cleaned or seconds == 0:
        raise UsageError(f"{text[:40]!r} is not a period like 30s, 5m, 1h30m or 2d (m: minutes)")
    return timedelta(seconds=seconds)
