"""Crash safety of backup: a backup SIGKILLed at each of its ten steps, before every single
operation it makes on a disk, and at random moments inside the packing and the staging copy of
a multi-MiB snapshot.

After every kill: no archive sits at the output path unless it is complete and verifies; the
data directory is byte for byte (times included) as it was; the next run succeeds and removes
what the killed run left (`removed_stale`); a staging folder killed before its owner file
existed is kept for `ORPHAN_GRACE_SECONDS` (it may be a run starting up) and removed after.

The backup runs in a child process that kills itself at a chosen step, operation or byte
count (a fresh interpreter; a fork of the test process for the sweep over every operation, which
makes a hundred kills cheap), or that the test kills after a random delay.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.data import TESTS, tree_state
from helpers.faults import CountingOps, KillingOps, tmpfs

from aeroops.demo import DemoSpec, make_demo_datadir
from aeroops.executor.audit import verify_archive
from aeroops.executor.backup import ORPHAN_GRACE_SECONDS, OWNER_FILE, STAGING_PREFIX, STEPS, run_backup
from aeroops.executor.fileops import REAL, FileOps
from aeroops.formats.sidecar import ALGORITHMS, sidecar_path

T_KILLED = datetime(2026, 2, 4, 12, 0, 0, tzinfo=UTC)  # the killed run's created_at

CHILD = """
import os, signal, sys
sys.path.insert(0, sys.argv[1])
from datetime import datetime, UTC
from aeroops.executor.backup import run_backup
from aeroops.executor.fileops import REAL
from helpers.faults import KillingOps

data_dir, out, mode, value = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])

def progress(event):
    if (mode == "step" and event.step_index == value) or (
        mode == "byte" and event.step_index == 8 and event.done_bytes >= value
    ):
        os.kill(os.getpid(), signal.SIGKILL)

print("go", flush=True)
run_backup(
    data_dir,
    out,
    created_at=datetime(2026, 2, 4, 12, 0, 0, tzinfo=UTC),
    progress=progress,
    ops=KillingOps(value) if mode == "op" else REAL,
)
"""


def start(data_dir: Path, out: Path, mode: str, value: int = 0) -> subprocess.Popen[bytes]:
    """A backup in a fresh interpreter; ``mode``: "step" (kill at the start of step ``value``),
    "op" (before the ``value``-th file operation), "byte" (once packing has passed ``value``
    bytes) or "timer" (the test kills it)."""
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(TESTS), str(data_dir), str(out), mode, str(value)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_killed(process: subprocess.Popen[bytes]) -> int:
    _, err = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL, err.decode()
    return process.returncode


def forked_backup(data_dir: Path, out: Path, ops: FileOps) -> int:
    """run_backup in a fork of this process; its exit code (-9 when it was SIGKILLed)."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            run_backup(data_dir, out, created_at=T_KILLED, ops=ops)
            code = 0
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while (waited := os.waitpid(pid, os.WNOHANG)) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.001)
    return os.waitstatus_to_exitcode(waited[1])


class Survivor:
    """Checks what a killed backup left, then that the next run succeeds and clears it."""

    def __init__(self, data_dir: Path, out: Path) -> None:
        self.data_dir = data_dir
        self.out = out
        self.before = tree_state(data_dir)
        self.runs = 0
        self.kills = 0
        self.left: Counter[str] = Counter()  # what the kills left: "nothing", "staging", "archive", ...

    def check(self, returncode: int) -> None:
        """After the backup ended with ``returncode`` (killed, or finished before the kill landed)."""
        killed = returncode == -signal.SIGKILL
        self.kills += killed
        found = self.assert_only_whole_archives()
        assert tree_state(self.data_dir) == self.before, "the killed backup changed the data directory"
        staging = [p for p in self.out.iterdir() if p.name.startswith(STAGING_PREFIX)]
        assert len(staging) <= 1
        self.left["archive" if found else "staging" if staging else "nothing"] += 1
        if not killed:
            assert returncode == 0 and found and not staging
        self.assert_next_run_clears(staging)

    def assert_only_whole_archives(self) -> list[Path]:
        """Every archive at the output verifies, with its sidecar; nothing else is there but
        staging folders and a sidecar published just before its archive."""
        archives = []
        for path in sorted(self.out.iterdir()):
            if path.name.startswith(STAGING_PREFIX):
                assert path.is_dir()
            elif path.name.endswith(".tar"):
                assert any(sidecar_path(path, a).exists() for a in ALGORITHMS), f"{path.name} without its sidecar"
                report = verify_archive(path, ops=REAL)
                assert report.ok, f"a killed backup left {path.name}, which does not verify: {report.findings}"
                archives.append(path)
            else:
                assert path.name.endswith((".tar.b3", ".tar.sha256")), path.name
        return archives

    def assert_next_run_clears(self, staging: list[Path]) -> None:
        self.runs += 1
        created_at = datetime(2026, 3, 1, tzinfo=UTC).replace(second=self.runs % 60, minute=self.runs // 60)
        orphan = staging and not (staging[0] / OWNER_FILE).exists()
        result = run_backup(self.data_dir, self.out, created_at=created_at, ops=REAL)
        assert verify_archive(result.archive, ops=REAL).ok
        if orphan:
            # Killed before its owner file existed: it may be a run starting up, so it is kept
            # for the grace period, and removed by the first run after it.
            assert result.removed_stale == () and staging[0].exists()
            past = time.time() - ORPHAN_GRACE_SECONDS - 1
            os.utime(staging[0], (past, past))
            result = run_backup(self.data_dir, self.out, created_at=created_at, overwrite=True, ops=REAL)
        assert result.removed_stale == tuple(str(p) for p in staging)
        assert not [p for p in self.out.iterdir() if p.name.startswith(STAGING_PREFIX)]
        assert tree_state(self.data_dir) == self.before
        for path in self.out.iterdir():  # start the next kill from an empty output folder
            path.unlink()


@pytest.fixture
def survivor(datadir_1000: Path, out_dir: Path) -> Survivor:
    return Survivor(datadir_1000, out_dir)


@pytest.mark.parametrize("step", range(1, len(STEPS) + 1), ids=[f"{i}-{s}" for i, s in enumerate(STEPS, 1)])
def test_a_backup_killed_at_each_step_leaves_no_partial_archive(survivor: Survivor, step: int) -> None:
    survivor.check(wait_killed(start(survivor.data_dir, survivor.out, "step", step)))
    # Only a kill in step 10 (after the rename, before the lock is released) leaves an archive.
    assert survivor.left == Counter({"archive" if step == 10 else "staging" if 4 <= step <= 9 else "nothing": 1})


def count_operations(data_dir: Path, out: Path) -> int:
    """How many FileOps calls a backup of ``data_dir`` makes (scan, staging, packing,
    publishing); the output folder is left empty."""
    ops = CountingOps()
    run_backup(data_dir, out, created_at=T_KILLED, ops=ops)
    for path in out.iterdir():
        path.unlink()
    assert {"mkdir", "create", "link", "write", "fsync", "fsync_path", "remove", "rename"} <= set(ops.calls), (
        "the sweep must meet every kind of operation"
    )
    return len(ops.calls)


@pytest.mark.slow
def test_a_backup_killed_before_every_single_operation_leaves_no_partial_archive(survivor: Survivor) -> None:
    count = count_operations(survivor.data_dir, survivor.out)
    for nth in range(1, count + 1):
        survivor.check(forked_backup(survivor.data_dir, survivor.out, KillingOps(nth)))
    assert survivor.kills == count
    # Early kills leave nothing, kills while staging and packing a staging folder, and the last
    # ones (after the archive is linked into place) a whole archive.
    assert set(survivor.left) == {"nothing", "staging", "archive"}
    print(f"\n{survivor.kills} kills, one before each operation; left: {dict(survivor.left)}")


# --- random moments inside long copies -----------------------------------------------------------

BIG = DemoSpec(seed=7, wal_records=1000, snapshots=2, storage_bytes=8 << 20)


RANDOM_KILLS = 14


@pytest.fixture(scope="module")
def big_datadir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An 8 MiB newest snapshot and a 12 MiB WAL: packing them takes tens of milliseconds."""
    path = tmp_path_factory.mktemp("big") / "data"
    make_demo_datadir(path, BIG, ops=REAL)
    return path


def random_kills(survivor: Survivor, rng: random.Random, count: int) -> None:
    """Half at a random byte count of the packing, half after a random delay."""
    timed = run_backup(survivor.data_dir, survivor.out, created_at=T_KILLED, ops=REAL)
    content = timed.plan.content_bytes
    duration = timed.duration_seconds
    for path in survivor.out.iterdir():
        path.unlink()
    for attempt in range(count):
        if attempt % 2 == 0:
            survivor.check(wait_killed(start(survivor.data_dir, survivor.out, "byte", rng.randrange(1, content))))
        else:
            process = start(survivor.data_dir, survivor.out, "timer")
            assert process.stdout is not None and process.stdout.readline() == b"go\n"
            time.sleep(rng.uniform(0, duration))
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=60)
            survivor.check(process.returncode)


@pytest.mark.slow
def test_a_backup_killed_at_random_moments_while_packing_a_big_snapshot(big_datadir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    survivor = Survivor(big_datadir, out)
    random_kills(survivor, random.Random(20260204), RANDOM_KILLS)
    print(f"\nhard-linked staging: {survivor.kills} kills landed; left: {dict(survivor.left)}")
    assert survivor.kills >= RANDOM_KILLS * 3 // 4 and survivor.left["staging"] >= RANDOM_KILLS // 2


@pytest.mark.slow
def test_a_backup_killed_at_random_moments_while_copying_to_another_file_system(
    big_datadir: Path, tmp_path: Path
) -> None:
    """The output on its own tmpfs: the snapshot is staged by a real copy, not a hard link."""
    with tmpfs(tmp_path / "other-fs", "128m") as out:
        survivor = Survivor(big_datadir, out)
        assert run_backup(big_datadir, out / "probe.tar", created_at=T_KILLED, ops=REAL).staged_by == "copy"
        (out / "probe.tar").unlink()
        (out / "probe.tar.b3").unlink()
        random_kills(survivor, random.Random(20260205), RANDOM_KILLS)
        print(f"\ncopied staging: {survivor.kills} kills landed; left: {dict(survivor.left)}")
        assert survivor.kills >= RANDOM_KILLS * 3 // 4 and survivor.left["staging"] >= RANDOM_KILLS // 2
