"""The point-in-time fixtures (tests/fixtures/aerodb-reference/pitr/, written by AeroDB's own
code: four stages of one data directory over two checkpoints) and how tests move a data
directory through them as AeroDB did: the WAL grows, a checkpoint truncates it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from helpers.data import AERODB_FIXTURES, copy_fixture

PITR = AERODB_FIXTURES / "pitr"
TIMELINES = json.loads((PITR / "timelines.json").read_text())
A, B = sorted(TIMELINES["timelines"])  # checkpoint ids: A before B
T0 = datetime(2026, 12, 6, 21, 0, 0, tzinfo=UTC)


def records(timeline: str) -> list[dict[str, object]]:
    """Every record of a timeline: sequence, offset, end, type, key."""
    return TIMELINES["timelines"][timeline]["records"]  # type: ignore[no-any-return]


def end_of(timeline: str, sequence: int) -> int:
    """Where record ``sequence`` ends in its timeline's WAL (0 for sequence 0)."""
    return 0 if sequence == 0 else int(records(timeline)[sequence - 1]["end"])  # type: ignore[call-overload]


def full_wal(timeline: str) -> bytes:
    return (PITR / ("stage-2" if timeline == A else "stage-4") / "wal/wal.log").read_bytes()


def stage_copy(stage: int, target: Path) -> Path:
    return copy_fixture(f"pitr/stage-{stage}", target)


def move_to_stage(data_dir: Path, stage: int) -> None:
    """Make ``data_dir`` what AeroDB made it at ``stage``: a write appends to the WAL (its file
    stays the same inode), a checkpoint adds a snapshot, rewrites checkpoint.json and truncates."""
    source = PITR / f"stage-{stage}"
    for sub in ("snapshots", "metadata"):
        shutil.copytree(source / sub, data_dir / sub, dirs_exist_ok=True)
    shutil.copyfile(source / "checkpoint.json", data_dir / "checkpoint.json")
    shutil.copyfile(source / "data/documents.dat", data_dir / "data/documents.dat")
    wal = (source / "wal/wal.log").read_bytes()
    with open(data_dir / "wal/wal.log", "r+b") as stream:
        current = stream.read()
        if wal.startswith(current):
            stream.write(wal[len(current) :])
        else:
            stream.seek(0)
            stream.truncate(0)
            stream.write(wal)
    for path in [data_dir, *data_dir.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)


def clock(start: datetime = T0, step: timedelta = timedelta(minutes=1)) -> Callable[[], datetime]:
    """A clock for passes: each call a step later."""
    moments = iter(start + step * n for n in range(10_000))
    return lambda: next(moments)


def forked(function: Callable[[], object]) -> int:
    """``function`` in a fork of this process; its exit code (-9 when it was SIGKILLed)."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            function()
            code = 0
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while (waited := os.waitpid(pid, os.WNOHANG)) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.001)
    return os.waitstatus_to_exitcode(waited[1])
