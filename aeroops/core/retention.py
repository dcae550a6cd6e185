"""Retention: which archives of a backup folder to keep, and why. Pure.

`plan_retention(rows, policy, now)` takes inventory rows (with verdicts where known), a policy
and the current time, and returns a `RetentionPlan`: for every row, keep or remove, with the
rules that keep it. The rules are restic's ``forget`` rules as restic 0.18 applies them (its
``ApplyPolicy``; 0.16 and 0.17 keep the same, naming the oldest-archive reason without
"oldest"), checked against restic 0.18's own ``forget --dry-run --json`` on the golden cases
in ``tests/golden/retention/``:

- ``last N``: the N newest archives.
- ``hourly/daily/weekly/monthly/yearly N``: the newest archive in each of the N most recent
  hours (days, ISO weeks Monday to Sunday, months, years) that have one. Periods are calendar
  periods in UTC, or in ``Policy.time_zone`` when one is given (restic: the zone the snapshot
  times were written in).
- ``oldest``: while a count above is not used up, the oldest archive is kept too, even when an
  archive of its period is kept already (restic 0.16's "oldest daily snapshot").
- ``within D`` (e.g. ``7d``, ``1y2m``, ``36h``): every archive made strictly after the newest
  one minus D (restic measures from the newest archive, not from now: if backups stop, nothing
  ages out; one exactly D older than the newest is not kept).
- ``hourly/daily/weekly/monthly/yearly within D``: the newest archive of each period, for every
  period with an archive made within D of the newest (and the oldest archive, as above, when it
  is within D).
- ``w`` (weeks) in a duration is aeroops' own: restic has none (``2w`` is its ``14d``).
- A count may be ``UNLIMITED`` (-1, the CLI's ``unlimited``): every period that has an archive.

An archive is kept when any rule keeps it (the union). On top of the policy, which cannot
override them:

- The newest archive that verifies clean is always kept (``newest good``).
- An archive that does not verify clean never counts toward a rule: it takes no period and no
  place among the last N, and is never the newest or the oldest. It is left alone, and removed
  only with ``Policy.remove_damaged``. An archive whose verdict is unknown (inventory taken
  without verification) counts, marked ``unverified``; the prune command verifies before it
  removes anything.
- A file that is not a readable archive is never touched.
- Archives of different sources (the backup manifest's ``source``) are planned apart, as restic
  groups snapshots by host and paths.
- Archives made after ``now`` (a clock that was ahead) are kept (``future``), and do not count
  as the newest that ``within`` measures from (restic takes the newest snapshot before now).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aeroops.columns import UTC_TIME, column
from aeroops.core.inventory import InventoryRow
from aeroops.errors import UsageError
from aeroops.formats.ids import format_timestamp

# --- durations --------------------------------------------------------------------------------

_DURATION = re.compile(r"([0-9]{1,12})([ymwdh])")  # 12 digits: past any calendar, short of int() limits
_UNITS = {"y": "years", "m": "months", "w": "weeks", "d": "days", "h": "hours"}


@dataclass(frozen=True, slots=True)
class Duration:
    """A calendar duration as restic writes it: ``1y2m3w4d5h`` (years, months, weeks, days,
    hours; any subset, in this order). Months and years are calendar months and years."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0

    def before(self, moment: datetime, zone: tzinfo = UTC) -> datetime:
        """``moment`` minus this duration, as restic computes it:
        ``AddDate(-years, -months, -days)`` on the wall clock of ``zone`` (a week is 7 days),
        then minus the hours as elapsed time. As Go's ``AddDate``, the day of the month is kept
        and a day the month lacks rolls over (31 March minus a month is 3 March, not 28 February),
        and a wall time that a DST change skips or repeats gets the offset Go gives it."""
        local = moment.astimezone(zone)
        month_index = local.year * 12 + local.month - 1 - self.years * 12 - self.months
        try:
            first = date(month_index // 12, month_index % 12 + 1, 1)
            day = first + timedelta(days=local.day - 1 - self.weeks * 7 - self.days)
            shifted = _go_wall_clock(datetime.combine(day, local.time()), zone)
            return shifted - timedelta(hours=self.hours)
        except (ValueError, OverflowError):  # before year 1: every archive is within it
            return datetime.min.replace(tzinfo=UTC)

    @property
    def zero(self) -> bool:
        return not (self.years or self.months or self.weeks or self.days or self.hours)

    def restic(self) -> str:
        """As restic prints it in its reasons (``1y2m10d5h``: no weeks, they are days there)."""
        parts = (("y", self.years), ("m", self.months), ("d", self.weeks * 7 + self.days), ("h", self.hours))
        return "".join(f"{number}{unit}" for unit, number in parts if number)

    def __str__(self) -> str:
        text = "".join(f"{getattr(self, name)}{unit}" for unit, name in _UNITS.items() if getattr(self, name))
        return text or "0h"


def _go_wall_clock(wall: datetime, zone: tzinfo) -> datetime:
    """The instant Go's ``time.Date`` gives a wall-clock time in ``zone``: the offset in force at
    the wall time read as UTC, corrected once. In a DST gap or overlap this is not always
    Python's ``fold=0`` (Berlin's repeated 02:30 in October is the later one here)."""
    if zone is UTC:
        return wall.replace(tzinfo=UTC)
    as_utc = wall.replace(tzinfo=UTC)
    guess = as_utc - _offset_at(as_utc, zone)
    return as_utc - _offset_at(guess, zone)


def _offset_at(instant: datetime, zone: tzinfo) -> timedelta:
    return instant.astimezone(zone).utcoffset() or timedelta(0)


def parse_duration(text: str) -> Duration:
    """``26h``, ``7d``, ``2w``, ``1y6m`` … Raises `UsageError` for anything else."""
    cleaned = text.strip().lower()
    parts = _DURATION.findall(cleaned)
    units = [unit for _, unit in parts]
    ordered = [unit for unit in _UNITS if unit in units]
    if not parts or "".join(n + u for n, u in parts) != cleaned or units != ordered:
        if re.fullmatch(r"([0-9]+[ymwdh])+", cleaned) and re.search(r"[0-9]{13}", cleaned):
            raise UsageError(f"{text[:40]!r} is too long a duration (at most 12 digits a unit)")
        raise UsageError(f"{text[:40]!r} is not a duration like 26h, 7d, 2w, 6m, 1y or 1y6m")
    return Duration(**{_UNITS[unit]: int(number) for number, unit in parts})


# --- the policy -------------------------------------------------------------------------------


class Rule(enum.StrEnum):
    LAST = "last"
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    YEARLY = "yearly"
    WITHIN = "within"
    WITHIN_HOURLY = "hourly within"
    WITHIN_DAILY = "daily within"
    WITHIN_WEEKLY = "weekly within"
    WITHIN_MONTHLY = "monthly within"
    WITHIN_YEARLY = "yearly within"
    NEWEST_GOOD = "newest good"
    FUTURE = "future"

    @property
    def option(self) -> str:
        """Its name in a Policy and, with ``keep_`` and dashes, on the command line."""
        return self.value.replace(" ", "_") if self in COUNT_RULES else "_".join(reversed(self.value.split()))


PERIOD_RULES = (Rule.HOURLY, Rule.DAILY, Rule.WEEKLY, Rule.MONTHLY, Rule.YEARLY)
COUNT_RULES = (Rule.LAST, *PERIOD_RULES)
WITHIN_PERIOD_RULES = (
    Rule.WITHIN_HOURLY,
    Rule.WITHIN_DAILY,
    Rule.WITHIN_WEEKLY,
    Rule.WITHIN_MONTHLY,
    Rule.WITHIN_YEARLY,
)
DURATION_RULES = (Rule.WITHIN, *WITHIN_PERIOD_RULES)
_PERIOD_OF = dict(zip(WITHIN_PERIOD_RULES, PERIOD_RULES, strict=True))
UNLIMITED = -1  # a count that is never used up: restic's ``unlimited``

# The calendar period of a (local) time, as a label that also sorts and compares.
_PERIOD: dict[Rule, Callable[[datetime], str]] = {
    Rule.HOURLY: lambda t: t.strftime("%Y-%m-%d %H:00"),
    Rule.DAILY: lambda t: t.strftime("%Y-%m-%d"),
    Rule.WEEKLY: lambda t: "{}-W{:02d}".format(*t.isocalendar()[:2]),
    Rule.MONTHLY: lambda t: t.strftime("%Y-%m"),
    Rule.YEARLY: lambda t: t.strftime("%Y"),
}


@dataclass(frozen=True, slots=True)
class Policy:
    """How many archives to keep by each rule (0: the rule is off; `UNLIMITED`: every period),
    as restic's ``--keep-*`` options; the ``within*`` durations as restic's ``--keep-within*``
    (None or a zero duration: off). ``time_zone``: an IANA name (``Europe/Berlin``) for the
    calendar periods and the wall clock ``within`` counts months and days on; None is UTC."""

    last: int = 0
    hourly: int = 0
    daily: int = 0
    weekly: int = 0
    monthly: int = 0
    yearly: int = 0
    within: Duration | None = None
    time_zone: str | None = None
    remove_damaged: bool = False  # also remove archives that do not verify clean
    within_hourly: Duration | None = None
    within_daily: Duration | None = None
    within_weekly: Duration | None = None
    within_monthly: Duration | None = None
    within_yearly: Duration | None = None

    def __post_init__(self) -> None:
        for rule in COUNT_RULES:
            if self.count(rule) < UNLIMITED:
                raise UsageError(f"keep-{rule.value} must be 0 or more, or unlimited (-1), not {self.count(rule)}")
        for rule in DURATION_RULES:
            found = getattr(self, rule.option)
            if found is not None and found.zero:  # restic: a zero duration is no rule
                object.__setattr__(self, rule.option, None)
        self.zone()  # an unknown time zone is refused up front

    def count(self, rule: Rule) -> int:
        return int(getattr(self, rule.option))

    def duration(self, rule: Rule) -> Duration | None:
        found: Duration | None = getattr(self, rule.option)
        return found

    @property
    def empty(self) -> bool:
        return not any(self.count(rule) for rule in COUNT_RULES) and all(
            self.duration(rule) is None for rule in DURATION_RULES
        )

    def zone(self) -> tzinfo:
        if self.time_zone is None:
            return UTC
        try:
            return ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(f"unknown time zone {self.time_zone!r} (an IANA name, e.g. Europe/Berlin)") from None

    def __str__(self) -> str:
        parts = [f"keep-{rule.value} {count_text(self.count(rule))}" for rule in COUNT_RULES if self.count(rule)]
        for rule in DURATION_RULES:
            found = self.duration(rule)
            if found is not None:
                parts.append(f"keep-{rule.option.replace('_', '-')} {found}")
        text = ", ".join(parts) or "no keep rule"
        return text + f" (periods in {self.time_zone or 'UTC'})"


def count_text(count: int) -> str:
    """A count as restic writes it: ``unlimited`` for `UNLIMITED`."""
    return "unlimited" if count == UNLIMITED else str(count)


def parse_count(text: str) -> int:
    """A ``--keep-*`` count: a whole number, or ``unlimited`` (also -1, restic's value for it)."""
    cleaned = text.strip().lower()
    if cleaned == "unlimited":
        return UNLIMITED
    if re.fullmatch(r"[0-9]{19,}", cleaned):  # a whole number, but not one any folder reaches
        raise UsageError(f"{text[:40]!r} is too large (at most 18 digits)")
    if not re.fullmatch(r"-?[0-9]{1,18}", cleaned):
        raise UsageError(f"{text[:40]!r} is not a count (a whole number, or unlimited)")
    number = int(cleaned)
    if number < UNLIMITED:
        raise UsageError(f"{text[:40]!r} is not a count: 0 or more, or unlimited (-1)")
    return number


# --- the plan ---------------------------------------------------------------------------------


class Status(enum.StrEnum):
    CLEAN = "clean"  # verified, no ERROR or FATAL finding
    UNVERIFIED = "unverified"  # read, but not verified: counts toward the rules
    DAMAGED = "damaged"  # verified, and not clean: never counts
    UNREADABLE = "unreadable"  # not an archive, or its manifest cannot be read: never touched


def status_of(row: InventoryRow) -> Status:
    # No creation time: no readable manifest (``reason`` says why; a damaged archive's reason
    # is its worst finding, and it has a creation time).
    if row.created_at is None:
        return Status.UNREADABLE
    if row.ok is None:
        return Status.UNVERIFIED
    return Status.CLEAN if row.ok else Status.DAMAGED


def counts(row: InventoryRow) -> bool:
    """The archive may count toward a keep rule: not known to be damaged."""
    return status_of(row) in (Status.CLEAN, Status.UNVERIFIED)


@dataclass(frozen=True, slots=True)
class KeepReason:
    """One rule that keeps an archive, with the period or place it keeps it for."""

    rule: Rule
    detail: str  # the period ("2026-01-05", "2026-W02"), the place ("2 of 3"), the duration
    oldest: bool = False  # kept as the oldest archive while the rule's count is not used up
    restic: str = ""  # the reason as restic's forget gives it ("oldest daily snapshot"); "" for aeroops' own

    def __str__(self) -> str:
        text = f"{self.rule} {self.detail}" if self.detail else str(self.rule)
        return f"oldest {text}" if self.oldest else text


@dataclass(frozen=True, slots=True)
class Decision:
    """What the retention plan does with one archive, keep or remove, and why."""

    row: InventoryRow
    keep: bool
    reasons: tuple[KeepReason, ...]  # the rules that keep it: empty for a removal or a damaged archive
    status: Status
    note: str = ""  # why it is removed, or left alone without a rule

    @property
    def file(self) -> str:
        return self.row.file

    @property
    def action(self) -> str:
        return "keep" if self.keep else "remove"

    @property
    def why(self) -> str:
        return ", ".join(map(str, self.reasons)) or self.note

    def rules(self) -> frozenset[Rule]:
        return frozenset(reason.rule for reason in self.reasons)

    def table_row(self) -> DecisionRow:
        row = self.row
        return DecisionRow(
            self.action,
            self.status,
            row.file,
            self.why,
            row.source,
            row.backup_id,
            row.snapshot_id,
            row.created_at,
            row.size,
        )


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """A decision as its table, CSV and JSON show it: one list of fields for all of them."""

    action: str = column("string", verdict=True)  # keep or remove
    status: Status = column("string", verdict=True)
    file: str = column("string")
    why: str = column("string")  # the rules that keep it ("daily 2026-01-05, newest good"), else why not
    source: str | None = column("string")  # the backup manifest's "source" (each is planned apart)
    backup_id: str | None = column("string")
    snapshot_id: str | None = column("string")
    created_at: datetime | None = column(UTC_TIME)
    size: int | None = column("Int64", unit="bytes")


@dataclass(frozen=True, slots=True)
class LastCopy:
    """A removal that leaves no good archive of its snapshot behind."""

    decision: Decision
    snapshot_id: str

    def __str__(self) -> str:
        return (
            f"{self.decision.file} is the last good copy of snapshot {self.snapshot_id}: removing it loses the snapshot"
        )


@dataclass(frozen=True, slots=True)
class RetentionPlan:
    """A retention policy applied to a folder's inventory: a decision for every file."""

    policy: Policy
    now: datetime
    decisions: tuple[Decision, ...]  # by source, then newest first; unreadable files last

    @property
    def kept(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.keep)

    @property
    def removed(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if not d.keep)

    def decision(self, file: str) -> Decision:
        return next(d for d in self.decisions if d.file == file)

    def last_copies(self) -> tuple[LastCopy, ...]:
        """Removals of the last good copy of a snapshot: after them no kept archive that counts
        (clean or unverified) holds that snapshot, from that source."""
        kept = {(d.row.source, d.row.snapshot_id) for d in self.decisions if d.keep and counts(d.row)}
        found = []
        for d in self.removed:
            if counts(d.row) and (d.row.source, d.row.snapshot_id) not in kept and d.row.snapshot_id is not None:
                found.append(LastCopy(d, d.row.snapshot_id))
        return tuple(found)

    def removed_bytes(self) -> int:
        return sum(d.row.size or 0 for d in self.removed)


def newest_first(rows: Iterable[InventoryRow]) -> list[InventoryRow]:
    """Readable rows, newest first; ties by file name, so the order never depends on the input's."""
    readable = [row for row in rows if row.created_at is not None]
    return sorted(readable, key=lambda row: (row.created_at, row.file), reverse=True)


def plan_retention(rows: Iterable[InventoryRow], policy: Policy, now: datetime) -> RetentionPlan:
    """Keep or remove, with reasons, for every row. Raises `UsageError` for an empty policy (as
    restic refuses one: it would remove all but the newest good archive)."""
    if policy.empty:
        raise UsageError(
            "no keep rule given: pass at least one of --keep-last, --keep-hourly … --keep-within "
            "(a Policy's last … within)"
        )
    rows = list(rows)
    zone = policy.zone()
    sources = sorted({row.source or "" for row in rows if status_of(row) is not Status.UNREADABLE})
    decisions: list[Decision] = []
    for source in sources:
        group = newest_first(r for r in rows if (r.source or "") == source and status_of(r) is not Status.UNREADABLE)
        reasons = _keep_reasons(group, policy, zone, now)
        for row in group:
            decisions.append(_decide(row, reasons[row.file], policy))
    unreadable = sorted((r for r in rows if status_of(r) is Status.UNREADABLE), key=lambda r: r.file)
    decisions += [
        Decision(r, True, (), Status.UNREADABLE, f"left alone: {r.reason or 'no creation time'}") for r in unreadable
    ]
    return RetentionPlan(policy, now, tuple(decisions))


def _keep_reasons(
    group: list[InventoryRow], policy: Policy, zone: tzinfo, now: datetime
) -> dict[str, list[KeepReason]]:
    """The rules that keep each archive of one source (``group``: newest first), in the order
    restic's ``ApplyPolicy`` gives them: within, last, the periods, the periods within."""
    reasons: dict[str, list[KeepReason]] = {row.file: [] for row in group}
    counted = [row for row in group if counts(row)]
    times = [_created(row) for row in counted]
    local = [t.astimezone(zone) for t in times]
    oldest = len(counted) - 1
    present = [t for t in times if t <= now]
    newest = present[0] if present else None

    def since(duration: Duration) -> datetime:
        return datetime.min.replace(tzinfo=UTC) if newest is None else duration.before(newest, zone)

    if policy.within is not None:
        start = since(policy.within)
        for row, made in zip(counted, times, strict=True):
            if made > start:
                reasons[row.file].append(
                    KeepReason(Rule.WITHIN, f"{policy.within} of the newest", restic=f"within {policy.within.restic()}")
                )
    last = policy.count(Rule.LAST)
    for place, row in enumerate(counted if last == UNLIMITED else counted[:last], start=1):
        reasons[row.file].append(KeepReason(Rule.LAST, f"{place} of {count_text(last)}", restic="last snapshot"))
    for rule in PERIOD_RULES:
        left = policy.count(rule)
        previous: str | None = None
        for nr, row in enumerate(counted):
            if left == 0:
                break
            period = _PERIOD[rule](local[nr])
            if period != previous or nr == oldest:
                again = period == previous
                text = f"{'oldest ' if again else ''}{rule} snapshot"
                reasons[row.file].append(KeepReason(rule, period, oldest=again, restic=text))
                previous = period
                if left > 0:  # UNLIMITED stays
                    left -= 1
    for rule in WITHIN_PERIOD_RULES:
        duration = policy.duration(rule)
        if duration is None:
            continue
        start = since(duration)
        previous = None
        for nr, row in enumerate(counted):
            if times[nr] <= start:
                continue
            period = _PERIOD[_PERIOD_OF[rule]](local[nr])
            if period != previous or nr == oldest:
                again = period == previous
                text = f"{'oldest ' if again else ''}{rule} {duration.restic()}"
                reasons[row.file].append(KeepReason(rule, f"{duration} {period}", oldest=again, restic=text))
                previous = period
    clean = [row for row in group if status_of(row) is Status.CLEAN]
    if clean:
        reasons[clean[0].file].append(KeepReason(Rule.NEWEST_GOOD, ""))
    for row, made in zip(counted, times, strict=True):
        if made > now:
            reasons[row.file].append(KeepReason(Rule.FUTURE, f"made after {format_timestamp(now)}"))
    return reasons


def _created(row: InventoryRow) -> datetime:
    assert row.created_at is not None  # readable rows only
    return row.created_at


def _decide(row: InventoryRow, reasons: list[KeepReason], policy: Policy) -> Decision:
    status = status_of(row)
    if status is Status.DAMAGED:
        found = f"{row.errors or 0} errors, {row.fatal or 0} fatal"
        if policy.remove_damaged:
            return Decision(row, False, (), status, f"does not verify clean ({found})")
        return Decision(row, True, (), status, f"does not verify clean ({found}); left alone without remove-damaged")
    if reasons:
        return Decision(row, True, tuple(reasons), status)
    return Decision(row, False, (), status, "no rule keeps it")


# --- the WAL segment chain ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SegmentDecision:
    """Keep or remove one WAL segment (with its sidecar), and why."""

    file: str
    timeline: str
    first: int
    last: int
    keep: bool
    why: str


def plan_segment_retention(
    plan: RetentionPlan, segments: Iterable[tuple[str, str, int, int]]
) -> tuple[SegmentDecision, ...]:
    """The segment-chain rule, after the archives' plan: a segment of a timeline that a kept
    good base starts is kept (that base needs the whole chain to reach its range); a segment of
    a timeline older than the oldest kept good base is removed (no kept base can replay it);
    any other is kept. ``segments``: ``(file, timeline, first, last)``. Timelines and snapshot
    ids are both UTC times in one notation, so they compare as text."""
    kept: dict[str, list[str]] = {}
    for decision in plan.decisions:
        row = decision.row
        if decision.keep and counts(row) and row.snapshot_id:
            kept.setdefault(row.snapshot_id, []).append(decision.file)
    oldest = min(kept, default=None)
    decisions = []
    for file, timeline, first, last in sorted(segments, key=lambda s: (s[1], s[2], s[0])):
        if timeline in kept:
            why, keep = f"kept base {kept[timeline][0]} starts timeline {timeline}: needed to reach its range", True
        elif oldest is None:
            why, keep = "no good base is kept: nothing says which segments are no longer needed", True
        elif timeline < oldest:
            why, keep = (
                f"timeline {timeline} is older than the oldest kept good base ({oldest}): none can replay it",
                False,
            )
        else:
            why, keep = f"timeline {timeline} is not older than the oldest kept good base ({oldest})", True
        decisions.append(SegmentDecision(file, timeline, first, last, keep, why))
    return tuple(decisions)
