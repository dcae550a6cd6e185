"""Inventory: one row per archive in a folder; bad files become rows with a reason; only the
first member is read unless verification is asked for."""

from __future__ import annotations

import io
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers.archives import FIXTURE_ARCHIVES, SIDECARS, build, fixture_bytes, hex_digest, read_members
from helpers.data import AERODB_FIXTURES

from aeroops.core.inventory import inventory_row, read_leading_manifest
from aeroops.errors import FormatError, Severity, UsageError
from aeroops.executor.audit import inventory
from aeroops.executor.fileops import REAL
from aeroops.formats.manifests import parse_backup_manifest
from aeroops.progress import Progress
from aeroops.views import records, tables
from aeroops.views.serialise import inventory_json

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def folder(aerodb_archives: Path) -> Path:
    """AeroDB's three archives, two with sidecars, and two files that are no archives."""
    root = aerodb_archives
    # An old archive with a SHA-256 sidecar, a new one with a BLAKE3 sidecar, one without.
    (root / "backup-1000.tar.sha256").write_text(
        f"{hex_digest('sha256', fixture_bytes('backup-1000.tar'))}  backup-1000.tar\n"
    )
    (root / "backup-3snap.tar.b3").write_text(
        f"{hex_digest('blake3', fixture_bytes('backup-3snap.tar'))}  backup-3snap.tar\n"
    )
    (root / "notes.txt").write_text("not a candidate: only *.tar files are")
    (root / "junk.tar").write_bytes(b"this is not a tar archive")
    (root / "empty.tar").write_bytes(b"")
    os.symlink(root / "gone.tar.target", root / "dangling.tar")
    (root / "old").mkdir()
    shutil.copyfile(AERODB_FIXTURES / "backup-3snap.tar", root / "old" / "nested.tar")
    return root


def test_one_row_per_candidate_with_reasons_never_an_exception(folder: Path) -> None:
    result = inventory(folder, now=NOW, ops=REAL)
    rows = {row.file: row for row in result.rows}
    assert list(rows) == sorted(
        ["backup-1000.tar", "backup-3snap.tar", "backup-nowal.tar", "junk.tar", "empty.tar", "dangling.tar"]
    )
    good = rows["backup-1000.tar"]
    assert (good.backup_id, good.snapshot_id, good.wal_present, good.format_version) == (
        "20261126T214824Z",
        "20261126T214824Z",
        True,
        1,
    )
    assert good.size == 267264 and good.sidecar == "sha256" and good.reason is None
    assert good.created_at == datetime(2026, 11, 26, 21, 48, 24, tzinfo=UTC)
    assert good.age == NOW - good.created_at
    assert rows["backup-3snap.tar"].sidecar == "b3"  # which kind of sidecar, not only whether there is one
    assert rows["backup-nowal.tar"].wal_present is False and rows["backup-nowal.tar"].sidecar is None
    assert rows["junk.tar"].reason is not None and rows["junk.tar"].backup_id is None
    assert rows["empty.tar"].reason is not None and "AERO_TAR_TRUNCATED" in rows["empty.tar"].reason
    assert rows["dangling.tar"].reason is not None and rows["dangling.tar"].reason.startswith("cannot read")
    assert rows["dangling.tar"].size is None
    assert all(row.ok is None for row in result.rows)  # not verified
    assert not result.ok  # unreadable candidates make the inventory not clean


def test_recursion_is_an_option(folder: Path) -> None:
    assert "old/nested.tar" not in {r.file for r in inventory(folder, now=NOW, ops=REAL).rows}
    nested = {r.file: r for r in inventory(folder, recursive=True, now=NOW, ops=REAL).rows}["old/nested.tar"]
    assert nested.snapshot_id == "20261126T214908Z"


def test_verify_adds_the_verdict_and_counts_by_severity_with_progress(folder: Path) -> None:
    events: list[Progress] = []
    result = inventory(folder, verify=True, now=NOW, progress=events.append, ops=REAL)
    rows = {row.file: row for row in result.rows}
    # backup-1000.tar has a SHA-256 sidecar; the others have none, a warning each (AERO_VERIFY_NO_SIDECAR)
    assert (rows["backup-1000.tar"].ok, rows["backup-1000.tar"].errors, rows["backup-1000.tar"].warnings) == (
        True,
        0,
        0,
    )
    assert (rows["backup-1000.tar"].sidecar, rows["backup-nowal.tar"].sidecar) == ("sha256", None)
    assert (rows["backup-3snap.tar"].ok, rows["backup-3snap.tar"].errors) == (True, 0)
    nowal = rows["backup-nowal.tar"]
    assert (nowal.ok, nowal.warnings, nowal.errors, nowal.info, nowal.fatal) == (True, 2, 0, 0, 0)
    assert rows["junk.tar"].ok is False and rows["junk.tar"].errors == 1
    assert rows["dangling.tar"].ok is None  # could not be opened at all: reason only
    assert {e.job for e in events} == {"inventory"}
    assert {e.step_count for e in events} == {len(result.rows)}
    assert {e.step for e in events} >= {"verify backup-1000.tar", "verify junk.tar"}


@pytest.mark.parametrize("sidecars", [(), ("blake3",), ("sha256",), ("blake3", "sha256")])
def test_either_sidecar_counts(tmp_path: Path, sidecars: tuple[str, ...]) -> None:
    data = fixture_bytes("backup-1000.tar")
    (tmp_path / "b.tar").write_bytes(data)
    for algorithm in sidecars:
        (tmp_path / f"b.tar{SIDECARS[algorithm][0]}").write_text(f"{hex_digest(algorithm, data)}  b.tar\n")
    (tmp_path / "c.tar.b3").mkdir()  # a folder is no sidecar (and c.tar no archive: no row)
    (row,) = inventory(tmp_path, verify=True, now=NOW, ops=REAL).rows
    # the kind verify reads: .b3 first
    assert row.sidecar == (SIDECARS[sidecars[0]][0].lstrip(".") if sidecars else None) and row.ok is True


@pytest.mark.parametrize("make", ["fifo", "folder", "link to a device"])
def test_a_sidecar_that_is_not_a_file_is_named_so_not_taken_for_none(tmp_path: Path, make: str) -> None:
    (tmp_path / "b.tar").write_bytes(fixture_bytes("backup-1000.tar"))
    sidecar = tmp_path / "b.tar.b3"
    {
        "fifo": lambda: os.mkfifo(sidecar),
        "folder": sidecar.mkdir,
        "link to a device": lambda: sidecar.symlink_to("/dev/zero"),
    }[make]()
    (row,) = inventory(tmp_path, now=NOW, ops=REAL).rows
    assert row.sidecar == "b3 (not a file)"  # it said none: verify reads this path and reports it unusable
    (row,) = inventory(tmp_path, verify=True, now=NOW, ops=REAL).rows
    assert row.sidecar == "b3 (not a file)" and row.ok is False


def test_a_damaged_archive_shows_in_the_verified_inventory_only(tmp_path: Path) -> None:
    archive = bytearray(fixture_bytes("backup-1000.tar"))
    archive[-2000] ^= 0x40  # inside the WAL, far from the manifest
    (tmp_path / "b.tar").write_bytes(bytes(archive))
    quick = inventory(tmp_path, now=NOW, ops=REAL)
    assert quick.ok and quick.rows[0].reason is None
    checked = inventory(tmp_path, verify=True, now=NOW, ops=REAL)
    assert not checked.ok and checked.rows[0].ok is False and checked.rows[0].errors == 1


class _CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, n: int | None = -1) -> bytes:
        data = super().read(n)
        self.bytes_read += len(data)
        return data


def test_without_verify_only_the_first_member_is_read() -> None:
    stream = _CountingStream(fixture_bytes("backup-1000.tar"))
    manifest = read_leading_manifest(stream, name="b.tar")
    assert manifest.backup_id == "20261126T214824Z"
    assert stream.bytes_read == 2 * 512  # its header and its one data block


def test_the_manifest_must_come_first() -> None:
    members = read_members(fixture_bytes("backup-1000.tar"))
    with pytest.raises(FormatError) as raised:
        read_leading_manifest(io.BytesIO(build([*members[1:], members[0]])))
    assert "first member is 'snapshot'" in raised.value.message
    with pytest.raises(FormatError):
        read_leading_manifest(io.BytesIO(build([])))


def test_inventory_row_is_a_pure_function_of_its_inputs() -> None:
    manifest = parse_backup_manifest(read_members(fixture_bytes("backup-1000.tar"))[0][1] or b"")
    modified = datetime(2026, 11, 27, tzinfo=UTC)
    row = inventory_row("a.tar", 10, modified, manifest, NOW)
    assert row.age == timedelta(days=4, hours=2, minutes=11, seconds=36)
    assert row == inventory_row("a.tar", 10, modified, manifest, NOW)
    bad = inventory_row("b.tar", 3, modified, "not an archive", NOW, sidecar="b3")
    assert (bad.reason, bad.backup_id, bad.age, bad.sidecar) == ("not an archive", None, None, "b3")


def test_a_folder_that_is_not_one_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        inventory(tmp_path / "missing", ops=REAL)


def test_frame_and_json_views(folder: Path) -> None:
    plain = inventory(folder, now=NOW, ops=REAL)
    frame = tables.inventory_frame(plain)
    assert list(frame.columns) == list(records.INVENTORY_COLUMNS)
    assert dict(frame.dtypes.astype(str)) == records.INVENTORY_COLUMNS
    assert str(frame["created_at"].dt.tz) == "UTC" and frame["size"].dtype == "Int64"
    good = frame.set_index("file").loc["backup-1000.tar"]
    assert good["age"] == NOW - datetime(2026, 11, 26, 21, 48, 24, tzinfo=UTC) and good["sidecar"] == "sha256"
    verified = tables.inventory_frame(inventory(folder, verify=True, now=NOW, ops=REAL))
    # the verdict first: ok, then the findings by severity, then the rest
    assert list(verified.columns) == [*records.INVENTORY_VERIFY_COLUMNS, *records.INVENTORY_COLUMNS]
    assert list(records.INVENTORY_VERIFY_COLUMNS) == ["ok", "fatal", "errors", "warnings", "info"]
    assert verified["ok"].dtype == "boolean" and verified["errors"].dtype == "Int64"
    listed = inventory_json(plain)
    assert len(listed) == len(plain.rows) and all("ok" not in row for row in listed)
    first = next(row for row in listed if row["file"] == "backup-1000.tar")
    assert first["created_at"] == "2026-11-26T21:48:24Z" and first["age"] == int(good["age"].total_seconds())


def test_a_fifo_named_like_an_archive_gets_a_row_and_does_not_hang(tmp_path: Path) -> None:
    import os

    from aeroops.executor.audit import inventory, verify_archive

    os.mkfifo(tmp_path / "pipe.tar")
    rows = inventory(tmp_path, ops=REAL).rows
    assert len(rows) == 1 and "not a regular file" in (rows[0].reason or "")
    report = verify_archive(tmp_path / "pipe.tar", ops=REAL)
    assert not report.ok and report.findings[0].code == "AERO_VERIFY_IO"


@pytest.mark.parametrize("suffix", [".b3", ".sha256"])
def test_a_fifo_as_the_sidecar_is_a_finding_not_a_hang(tmp_path: Path, suffix: str) -> None:
    import threading

    from aeroops.executor.audit import verify_archive

    archive = tmp_path / "backup-1000.tar"
    archive.write_bytes(fixture_bytes("backup-1000.tar"))
    os.mkfifo(tmp_path / f"backup-1000.tar{suffix}")
    reports = []
    worker = threading.Thread(target=lambda: reports.append(verify_archive(archive, ops=REAL)), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "verify blocked opening a FIFO sidecar"
    (finding,) = reports[0].findings
    assert finding.code == "AERO_VERIFY_SIDECAR" and "not a regular file" in finding.message
    assert inventory(tmp_path, ops=REAL).rows[0].sidecar == f"{suffix[1:]} (not a file)"  # named, not taken for none


@pytest.mark.parametrize("failing", ["verify_archive_stream", "read_leading_manifest"])
def test_aeroops_failing_on_one_archive_is_that_archives_row_and_the_audit_goes_on(
    folder: Path, failing: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The last-resort net: should aeroops itself raise on one file (a bug, which the property
    tests look for), that file's row says so and every other file is still audited."""
    import aeroops.core.inventory
    import aeroops.executor.audit as audit

    # The audit imports the inventory's reader when it runs (`aeroops verify` starts without it).
    where = audit if failing == "verify_archive_stream" else aeroops.core.inventory
    real = getattr(where, failing)

    def fails_on_3snap(stream: object, **options: object) -> object:
        if "3snap" in str(options.get("name")):
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        return real(stream, **options)

    monkeypatch.setattr(where, failing, fails_on_3snap)
    taken = inventory(folder, verify=True, now=NOW, ops=REAL)
    rows = {row.file: row for row in taken.rows}
    assert set(FIXTURE_ARCHIVES) < set(rows)
    broken = rows["backup-3snap.tar"]
    assert broken.ok is False or (broken.reason or "").startswith("AERO_VERIFY_INTERNAL")
    assert rows["backup-1000.tar"].ok is True and not taken.ok
    assert "failed inside aeroops" in caplog.text and "UnicodeEncodeError" in caplog.text
    if failing == "verify_archive_stream":
        report = audit.verify_archive(folder / "backup-3snap.tar", ops=REAL)
        assert [(f.code, f.severity) for f in report.findings] == [("AERO_VERIFY_INTERNAL", Severity.FATAL)]
