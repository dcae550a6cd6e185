"""Point-in-time planning: pure functions from a description of a backup folder (base backups
and WAL segments) and a target to a plan (which base, which segments, where the WAL is cut) or
a refusal with every reason.

A point of the database's history is ``(timeline, sequence)``: a timeline begins at a
checkpoint (its id is the checkpoint's snapshot id, as ``checkpoint.json`` named it when
``archive-wal`` archived it) and its records are numbered from 1. AeroDB's boot of the
timeline's checkpoint snapshot with records ``1..N`` gives the database after record N.

What the planner proves from the folder, and never guesses:

* a base backup starts timeline T when its snapshot is T's checkpoint snapshot (its id is T,
  and archived segments name T: ``archive-wal`` read that id from ``checkpoint.json``). Its
  snapshot holds the database at (T, 0), so it reaches any (T, N) whose records 1..N the folder
  holds. A base whose snapshot is no archived timeline's checkpoint holds the database at some
  point of its WAL that nothing in the folder names: it is not used (its plain restore still is);
* records 1..N come from the base's own WAL (its records 1..k, verified with the archive) when
  N <= k, else from a chain of segments from sequence 1: consecutive, each whole (its digest
  matches its sidecar, its records are the ones its name says) and linked to the one before
  (its name carries the CRC-32 of the record before its first);
* a time T reaches the last point archived at or before it: a segment's last record at its
  archive time, or a base's last WAL record at its creation time.

Teammates call `plan_point_in_time` for ``--to-sequence`` too: it takes and returns plain values.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from aeroops.errors import Code
from aeroops.formats.segment import SegmentName


@dataclass(frozen=True, slots=True)
class BaseBackup:
    """A base backup archive as the folder's describer read it."""

    file: str  # relative to the folder
    snapshot_id: str
    created_at: datetime
    wal_last: int | None  # the last sequence of its WAL (0: none); None when not verified
    ok: bool  # verified clean
    reason: str = ""  # why not ok


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """A WAL segment as the describer read it. ``damage`` is None when the segment was read
    whole and is what its name and sidecar say; ``checked`` False when it was only listed."""

    file: str
    name: SegmentName
    size: int
    sidecar: bool
    checked: bool = False
    damage: str | None = None
    last_crc: int | None = None  # CRC-32 of its last record (its last 4 bytes), when read


@dataclass(frozen=True, slots=True)
class FolderDescription:
    folder: str
    bases: tuple[BaseBackup, ...]
    segments: tuple[SegmentInfo, ...]
    strays: tuple[str, ...] = ()  # files named like segments whose names do not parse


class TargetKind(enum.StrEnum):
    SEQUENCE = "sequence"
    TIME = "time"
    LATEST = "latest"


@dataclass(frozen=True, slots=True)
class Target:
    kind: TargetKind
    sequence: int | None = None
    timeline: str | None = None  # None: the newest
    time: datetime | None = None

    def describe(self) -> str:
        if self.kind is TargetKind.SEQUENCE:
            return f"sequence {self.sequence}" + (f" of timeline {self.timeline}" if self.timeline else "")
        if self.kind is TargetKind.TIME and self.time is not None:
            return f"the last record archived at or before {self.time.strftime('%Y-%m-%d %H:%M:%SZ')}"
        return "the newest archived record"


@dataclass(frozen=True, slots=True)
class SegmentUse:
    """A segment of the plan and how much of it goes into the WAL: records first..upto."""

    segment: SegmentInfo
    upto: int

    @property
    def whole(self) -> bool:
        return self.upto == self.segment.name.last


@dataclass(frozen=True, slots=True)
class PitrPlan:
    """The base to restore, the WAL to give it, and the point that reaches."""

    folder: str
    target: Target
    timeline: str
    sequence: int  # the last record the restored WAL holds (0: the snapshot alone)
    base: BaseBackup
    base_records: int  # records taken from the base's own WAL (1..base_records)
    segments: tuple[SegmentUse, ...]  # then these, in order
    archived_at: datetime | None  # when the target record was archived (or the base made)
    notes: tuple[str, ...] = ()

    @property
    def cut(self) -> str:
        if self.sequence == 0:
            return "an empty WAL: the checkpoint snapshot alone"
        if not self.segments:
            return f"the base's WAL cut after record {self.sequence}"
        last = self.segments[-1]
        whole = "whole" if last.whole else f"cut after record {last.upto}"
        return f"records 1..{self.sequence} from {len(self.segments)} segment(s), the last {whole}"


@dataclass(frozen=True, slots=True)
class PitrRefusal:
    target: Target
    reasons: tuple[str, ...]
    code: Code = Code.PITR_UNREACHABLE

    @property
    def message(self) -> str:
        return f"cannot restore to {self.target.describe()}: " + "; ".join(self.reasons)


# --- timelines: what the segments of the folder say ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem of the archive of one timeline: the code, the sequence it begins at, words."""

    code: Code
    sequence: int
    message: str
    file: str | None = None


@dataclass(frozen=True, slots=True)
class Timeline:
    """One timeline's segments and what they prove: records 1..``reach`` in a good chain."""

    id: str
    segments: tuple[SegmentInfo, ...]  # sorted by first sequence
    chain: tuple[SegmentInfo, ...]  # the good chain from sequence 1
    problems: tuple[Problem, ...] = ()
    bases: tuple[BaseBackup, ...] = ()  # good base backups that start it
    bases_not_used: tuple[tuple[BaseBackup, str], ...] = field(default=())

    @property
    def reach(self) -> int:
        """The last sequence the good chain from 1 holds (0: none)."""
        return self.chain[-1].name.last if self.chain else 0

    @property
    def newest_archived(self) -> datetime | None:
        return max((s.name.archived_at for s in self.segments), default=None)

    @property
    def last_archived(self) -> int:
        return max((s.name.last for s in self.segments), default=0)

    def base_reach(self, base: BaseBackup) -> int:
        """The last sequence ``base`` reaches on this timeline."""
        return max(self.reach, base.wal_last or 0)


def timelines(description: FolderDescription) -> tuple[Timeline, ...]:
    """The folder's timelines, oldest first: each with its chain, problems and bases."""
    ids = sorted({s.name.timeline for s in description.segments})
    found = []
    for timeline in ids:
        found.append(_timeline(timeline, description))
    return tuple(found)


def _timeline(timeline: str, description: FolderDescription) -> Timeline:
    segments = tuple(sorted((s for s in description.segments if s.name.timeline == timeline), key=_order))
    problems: list[Problem] = []
    chain: list[SegmentInfo] = []
    expected, previous, broken = 1, None, False
    for segment in segments:
        name = segment.name
        if segment.damage is not None:
            problems.append(
                Problem(Code.SEGMENT_DAMAGED, name.first, f"{segment.file}: {segment.damage}", segment.file)
            )
            broken = True
            continue
        if not segment.sidecar:
            problems.append(
                Problem(
                    Code.SEGMENT_NO_SIDECAR,
                    name.first,
                    f"{segment.file} has no digest sidecar: nothing proves it whole",
                    segment.file,
                )
            )
            broken = True
            continue
        if name.first < expected:
            # Two sources for the same records: which one is the history is not for the planner
            # to pick, so nothing from the overlap on is reachable until one goes.
            problems.append(
                Problem(
                    Code.SEGMENT_OVERLAP,
                    name.first,
                    f"{segment.file} holds sequences {name.first}..{min(name.last, expected - 1)} "
                    "that another segment holds too (move one of them away)",
                    segment.file,
                )
            )
            chain = [c for c in chain if c.name.last < name.first]
            broken = True
            continue
        if name.first > expected:
            problems.append(
                Problem(
                    Code.SEGMENT_GAP,
                    expected,
                    f"sequences {expected}..{name.first - 1} of timeline {timeline} are in no segment",
                )
            )
            broken = True
        elif previous is not None and previous.last_crc is not None and name.link != previous.last_crc:
            problems.append(
                Problem(
                    Code.SEGMENT_LINK,
                    name.first,
                    f"{segment.file} does not continue {previous.file} (its link {name.link:08x} is not the CRC "
                    f"{previous.last_crc:08x} of record {name.first - 1}): another data directory's, or a "
                    "rewritten WAL's",
                    segment.file,
                )
            )
            broken = True
        if not broken:
            chain.append(segment)
        expected, previous = max(expected, name.last + 1), segment
    bases, unused = [], []
    for base in description.bases:
        if base.snapshot_id != timeline:
            continue
        if base.ok:
            bases.append(base)
        else:
            unused.append((base, f"{base.file} is not a good backup ({base.reason or 'it failed verification'})"))
    return Timeline(timeline, segments, tuple(chain), tuple(problems), tuple(bases), tuple(unused))


def _order(segment: SegmentInfo) -> tuple[int, int, datetime, str]:
    return segment.name.first, segment.name.last, segment.name.archived_at, segment.file


# --- the planner ---------------------------------------------------------------------------------


def plan_point_in_time(description: FolderDescription, target: Target) -> PitrPlan | PitrRefusal:
    """The plan that restores the database to ``target`` from the folder, or why none can."""
    lines = {t.id: t for t in timelines(description)}
    if not lines:
        return PitrRefusal(target, ("the folder holds no WAL segment (run `aeroops archive-wal` first)",))
    if target.kind is TargetKind.TIME:
        return _plan_time(description, lines, target)
    if target.kind is TargetKind.LATEST:
        return _plan_latest(description, lines, target)
    timeline_id = target.timeline or max(lines)
    if timeline_id not in lines:
        return PitrRefusal(
            target,
            (f"timeline {timeline_id} does not exist in the folder (its timelines: {', '.join(sorted(lines))})",),
        )
    assert target.sequence is not None
    return _plan_sequence(description, lines[timeline_id], target.sequence, target)


def _plan_sequence(
    description: FolderDescription, timeline: Timeline, sequence: int, target: Target
) -> PitrPlan | PitrRefusal:
    reasons: list[str] = []
    if not timeline.bases:
        reasons.append(
            f"no good base backup starts timeline {timeline.id} (a backup whose snapshot is its checkpoint "
            f"snapshot {timeline.id})" + "".join(f"; {why}" for _, why in timeline.bases_not_used)
        )
    best = max(timeline.bases, key=lambda b: ((b.wal_last or 0) >= sequence, b.created_at, b.file), default=None)
    reach = timeline.base_reach(best) if best is not None else timeline.reach
    if sequence < 0:
        reasons.append("a sequence is 0 or more")
    elif sequence > max(reach, timeline.last_archived):
        reasons.append(
            f"sequence {sequence} is past the newest archived record of timeline {timeline.id} "
            f"({max(reach, timeline.last_archived)})"
        )
    elif sequence > reach:
        blocking = [p for p in timeline.problems if p.sequence <= sequence] or list(timeline.problems)
        reasons.extend(p.message for p in blocking[:5])
        if not blocking:
            reasons.append(f"records {reach + 1}..{sequence} of timeline {timeline.id} are not archived")
    if reasons or best is None:
        return PitrRefusal(target, tuple(reasons))
    base_records = min(sequence, best.wal_last or 0)
    uses: list[SegmentUse] = []
    if sequence > base_records:
        base_records = 0  # the chain from 1 holds them all: one source, checked against the base's
        for segment in timeline.chain:
            if segment.name.first > sequence:
                break
            uses.append(SegmentUse(segment, min(segment.name.last, sequence)))
    archived_at = uses[-1].segment.name.archived_at if uses else (best.created_at if sequence else None)
    notes = []
    later = [p for p in timeline.problems if p.sequence > sequence]
    if later:
        notes.append(f"timeline {timeline.id} has {len(later)} problem(s) past this target: {later[0].message}")
    return PitrPlan(
        description.folder, target, timeline.id, sequence, best, base_records, tuple(uses), archived_at, tuple(notes)
    )


def _plan_latest(description: FolderDescription, lines: dict[str, Timeline], target: Target) -> PitrPlan | PitrRefusal:
    reasons = []
    for timeline in sorted(lines.values(), key=lambda t: t.id, reverse=True):
        if not timeline.bases:
            reasons.append(f"no good base backup starts timeline {timeline.id}")
            continue
        reach = max(timeline.base_reach(b) for b in timeline.bases)
        plan = _plan_sequence(description, timeline, reach, target)
        if isinstance(plan, PitrPlan):
            notes = plan.notes
            if reasons:
                notes = (*notes, "newer timelines cannot be reached: " + "; ".join(reasons))
            if reach < timeline.last_archived:
                notes = (*notes, f"records {reach + 1}..{timeline.last_archived} are archived but out of reach")
            return replace(plan, notes=notes)
        reasons.extend(plan.reasons)
    return PitrRefusal(target, tuple(reasons))


def points(timeline: Timeline) -> list[tuple[datetime, int]]:
    """The timeline's points with a time: each good segment's last record at its archive time,
    each base's last WAL record at its creation; sorted."""
    found = [(s.name.archived_at, s.name.last) for s in timeline.chain]
    found += [(b.created_at, b.wal_last or 0) for b in timeline.bases if b.wal_last is not None]
    return sorted(found)


def _plan_time(description: FolderDescription, lines: dict[str, Timeline], target: Target) -> PitrPlan | PitrRefusal:
    assert target.time is not None
    candidates = [
        (moment, timeline.id, sequence)
        for timeline in lines.values()
        if timeline.bases
        for moment, sequence in points(timeline)
        if moment <= target.time
    ]
    if not candidates:
        earliest = min((p[0] for t in lines.values() if t.bases for p in points(t)), default=None)
        if earliest is None:
            return PitrRefusal(target, ("no timeline of the folder has a good base backup that starts it",))
        return PitrRefusal(
            target,
            (f"it is before the oldest restorable point ({earliest.strftime('%Y-%m-%d %H:%M:%SZ')})",),
        )
    _, timeline_id, sequence = max(candidates)
    return _plan_sequence(description, lines[timeline_id], sequence, target)


# --- coverage, for inventory, check and the chart --------------------------------------------------


@dataclass(frozen=True, slots=True)
class Coverage:
    """What one base backup can restore to: from/to sequence on its timeline, and when."""

    base: str
    timeline: str
    from_sequence: int
    to_sequence: int
    earliest: datetime
    latest: datetime


def coverage(description: FolderDescription) -> tuple[Coverage, ...]:
    rows = []
    for timeline in timelines(description):
        for base in timeline.bases:
            reach = timeline.base_reach(base)
            moments = [m for m, s in points(timeline) if s <= reach] or [base.created_at]
            rows.append(Coverage(base.file, timeline.id, 0, reach, min(moments), max(moments)))
    return tuple(rows)


def newest_archived(segments: Iterable[SegmentInfo]) -> datetime | None:
    return max((s.name.archived_at for s in segments), default=None)


def segment_chain_needed(description: FolderDescription, kept_bases: Sequence[str]) -> dict[str, str]:
    """For retention: each segment a kept base needs to reach its whole range, with why."""
    needed: dict[str, str] = {}
    for timeline in timelines(description):
        users = [b.file for b in timeline.bases if b.file in kept_bases]
        if not users:
            continue
        for segment in timeline.segments:
            needed[segment.file] = f"timeline {timeline.id}: kept base {users[0]} needs it to reach its range"
    return needed


# --- the WAL archive as audited: inventory, check ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One timeline of the WAL archive, as inventory shows it."""

    timeline: str
    segments: int
    first: int  # the first archived sequence
    last: int  # the last archived sequence
    reach: int  # the last sequence of the good chain from 1
    newest_archived: datetime | None
    bases: tuple[str, ...]  # good base backups that start it
    problems: tuple[Problem, ...]
    oldest_archived: datetime | None = None
    reach_archived: datetime | None = None  # when the good chain's last record was archived

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.bases)


@dataclass(frozen=True, slots=True)
class WalArchiveReport:
    """The folder's WAL archive: its timelines, each base's restorable range, stray files."""

    folder: str
    timelines: tuple[TimelineRow, ...]
    coverage: tuple[Coverage, ...]
    strays: tuple[str, ...]
    checked: bool  # segments were read whole (else only listed)

    @property
    def ok(self) -> bool:
        return not self.strays and all(not t.problems for t in self.timelines)

    @property
    def problems(self) -> tuple[Problem, ...]:
        found = [p for t in self.timelines for p in t.problems]
        found += [
            Problem(Code.SEGMENT_DAMAGED, 0, f"{name}: named like a segment, but its name does not parse", name)
            for name in self.strays
        ]
        return tuple(found)


def wal_archive_report(description: FolderDescription, *, checked: bool) -> WalArchiveReport:
    rows = []
    for line in timelines(description):
        rows.append(
            TimelineRow(
                line.id,
                len(line.segments),
                min(s.name.first for s in line.segments),
                line.last_archived,
                line.reach,
                line.newest_archived,
                tuple(b.file for b in line.bases),
                line.problems,
                min(s.name.archived_at for s in line.segments),
                max((s.name.archived_at for s in line.chain), default=None),
            )
        )
    return WalArchiveReport(description.folder, tuple(rows), coverage(description), description.strays, checked)


@dataclass(frozen=True, slots=True)
class WalFreshness:
    """Is the newest archived record younger than ``max_age``? (``check --max-wal-age``)"""

    newest: datetime | None  # archive time of the newest good segment
    segment: str | None
    max_age: timedelta
    now: datetime

    @property
    def age(self) -> timedelta | None:
        return None if self.newest is None else self.now - self.newest

    @property
    def fresh(self) -> bool:
        return self.newest is not None and self.now - self.newest <= self.max_age


def wal_freshness(segments: Iterable[SegmentInfo], max_age: timedelta, now: datetime) -> WalFreshness:
    """The newest segment that is not known to be damaged, against ``max_age``."""
    good = [s for s in segments if s.damage is None and s.sidecar]
    newest = max(good, key=lambda s: (s.name.archived_at, s.name.timeline, s.name.last), default=None)
    if newest is None:
        return WalFreshness(None, None, max_age, now)
    return WalFreshness(newest.name.archived_at, newest.file, max_age, now)
