"""Read faults, injected through the FileOps seam (every read goes through it): an EIO in the
middle of storage.dat, short reads, a file cut short, and a file that vanishes between the
listing and the open, into scan, backup, verify and restore. Each ends with a clear error and
its code (or, for short reads, the very result a plain read gives); nothing is lost: the data
directory is untouched, no partial archive appears, a failed restore leaves the old data.

test_io_faults.py holds the faults of writes, of the packing's copy and of real file systems.
"""

from __future__ import annotations

import errno
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.data import tree_state
from helpers.faults import FaultyReadOps, Saboteur, ShortReadOps, put_back, vanish

from aeroops.core.description import Verdict
from aeroops.errors import BackupError, Code, RestoreCorruptionError, RestoreIOError, Severity
from aeroops.executor.audit import verify_archive
from aeroops.executor.backup import run_backup
from aeroops.executor.fileops import REAL
from aeroops.executor.restore import restore
from aeroops.executor.restore_target import find_leftovers
from aeroops.executor.scan import scan
from aeroops.formats.layout import snapshot_folder

T0 = datetime(2026, 2, 4, 12, 0, 0, tzinfo=UTC)
EIO = "Input/output error"


def storage_middle(archive: Path) -> int:
    """The archive offset halfway through its storage.dat member's bytes."""
    with tarfile.open(archive) as tar:
        member = tar.getmember("snapshot/storage.dat")
        return member.offset_data + member.size // 2


def contents(root: Path) -> dict[str, tuple[object, ...]]:
    """`tree_state` without the times: what a restore wrote, not when."""
    return {name: (kind, mode, digest) for name, (kind, mode, _, digest) in tree_state(root).items()}


def newest(data_dir: Path) -> Path:
    snapshots = sorted(p.name for p in (data_dir / "snapshots").iterdir())
    return data_dir / snapshot_folder(snapshots[-1])


# --- scan ---------------------------------------------------------------------------------------


def test_scan_with_eio_in_the_middle_of_storage_names_the_snapshot_unreadable(datadir_1000: Path) -> None:
    before = tree_state(datadir_1000)
    size = (newest(datadir_1000) / "storage.dat").stat().st_size
    ops = FaultyReadOps("storage.dat", size // 2, errno.EIO)
    found = scan(datadir_1000, ops=ops)
    assert ops.opened == 1
    (snapshot,) = found.snapshots
    assert snapshot.verdict is Verdict.INVALID
    assert snapshot.reason == f"storage.dat cannot be read: {EIO}"
    assert tree_state(datadir_1000) == before


def test_scan_of_a_storage_file_cut_short_says_it_changed_size(datadir_1000: Path) -> None:
    size = (newest(datadir_1000) / "storage.dat").stat().st_size
    (snapshot,) = scan(datadir_1000, ops=FaultyReadOps("storage.dat", size // 2, None)).snapshots
    assert snapshot.verdict is Verdict.INVALID and "changed size while read" in snapshot.reason


@pytest.mark.parametrize("suffix", ["storage.dat", "manifest.json", ".json", "wal/wal.log"])
def test_scan_with_short_reads_finds_what_a_plain_read_finds(datadir_1000: Path, suffix: str) -> None:
    ops = ShortReadOps(suffix, 7)
    assert scan(datadir_1000, ops=ops) == scan(datadir_1000, ops=REAL)
    assert ops.opened


def test_scan_of_a_storage_file_that_vanishes_between_listing_and_open(datadir_1000: Path) -> None:
    storage = newest(datadir_1000) / "storage.dat"
    with put_back(storage):
        (snapshot,) = scan(datadir_1000, ops=Saboteur("open", "storage.dat", vanish)).snapshots
    assert snapshot.verdict is Verdict.INVALID
    assert snapshot.reason == "storage.dat cannot be read: No such file or directory"


def test_scan_with_eio_in_the_wal_reports_it_with_its_code(datadir_1000: Path) -> None:
    found = scan(datadir_1000, ops=FaultyReadOps("wal/wal.log", 1000, errno.EIO))
    assert found.wal.damage is not None
    assert found.wal.damage.code is Code.WAL_IO and EIO in found.wal.damage.message


# --- backup -------------------------------------------------------------------------------------


def test_backup_with_short_reads_everywhere_makes_the_same_archive(datadir_1000: Path, out_dir: Path) -> None:
    before = tree_state(datadir_1000)
    reference = Path(run_backup(datadir_1000, out_dir / "ref.tar", created_at=T0, ops=REAL).archive)
    ops = ShortReadOps("", 4093)  # every file (a prime: no read lines up with a record or a block)
    made = Path(run_backup(datadir_1000, out_dir / "short.tar", created_at=T0, ops=ops).archive)
    assert ops.opened and made.read_bytes() == reference.read_bytes()
    assert tree_state(datadir_1000) == before


def test_backup_with_eio_in_the_middle_of_storage_leaves_nothing(datadir_1000: Path, out_dir: Path) -> None:
    before = tree_state(datadir_1000)
    size = (newest(datadir_1000) / "storage.dat").stat().st_size
    with pytest.raises(BackupError) as raised:
        run_backup(datadir_1000, out_dir, created_at=T0, ops=FaultyReadOps("storage.dat", size // 2, errno.EIO))
    assert raised.value.code == "AERO_BACKUP_IO" and EIO in raised.value.message
    assert list(out_dir.iterdir()) == [] and tree_state(datadir_1000) == before


def test_backup_with_eio_in_the_middle_of_the_wal_leaves_nothing(datadir_1000: Path, out_dir: Path) -> None:
    before = tree_state(datadir_1000)
    with pytest.raises(BackupError) as raised:
        run_backup(datadir_1000, out_dir, created_at=T0, ops=FaultyReadOps("wal/wal.log", 5000, errno.EIO))
    assert raised.value.code in ("AERO_BACKUP_IO", "AERO_BACKUP_FAILED") and EIO in raised.value.message
    assert list(out_dir.iterdir()) == [] and tree_state(datadir_1000) == before


def test_backup_when_storage_vanishes_between_listing_and_open(datadir_1000: Path, out_dir: Path) -> None:
    before = tree_state(datadir_1000)
    storage = newest(datadir_1000) / "storage.dat"
    with put_back(storage), pytest.raises(BackupError) as raised:
        run_backup(datadir_1000, out_dir, created_at=T0, ops=Saboteur("open", "storage.dat", vanish, copy=True))
    assert raised.value.code == "AERO_BACKUP_IO" and "No such file" in raised.value.message
    assert list(out_dir.iterdir()) == [] and tree_state(datadir_1000) == before


# --- verify -------------------------------------------------------------------------------------


@pytest.fixture
def archive(datadir_1000: Path, tmp_path: Path) -> Path:
    return Path(run_backup(datadir_1000, tmp_path / "a.tar", created_at=T0, ops=REAL).archive)


def test_verify_with_eio_in_the_middle_of_storage_is_a_fatal_io_finding(archive: Path) -> None:
    report = verify_archive(archive, ops=FaultyReadOps(".tar", storage_middle(archive), errno.EIO))
    assert not report.ok
    (finding,) = report.findings
    assert finding.code is Code.VERIFY_IO and finding.severity is Severity.FATAL and EIO in finding.message


def test_verify_with_short_reads_gives_the_plain_verdict(archive: Path) -> None:
    ops = ShortReadOps(".tar", 1021)
    report = verify_archive(archive, ops=ops)
    assert ops.opened == 1 and report.ok
    assert report == verify_archive(archive, ops=REAL)


def test_verify_of_an_archive_cut_short_while_read_says_truncated(archive: Path) -> None:
    report = verify_archive(archive, ops=FaultyReadOps(".tar", storage_middle(archive), None))
    assert not report.ok and Code.TAR_TRUNCATED in {f.code for f in report.findings}


def test_verify_of_a_sidecar_with_eio_is_a_sidecar_finding(archive: Path) -> None:
    report = verify_archive(archive, ops=FaultyReadOps(".tar.b3", 10, errno.EIO))
    (finding,) = [f for f in report.findings if f.code is Code.VERIFY_SIDECAR]
    assert not report.ok and EIO in finding.message


def test_verify_of_an_archive_that_vanishes_between_listing_and_open(archive: Path) -> None:
    with put_back(archive):
        report = verify_archive(archive, ops=Saboteur("open", ".tar", vanish))
    (finding,) = report.findings
    assert finding.code is Code.VERIFY_IO and "No such file" in finding.message


# --- restore ------------------------------------------------------------------------------------


def test_restore_with_eio_in_the_middle_of_storage_leaves_the_old_data(target: Path, archive: Path) -> None:
    before = tree_state(target)
    with pytest.raises(RestoreIOError) as raised:
        restore(archive, target, ops=FaultyReadOps(".tar", storage_middle(archive), errno.EIO))
    assert raised.value.code == "AERO_RESTORE_IO" and EIO in raised.value.message
    assert tree_state(target) == before and not find_leftovers(target, REAL).any


def test_restore_of_an_archive_cut_short_in_storage_leaves_the_old_data(target: Path, archive: Path) -> None:
    before = tree_state(target)
    with pytest.raises(RestoreCorruptionError) as raised:
        restore(archive, target, ops=FaultyReadOps(".tar", storage_middle(archive), None))
    assert raised.value.code == "AERO_RESTORE_CORRUPTION"
    assert tree_state(target) == before and not find_leftovers(target, REAL).any


def test_restore_with_short_reads_restores_the_same_files(target: Path, archive: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    restore(archive, reference, create=True, ops=REAL)
    ops = ShortReadOps(".tar", 509)
    restore(archive, target, ops=ops)
    assert ops.opened == 1
    assert contents(target) == contents(reference)
