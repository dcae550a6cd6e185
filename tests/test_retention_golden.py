"""The retention planner against restic's own ``forget``: every golden case recorded from restic
0.18's ``forget --dry-run --json`` (tests/golden/retention/, made by
tests/make_retention_golden.py), and, where a restic 0.16 or later is installed, restic run
here on cases of its own."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from helpers.restic import (
    Case,
    Repository,
    case_of,
    golden_lines,
    planner_outcome,
    policy_of,
    restic_binary,
    restic_outcome,
)
from helpers.retention import row

from aeroops.core.retention import Rule, plan_retention

NOW = datetime(2026, 12, 6, tzinfo=UTC)  # after every golden time, as restic's clock was


def test_the_golden_file_is_restic_0_16_or_later_on_a_few_hundred_cases() -> None:
    header, lines = golden_lines()
    found = re.match(r"restic (\d+)\.(\d+)", header["restic"])
    assert found and (int(found[1]), int(found[2])) >= (0, 16)
    assert len(lines) >= 300 and len({line["case"] for line in lines}) >= 30
    flags = {flag for line in lines for flag in line["flags"]}
    assert flags == {
        *(f"keep-{r}" for r in ("last", "hourly", "daily", "weekly", "monthly", "yearly", "within")),
        *(f"keep-within-{p}" for p in ("hourly", "daily", "weekly", "monthly", "yearly")),
    }
    matches = {m for line in lines for reason in line["reasons"] for m in reason["matches"]}
    # restic's oldest rule for every count and every within period, and unlimited counts, are covered
    assert {f"oldest {p} snapshot" for p in ("hourly", "daily", "weekly", "monthly", "yearly")} <= matches
    assert {m.split()[1] for m in matches if m.startswith("oldest") and "within" in m} >= {
        "hourly",
        "daily",
        "weekly",
        "monthly",
        "yearly",
    }
    assert any("unlimited" in line["flags"].values() for line in lines)
    assert {line["zone"] for line in lines} >= {"UTC", "Europe/Berlin", "America/New_York"}


def test_the_planner_agrees_with_restic_on_every_golden_case() -> None:
    _, lines = golden_lines()
    disagreements = []
    for line in lines:
        case = case_of(line)
        ours, plan = planner_outcome(case, NOW)
        if ours != restic_outcome(line):
            disagreements.append(f"{case.name} {dict(case.flags)}")
        # aeroops' own invariant, named where it applies: the newest clean archive, which restic
        # keeps anyway (every rule keeps the newest snapshot).
        named = [d for d in plan.decisions if Rule.NEWEST_GOOD in d.rules()]
        assert named == [plan.decisions[0]] and plan.decisions[0].row.created_at == max(case.times)
    assert disagreements == [], f"{len(disagreements)} of {len(lines)} cases differ from restic: {disagreements[:5]}"


def test_a_damaged_archive_is_invisible_to_the_rules() -> None:
    """A damaged archive counts toward nothing: planning a golden case with damaged archives
    added keeps, of the others, exactly what restic keeps without them."""
    _, lines = golden_lines()
    for line in lines[::7]:
        case = case_of(line)
        ours, _ = planner_outcome(case, NOW)
        damaged = [row(f"bad{n}", t.astimezone(UTC) + timedelta(seconds=1), ok=False) for n, t in enumerate(case.times)]
        plain = [row(f"s{n:03d}", t.astimezone(UTC)) for n, t in enumerate(case.times)]
        plan = plan_retention(plain + damaged, policy_of(case.flags, case.zone), NOW)
        kept = sorted(d.row.created_at for d in plan.kept if not d.file.startswith("bad"))  # type: ignore[type-var]
        assert kept == sorted(t for (t, _), n in ours[0].items() for _ in range(n)), case.name
        assert all(d.keep and d.reasons == () for d in plan.decisions if d.file.startswith("bad"))


# --- restic itself, where installed ---------------------------------------------------------------


def live_cases() -> list[tuple[str, list[datetime], list[dict[str, str]]]]:
    """Cases of their own (not in the golden file): a seeded random folder in Berlin over a DST
    change, and the golden file's identical-times set."""
    rng = random.Random(2026)
    start = datetime(2025, 10, 20, tzinfo=UTC)
    times = sorted({start + timedelta(minutes=rng.randrange(14 * 24 * 60)) for _ in range(9)}, reverse=True)
    policies = [
        {"keep-hourly": "4", "keep-daily": "3"},
        {"keep-daily": "unlimited"},
        {"keep-weekly": "5"},
        {"keep-within": "3d"},
        {"keep-within-daily": "6d", "keep-last": "2"},
        {"keep-within-hourly": "1d"},
    ]
    return [("live random Berlin", times, policies)]


@pytest.mark.slow
def test_restic_itself_agrees_where_installed() -> None:
    found = restic_binary()
    if found is None:
        pytest.skip("no restic 0.16 or later installed ($AEROOPS_RESTIC or restic on PATH); the golden cases ran")
    binary, _ = found
    repo = Repository(binary)
    try:
        zone = "Europe/Berlin"
        for n, (name, times, policies) in enumerate(live_cases()):
            for t in times:
                repo.backup(f"live{n}", t, zone)
            for flags in policies:
                case = Case(name, zone, tuple(times), flags)
                answer = repo.forget(f"live{n}", zone, flags)
                ours, _ = planner_outcome(case, NOW)
                assert ours == restic_outcome(answer), (name, flags)
        # And one golden case, run again: the binary here answers as the golden file says.
        _, lines = golden_lines()
        line = next(x for x in lines if x["case"] == "identical times" and x["flags"] == {"keep-daily": "2"})
        case = case_of(line)
        for t in case.times:
            repo.backup("golden", t, case.zone)
        assert restic_outcome(repo.forget("golden", case.zone, case.flags)) == restic_outcome(line)
    finally:
        repo.close()
