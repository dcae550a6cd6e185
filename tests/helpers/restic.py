"""restic's own ``forget`` as the reference for the retention planner: a tiny restic repository
whose snapshots carry chosen times, ``forget --dry-run --json`` on it, and the golden cases
recorded that way (tests/golden/retention/, made by tests/make_retention_golden.py).

A case is a zone, a list of snapshot times and restic's ``--keep-*`` flags; restic's answer is
the kept snapshots with their reasons ("matches") and the removed ones. Times are compared as
instants; snapshots made at the same instant are interchangeable, so kept and removed are
compared as multisets of (instant, reasons).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aeroops.core.inventory import InventoryRow
from aeroops.core.retention import (
    COUNT_RULES,
    DURATION_RULES,
    Policy,
    RetentionPlan,
    parse_count,
    parse_duration,
    plan_retention,
)

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "retention" / "restic-forget.jsonl"
RESTIC_ENV = "AEROOPS_RESTIC"  # a restic binary to compare with (default: restic on PATH)
PASSWORD = "aeroops-golden"  # a throwaway repository's password, not a secret


@dataclass(frozen=True)
class Case:
    name: str
    zone: str  # an IANA name; the snapshot times are written in it, as restic does with TZ
    times: tuple[datetime, ...]  # aware
    flags: Mapping[str, str]  # {"keep-daily": "3", "keep-within": "7d"}


Outcome = tuple[Counter[tuple[datetime, tuple[str, ...]]], Counter[datetime]]  # kept with reasons, removed


def policy_of(flags: Mapping[str, str], zone: str) -> Policy:
    """restic's ``--keep-*`` flags as an aeroops Policy."""
    options = {rule.option: rule for rule in (*COUNT_RULES, *DURATION_RULES)}
    values: dict[str, Any] = {}
    for flag, text in flags.items():
        rule = options[flag.removeprefix("keep-").replace("-", "_")]
        values[rule.option] = parse_count(text) if rule in COUNT_RULES else parse_duration(text)
    return Policy(**values, time_zone=None if zone == "UTC" else zone)


def rows_of(times: Sequence[datetime]) -> list[InventoryRow]:
    from helpers.retention import row

    return [row(f"s{n:03d}", t.astimezone(UTC)) for n, t in enumerate(times)]


def planner_outcome(case: Case, now: datetime) -> tuple[Outcome, RetentionPlan]:
    """The aeroops plan of a case, in restic's terms: restic's reasons only (aeroops' own,
    ``newest good``, have no restic text)."""
    plan = plan_retention(rows_of(case.times), policy_of(case.flags, case.zone), now)
    kept: Counter[tuple[datetime, tuple[str, ...]]] = Counter()
    removed: Counter[datetime] = Counter()
    for d in plan.decisions:
        assert d.row.created_at is not None
        if d.keep:
            kept[(d.row.created_at, tuple(r.restic for r in d.reasons if r.restic))] += 1
        else:
            removed[d.row.created_at] += 1
    return (kept, removed), plan


def restic_outcome(answer: Mapping[str, Any]) -> Outcome:
    """restic's answer (one group of ``forget --json``, or a golden line) in the same terms."""
    kept: Counter[tuple[datetime, tuple[str, ...]]] = Counter()
    for reason in answer["reasons"]:
        kept[(_instant(reason["snapshot"]["time"]), tuple(reason["matches"]))] += 1
    removed = Counter(_instant(s["time"]) for s in answer.get("remove") or ())
    return kept, removed


def _instant(text: str) -> datetime:
    # restic writes nanoseconds; Python reads microseconds at most (the cases use whole seconds)
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    return datetime.fromisoformat(text).astimezone(UTC)


# --- driving restic -----------------------------------------------------------------------------


def restic_binary() -> tuple[str, str] | None:
    """A restic 0.16 or later (``$AEROOPS_RESTIC``, else ``restic`` on PATH) and its version
    line, or None when there is none (Debian bookworm's is 0.14, with the old rules)."""
    binary = os.environ.get(RESTIC_ENV) or shutil.which("restic")
    if not binary:
        return None
    try:
        version = subprocess.run([binary, "version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        return None
    found = re.match(r"restic (\d+)\.(\d+)", version)
    if not found or (int(found[1]), int(found[2])) < (0, 16):
        return None
    return binary, version


class Repository:
    """A throwaway restic repository in a temporary folder (removed by `close`)."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.folder = Path(tempfile.mkdtemp(prefix="aeroops-restic-"))
        self.data = self.folder / "data"
        self.data.mkdir()
        (self.data / "file").write_text("aeroops\n")
        self._run(["init"], "UTC")

    def _run(self, args: list[str], zone: str) -> str:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.folder),
            "RESTIC_REPOSITORY": str(self.folder / "repo"),
            "RESTIC_PASSWORD": PASSWORD,
            "TZ": zone,
        }
        done = subprocess.run(
            [self.binary, "--no-cache", "-q", *args], capture_output=True, text=True, env=env, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"restic {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def backup(self, host: str, instant: datetime, zone: str) -> None:
        """A snapshot made at ``instant``, written with the offset ``zone`` has then (restic
        takes ``--time`` as a wall time of the TZ it runs in)."""
        tz, wall = _writing_zone(instant, zone)
        self._run(["backup", "--host", host, "--time", wall.strftime("%Y-%m-%d %H:%M:%S"), str(self.data)], tz)

    def forget(self, host: str, zone: str, flags: Mapping[str, str]) -> dict[str, Any]:
        args = ["forget", "--dry-run", "--json", "--host", host]
        for flag, value in flags.items():
            args += [f"--{flag}", value]
        out = self._run(args, zone)
        groups = json.loads(next(line for line in out.splitlines() if line.startswith("[")))
        assert len(groups) == 1, groups  # one host, one path: one group
        group: dict[str, Any] = groups[0]
        return group

    def close(self) -> None:
        shutil.rmtree(self.folder)


def _writing_zone(instant: datetime, zone: str) -> tuple[str, datetime]:
    """The TZ to run ``restic backup`` in, and the wall time to pass, for a snapshot at
    ``instant`` written with ``zone``'s offset: ``zone`` itself, or, for a wall time that a DST
    change repeats or skips, a fixed zone of the same offset (Etc/GMT-2 is UTC+2)."""
    local = instant.astimezone(ZoneInfo(zone))
    wall = local.replace(tzinfo=None)
    for fold in (0, 1):
        if wall.replace(tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC) != instant.astimezone(UTC):
            break
    else:  # both readings of the wall time are this instant: no DST change near it
        return zone, wall
    offset = local.utcoffset()
    assert offset is not None and offset.total_seconds() % 3600 == 0, (instant, zone)
    hours = int(offset.total_seconds() // 3600)
    return ("UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"), wall


def run_case(repo: Repository, host: str, case: Case) -> dict[str, Any]:
    """restic's answer to one case, on snapshots already made under ``host``."""
    return repo.forget(host, case.zone, case.flags)


def case_line(case: Case, answer: Mapping[str, Any]) -> dict[str, Any]:
    """A golden line: the case and restic's answer, snapshot times as restic wrote them."""
    return {
        "case": case.name,
        "zone": case.zone,
        "times": [t.isoformat() for t in case.times],
        "flags": dict(case.flags),
        "reasons": [{"snapshot": {"time": r["snapshot"]["time"]}, "matches": r["matches"]} for r in answer["reasons"]],
        "remove": [{"time": s["time"]} for s in answer.get("remove") or ()],
    }


def case_of(line: Mapping[str, Any]) -> Case:
    return Case(line["case"], line["zone"], tuple(map(_instant, line["times"])), line["flags"])


def golden_lines() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The golden file's header and its cases."""
    header, *cases = (json.loads(line) for line in GOLDEN.read_text().splitlines() if line.strip())
    return header, cases
