"""I/O faults: each ends with its error code, nothing partial at the output (at most a whole
archive that verifies, when the fault struck after it was in place), the source unchanged, and
the next run succeeds.

Injected through the FileOps seam (`faults.FailingOps`, `faults.Saboteur`, `faults.FaultyReadOps`)
and, where the machine allows, for real: a full tmpfs, a read-only bind mount, and runs as the
unprivileged user nobody, for whom permissions apply (they do not to root). test_backup.py and
test_restore.py hold the faults this file does not repeat (ENOSPC/EIO on write, fsync, EIO on
read while packing, failed renames; the restore's mkdir/create/write/fsync/rename faults).
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pytest
from helpers.cli import run_cli_as_nobody
from helpers.data import copy_fixture, tree_state
from helpers.faults import (
    FailingOps,
    FaultyReadOps,
    Saboteur,
    grow,
    listing,
    need_nobody,
    put_back,
    read_only_bind,
    shrink,
    tmpfs,
    vanish,
    world_readable_folder,
)

from aeroops.demo import DemoSpec, make_demo_datadir
from aeroops.errors import AeroError, BackupError, RestoreCorruptionError, RestoreError, RestoreIOError, Severity
from aeroops.executor.audit import verify_archive
from aeroops.executor.backup import run_backup
from aeroops.executor.fileops import REAL, FileOps
from aeroops.executor.restore import restore
from aeroops.executor.restore_target import find_leftovers

T0 = datetime(2026, 2, 4, 12, 0, 0, tzinfo=UTC)
SNAPSHOT = "snapshots/20261126T214824Z"


def assert_error(error: AeroError, code: str, words: str) -> None:
    assert error.code == code, str(error)
    assert words in error.message, str(error)


def assert_nothing_partial(out: Path) -> None:
    """Nothing at the output but whole archives that verify (with their sidecars)."""
    for path in out.iterdir():
        assert path.name.endswith((".tar", ".tar.b3", ".tar.sha256")), f"left behind: {path.name}"
        if path.name.endswith(".tar"):
            assert verify_archive(path, ops=REAL).ok


def assert_next_backup_succeeds(data_dir: Path, out: Path) -> None:
    result = run_backup(data_dir, out, created_at=datetime(2026, 3, 1, tzinfo=UTC), ops=REAL)
    assert verify_archive(result.archive, ops=REAL).ok


# --- backup: faults through the seam, beyond test_backup.py's ------------------------------------

SEAM_FAULTS = [
    # (operation, errno, nth call, words, the archive was already in place)
    ("open_read", errno.EACCES, 1, "Permission denied", False),  # the WAL, to fsync it
    ("scandir", errno.EACCES, 1, "Permission denied", False),  # snapshots/
    ("scandir", errno.EIO, 3, "Input/output error", False),  # the output folder (stale staging)
    ("mkdir", errno.EACCES, 1, "Permission denied", False),  # the staging folder
    ("mkdir", errno.ENOSPC, 2, "no space left", False),  # staging/snapshot
    ("create", errno.EACCES, 1, "Permission denied", False),  # the staging owner file
    ("create", errno.ENOSPC, 2, "no space left", False),  # the backup manifest
    ("create", errno.EROFS, 3, "Read-only file system", False),  # the archive
    ("fsync", errno.EIO, 3, "Input/output error", False),  # the archive
    ("fsync", errno.EIO, 4, "Input/output error", False),  # the sidecar
    ("create", errno.ENOSPC, 4, "no space left", False),  # the sidecar
    ("link", errno.EIO, 6, "Input/output error", False),  # the archive into place
    # After the archive is linked into place: the run still fails (its folder may not be durable,
    # the sidecar may be missing), and the archive there is whole.
    ("remove", errno.EIO, 1, "Input/output error", True),  # the staging name of the archive
    ("fsync_path", errno.EIO, 10, "Input/output error", True),  # the output folder
]


@pytest.mark.parametrize(
    ("operation", "err", "nth", "words", "archive_in_place"),
    SEAM_FAULTS,
    ids=[f"{f[0]}#{f[2]}-{errno.errorcode[f[1]]}" for f in SEAM_FAULTS],
)
def test_backup_seam_faults_end_with_their_code_and_nothing_partial(
    datadir_1000: Path, out_dir: Path, operation: str, err: int, nth: int, words: str, archive_in_place: bool
) -> None:
    before = tree_state(datadir_1000)
    ops = FailingOps(operation, err, nth)
    with pytest.raises(BackupError) as raised:
        run_backup(datadir_1000, out_dir, created_at=T0, ops=ops)
    assert ops.calls >= nth, "the fault was never injected"
    assert_error(raised.value, "AERO_BACKUP_IO", words)
    assert raised.value.severity is Severity.ERROR
    assert bool(list(out_dir.glob("*.tar"))) is archive_in_place
    assert_nothing_partial(out_dir)
    assert tree_state(datadir_1000) == before
    assert_next_backup_succeeds(datadir_1000, out_dir)


@pytest.mark.parametrize(("after", "err"), [(0, errno.EIO), (4096, errno.EIO), (4096, errno.ESTALE)])
def test_backup_read_faults_inside_a_snapshot_file(datadir_1000: Path, out_dir: Path, after: int, err: int) -> None:
    before = tree_state(datadir_1000)
    ops = FaultyReadOps("storage.dat", after, err)
    with pytest.raises(BackupError) as raised:
        run_backup(datadir_1000, out_dir, created_at=T0, ops=ops)
    assert ops.opened and raised.value.code == "AERO_BACKUP_IO"
    assert os.strerror(err) in raised.value.message
    assert list(out_dir.iterdir()) == [] and tree_state(datadir_1000) == before


def test_backup_read_fault_inside_the_wal_while_packed(datadir_1000: Path, out_dir: Path) -> None:
    """The packer reads the WAL from the data directory (cut at the size seen): a read error there
    ends the backup with its code; nothing is published."""
    before = tree_state(datadir_1000)
    ops = FaultyReadOps("wal/wal.log", 4096, errno.EIO)
    with pytest.raises(BackupError) as raised:
        run_backup(datadir_1000, out_dir, created_at=T0, ops=ops)
    assert ops.opened and raised.value.code == "AERO_BACKUP_IO"
    assert os.strerror(errno.EIO) in raised.value.message
    assert list(out_dir.iterdir()) == [] and tree_state(datadir_1000) == before


# --- backup: a file that vanishes or changes size mid-copy (for real, timed through the seam) ----

CHANGES = [
    # (label, moment, file, action, stage by copying, code, words)
    ("storage vanishes before it is linked", "link", "storage.dat", vanish, False, "AERO_BACKUP_IO", "No such file"),
    ("storage vanishes before it is copied", "open", "storage.dat", vanish, True, "AERO_BACKUP_IO", "No such file"),
    ("schema vanishes before it is linked", "link", ".json", vanish, False, "AERO_BACKUP_IO", "No such file"),
    ("storage shrinks, linked", "linked", "storage.dat", shrink, False, "AERO_BACKUP_FAILED", "shrank while packed"),
    ("storage grows, linked", "linked", "storage.dat", grow, False, "AERO_BACKUP_FAILED", "grew while packed"),
    ("storage shrinks mid-copy", "copy", "storage.dat", shrink, True, "AERO_BACKUP_FAILED", "shrank while copied"),
    ("storage grows mid-copy", "copy", "storage.dat", grow, True, "AERO_BACKUP_FAILED", "grew while copied"),
    ("WAL vanishes before its fsync", "open", "wal/wal.log", vanish, False, "AERO_BACKUP_IO", "No such file"),
    ("WAL shrinks, packed", "pack", "wal/wal.log", shrink, False, "AERO_BACKUP_FAILED", "shrank while packed"),
]


@pytest.mark.parametrize(
    ("moment", "suffix", "action", "copy", "code", "words"), [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES]
)
def test_a_file_that_vanishes_or_changes_size_mid_copy(
    datadir_1000: Path,
    out_dir: Path,
    moment: str,
    suffix: str,
    action: Callable[[Path], None],
    copy: bool,
    code: str,
    words: str,
) -> None:
    before = tree_state(datadir_1000)
    victims = [p for p in datadir_1000.rglob("*") if p.is_file() and str(p).endswith(suffix)]
    ops = Saboteur(moment, suffix, action, copy=copy)
    with put_back(*victims), pytest.raises(BackupError) as raised:
        run_backup(datadir_1000, out_dir, created_at=T0, ops=ops)
    assert ops.done, "the file was never changed"
    assert_error(raised.value, code, words)
    assert list(out_dir.iterdir()) == []
    assert tree_state(datadir_1000) == before  # once the saboteur's change is undone
    assert_next_backup_succeeds(datadir_1000, out_dir)


def test_a_wal_that_grows_before_it_is_packed_is_cut_at_the_size_seen(datadir_1000: Path, out_dir: Path) -> None:
    """AeroDB appends to its WAL: a backup packs the WAL as it was after its fsync."""
    wal = datadir_1000 / "wal/wal.log"
    original = wal.read_bytes()
    with put_back(wal):
        result = run_backup(datadir_1000, out_dir, created_at=T0, ops=Saboteur("pack", "wal/wal.log", grow))
        assert wal.read_bytes() == original + b"appended"
    packed = {m.name: m for m in result.members}["wal/wal.log"]
    assert packed.size == len(original)
    assert verify_archive(result.archive, ops=REAL).ok


class WalPackedDiffers(FileOps):
    """The packer reads other bytes of the WAL than the check on the other thread did (a write
    in the middle of the WAL while it was packed, or a read that returned wrong data)."""

    def __init__(self) -> None:
        self.changed = False

    def read(self, stream: BinaryIO, size: int) -> bytes:
        data = super().read(stream, size)
        if str(getattr(stream, "name", "")).endswith("wal/wal.log") and len(data) > 1000 and not self.changed:
            self.changed = True
            return data[:1000] + bytes([data[1000] ^ 0xFF]) + data[1001:]
        return data


def test_a_wal_packed_that_is_not_the_wal_checked_is_never_published(datadir_1000: Path, out_dir: Path) -> None:
    before = tree_state(datadir_1000)
    ops = WalPackedDiffers()
    with pytest.raises(BackupError) as raised:
        run_backup(datadir_1000, out_dir, created_at=T0, ops=ops)
    assert ops.changed
    assert_error(raised.value, "AERO_BACKUP_FAILED", "the WAL changed while it was backed up")
    assert list(out_dir.iterdir()) == [] and tree_state(datadir_1000) == before


# --- backup: real faults ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def datadir_3mib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Demo data whose snapshot and WAL are bigger than a 2 MiB file system."""
    path = tmp_path_factory.mktemp("3mib") / "data"
    make_demo_datadir(path, DemoSpec.small(seed=3, storage_bytes=3 << 20), ops=REAL)
    return path


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "full", "2m") as mount:
        yield mount


def test_a_real_full_disk(datadir_3mib: Path, small_tmpfs: Path) -> None:
    before = tree_state(datadir_3mib)
    with pytest.raises(BackupError) as raised:
        run_backup(datadir_3mib, small_tmpfs, created_at=T0, ops=REAL)
    assert_error(raised.value, "AERO_BACKUP_IO", "no space left on the device")
    assert listing(small_tmpfs) == []  # the staging folder and partial tar are gone
    assert tree_state(datadir_3mib) == before
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_tmpfs)], check=True)
    assert_next_backup_succeeds(datadir_3mib, small_tmpfs)


def test_a_real_read_only_output(datadir_1000: Path, tmp_path: Path) -> None:
    before = tree_state(datadir_1000)
    (tmp_path / "backups").mkdir()
    with read_only_bind(tmp_path / "backups", tmp_path / "backups-ro") as read_only:
        with pytest.raises(BackupError) as raised:
            run_backup(datadir_1000, read_only, created_at=T0, ops=REAL)
        assert_error(raised.value, "AERO_BACKUP_IO", "Read-only file system")
        assert listing(read_only) == []
    assert tree_state(datadir_1000) == before


@pytest.fixture
def nobodys(tmp_path: Path) -> Iterator[Path]:
    """A folder the user nobody can reach and write in, holding a copy of datadir-1000."""
    need_nobody()
    with world_readable_folder("aeroops-nobody-") as root:
        copy_fixture("datadir-1000", root / "data")
        (root / "out").mkdir()
        for path in [root, *root.rglob("*")]:
            os.chown(path, 65534, 65534)
        yield root


def test_real_permission_denied_on_a_snapshot_file(nobodys: Path) -> None:
    storage = nobodys / "data" / SNAPSHOT / "storage.dat"
    os.chown(storage, 0, 0)
    storage.chmod(0o600)  # root's: nobody can neither read nor hard-link it
    before = tree_state(nobodys / "data")
    done = run_cli_as_nobody("backup", str(nobodys / "data"), "-o", str(nobodys / "out"), "--no-progress")
    assert done.returncode == 2, done.stderr
    assert "[ERROR] AERO_BACKUP_IO: I/O failure: Permission denied" in done.stderr
    assert "Traceback" not in done.stderr
    assert listing(nobodys / "out") == []
    assert tree_state(nobodys / "data") == before


def test_real_permission_denied_on_the_output_folder(nobodys: Path) -> None:
    os.chown(nobodys / "out", 0, 0)  # root's, 0755: nobody may not write in it
    before = tree_state(nobodys / "data")
    done = run_cli_as_nobody("backup", str(nobodys / "data"), "-o", str(nobodys / "out"), "--no-progress")
    assert done.returncode == 2, done.stderr
    assert "[ERROR] AERO_BACKUP_IO: I/O failure: Permission denied" in done.stderr
    assert listing(nobodys / "out") == []
    assert tree_state(nobodys / "data") == before


# --- restore: faults test_restore.py does not inject --------------------------------------------


def assert_restore_left_nothing(target: Path, before: dict[str, tuple[str, int, int, str]]) -> None:
    assert tree_state(target) == before
    assert not find_leftovers(target, REAL).any


@pytest.mark.parametrize(
    ("after", "err", "kind", "words"),
    [
        (0, errno.EIO, RestoreIOError, "Input/output error"),
        (100_000, errno.EIO, RestoreIOError, "Input/output error"),
        # cut short as it is read: the one pass that verifies and extracts sees the truncation
        (100_000, None, RestoreCorruptionError, "archive ends inside member data"),
    ],
    ids=["EIO at once", "EIO mid-archive", "archive shrinks"],
)
def test_restore_read_faults_in_the_archive(
    target: Path, aerodb_archive: Path, after: int, err: int | None, kind: type[RestoreError], words: str
) -> None:
    before = tree_state(target)
    ops = FaultyReadOps(".tar", after, err)
    with pytest.raises(kind) as raised:
        restore(aerodb_archive, target, ops=ops)
    assert ops.opened == 1
    assert words in raised.value.message and raised.value.severity is Severity.FATAL
    assert_restore_left_nothing(target, before)
    restore(aerodb_archive, target, ops=REAL)


def test_restore_when_the_archive_vanishes_as_it_is_opened(target: Path, aerodb_archive: Path) -> None:
    before = tree_state(target)
    with put_back(aerodb_archive), pytest.raises(RestoreIOError, match="No such file"):
        restore(aerodb_archive, target, ops=Saboteur("open", ".tar", vanish))
    assert_restore_left_nothing(target, before)


@pytest.fixture(scope="module")
def archive_3mib(datadir_3mib: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(run_backup(datadir_3mib, tmp_path_factory.mktemp("a3"), created_at=T0, ops=REAL).archive)


def test_restore_onto_a_real_full_disk(small_tmpfs: Path, archive_3mib: Path) -> None:
    target = copy_fixture("datadir-nowal", small_tmpfs / "target")
    before = tree_state(target)
    around = set(listing(small_tmpfs))
    with pytest.raises(RestoreIOError) as raised:
        restore(archive_3mib, target, ops=REAL)
    assert "no space left on the device" in raised.value.message
    assert_restore_left_nothing(target, before)
    assert set(listing(small_tmpfs)) == around
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_tmpfs)], check=True)
    restore(archive_3mib, target, ops=REAL)
    assert not find_leftovers(target, REAL).any


def test_restore_onto_a_real_read_only_file_system(tmp_path: Path, aerodb_archive: Path) -> None:
    (tmp_path / "disk").mkdir()
    target = copy_fixture("datadir-nowal", tmp_path / "disk" / "target")
    before = tree_state(tmp_path / "disk")
    with read_only_bind(tmp_path / "disk", tmp_path / "disk-ro") as read_only:
        with pytest.raises(RestoreError) as raised:
            restore(aerodb_archive, read_only / "target", ops=REAL)
        assert "Read-only file system" in raised.value.message, str(raised.value)
    assert tree_state(tmp_path / "disk") == before
    assert not find_leftovers(target, REAL).any


def test_restore_with_real_permission_denied(nobodys: Path, aerodb_archive: Path) -> None:
    os.chown(nobodys, 0, 0)  # the folder that holds the data directory is root's: nobody cannot swap
    readable = nobodys / "backup.tar"
    shutil.copyfile(aerodb_archive, readable)
    before = tree_state(nobodys)
    done = run_cli_as_nobody("restore", str(readable), str(nobodys / "data"), "--yes")
    assert done.returncode == 3, done.stderr
    assert "[FATAL] AERO_RESTORE" in done.stderr and "Permission denied" in done.stderr
    assert "Traceback" not in done.stderr
    assert tree_state(nobodys) == before
