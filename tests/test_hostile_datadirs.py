"""Damaged and hostile data directories: each gets a clear verdict from scan, with its reason;
a backup falls back past the damage (saying why) or refuses with the reason; nothing is ever
written into the data directory, and nothing is left at the output on a refusal.

Built on AeroDB's datadir-3snap (snapshots ...905Z, ...907Z and ...908Z, newest last).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.data import copy_fixture, tree_state

from aeroops.cli.main import main
from aeroops.core.description import Verdict
from aeroops.errors import BackupError
from aeroops.executor.audit import verify_archive
from aeroops.executor.backup import run_backup
from aeroops.executor.fileops import REAL
from aeroops.executor.scan import scan

T0 = datetime(2026, 2, 4, 12, 0, 0, tzinfo=UTC)
NEWEST, MIDDLE, OLDEST = "20261126T214908Z", "20261126T214907Z", "20261126T214905Z"


def snap(data: Path, snapshot_id: str = NEWEST) -> Path:
    return data / "snapshots" / snapshot_id


def a_file_as_a_snapshot(data: Path) -> None:
    (data / "snapshots" / "20991231T235959Z").write_bytes(os.urandom(300))


def garbage_in_snapshots(data: Path) -> None:
    (data / "snapshots" / "README.txt").write_text("notes")
    (data / "snapshots" / "junk").mkdir()
    (data / "snapshots" / "junk" / "manifest.json").write_bytes(os.urandom(64))
    (data / "snapshots" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")


def a_snapshot_folder_that_is_a_symlink(data: Path) -> None:
    os.symlink(snap(data, MIDDLE), data / "snapshots" / "20991231T235959Z")


def a_manifest_naming_a_missing_schema(data: Path) -> None:
    manifest = snap(data) / "manifest.json"
    text = manifest.read_text().replace(
        '"schema_checksums": {', '"schema_checksums": {\n    "ghost.json": "crc32:00000000",'
    )
    manifest.write_text(text)


def missing_storage(data: Path) -> None:
    (snap(data) / "storage.dat").unlink()


def missing_schemas_folder(data: Path) -> None:
    shutil.rmtree(snap(data) / "schemas")


def empty_schemas_folder(data: Path) -> None:
    for schema in (snap(data) / "schemas").iterdir():
        schema.unlink()


def an_unlisted_schema(data: Path) -> None:
    (snap(data) / "schemas" / "extra.json").write_text("{}")


def a_folder_in_schemas(data: Path) -> None:
    (snap(data) / "schemas" / "nested").mkdir()


def storage_as_a_symlink(data: Path) -> None:
    storage = snap(data) / "storage.dat"
    storage.rename(snap(data) / "storage.real")
    os.symlink("storage.real", storage)


def manifest_as_a_symlink(data: Path) -> None:
    manifest = snap(data) / "manifest.json"
    manifest.rename(snap(data) / "manifest.real")
    os.symlink("manifest.real", manifest)


def manifest_as_a_fifo(data: Path) -> None:
    (snap(data) / "manifest.json").unlink()
    os.mkfifo(snap(data) / "manifest.json")


def manifest_as_a_folder(data: Path) -> None:
    (snap(data) / "manifest.json").unlink()
    (snap(data) / "manifest.json").mkdir()


def garbage_manifest(data: Path) -> None:
    (snap(data) / "manifest.json").write_bytes(os.urandom(200))


def deeply_nested_manifest(data: Path) -> None:
    (snap(data) / "manifest.json").write_bytes(b"[" * 100_000)


def huge_manifest(data: Path) -> None:
    (snap(data) / "manifest.json").write_bytes(b" " * (2 << 20))


def manifest_of_another_snapshot(data: Path) -> None:
    shutil.copyfile(snap(data, MIDDLE) / "manifest.json", snap(data) / "manifest.json")


def garbage_storage(data: Path) -> None:
    (snap(data) / "storage.dat").write_bytes(os.urandom(5000))


def storage_cut_short(data: Path) -> None:
    storage = snap(data) / "storage.dat"
    os.truncate(storage, storage.stat().st_size - 1)


# (label, damage, verdict of the newest snapshot, words of its reason)
NEWEST_DAMAGED: list[tuple[str, Callable[[Path], None], Verdict, str]] = [
    ("no manifest", lambda d: (snap(d) / "manifest.json").unlink(), Verdict.INCOMPLETE, "no manifest.json"),
    ("garbage manifest", garbage_manifest, Verdict.INVALID, "manifest.json does not parse: not valid JSON"),
    ("deeply nested manifest", deeply_nested_manifest, Verdict.INVALID, "nested too deeply"),
    ("huge manifest", huge_manifest, Verdict.INVALID, "larger than 1048576 bytes"),
    ("manifest of another snapshot", manifest_of_another_snapshot, Verdict.INVALID, "not its folder's"),
    ("manifest is a folder", manifest_as_a_folder, Verdict.INVALID, "manifest.json cannot be read: not a regular"),
    ("manifest is a FIFO", manifest_as_a_fifo, Verdict.INVALID, "manifest.json cannot be read: not a regular file"),
    ("manifest is a symlink", manifest_as_a_symlink, Verdict.INVALID, "manifest.json cannot be read: not a regular"),
    ("manifest names a missing schema", a_manifest_naming_a_missing_schema, Verdict.INVALID, "missing: ghost.json"),
    ("storage missing", missing_storage, Verdict.INVALID, "storage.dat is missing"),
    ("storage is a symlink", storage_as_a_symlink, Verdict.INVALID, "storage.dat cannot be read: not a regular file"),
    ("schemas folder missing", missing_schemas_folder, Verdict.INVALID, "schemas/ folder is missing"),
    ("schemas folder empty", empty_schemas_folder, Verdict.INVALID, "schema files listed in the manifest are missing"),
    ("an unlisted schema", an_unlisted_schema, Verdict.INVALID, "not listed in the manifest: extra.json"),
    ("a folder in schemas", a_folder_in_schemas, Verdict.INVALID, "not plain files: nested"),
    ("garbage storage", garbage_storage, Verdict.CORRUPT, "storage.dat has checksum"),
    ("storage cut short", storage_cut_short, Verdict.CORRUPT, "storage.dat has checksum"),
]


@pytest.mark.parametrize(
    ("damage", "verdict", "words"), [c[1:] for c in NEWEST_DAMAGED], ids=[c[0] for c in NEWEST_DAMAGED]
)
def test_a_damaged_newest_snapshot_gets_its_verdict_and_the_backup_falls_back(
    tmp_path: Path, damage: Callable[[Path], None], verdict: Verdict, words: str
) -> None:
    data = copy_fixture("datadir-3snap", tmp_path / "data")
    damage(data)
    before = tree_state(data)
    found = scan(data, ops=REAL).snapshot(NEWEST)
    assert found is not None
    assert (found.verdict, words in found.reason) == (verdict, True), found.reason
    result = run_backup(data, tmp_path / "b.tar", created_at=T0, ops=REAL)
    assert result.plan.snapshot_id == MIDDLE
    assert [(s.snapshot_id, s.verdict) for s in result.plan.skipped] == [(NEWEST, verdict)]
    assert words in result.plan.skipped[0].reason
    assert verify_archive(result.archive, ops=REAL).ok
    assert tree_state(data) == before


# (label, damage, folder name, verdict, words)
STRAYS: list[tuple[str, Callable[[Path], None], str, Verdict, str]] = [
    (
        "a file where a snapshot folder should be",
        a_file_as_a_snapshot,
        "20991231T235959Z",
        Verdict.INVALID,
        "not a folder",
    ),
    (
        "a snapshot folder that is a symlink",
        a_snapshot_folder_that_is_a_symlink,
        "20991231T235959Z",
        Verdict.INVALID,
        "not a folder",
    ),
    ("a stray text file", garbage_in_snapshots, "README.txt", Verdict.INVALID, "not a folder"),
    ("a stray folder", garbage_in_snapshots, "junk", Verdict.INVALID, "not a snapshot id"),
    ("a hidden file", garbage_in_snapshots, ".DS_Store", Verdict.INVALID, "not a folder"),
]


@pytest.mark.parametrize(("damage", "name", "verdict", "words"), [c[1:] for c in STRAYS], ids=[c[0] for c in STRAYS])
def test_stray_entries_in_snapshots_are_named_and_skipped(
    tmp_path: Path, damage: Callable[[Path], None], name: str, verdict: Verdict, words: str
) -> None:
    data = copy_fixture("datadir-3snap", tmp_path / "data")
    damage(data)
    before = tree_state(data)
    found = scan(data, ops=REAL).snapshot(name)
    assert found is not None and found.verdict is verdict and words in found.reason, found
    result = run_backup(data, tmp_path / "b.tar", created_at=T0, ops=REAL)
    assert result.plan.snapshot_id == NEWEST  # a stray sorting after it never wins
    assert verify_archive(result.archive, ops=REAL).ok
    assert tree_state(data) == before


# --- damage that leaves nothing to back up: a refusal with the reason ---------------------------


def every_snapshot_damaged(data: Path) -> None:
    for snapshot_id in (NEWEST, MIDDLE, OLDEST):
        shutil.rmtree(snap(data, snapshot_id) / "schemas")


def snapshots_is_a_file(data: Path) -> None:
    shutil.rmtree(data / "snapshots")
    (data / "snapshots").write_text("not a folder")


def wal_is_a_folder(data: Path) -> None:
    (data / "wal" / "wal.log").unlink()
    (data / "wal" / "wal.log").mkdir()


def wal_is_a_fifo(data: Path) -> None:
    (data / "wal" / "wal.log").unlink()
    os.mkfifo(data / "wal" / "wal.log")


def wal_is_a_device(data: Path) -> None:
    (data / "wal" / "wal.log").unlink()
    os.symlink("/dev/zero", data / "wal" / "wal.log")


def checkpoint_is_a_fifo(data: Path) -> None:
    os.mkfifo(data / "checkpoint.json")


def checkpoint_of_a_missing_snapshot(data: Path) -> None:
    (data / "checkpoint.json").write_text(
        '{\n  "snapshot_id": "20991231T235959Z",\n  "created_at": "2099-12-31T23:59:59Z",\n'
        '  "wal_truncated": true,\n  "format_version": 1\n}'
    )


def garbage_wal(data: Path) -> None:
    (data / "wal" / "wal.log").write_bytes(os.urandom(3000))


REFUSED: list[tuple[str, Callable[[Path], None], str, str]] = [
    ("every snapshot damaged", every_snapshot_damaged, "AERO_BACKUP_FAILED", "schemas/ folder is missing"),
    ("snapshots/ is a file", snapshots_is_a_file, "AERO_BACKUP_FAILED", "snapshots/ holds no snapshot"),
    ("no snapshots/ at all", lambda d: shutil.rmtree(d / "snapshots"), "AERO_BACKUP_FAILED", "holds no snapshot"),
    ("the WAL is garbage", garbage_wal, "AERO_BACKUP_FAILED", "the WAL is damaged"),
    ("the WAL is a folder", wal_is_a_folder, "AERO_BACKUP_IO", "Is a directory"),
    ("the WAL is a FIFO", wal_is_a_fifo, "AERO_BACKUP_IO", "not a regular file"),
    ("the WAL is a device", wal_is_a_device, "AERO_BACKUP_IO", "not a regular file"),
    ("checkpoint.json is a FIFO", checkpoint_is_a_fifo, "AERO_BACKUP_FAILED", "checkpoint.json does not parse"),
    (
        "the checkpoint names a snapshot that is not there",
        checkpoint_of_a_missing_snapshot,
        "AERO_BACKUP_FAILED",
        "would lose every write in between",
    ),
]


@pytest.mark.parametrize(("damage", "code", "words"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_damage_that_leaves_nothing_safe_to_back_up_is_refused_with_the_reason(
    tmp_path: Path, out_dir: Path, damage: Callable[[Path], None], code: str, words: str
) -> None:
    data = copy_fixture("datadir-3snap", tmp_path / "data")
    damage(data)
    before = tree_state(data)
    scan(data, ops=REAL)  # never hangs nor raises on any of these
    with pytest.raises(BackupError) as refused:
        run_backup(data, out_dir, created_at=T0, ops=REAL)
    assert refused.value.code == code and words in refused.value.message, str(refused.value)
    assert list(out_dir.iterdir()) == []
    assert tree_state(data) == before


def test_every_reason_is_shown_by_the_scan_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = copy_fixture("datadir-3snap", tmp_path / "data")
    garbage_in_snapshots(data)
    missing_schemas_folder(data)
    before = tree_state(data)
    assert main(["scan", str(data)]) == 0
    out = capsys.readouterr().out
    for line in ("README.txt", "not a folder", "junk", "not a snapshot id", "schemas/ folder is missing"):
        assert line in out
    assert tree_state(data) == before
