"""The backup executor end to end, on AeroDB's own data and on damaged copies of it."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import blake3
import pytest
from helpers.data import AERODB_FIXTURES, copy_fixture, tree_state
from helpers.faults import FailingOps

from aeroops.core.description import Verdict
from aeroops.errors import AeroError, BackupError, BackupIOError, UsageError
from aeroops.executor.audit import verify_archive
from aeroops.executor.backup import (
    ORPHAN_GRACE_SECONDS,
    OWNER_FILE,
    STAGING_PREFIX,
    STEPS,
    prepare_backup,
    run_backup,
    staging_marker,
)
from aeroops.executor.fileops import REAL, FileOps
from aeroops.executor.lock import DirectoryLock
from aeroops.executor.scan import scan
from aeroops.formats.manifests import parse_backup_manifest
from aeroops.formats.tar import BLOCK, TarReader
from aeroops.progress import Progress

T0 = datetime(2026, 2, 4, 12, 0, 0, tzinfo=UTC)


def members(archive: Path) -> list[tuple[str, str, bytes]]:
    with archive.open("rb") as stream:
        reader = TarReader(stream)
        return [(e.name, str(e.type), b"".join(reader.chunks())) for e in reader]


def without_header_times(data: bytes) -> bytes:
    """Blank every header's mtime and checksum fields (the only bytes a clock or owner touch).
    Walks the raw blocks, so GNU ``././@LongLink`` headers are compared like any other."""
    out = bytearray(data)
    offset = 0
    while offset + BLOCK <= len(data) and any(data[offset : offset + BLOCK]):
        size = int(data[offset + 124 : offset + 136].rstrip(b"\0 ") or b"0", 8)
        out[offset + 136 : offset + 156] = bytes(20)
        offset += BLOCK + -(-size // BLOCK) * BLOCK
    return bytes(out)


def created_at_of(archive: Path) -> datetime:
    with archive.open("rb") as stream:
        reader = TarReader(stream)
        for entry in reader:
            if entry.name == "backup_manifest.json":
                return parse_backup_manifest(reader.read_all(1 << 16)).created_at
    raise AssertionError(f"{archive} has no backup manifest")


@pytest.mark.parametrize(
    ("datadir", "aerodb_backup"),
    [("datadir-1000", "backup-1000.tar"), ("datadir-longname", "backup-longname.tar")],
)
def test_archive_matches_aerodbs_own_backup_byte_for_byte_but_header_times(
    datadir: str, aerodb_backup: str, tmp_path: Path, out_dir: Path
) -> None:
    """Every field of every header, ``././@LongLink`` ones included (their device fields are NUL
    bytes, as AeroDB's tar library writes them), except mtime and the checksum that follows."""
    theirs_path = AERODB_FIXTURES / aerodb_backup
    source = copy_fixture(datadir, tmp_path / datadir)
    result = run_backup(source, out_dir, created_at=created_at_of(theirs_path), ops=REAL)
    ours = Path(result.archive).read_bytes()
    theirs = theirs_path.read_bytes()
    assert members(Path(result.archive)) == members(theirs_path)
    assert len(ours) == len(theirs) == result.size == result.plan.archive_size
    assert without_header_times(ours) == without_header_times(theirs)
    assert ours != theirs  # AeroDB wrote the time of its backup into every header; we write 0
    listing = subprocess.run(["tar", "tvf", result.archive], capture_output=True, text=True, check=True).stdout
    assert "snapshot/storage.dat" in listing and "wal/wal.log" in listing and "1970-01-01" in listing


def test_gnu_tar_extracts_the_same_bytes(datadir_1000: Path, out_dir: Path, tmp_path: Path) -> None:
    result = run_backup(datadir_1000, out_dir, created_at=T0, ops=REAL)
    extracted = tmp_path / "x"
    extracted.mkdir()
    subprocess.run(["tar", "xf", result.archive, "-C", str(extracted)], check=True)
    snap = datadir_1000 / "snapshots" / "20261126T214824Z"
    assert (extracted / "snapshot/storage.dat").read_bytes() == (snap / "storage.dat").read_bytes()
    assert (extracted / "wal/wal.log").read_bytes() == (datadir_1000 / "wal/wal.log").read_bytes()
    for schema in (snap / "schemas").iterdir():
        assert (extracted / "snapshot/schemas" / schema.name).read_bytes() == schema.read_bytes()


def test_same_inputs_give_identical_archives_and_source_date_epoch_is_honoured(
    datadir_1000: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = tmp_path / "a.tar", tmp_path / "b.tar"
    run_backup(datadir_1000, a, created_at=T0, ops=REAL)
    os.utime(datadir_1000 / "wal/wal.log", (0, 1_000_000))  # source times must not leak
    run_backup(datadir_1000, b, created_at=T0, ops=REAL)
    assert a.read_bytes() == b.read_bytes()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(T0.timestamp())))
    c = run_backup(datadir_1000, tmp_path / "c.tar", ops=REAL)
    assert Path(c.archive).read_bytes() == a.read_bytes()


def test_the_data_directory_is_left_exactly_as_it_was(datadir_1000: Path, out_dir: Path) -> None:
    before = tree_state(datadir_1000)
    run_backup(datadir_1000, out_dir, created_at=T0, ops=REAL)
    assert tree_state(datadir_1000) == before


def test_archive_is_private_with_a_blake3_sidecar_by_default(datadir_1000: Path, out_dir: Path) -> None:
    result = run_backup(datadir_1000, out_dir, created_at=T0, ops=REAL)
    archive = Path(result.archive)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    digest = blake3.blake3(archive.read_bytes()).hexdigest()
    assert result.digest == f"blake3:{digest}"
    assert result.sidecar == f"{archive}.b3"
    assert Path(result.sidecar).read_text() == f"{digest}  {archive.name}\n"  # what b3sum writes
    assert stat.S_IMODE(Path(result.sidecar).stat().st_mode) == 0o600
    assert sorted(p.name for p in out_dir.iterdir()) == [archive.name, archive.name + ".b3"]


@pytest.mark.skipif(shutil.which("b3sum") is None, reason="b3sum is not installed")
def test_the_default_sidecar_passes_b3sum_check(datadir_1000: Path, out_dir: Path) -> None:
    result = run_backup(datadir_1000, out_dir, created_at=T0, ops=REAL)
    subprocess.run(["b3sum", "--check", "--quiet", Path(result.sidecar).name], cwd=out_dir, check=True)
    Path(result.archive).write_bytes(Path(result.archive).read_bytes()[:-1] + b"\x01")
    changed = subprocess.run(["b3sum", "--check", Path(result.sidecar).name], cwd=out_dir, capture_output=True)
    assert changed.returncode != 0


def test_digest_sha256_writes_a_sidecar_that_sha256sum_accepts(datadir_1000: Path, out_dir: Path) -> None:
    result = run_backup(datadir_1000, out_dir, created_at=T0, digest="sha256", ops=REAL)
    archive = Path(result.archive)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert result.digest == f"sha256:{digest}"
    assert result.sidecar == f"{archive}.sha256"
    assert Path(result.sidecar).read_text() == f"{digest}  {archive.name}\n"
    subprocess.run(["sha256sum", "--check", "--status", Path(result.sidecar).name], cwd=out_dir, check=True)
    assert sorted(p.name for p in out_dir.iterdir()) == [archive.name, archive.name + ".sha256"]
    # The same archive whatever its sidecar: only the digest differs.
    other = run_backup(datadir_1000, out_dir / "other.tar", created_at=T0, ops=REAL)
    assert Path(other.archive).read_bytes() == archive.read_bytes() and other.digest.startswith("blake3:")


def test_an_unknown_digest_is_refused_before_anything_is_done(datadir_1000: Path, out_dir: Path) -> None:
    with pytest.raises(UsageError, match="unknown digest algorithm 'md5'"):
        run_backup(datadir_1000, out_dir, created_at=T0, digest="md5", ops=REAL)
    assert list(out_dir.iterdir()) == []


def test_overwriting_leaves_only_the_new_archives_sidecar(datadir_1000: Path, tmp_path: Path) -> None:
    # verify reads .b3 before .sha256: a stale .b3 beside a new .sha256 would fail a whole archive.
    target = tmp_path / "b.tar"
    run_backup(datadir_1000, target, created_at=T0, ops=REAL)
    for created_at, digest, suffix in (
        (T0.replace(hour=13), "sha256", ".sha256"),
        (T0.replace(hour=14), "blake3", ".b3"),
    ):
        result = run_backup(datadir_1000, target, created_at=created_at, digest=digest, overwrite=True, ops=REAL)
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("b.tar")) == ["b.tar", f"b.tar{suffix}"]
        report = verify_archive(target, ops=REAL)
        assert report.ok and report.sidecar_digest == result.digest


def test_sidecars_left_without_their_archive_are_replaced(datadir_1000: Path, out_dir: Path) -> None:
    plan = prepare_backup(datadir_1000, created_at=T0, ops=REAL)
    for suffix in (".b3", ".sha256"):
        (out_dir / f"{plan.archive_name}{suffix}").write_text(f"{'0' * 64}  {plan.archive_name}\n")
    result = run_backup(datadir_1000, out_dir, created_at=T0, digest="sha256", ops=REAL)
    assert sorted(p.name for p in out_dir.iterdir()) == [plan.archive_name, f"{plan.archive_name}.sha256"]
    assert verify_archive(result.archive, ops=REAL).ok


def test_no_wal_gives_an_empty_wal_folder_and_wal_present_false(tmp_path: Path) -> None:
    data = copy_fixture("datadir-nowal", tmp_path / "nowal")
    result = run_backup(data, tmp_path / "nowal.tar", created_at=T0, ops=REAL)
    found = members(Path(result.archive))
    assert [n for n, _, _ in found][-1] == "wal"
    assert found[-1][1] == "5"  # a directory
    assert b'"wal_present": false' in found[0][2]


def test_checkpoint_directory_with_empty_wal(tmp_path: Path) -> None:
    data = copy_fixture("datadir-checkpoint", tmp_path / "cp")
    result = run_backup(data, tmp_path / "cp.tar", created_at=T0, ops=REAL)
    assert dict((n, d) for n, _, d in members(Path(result.archive)))["wal/wal.log"] == b""


def test_corrupt_newest_snapshot_falls_back_and_says_why(tmp_path: Path) -> None:
    data = copy_fixture("datadir-3snap", tmp_path / "d")
    storage = data / "snapshots/20261126T214908Z/storage.dat"
    raw = bytearray(storage.read_bytes())
    raw[100] ^= 0xFF
    storage.write_bytes(bytes(raw))
    for stray in ("zz-stray", "20991231T235959Z"):
        (data / "snapshots" / stray).mkdir()
        (data / "snapshots" / stray / "manifest.json").write_text("{}")
    result = run_backup(data, tmp_path / "o.tar", created_at=T0, ops=REAL)
    assert result.plan.snapshot_id == "20261126T214907Z"
    reasons = {s.snapshot_id: s.reason for s in result.plan.skipped}
    assert "not a snapshot id" in reasons["zz-stray"]
    assert "does not parse" in reasons["20991231T235959Z"]
    assert "storage.dat has checksum" in reasons["20261126T214908Z"]


def test_progress_walks_the_ten_steps_and_counts_bytes(datadir_1000: Path, out_dir: Path) -> None:
    events: list[Progress] = []
    result = run_backup(datadir_1000, out_dir, created_at=T0, progress=events.append, ops=REAL)
    assert sorted({e.step_index for e in events}) == list(range(1, 11))
    assert [e.step_index for e in events] == sorted(e.step_index for e in events)
    packing = [e for e in events if e.step == STEPS[7]]
    assert packing[-1].done_bytes == packing[-1].total_bytes == result.plan.content_bytes


# --- refusals ----------------------------------------------------------------------------------


def assert_refused(error: AeroError, code: str, words: str) -> None:
    assert error.code == code, str(error)
    assert words in error.message


def test_refuses_while_aerodb_serves(datadir_1000: Path, out_dir: Path) -> None:
    (datadir_1000 / ".lock").write_text("")
    with pytest.raises(BackupError) as caught:
        run_backup(datadir_1000, out_dir, created_at=T0, ops=REAL)
    assert_refused(caught.value, "AERO_BACKUP_FAILED", "AeroDB is serving")
    assert list(out_dir.iterdir()) == []


def test_refuses_while_another_aeroops_run_holds_the_directory(datadir_1000: Path, out_dir: Path) -> None:
    with DirectoryLock(datadir_1000, BackupError, "restore", REAL), pytest.raises(BackupError) as caught:
        run_backup(datadir_1000, out_dir, created_at=T0, ops=REAL)
    assert_refused(caught.value, "AERO_BACKUP_FAILED", "another aeroops run holds this data directory")
    assert list(out_dir.iterdir()) == []
    run_backup(datadir_1000, out_dir, created_at=T0, ops=REAL)  # and once released, it runs


def test_refuses_to_overwrite_unless_asked(datadir_1000: Path, tmp_path: Path) -> None:
    target = tmp_path / "b.tar"
    target.write_bytes(b"precious")
    with pytest.raises(BackupError, match="already exists"):
        run_backup(datadir_1000, target, created_at=T0, ops=REAL)
    assert target.read_bytes() == b"precious"
    run_backup(datadir_1000, target, created_at=T0, overwrite=True, ops=REAL)
    assert target.read_bytes()[:20] == b"backup_manifest.json"


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        (lambda d: shutil.rmtree(d / "snapshots"), "no valid snapshot"),
        (lambda d: (d / "checkpoint.json").write_text("{"), "checkpoint.json does not parse"),
        (lambda d: (d / "wal/wal.log").open("ab").write(b"\x01\x02"), "WAL is damaged"),
    ],
    ids=["no snapshot", "bad checkpoint", "torn WAL"],
)
def test_plan_refusals_surface_as_backup_failed(datadir_1000: Path, out_dir: Path, setup, words: str) -> None:  # type: ignore[no-untyped-def]
    setup(datadir_1000)
    with pytest.raises(BackupError) as caught:
        run_backup(datadir_1000, out_dir, created_at=T0, ops=REAL)
    assert_refused(caught.value, "AERO_BACKUP_FAILED", words)
    assert list(out_dir.iterdir()) == []


def test_missing_data_directory_and_output_inside_it_are_refused(datadir_1000: Path, tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="does not exist"):
        run_backup(tmp_path / "nope", tmp_path, created_at=T0, ops=REAL)
    with pytest.raises(BackupError, match="inside the data directory"):
        run_backup(datadir_1000, datadir_1000, created_at=T0, ops=REAL)
    with pytest.raises(BackupError, match="output folder does not exist"):
        run_backup(datadir_1000, tmp_path / "no/such/dir/x.tar", created_at=T0, ops=REAL)


@pytest.mark.parametrize("spelled", ["{}/", "{}/."])
def test_an_output_that_names_a_missing_folder_is_refused_not_taken_for_a_file_name(
    datadir_1000: Path, tmp_path: Path, spelled: str
) -> None:
    missing = tmp_path / "backups"
    with pytest.raises(BackupError, match="output folder does not exist"):
        run_backup(datadir_1000, spelled.format(missing), created_at=T0, ops=REAL)
    assert not missing.exists()  # no file named "backups"


# --- faults, injected through the FileOps seam -------------------------------------------------


FAULTS = [
    # write #1 is the lock file's holder line (test_fileops.py fails that one)
    ("write", errno.ENOSPC, 2, "no space left"),
    ("write", errno.ENOSPC, 6, "no space left"),
    ("write", errno.EIO, 4, "Input/output error"),
    ("fsync", errno.EIO, 1, "Input/output error"),
    ("fsync", errno.EIO, 2, "Input/output error"),
    ("fsync_path", errno.EIO, 4, "Input/output error"),
    # packing reads (the scan read seven small files before: a manifest, schema files)
    ("read", errno.EIO, 8, "Input/output error"),
    ("read", errno.EIO, 11, "Input/output error"),
    ("link", errno.EACCES, 1, None),  # falls back to copying
    ("rename", errno.EIO, 1, "Input/output error"),  # the staging folder's owner file
    ("rename", errno.EIO, 2, "Input/output error"),  # the sidecar, before the archive is linked
    ("link", errno.EIO, 6, "Input/output error"),  # the archive, after its sidecar took its name
]


@pytest.mark.parametrize(("operation", "err", "nth", "words"), FAULTS, ids=[f"{f[0]}#{f[2]}-{f[1]}" for f in FAULTS])
def test_io_faults_leave_no_archive_no_staging_and_the_source_unchanged(
    datadir_1000: Path, out_dir: Path, operation: str, err: int, nth: int, words: str | None
) -> None:
    before = tree_state(datadir_1000)
    ops = FailingOps(operation, err, nth)
    if words is None:
        result = run_backup(datadir_1000, out_dir, created_at=T0, ops=ops)
        assert result.staged_by == "copy"
        reference = run_backup(datadir_1000, out_dir / "ref.tar", created_at=T0, ops=REAL)
        assert Path(result.archive).read_bytes() == Path(reference.archive).read_bytes()
    else:
        with pytest.raises(BackupIOError) as caught:
            run_backup(datadir_1000, out_dir, created_at=T0, ops=ops)
        assert caught.value.code == "AERO_BACKUP_IO"
        assert words in caught.value.message
        assert sorted(p.name for p in out_dir.iterdir()) == []
    assert ops.calls >= nth
    assert tree_state(datadir_1000) == before


def test_a_snapshot_unreadable_during_scan_gets_the_reason(datadir_1000: Path) -> None:
    description = scan(datadir_1000, ops=FailingOps("readinto", errno.EIO, 1))
    assert description.snapshots[0].verdict is Verdict.INVALID
    assert description.snapshots[0].reason == "storage.dat cannot be read: Input/output error"


def test_a_damaged_wal_found_while_packing_refuses_and_writes_nothing(datadir_1000: Path, out_dir: Path) -> None:
    wal = datadir_1000 / "wal/wal.log"
    raw = bytearray(wal.read_bytes())
    raw[5000] ^= 0x10
    wal.write_bytes(bytes(raw))
    with pytest.raises(BackupError) as caught:
        run_backup(datadir_1000, out_dir, created_at=T0, ops=REAL)
    assert_refused(caught.value, "AERO_BACKUP_FAILED", "the WAL is damaged")
    assert "AERO_WAL_CHECKSUM" in caught.value.message
    assert list(out_dir.iterdir()) == []


class ChangingSnapshotOps(FileOps):
    """Hands the packer different bytes than scan saw: a snapshot changed behind our back."""

    def read(self, stream: BinaryIO, size: int) -> bytes:
        data = super().read(stream, size)
        if getattr(stream, "name", "").endswith("storage.dat") and "staging" in stream.name and data:
            data = bytes([data[0] ^ 1]) + data[1:]
        return data


def test_bytes_that_differ_from_the_snapshot_manifest_abort(datadir_1000: Path, out_dir: Path) -> None:
    with pytest.raises(BackupError) as caught:
        run_backup(datadir_1000, out_dir, created_at=T0, ops=ChangingSnapshotOps())
    assert "no valid snapshot to back up (20261126T214824Z: storage.dat has checksum" in caught.value.message
    assert list(out_dir.iterdir()) == []


# --- staging left by killed runs ---------------------------------------------------------------


def staging_folder(out_dir: Path, run_id: str, *, marker: bytes | None = None) -> Path:
    """A staging folder as a run ``run_id`` killed while packing leaves it."""
    path = out_dir / f"{STAGING_PREFIX}20260204T120000Z-{run_id}"
    path.mkdir()
    (path / OWNER_FILE).write_bytes(staging_marker(run_id) if marker is None else marker)
    (path / "archive.tar").write_bytes(b"x" * BLOCK)
    return path


def test_stale_staging_is_removed_but_a_live_one_is_kept(datadir_1000: Path, out_dir: Path) -> None:
    stale = staging_folder(out_dir, "1-0000dead")
    live = staging_folder(out_dir, "2-00001ive")
    holder = os.open(live / OWNER_FILE, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        result = run_backup(datadir_1000, out_dir, created_at=T0, ops=REAL)
    finally:
        os.close(holder)
    assert result.removed_stale == (str(stale),)
    assert not stale.exists() and live.exists()


def test_only_what_aeroops_provably_made_is_cleaned_up(tmp_path: Path) -> None:
    """A data directory named like a staging folder, backed up into its
    parent, was deleted. Nothing is removed without the marker of the run its name says, nor
    anything holding more than a staging folder holds, nor the data directory, however old."""
    from helpers.data import copy_fixture

    out = tmp_path
    data = copy_fixture("datadir-1000", out / f"{STAGING_PREFIX}20260204T120000Z-7-0000abcd")
    (data / OWNER_FILE).write_bytes(staging_marker("7-0000abcd"))  # even its own marker
    kept = [
        data,
        staging_folder(out, "3-00000003", marker=b""),  # no marker
        staging_folder(out, "4-00000004", marker=staging_marker("5-00000005")),  # another run's
        copy_fixture("datadir-nowal", out / f"{STAGING_PREFIX}20260204T120000Z-6-00000006"),  # AeroDB's files
        out / f"{STAGING_PREFIX}old",  # not a staging name
    ]
    kept[-1].mkdir()
    (kept[3] / OWNER_FILE).write_bytes(staging_marker("6-00000006"))
    past = time.time() - ORPHAN_GRACE_SECONDS - 10
    for path in kept:
        os.utime(path, (past, past))
    before = {path: tree_state(path) for path in kept}
    ours = staging_folder(out, "8-00000008")
    result = run_backup(data, out / "b.tar", created_at=T0, ops=REAL)
    assert result.removed_stale == (str(ours),) and not ours.exists()
    assert {path: tree_state(path) for path in kept} == before


def test_a_killed_backup_leaves_no_archive_and_the_next_run_cleans_up(datadir_1000: Path, out_dir: Path) -> None:
    # The child stops itself with SIGKILL at the packing step: no cleanup code runs.
    script = (
        "import os, signal, sys\n"
        "from datetime import datetime, UTC\n"
        "from aeroops.executor.backup import run_backup\n"
        "from aeroops.executor.fileops import REAL\n"
        "def stop(p):\n"
        "    if p.step_index == 8 and p.done_bytes: os.kill(os.getpid(), signal.SIGKILL)\n"
        "run_backup(sys.argv[1], sys.argv[2], created_at=datetime(2026, 2, 4, tzinfo=UTC), progress=stop, ops=REAL)\n"
    )
    before = tree_state(datadir_1000)
    child = subprocess.run([sys.executable, "-c", script, str(datadir_1000), str(out_dir)], check=False)
    assert child.returncode == -9
    leftovers = [p.name for p in out_dir.iterdir()]
    assert len(leftovers) == 1 and leftovers[0].startswith(STAGING_PREFIX)
    assert not any(p.suffix == ".tar" for p in out_dir.iterdir())
    result = run_backup(datadir_1000, out_dir, created_at=T0, ops=REAL)
    assert len(result.removed_stale) == 1
    assert sorted(p.name for p in out_dir.iterdir()) == sorted([Path(result.archive).name, Path(result.sidecar).name])
    assert tree_state(datadir_1000) == before


def test_dry_run_plan_writes_nothing(datadir_1000: Path, out_dir: Path) -> None:
    before = tree_state(datadir_1000)
    plan = prepare_backup(datadir_1000, created_at=T0, ops=REAL)
    assert plan.snapshot_id == "20261126T214824Z" and plan.archive_size == 267264
    assert list(out_dir.iterdir()) == [] and tree_state(datadir_1000) == before


@pytest.fixture
def read_only_datadir(tmp_path: Path) -> Iterator[Path]:
    """datadir-1000 on a tmpfs remounted read-only: its parent takes no lock file."""
    mount = tmp_path / "ro"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], check=True)
    try:
        data = copy_fixture("datadir-1000", mount / "datadir-1000")
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        yield data
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_read_only_data_directory_is_backed_up_under_a_lock_on_the_folder(
    read_only_datadir: Path, out_dir: Path
) -> None:
    before = tree_state(read_only_datadir)
    with pytest.raises(OSError):
        (read_only_datadir.parent / "probe").write_text("")  # truly read-only
    result = run_backup(read_only_datadir, out_dir, created_at=T0, ops=REAL)
    assert result.staged_by == "copy"  # no hard links across file systems
    assert tree_state(read_only_datadir) == before
    holder = os.open(read_only_datadir, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        with pytest.raises(BackupError, match="another aeroops run holds"):
            run_backup(read_only_datadir, out_dir / "second.tar", created_at=T0, ops=REAL)
    finally:
        os.close(holder)


def test_scan_reports_progress_snapshot_by_snapshot_then_the_wal(tmp_path: Path) -> None:
    root = copy_fixture("datadir-3snap", tmp_path / "d")
    snapshots = sorted((p for p in (root / "snapshots").iterdir()), reverse=True)
    events: list[Progress] = []
    scan(root, checksums="all", progress=events.append, ops=REAL)
    steps = list(dict.fromkeys((e.step_index, e.step) for e in events))
    count = len(snapshots) + 1
    assert steps == [(i, f"checksum snapshot {p.name}") for i, p in enumerate(snapshots, 1)] + [
        (count, "check the WAL")
    ]
    assert {e.job for e in events} == {"scan"} and {e.step_count for e in events} == {count}
    for index, snapshot in enumerate(snapshots, 1):
        last = [e for e in events if e.step_index == index][-1]
        files = [snapshot / "storage.dat", *(snapshot / "schemas").iterdir()]
        assert last.done_bytes == last.total_bytes == sum(f.stat().st_size for f in files)
    wal = [e for e in events if e.step == "check the WAL"][-1]
    assert wal.done_bytes == wal.total_bytes == (root / "wal/wal.log").stat().st_size
    # A backup's scan stops at the newest valid snapshot, and checks no WAL: one step reported.
    events.clear()
    scan(root, checksums="until-valid", check_wal=False, progress=events.append, ops=REAL)
    assert {e.step for e in events} == {f"checksum snapshot {snapshots[0].name}"}
