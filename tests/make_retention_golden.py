"""Record restic's own ``forget --dry-run --json`` answers as the retention planner's golden cases.

    AEROOPS_RESTIC=/path/to/restic-0.18 .venv/bin/python tests/make_retention_golden.py

writes tests/golden/retention/restic-forget.jsonl: a header line (restic's version, this
command), then one line a case (zone, snapshot times, ``--keep-*`` flags, restic's kept
snapshots with reasons and its removed ones). Each time set gets its own host in one throwaway
repository per zone; ``forget --host`` keeps the groups apart. tests/test_retention_golden.py
checks the planner against every line.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers.restic import GOLDEN, Case, Repository, case_line, restic_binary

COUNTS = ("last", "hourly", "daily", "weekly", "monthly", "yearly")
PERIODS = COUNTS[1:]
S = timedelta(seconds=1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str, zone: str) -> datetime:
    """A wall time in ``zone`` (an unambiguous one), as an aware instant."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def within_family(duration: str) -> list[dict[str, str]]:
    return [{"keep-within": duration}] + [{f"keep-within-{p}": duration} for p in PERIODS]


def time_sets() -> Iterator[tuple[str, str, list[datetime], list[dict[str, str]]]]:
    """(name, zone, times, policies)."""
    # The boundary of every duration unit: a snapshot exactly D before the newest, and a second
    # either side (restic keeps only what is strictly newer than newest - D).
    boundaries = [
        ("1h", "2025-03-15 12:00:00", "2025-03-15 11:00:00"),
        ("36h", "2025-03-15 12:00:00", "2025-03-14 00:00:00"),
        ("1d", "2025-03-15 12:00:00", "2025-03-14 12:00:00"),
        ("7d", "2025-03-15 12:00:00", "2025-03-08 12:00:00"),
        ("1m", "2025-03-31 12:00:00", "2025-03-03 12:00:00"),  # AddDate: 31 Feb rolls to 3 March
        ("1m", "2024-03-31 12:00:00", "2024-03-02 12:00:00"),  # leap year: 2 March
        ("2m", "2025-05-31 06:00:00", "2025-03-31 06:00:00"),
        ("1y", "2024-02-29 12:00:00", "2023-03-01 12:00:00"),  # a leap day minus a year
        ("1y", "2025-03-01 00:00:00", "2024-03-01 00:00:00"),
        ("1y2m3d4h", "2025-06-15 12:00:00", "2024-04-12 08:00:00"),
        ("30d", "2025-01-10 00:00:00", "2024-12-11 00:00:00"),
    ]
    for n, (duration, newest, edge) in enumerate(boundaries):
        top, bound = utc(newest), utc(edge)
        span = top - bound
        times = [top, top - span / 3, top - span / 2, bound + S, bound, bound - S, bound - span / 4]
        times = [t.replace(microsecond=0) for t in times]
        yield (
            f"within {duration} boundary {n}",
            "UTC",
            times,
            [*within_family(duration), {"keep-within": duration, "keep-last": "1"}],
        )

    # The oldest snapshot while a count is not used up, for each --keep-*.
    oldest_sets = [
        ("issue example", [utc("2025-05-20 08:00:00"), utc("2025-05-10 08:00:00")]),
        (
            "oldest shares every period",
            [
                utc("2025-06-14 10:00:00"),
                utc("2025-06-14 09:00:00"),
                utc("2025-06-13 22:00:00"),
                utc("2025-05-31 23:00:00"),
                utc("2024-12-31 23:30:00"),
                utc("2024-12-31 23:10:00"),
            ],
        ),
        (
            "oldest alone in its periods",
            [utc("2025-06-14 10:00:00"), utc("2025-06-02 09:00:00"), utc("2024-11-20 22:00:00")],
        ),
        ("one week", [utc("2025-06-13 08:00:00"), utc("2025-06-10 08:00:00")]),  # a Friday, the Tuesday before
        ("one snapshot", [utc("2025-02-02 02:02:02")]),
    ]
    for name, times in oldest_sets:
        policies = [{f"keep-{rule}": count} for rule in COUNTS for count in ("1", "2", "3", "10", "unlimited")]
        policies += [{"keep-daily": "2", "keep-monthly": "10"}, {"keep-last": "1", "keep-yearly": "unlimited"}]
        policies += within_family("30d")
        yield f"oldest: {name}", "UTC", times, policies

    # ISO weeks across New Year, week 53 (2015, 2020), and 2021's week 1 starting on 4 January.
    for year in (2015, 2020, 2024):
        start = utc(f"{year}-12-24 18:00:00")
        times = [start + timedelta(days=d, hours=(d * 5) % 11) for d in range(14)][::-1]
        policies = [{"keep-weekly": c} for c in ("1", "2", "3", "4", "unlimited")]
        policies += [{"keep-yearly": "2"}, {"keep-monthly": "unlimited"}, {"keep-daily": "5", "keep-weekly": "3"}]
        policies += [{"keep-within-weekly": "10d"}, {"keep-within-yearly": "3d"}, {"keep-within": "8d"}]
        yield f"new year {year}", "UTC", times, policies

    # Month ends and leap days.
    times = [
        utc(t)
        for t in (
            "2024-04-30 23:59:59",
            "2024-04-01 00:00:00",
            "2024-03-31 23:00:00",
            "2024-03-01 00:00:00",
            "2024-02-29 23:59:59",
            "2024-02-29 00:00:00",
            "2024-02-28 12:00:00",
            "2024-01-31 12:00:00",
            "2023-03-01 00:00:00",
            "2023-02-28 23:59:59",
            "2023-01-31 00:00:01",
        )
    ]
    policies = [{"keep-monthly": c} for c in ("2", "4", "6", "unlimited")] + [{"keep-daily": c} for c in ("3", "7")]
    policies += [{"keep-yearly": "unlimited"}, *within_family("1m"), *within_family("1y"), *within_family("2m1d")]
    yield "month ends and leap days", "UTC", times, policies

    # DST in the zone the snapshots were written in: hours repeated and skipped.
    dst = [
        # Berlin: 30 March 2025 02:00 -> 03:00; 26 October 2025 03:00 -> 02:00.
        ("Europe/Berlin", [utc("2025-03-29 22:45:00") + timedelta(minutes=30 * k) for k in range(10)]),
        ("Europe/Berlin", [utc("2025-10-25 23:15:00") + timedelta(minutes=30 * k) for k in range(10)]),
        # New York: 9 March 2025 02:00 -> 03:00; 2 November 2025 02:00 -> 01:00.
        ("America/New_York", [utc("2025-03-09 05:20:00") + timedelta(minutes=30 * k) for k in range(9)]),
        ("America/New_York", [utc("2025-11-02 03:40:00") + timedelta(minutes=30 * k) for k in range(10)]),
        ("Asia/Kolkata", [utc("2025-06-30 17:50:00") + timedelta(minutes=20 * k) for k in range(8)]),
    ]
    for n, (zone, times) in enumerate(dst):
        policies = [{"keep-hourly": c} for c in ("2", "3", "5", "unlimited")] + [{"keep-daily": "2"}]
        policies += [*within_family("2h"), {"keep-within-hourly": "1d"}, {"keep-within": "1d"}]
        yield f"dst {zone} {n}", zone, times[::-1], policies

    # keep-within across a DST change: AddDate counts days on the wall clock, the hours elapse.
    # The newest minus 1d lands on a repeated (Berlin, New York autumn) or a skipped wall time.
    for zone, newest, near in [
        ("Europe/Berlin", "2025-10-27 01:30:00", "2025-10-26 00:30:00"),  # 02:30 CET; 02:30 CEST / CET
        ("Europe/Berlin", "2025-03-31 00:30:00", "2025-03-30 00:30:00"),  # 02:30 CEST; 02:30 does not exist
        ("Europe/Berlin", "2025-10-28 10:00:00", "2025-10-26 10:00:00"),
        ("America/New_York", "2025-11-03 06:30:00", "2025-11-02 05:30:00"),  # 01:30 EST; 01:30 EDT / EST
        ("America/New_York", "2025-03-10 06:30:00", "2025-03-09 06:30:00"),  # 02:30 EDT; 02:30 does not exist
    ]:
        top, base = utc(newest), utc(near)
        times = sorted({top} | {base + timedelta(hours=h) + s for h in (-1, 0, 1, 2) for s in (-S, 0 * S, S)})
        policies = [{"keep-within": d} for d in ("1d", "1d1h", "2d", "25h", "23h")]
        policies += [{"keep-within-hourly": "1d"}, {"keep-within-daily": "1d"}, {"keep-within-daily": "2d"}]
        yield f"within over dst {zone} {newest}", zone, times[::-1], policies

    # Identical times.
    same = utc("2025-04-04 04:04:04")
    times = [same + timedelta(hours=5), same, same, same, same - timedelta(days=1), same - timedelta(days=3)]
    times += [same - timedelta(days=3)] * 2
    policies = [{"keep-last": c} for c in ("1", "2", "3", "5", "unlimited")]
    policies += [{"keep-daily": c} for c in ("1", "2", "3", "10")] + [{"keep-hourly": "unlimited"}]
    policies += [{"keep-within": "5h"}, {"keep-within": "3d"}, {"keep-within-daily": "3d"}, {"keep-within-daily": "4d"}]
    yield "identical times", "UTC", times, policies

    # Random folders and random policies (seeded: the same cases every run).
    rng = random.Random(26)
    zones = ["UTC", "UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney"]
    for n in range(10):
        zone = zones[n % len(zones)]
        start = utc("2023-01-01 00:00:00")
        times = sorted(
            {start + timedelta(minutes=rng.randrange(3 * 365 * 24 * 60 // 2)) for _ in range(rng.randint(6, 16))},
            reverse=True,
        )
        policies = []
        for _ in range(10):
            policy = {}
            for rule in rng.sample(COUNTS, rng.randint(1, 3)):
                policy[f"keep-{rule}"] = rng.choice(["1", "2", "3", "5", "8", "unlimited"])
            if rng.random() < 0.4:
                flag = rng.choice(["keep-within"] + [f"keep-within-{p}" for p in PERIODS])
                policy[flag] = rng.choice(["12h", "3d", "20d", "2m", "1y", "1m10d"])
            policies.append(policy)
        yield f"random {n}", zone, times, policies


def record(binary: str, zone: str, sets: Sequence[tuple[str, str, list[datetime], list[dict[str, str]]]]) -> list[str]:
    repo = Repository(binary)
    try:
        for host_number, (_, _, times, _) in enumerate(sets):
            for t in times:
                repo.backup(f"h{host_number}", t, zone)
        lines = []
        for host_number, (name, _, times, policies) in enumerate(sets):
            for policy in policies:
                case = Case(name, zone, tuple(times), policy)
                answer = repo.forget(f"h{host_number}", zone, policy)
                made = sorted(datetime.fromisoformat(s["snapshot"]["time"]) for s in answer["reasons"])
                made += [datetime.fromisoformat(s["time"]) for s in answer.get("remove") or ()]
                assert sorted(made) == sorted(times), f"restic did not store {name}'s times as given"
                lines.append(json.dumps(case_line(case, answer), separators=(",", ":")))
        return lines
    finally:
        repo.close()


def main() -> int:
    found = restic_binary()
    if found is None:
        print("no restic 0.16 or later: set AEROOPS_RESTIC to one", file=sys.stderr)
        return 2
    binary, version = found
    sets = list(time_sets())
    by_zone: dict[str, list[tuple[str, str, list[datetime], list[dict[str, str]]]]] = {}
    for item in sets:
        by_zone.setdefault(item[1], []).append(item)
    with ThreadPoolExecutor(max_workers=len(by_zone)) as pool:
        results = dict(zip(by_zone, pool.map(lambda z: record(binary, z, by_zone[z]), by_zone), strict=True))
    header = {
        "restic": version,
        "command": f"AEROOPS_RESTIC={binary} python tests/make_retention_golden.py",
        "each case": "restic -q --no-cache forget --dry-run --json --host <time set> <flags>, TZ=<zone>",
        "made": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    lines = [json.dumps(header)] + [line for zone in by_zone for line in results[zone]]
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text("\n".join(lines) + "\n")
    print(f"{len(lines) - 1} cases from {len(sets)} time sets, {version}: {GOLDEN}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
