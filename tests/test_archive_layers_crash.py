"""Crash safety of layered backups (``--compress``, ``--encrypt-to``, both): a backup SIGKILLed
at each of its ten steps, and before every single file operation it makes, leaves nothing under
the final name but a whole archive with its sidecar and record; the data directory is unchanged;
the next run succeeds and removes what the killed one left.

The layered writers add a thread (age's) that writes the stored bytes: a kill while it writes
is among the operations swept.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyrage
import pytest
from helpers.data import copy_fixture, tree_state
from helpers.faults import CountingOps, KillingOps

from aeroops.executor.audit import verify_archive
from aeroops.executor.backup import ORPHAN_GRACE_SECONDS, OWNER_FILE, STAGING_PREFIX, STEPS, run_backup
from aeroops.executor.fileops import REAL, FileOps
from aeroops.formats.layers import ARCHIVE_SUFFIXES, layers_of_name
from aeroops.formats.record import parse_record, record_path
from aeroops.formats.sidecar import ALGORITHMS, sidecar_path
from aeroops.progress import Progress

T_KILLED = datetime(2026, 12, 2, 12, 0, 0, tzinfo=UTC)
LAYERINGS = ("zst", "age", "zst.age")


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    key = pyrage.x25519.Identity.generate()
    path = tmp_path_factory.mktemp("crash-keys") / "key.txt"
    path.write_text(str(key) + "\n")
    path.chmod(0o600)
    return path, str(key.to_public())


def options(layering: str, recipient: str) -> dict[str, Any]:
    return {
        "zst": {"compress": "zstd:3"},
        "age": {"encrypt_to": [recipient]},
        "zst.age": {"compress": "zstd:1", "encrypt_to": [recipient]},
    }[layering]


def forked(data_dir: Path, out: Path, ops: FileOps, kill_at_step: int, **kwargs: Any) -> int:
    """run_backup in a fork of this process; its exit status (-9 when SIGKILLed)."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:

            def progress(event: Progress) -> None:
                if event.step_index == kill_at_step:
                    os.kill(os.getpid(), signal.SIGKILL)

            run_backup(data_dir, out, created_at=T_KILLED, ops=ops, progress=progress, **kwargs)
            code = 0
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while (waited := os.waitpid(pid, os.WNOHANG)) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.001)
    return os.waitstatus_to_exitcode(waited[1])


class LayeredSurvivor:
    def __init__(self, data_dir: Path, out: Path, layering: str, identity: tuple[Path, str]) -> None:
        self.data_dir, self.out = data_dir, out
        self.key, recipient = identity
        self.kwargs = options(layering, recipient)
        self.suffix = "." + ".".join(["tar", *layering.split(".")])
        self.before = tree_state(data_dir)
        self.left: Counter[str] = Counter()
        self.kills = 0
        self.runs = 0

    def check(self, status: int) -> None:
        killed = status == -signal.SIGKILL
        self.kills += killed
        archives = self.whole_archives_only()
        assert tree_state(self.data_dir) == self.before, "the killed backup changed the data directory"
        staging = [p for p in self.out.iterdir() if p.name.startswith(STAGING_PREFIX)]
        assert len(staging) <= 1
        self.left["archive" if archives else "staging" if staging else "nothing"] += 1
        if not killed:
            assert status == 0 and archives
        self.next_run_clears(staging)

    def whole_archives_only(self) -> list[Path]:
        """Under a final name: only a whole archive (it verifies through its layers, with the
        identity, and without it against its sidecar and record), with its sidecar and record."""
        found = []
        for path in sorted(self.out.iterdir()):
            if path.name.startswith(STAGING_PREFIX):
                assert path.is_dir()
                continue
            if path.name.endswith(ARCHIVE_SUFFIXES):
                assert path.name.endswith(self.suffix), path.name
                assert any(sidecar_path(path, a).exists() for a in ALGORITHMS), f"{path.name} without its sidecar"
                assert record_path(path).exists(), f"{path.name} without its record"
                assert parse_record(record_path(path).read_bytes()).stored_size == path.stat().st_size
                opened = verify_archive(path, identities=[self.key], ops=REAL)
                assert opened.ok and opened.opened, (path.name, opened.findings)
                assert verify_archive(path, identities=[], ops=REAL).ok
                found.append(path)
            else:  # a sidecar or a record published before its archive
                assert path.name.endswith((f"{self.suffix}.b3", f"{self.suffix}.sha256", f"{self.suffix}.json"))
                assert layers_of_name(path.name.rsplit(".", 1)[0]) is not None
        return found

    def next_run_clears(self, staging: list[Path]) -> None:
        self.runs += 1
        created_at = datetime(2026, 12, 3, tzinfo=UTC).replace(second=self.runs % 60, minute=self.runs // 60)
        orphan = staging and not (staging[0] / OWNER_FILE).exists()
        result = run_backup(self.data_dir, self.out, created_at=created_at, ops=REAL, **self.kwargs)
        assert verify_archive(result.archive, identities=[self.key], ops=REAL).ok
        if orphan:
            assert result.removed_stale == () and staging[0].exists()
            past = time.time() - ORPHAN_GRACE_SECONDS - 1
            os.utime(staging[0], (past, past))
            result = run_backup(self.data_dir, self.out, created_at=created_at, overwrite=True, ops=REAL, **self.kwargs)
        assert result.removed_stale == tuple(str(p) for p in staging)
        assert not [p for p in self.out.iterdir() if p.name.startswith(STAGING_PREFIX)]
        for path in self.out.iterdir():
            path.unlink()


@pytest.fixture(params=LAYERINGS)
def survivor(request: pytest.FixtureRequest, tmp_path: Path, identity: tuple[Path, str]) -> LayeredSurvivor:
    data = copy_fixture("datadir-1000", tmp_path / "datadir-1000")
    out = tmp_path / "backups"
    out.mkdir()
    return LayeredSurvivor(data, out, request.param, identity)


def test_a_layered_backup_killed_at_each_step_leaves_nothing_under_the_final_name(survivor: LayeredSurvivor) -> None:
    for step in range(1, len(STEPS) + 1):
        survivor.check(forked(survivor.data_dir, survivor.out, REAL, step, **survivor.kwargs))
    assert survivor.kills == len(STEPS)
    # Only a kill in step 10 (after the archive took its name) leaves an archive.
    assert survivor.left == Counter({"nothing": 3, "staging": 6, "archive": 1})


@pytest.mark.slow
def test_a_layered_backup_killed_before_every_operation(survivor: LayeredSurvivor) -> None:
    counting = CountingOps()
    run_backup(survivor.data_dir, survivor.out, created_at=T_KILLED, ops=counting, **survivor.kwargs)
    for path in survivor.out.iterdir():
        path.unlink()
    count = len(counting.calls)
    assert counting.calls.count("write") >= 2
    for nth in range(1, count + 1):
        survivor.check(forked(survivor.data_dir, survivor.out, KillingOps(nth), 0, **survivor.kwargs))
    assert survivor.kills == count
    assert set(survivor.left) == {"nothing", "staging", "archive"}
    print(f"\n{survivor.suffix}: {survivor.kills} kills, one before each operation; left: {dict(survivor.left)}")
