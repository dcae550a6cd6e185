"""The retention planner (aeroops.core.retention) and the restore decision (core.newest_good):
restic's documented examples, tables of cases, and properties over random folders."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from helpers.retention import NOW, row
from hypothesis import given, settings
from hypothesis import strategies as st

from aeroops.core.inventory import InventoryRow
from aeroops.core.newest_good import assess_freshness, newest_good, verification_order
from aeroops.core.retention import (
    PERIOD_RULES,
    UNLIMITED,
    WITHIN_PERIOD_RULES,
    Duration,
    Policy,
    Rule,
    Status,
    parse_count,
    parse_duration,
    plan_retention,
    status_of,
)
from aeroops.errors import UsageError
from aeroops.views.serialise import policy_json


def kept_files(plan) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(d.file for d in plan.kept)


# --- restic's documented examples (doc/060_forget.rst) ------------------------------------------


def test_restic_twelve_sundays_keep_daily_4_keeps_the_last_four_sundays() -> None:
    """ "Suppose you have only made one backup every Sunday for 12 weeks ... Then forget
    --keep-daily 4 will keep the last four snapshots, for the last four Sundays"."""
    sundays = [datetime(2019, 9, 1, 11, tzinfo=UTC) + timedelta(weeks=n) for n in range(12)]
    rows = [row(t.strftime("%Y-%m-%d"), t) for t in sundays]
    plan = plan_retention(rows, Policy(daily=4), datetime(2019, 11, 18, tzinfo=UTC))
    assert kept_files(plan) == ["2019-10-27", "2019-11-03", "2019-11-10", "2019-11-17"]
    assert all(Rule.DAILY in d.rules() for d in plan.kept)
    assert [d.file for d in plan.removed] == [t.strftime("%Y-%m-%d") for t in reversed(sundays[:8])]


def test_restic_keep_last_1_keeps_the_newest_of_two() -> None:
    rows = [
        row("8c02b94b", datetime(2017, 2, 21, 10, 48, 33, tzinfo=UTC)),
        row("4bba301e", datetime(2017, 2, 21, 10, 49, 18, tzinfo=UTC)),
    ]
    plan = plan_retention(rows, Policy(last=1), datetime(2017, 3, 1, tzinfo=UTC))
    assert kept_files(plan) == ["4bba301e"] and [d.file for d in plan.removed] == ["8c02b94b"]


def test_restic_a_backup_every_day_for_100_years() -> None:
    """ "forget --keep-daily 7 --keep-weekly 5 --keep-monthly 12 --keep-yearly 75 would keep the
    most recent 7 daily snapshots and 4 last-day-of-the-week ones (since the 7 dailies already
    include 1 weekly). Additionally, 12 or 11 last-day-of-the-month snapshots ... And finally 75
    or 74 last-day-of-the-year snapshots." (Ending on a Sunday, as the 4 assumes.)"""
    last = date(2026, 12, 27)  # a Sunday in December, no month ending on a Sunday in the five weeks
    assert last.isoweekday() == 7
    days = [last - timedelta(days=n) for n in range(36525)]
    rows = [row(d.isoformat(), datetime(d.year, d.month, d.day, 11, tzinfo=UTC)) for d in days]
    plan = plan_retention(rows, Policy(daily=7, weekly=5, monthly=12, yearly=75), datetime(2027, 1, 1, tzinfo=UTC))
    rules = {d.file: d.rules() for d in plan.kept}
    daily = {f for f, r in rules.items() if Rule.DAILY in r}
    weekly_only = {f for f, r in rules.items() if Rule.WEEKLY in r} - daily
    monthly_only = {f for f, r in rules.items() if Rule.MONTHLY in r} - daily - weekly_only
    yearly_only = {f for f, r in rules.items() if Rule.YEARLY in r} - daily - weekly_only - monthly_only
    assert len(daily) == 7
    assert len(weekly_only) == 4 and all(date.fromisoformat(f).isoweekday() == 7 for f in weekly_only)
    assert len(monthly_only) in (11, 12) and all(
        (date.fromisoformat(f) + timedelta(days=1)).day == 1 for f in monthly_only
    )
    assert len(yearly_only) in (74, 75) and all(f.endswith("-12-31") for f in yearly_only)
    assert len(plan.kept) == len(daily) + len(weekly_only) + len(monthly_only) + len(yearly_only)
    newest = plan.decision(last.isoformat())
    assert {Rule.DAILY, Rule.WEEKLY, Rule.MONTHLY, Rule.YEARLY, Rule.NEWEST_GOOD} <= newest.rules()


# --- cases --------------------------------------------------------------------------------------


def test_a_damaged_archive_takes_no_period_and_is_left_alone() -> None:
    day = datetime(2026, 11, 30, tzinfo=UTC)
    rows = [
        row("good-early", day + timedelta(hours=1)),
        row("damaged-late", day + timedelta(hours=23), ok=False),
        row("yesterday", day - timedelta(hours=1)),
    ]
    plan = plan_retention(rows, Policy(daily=1), NOW)
    assert plan.decision("good-early").keep and plan.decision("good-early").rules() == {Rule.DAILY, Rule.NEWEST_GOOD}
    damaged = plan.decision("damaged-late")
    assert damaged.keep and damaged.reasons == () and damaged.status is Status.DAMAGED
    assert "does not verify clean" in damaged.note
    assert not plan.decision("yesterday").keep
    forced = plan_retention(rows, Policy(daily=1, remove_damaged=True), NOW)
    assert not forced.decision("damaged-late").keep


def test_the_newest_good_archive_is_kept_when_every_newer_one_is_damaged() -> None:
    rows = [row(f"bad{n}", NOW - timedelta(hours=n), ok=False) for n in range(1, 4)]
    rows.append(row("good", NOW - timedelta(days=30)))
    plan = plan_retention(rows, Policy(last=1, remove_damaged=True), NOW)
    assert kept_files(plan) == ["good"]
    assert plan.decision("good").rules() == {Rule.LAST, Rule.NEWEST_GOOD}


def test_files_that_are_not_archives_are_never_touched() -> None:
    plan = plan_retention([row("notes.tar", None), row("a", NOW)], Policy(last=1, remove_damaged=True), NOW)
    notes = plan.decision("notes.tar")
    assert notes.keep and notes.status is Status.UNREADABLE and "not an archive" in notes.note


def test_sources_are_planned_apart() -> None:
    rows = [row(f"{s}{n}", NOW - timedelta(days=n), source=s) for s in ("alpha", "beta") for n in range(3)]
    plan = plan_retention(rows, Policy(last=1), NOW)
    assert kept_files(plan) == ["alpha0", "beta0"]


def test_periods_follow_the_time_zone_given() -> None:
    # 23:30 and 22:30 UTC on 30 Nov are 1 Dec and 30 Nov in Berlin (UTC+1): two days there, one in UTC.
    rows = [
        row("late", datetime(2026, 11, 30, 23, 30, tzinfo=UTC)),
        row("early", datetime(2026, 11, 30, 22, 30, tzinfo=UTC)),
        row("before", datetime(2026, 11, 28, 12, tzinfo=UTC)),
    ]
    assert kept_files(plan_retention(rows, Policy(daily=2), NOW)) == ["before", "late"]
    assert kept_files(plan_retention(rows, Policy(daily=2, time_zone="Europe/Berlin"), NOW)) == ["early", "late"]
    reasons = {
        str(r) for r in plan_retention(rows, Policy(daily=2, time_zone="Europe/Berlin"), NOW).decision("late").reasons
    }
    assert "daily 2026-12-01" in reasons


def test_weeks_run_monday_to_sunday() -> None:
    sunday = datetime(2026, 11, 29, 23, tzinfo=UTC)
    rows = [
        row("sunday", sunday),
        row("saturday", sunday - timedelta(days=1)),
        row("monday", sunday + timedelta(hours=2)),
    ]
    plan = plan_retention(rows, Policy(weekly=2), NOW)
    assert kept_files(plan) == ["monday", "sunday"]
    assert str(plan.decision("sunday").reasons[0]) == "weekly 2026-W48"


def test_keep_within_counts_from_the_newest_archive_not_from_now() -> None:
    newest = NOW - timedelta(days=100)  # backups stopped 100 days ago: nothing ages out
    rows = [row(f"d{n}", newest - timedelta(days=n)) for n in range(10)]
    plan = plan_retention(rows, Policy(within=parse_duration("7d")), NOW)
    # 0..6 days before the newest: restic keeps only what is strictly newer than newest - 7d
    assert kept_files(plan) == [f"d{n}" for n in range(7)]


def test_keep_within_leaves_out_the_archive_exactly_on_the_boundary() -> None:
    """restic 0.18's forget --keep-within 7d keeps only the second."""
    rows = [row("a", datetime(2025, 3, 8, 12, tzinfo=UTC)), row("b", datetime(2025, 3, 15, 12, tzinfo=UTC))]
    plan = plan_retention(rows, Policy(within=parse_duration("7d")), NOW)
    assert kept_files(plan) == ["b"] and [r.restic for r in plan.decision("b").reasons if r.restic] == ["within 7d"]
    later = [row("a", datetime(2025, 3, 8, 12, 0, 1, tzinfo=UTC)), rows[1]]
    assert kept_files(plan_retention(later, Policy(within=parse_duration("7d")), NOW)) == ["a", "b"]


def test_the_oldest_archive_is_kept_while_a_count_is_not_used_up() -> None:
    """restic 0.16+: --keep-monthly 3 over two archives of one month keeps
    both, the older as "oldest monthly snapshot"."""
    rows = [row("may10", datetime(2025, 5, 10, 8, tzinfo=UTC)), row("may20", datetime(2025, 5, 20, 8, tzinfo=UTC))]
    plan = plan_retention(rows, Policy(monthly=3), NOW)
    assert kept_files(plan) == ["may10", "may20"]
    oldest = plan.decision("may10").reasons
    assert [(r.rule, r.oldest, r.restic, str(r)) for r in oldest] == [
        (Rule.MONTHLY, True, "oldest monthly snapshot", "oldest monthly 2025-05")
    ]
    # A count used up by the newer archives keeps no oldest: one month, --keep-monthly 1.
    assert kept_files(plan_retention(rows, Policy(monthly=1), NOW)) == ["may20"]
    # The oldest that is alone in its period is kept as any other: "monthly snapshot".
    april = [*rows[1:], row("apr", datetime(2025, 4, 30, tzinfo=UTC))]
    assert [r.restic for r in plan_retention(april, Policy(monthly=3), NOW).decision("apr").reasons] == [
        "monthly snapshot"
    ]


def test_unlimited_counts_keep_every_period() -> None:
    rows = [row(f"h{n}", NOW - timedelta(hours=n * 7)) for n in range(30)]
    every_day = {(NOW - timedelta(hours=n * 7)).date() for n in range(30)}
    plan = plan_retention(rows, Policy(daily=UNLIMITED), NOW)
    assert len([d for d in plan.kept if Rule.DAILY in d.rules() and not d.reasons[0].oldest]) == len(every_day)
    assert plan.decision("h29").keep  # the oldest, as restic keeps it too while a count is left
    assert len(plan_retention(rows, Policy(last=UNLIMITED), NOW).kept) == 30
    assert str(Policy(weekly=UNLIMITED)).startswith("keep-weekly unlimited")
    assert policy_json(Policy(daily=UNLIMITED))["daily"] == "unlimited"


def test_within_period_rules_keep_the_newest_of_each_period_within() -> None:
    rows = [row(f"h{n:02d}", datetime(2025, 6, 10, 23, tzinfo=UTC) - timedelta(hours=n * 5)) for n in range(20)]
    plan = plan_retention(rows, Policy(within_daily=parse_duration("2d")), NOW)
    # newest 10 June 23:00; within 2d: after 8 June 23:00 (h00..h09, back to 9 June 02:00): the
    # newest of 10 June (h00) and of 9 June (h05). The oldest archive (h19) is not within 2d.
    kept = {d.file: [r.restic for r in d.reasons if r.restic] for d in plan.kept}
    assert kept == {"h00": ["daily within 2d"], "h05": ["daily within 2d"]}
    # Without the older ones, h09 is the oldest archive, and within: kept as restic's "oldest".
    plan = plan_retention(rows[:10], Policy(within_daily=parse_duration("2d")), NOW)
    assert [r.restic for r in plan.decision("h09").reasons] == ["oldest daily within 2d"]
    assert str(plan.decision("h09").reasons[0]) == "oldest daily within 2d 2025-06-09"


def test_an_archive_from_the_future_is_kept() -> None:
    rows = [row("ahead", NOW + timedelta(days=1)), row("now", NOW)]
    plan = plan_retention(rows, Policy(within=parse_duration("1h")), NOW)
    assert Rule.FUTURE in plan.decision("ahead").rules() and plan.decision("now").keep


def test_an_empty_policy_is_refused() -> None:
    with pytest.raises(UsageError, match="no keep rule"):
        plan_retention([row("a", NOW)], Policy(), NOW)


def test_bad_policies_are_refused() -> None:
    with pytest.raises(UsageError, match="keep-daily"):
        Policy(daily=-2)
    for text in ("-2", "lots", "1.5", "", "-unlimited"):
        with pytest.raises(UsageError, match="is not a count"):
            parse_count(text)
    with pytest.raises(UsageError, match="too large"):
        parse_count("9" * 19)
    assert parse_count("unlimited") == parse_count("-1") == UNLIMITED and parse_count(" 7 ") == 7


def test_a_zero_duration_is_no_rule() -> None:
    """restic: --keep-within 0d sets nothing (and alone it is no policy)."""
    assert Policy(within=parse_duration("0d"), daily=1).within is None
    with pytest.raises(UsageError, match="no keep rule"):
        plan_retention([row("a", NOW)], Policy(within_daily=parse_duration("0h")), NOW)
    with pytest.raises(UsageError, match="time zone"):
        Policy(daily=1, time_zone="Mars/Olympus")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("26h", Duration(hours=26)),
        ("7d", Duration(days=7)),
        ("1y6m", Duration(years=1, months=6)),
        ("2w3d", Duration(weeks=2, days=3)),
    ],
)
def test_durations_parse(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected and parse_duration(str(expected)) == expected


@pytest.mark.parametrize("text", ["", "7", "d7", "7x", "1d1y", "7d 1h", "-1d"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(UsageError, match="not a duration"):
        parse_duration(text)


def test_durations_count_days_on_the_wall_clock_as_go_does() -> None:
    """restic: newest.AddDate(-y, -m, -d).Add(-h hours), in the zone the times are in. Over
    Berlin's DST change (30 March 2025) a day is 23 hours, and an hour is an hour."""
    berlin = ZoneInfo("Europe/Berlin")
    newest = datetime(2025, 3, 31, 1, tzinfo=berlin)
    assert Duration(days=1).before(newest, berlin) == datetime(2025, 3, 30, 1, tzinfo=berlin)
    assert newest - Duration(days=1).before(newest, berlin) == timedelta(hours=23)
    assert newest - Duration(hours=24).before(newest, berlin) == timedelta(hours=24)
    # Into a repeated wall time (26 October 02:30), Go takes the later (CET); into a skipped one
    # (30 March 02:30), the offset before the change (01:30 UTC).
    assert Duration(days=1).before(datetime(2025, 10, 27, 1, 30, tzinfo=UTC), berlin) == datetime(
        2025, 10, 26, 1, 30, tzinfo=UTC
    )
    assert Duration(days=1).before(datetime(2025, 3, 31, 0, 30, tzinfo=UTC), berlin) == datetime(
        2025, 3, 30, 1, 30, tzinfo=UTC
    )


def test_months_are_subtracted_as_go_does() -> None:
    # restic's AddDate(0, -1, 0) on 31 March: "28 February + 3 days" is 3 March.
    assert Duration(months=1).before(datetime(2026, 3, 31, tzinfo=UTC)) == datetime(2026, 3, 3, tzinfo=UTC)
    assert Duration(years=1, hours=2).before(datetime(2026, 1, 1, 1, tzinfo=UTC)) == datetime(
        2024, 12, 31, 23, tzinfo=UTC
    )


def test_the_last_copy_of_a_snapshot_is_named() -> None:
    rows = [row("new", NOW, snapshot="S2"), row("old", NOW - timedelta(days=2), snapshot="S1")]
    plan = plan_retention(rows, Policy(last=1), NOW)
    assert [c.snapshot_id for c in plan.last_copies()] == ["S1"]
    assert "old is the last good copy of snapshot S1" in str(plan.last_copies()[0])
    again = [*rows, row("new-of-s1", NOW - timedelta(hours=1), snapshot="S1")]
    assert plan_retention(again, Policy(last=2), NOW).last_copies() == ()


# --- the restore decision -------------------------------------------------------------------------


def test_newest_good_per_snapshot_and_overall() -> None:
    rows = [
        row("s1-old", NOW - timedelta(days=3), snapshot="S1"),
        row("s1-new", NOW - timedelta(days=2), snapshot="S1"),
        row("s2-damaged", NOW - timedelta(days=1), snapshot="S2", ok=False),
        row("s3-unverified", NOW, snapshot="S3", ok=None),
        row("notes.tar", None),
    ]
    found = newest_good(rows)
    assert found.overall is not None and found.overall.file == "s1-new"
    assert [r.file for r in found.per_snapshot] == ["s1-new"]
    assert found.without_good == ("S2", "S3") and found.unverified == 1
    assert [r.file for r in verification_order(rows)] == ["s3-unverified", "s2-damaged", "s1-new", "s1-old"]


def test_freshness() -> None:
    rows = [row("a", NOW - timedelta(hours=25)), row("b", NOW - timedelta(hours=1), ok=False)]
    assert assess_freshness(rows, parse_duration("26h"), NOW).fresh
    late = assess_freshness(rows, parse_duration("24h"), NOW)
    assert not late.fresh and late.age == timedelta(hours=25)
    assert late.counts()[Status.DAMAGED] == 1 and late.total_bytes() == 200
    assert not assess_freshness([row("c", NOW, ok=None)], parse_duration("1d"), NOW).fresh


# --- properties -----------------------------------------------------------------------------------

START = datetime(2024, 1, 1, tzinfo=UTC)


@st.composite
def folders(draw: st.DrawFn) -> list[InventoryRow]:
    count = draw(st.integers(0, 30))
    minutes = draw(st.lists(st.integers(0, 3 * 365 * 24 * 60), min_size=count, max_size=count))
    rows = []
    for n, minute in enumerate(minutes):
        if draw(st.integers(0, 15)) == 0:
            rows.append(row(f"junk{n}.tar", None))
            continue
        rows.append(
            row(
                f"a{n:03d}.tar",
                START + timedelta(minutes=minute),
                ok=draw(st.sampled_from([True, True, True, False, None])),
                source=draw(st.sampled_from([None, None, "alpha", "beta"])),
                snapshot=draw(st.sampled_from(["S1", "S2", "S3", "S4"])),
            )
        )
    return rows


counts = st.sampled_from([0, 0, 1, 2, 3, 5, UNLIMITED])
durations = st.one_of(
    st.none(), st.builds(Duration, months=st.integers(0, 2), days=st.integers(0, 60), hours=st.integers(0, 48))
)
policies = st.builds(
    Policy,
    last=counts,
    hourly=counts,
    daily=counts,
    weekly=counts,
    monthly=counts,
    yearly=counts,
    within=durations,
    time_zone=st.sampled_from([None, "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
    remove_damaged=st.booleans(),
    within_hourly=durations,
    within_daily=durations,
    within_weekly=durations,
    within_monthly=durations,
    within_yearly=durations,
).filter(lambda p: not p.empty)
nows = st.integers(0, 4 * 365 * 24).map(lambda h: START + timedelta(hours=h))


def expected_rules(rows: list[InventoryRow], policy: Policy, now: datetime) -> dict[str, set[Rule]]:
    """An independent statement of the rules: for each source, the N most recent periods that hold
    a countable archive, and the newest archive in each, and the oldest archive when there are
    fewer than N periods besides its own; and so on."""
    zone = policy.zone()
    labels = {
        Rule.HOURLY: lambda t: (t.year, t.month, t.day, t.hour),
        Rule.DAILY: lambda t: (t.year, t.month, t.day),
        Rule.WEEKLY: lambda t: tuple(t.isocalendar()[:2]),
        Rule.MONTHLY: lambda t: (t.year, t.month),
        Rule.YEARLY: lambda t: (t.year,),
    }
    found: dict[str, set[Rule]] = {r.file: set() for r in rows}
    key = lambda r: (r.created_at, r.file)  # noqa: E731

    def newest_of_periods(good: list[InventoryRow], rule: Rule) -> list[InventoryRow]:
        periods: dict[tuple[int, ...], InventoryRow] = {}
        for r in good:
            label = labels[rule](r.created_at.astimezone(zone))
            if label not in periods or key(r) > key(periods[label]):
                periods[label] = r
        return sorted(periods.values(), key=key, reverse=True)

    for source in {r.source for r in rows}:
        mine = [r for r in rows if r.source == source and r.created_at is not None]
        good = sorted((r for r in mine if r.ok is not False), key=key, reverse=True)
        if not good:
            continue
        oldest = good[-1]
        wanted = policy.last if policy.last != UNLIMITED else len(good)
        for r in good[:wanted]:
            found[r.file].add(Rule.LAST)
        for rule in PERIOD_RULES:
            count = policy.count(rule)
            newest = newest_of_periods(good, rule)
            for r in newest if count == UNLIMITED else newest[:count]:
                found[r.file].add(rule)
            if count and (count == UNLIMITED or len(newest_of_periods(good[:-1], rule)) < count):
                found[oldest.file].add(rule)
        present = [r.created_at for r in good if r.created_at <= now]
        latest = max(present, default=None)
        for rule in (Rule.WITHIN, *WITHIN_PERIOD_RULES):
            duration = policy.duration(rule)
            if duration is None:
                continue
            since = datetime.min.replace(tzinfo=UTC) if latest is None else duration.before(latest, zone)
            within = [r for r in good if r.created_at > since]
            if rule is Rule.WITHIN:
                chosen = within
            else:
                chosen = newest_of_periods(within, PERIOD_RULES[WITHIN_PERIOD_RULES.index(rule)])
                chosen += [oldest] if oldest in within else []
            for r in chosen:
                found[r.file].add(rule)
        for r in good:
            if r.created_at > now:
                found[r.file].add(Rule.FUTURE)
        clean = [r for r in mine if r.ok is True]
        if clean:
            found[max(clean, key=key).file].add(Rule.NEWEST_GOOD)
    return found


def counted_oldest(rows: list[InventoryRow], source: str | None) -> str:
    mine = [r for r in rows if r.source == source and r.created_at is not None and r.ok is not False]
    return min(mine, key=lambda r: (r.created_at, r.file)).file


@settings(max_examples=120, deadline=None)
@given(folders(), policies, nows)
def test_keep_reasons_are_exactly_the_rules_that_matched(
    rows: list[InventoryRow], policy: Policy, now: datetime
) -> None:
    plan = plan_retention(rows, policy, now)
    expected = expected_rules(rows, policy, now)
    assert {d.file: set(d.rules()) for d in plan.decisions} == expected
    for d in plan.decisions:  # "oldest" only where restic says it: the oldest archive that counts
        if any(r.oldest for r in d.reasons):
            assert d.file == counted_oldest(rows, d.row.source)
    for d in plan.decisions:
        if d.status is Status.DAMAGED:
            assert d.reasons == () and d.keep is not policy.remove_damaged
        elif d.status is Status.UNREADABLE:
            assert d.keep
        else:
            assert d.keep is bool(d.reasons)


@settings(max_examples=60, deadline=None)
@given(folders(), policies, nows)
def test_never_removes_the_newest_good_archive(rows: list[InventoryRow], policy: Policy, now: datetime) -> None:
    plan = plan_retention(rows, policy, now)
    for source in {r.source for r in rows if r.created_at is not None}:
        clean = [r for r in rows if r.source == source and status_of(r) is Status.CLEAN]
        if clean:
            newest = max(clean, key=lambda r: (r.created_at, r.file))
            assert plan.decision(newest.file).keep
    overall = newest_good(rows).overall
    assert overall is None or plan.decision(overall.file).keep


@settings(max_examples=60, deadline=None)
@given(folders(), policies, nows, st.randoms(use_true_random=False))
def test_the_plan_does_not_depend_on_the_order_of_the_rows(
    rows: list[InventoryRow], policy: Policy, now: datetime, shuffler: random.Random
) -> None:
    shuffled = list(rows)
    shuffler.shuffle(shuffled)
    assert plan_retention(shuffled, policy, now) == plan_retention(rows, policy, now)
    assert newest_good(shuffled) == newest_good(rows)


@settings(max_examples=40, deadline=None)
@given(folders(), policies, nows)
def test_each_source_is_planned_as_if_alone(rows: list[InventoryRow], policy: Policy, now: datetime) -> None:
    whole = plan_retention(rows, policy, now)
    for source in {r.source for r in rows if r.created_at is not None}:
        alone = plan_retention([r for r in rows if r.source == source], policy, now)
        for decision in alone.decisions:
            assert whole.decision(decision.file) == decision


def test_the_readmes_worked_example() -> None:
    """README.md, "Retention and monitoring": eleven archives, one damaged, four policies."""
    made = {
        "2026-11-18 03:00": (
            "daily 2026-11-18, newest good",
            "weekly 2026-W47, newest good",
            "monthly 2026-11, newest good",
            "within 2d of the newest, newest good",
            True,
        ),
        "2026-11-17 15:00": ("", "", "", "", True),  # damaged: left alone
        "2026-11-17 03:00": ("daily 2026-11-17", "", "", "within 2d of the newest", True),
        "2026-11-16 03:00": ("daily 2026-11-16", "", "", "", True),  # exactly 2d before: not within
        "2026-11-15 03:00": ("", "weekly 2026-W46", "", "", True),
        "2026-11-08 03:00": ("", "", "", "", False),
        "2026-10-31 03:00": ("", "", "monthly 2026-10", "", True),
        "2026-10-25 03:00": ("", "", "", "", False),
        "2026-10-18 03:00": ("", "", "", "", False),
        "2026-09-30 03:00": ("", "", "monthly 2026-09", "", True),
        "2026-09-14 03:00": ("", "", "oldest monthly 2026-09", "", True),  # 4 months asked, 3 had
    }
    rows = [row(t, datetime.fromisoformat(t).replace(tzinfo=UTC), ok=t != "2026-11-17 15:00") for t in made]
    now = datetime(2026, 11, 18, 12, tzinfo=UTC)
    policies = [Policy(daily=3), Policy(weekly=2), Policy(monthly=4), Policy(within=parse_duration("2d"))]
    everything = Policy(daily=3, weekly=2, monthly=4, within=parse_duration("2d"))
    for t, (*columns, kept) in made.items():
        for policy, expected in zip(policies, columns, strict=True):
            assert ", ".join(map(str, plan_retention(rows, policy, now).decision(t).reasons)) == expected
        assert plan_retention(rows, everything, now).decision(t).keep is kept
    assert plan_retention(rows, policies[0], now).decision("2026-11-17 15:00").status is Status.DAMAGED
