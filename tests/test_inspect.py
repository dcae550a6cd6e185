"""Inspect: members, manifests, WAL and storage summaries and the logical state of an archive,
as values and as DataFrames with stable columns and dtypes."""

from __future__ import annotations

import io
import json
import zlib
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from helpers.archives import build, fixture_bytes, read_members, replace_member
from helpers.data import AERODB_FIXTURES

from aeroops.core.inspect import InspectResult, inspect_archive_stream, member_status
from aeroops.core.logical import diff, logical_state
from aeroops.errors import Code, Finding, Severity
from aeroops.executor.audit import inspect_archive
from aeroops.executor.fileops import REAL
from aeroops.formats.storage import iter_storage
from aeroops.formats.wal import WalType, encode_wal_record, iter_wal
from aeroops.views import records, tables
from aeroops.views.serialise import inspect_json


@pytest.fixture(scope="module")
def full() -> object:
    return inspect_archive(AERODB_FIXTURES / "backup-1000.tar", ops=REAL)


def _inspect(archive: bytes) -> object:
    return inspect_archive_stream(io.BytesIO(archive), name="t.tar")


def test_members_with_found_and_expected_checksums(full: object) -> None:
    rows = {m.name: m for m in full.members}  # type: ignore[attr-defined]
    assert list(rows) == [name for name, _ in read_members(fixture_bytes("backup-1000.tar"))]
    storage = rows["snapshot/storage.dat"]
    assert storage.checksum_found == storage.checksum_expected == "crc32:e6bf1eff"
    assert storage.type == "file" and storage.size == 123656 and storage.mode == 0o100644
    assert rows["snapshot"].type == "directory" and rows["snapshot"].checksum_found is None
    assert rows["wal/wal.log"].checksum_expected is None and rows["wal/wal.log"].checksum_found
    for name in ("schema_orders_v1.json", "schema_products_v1.json", "schema_users_v1.json"):
        schema = rows[f"snapshot/schemas/{name}"]
        assert schema.checksum_found == schema.checksum_expected
    assert {m.status for m in rows.values()} == {"ok"}
    assert storage.mtime is not None and storage.mtime.tzinfo is not None


def test_wal_summary_matches_a_direct_count(full: object) -> None:
    with (AERODB_FIXTURES / "datadir-1000/wal/wal.log").open("rb") as log:
        direct = list(iter_wal(log))
    summary = full.wal  # type: ignore[attr-defined]
    assert summary.records == len(direct) == 1000 and summary.bytes == sum(r.length for r in direct)
    assert (summary.first_sequence, summary.last_sequence) == (1, 1000)
    by_operation = Counter()
    for group in summary.groups:
        by_operation[group.operation] += group.records
        assert group.first_sequence <= group.last_sequence and group.documents <= group.records
    assert by_operation == {"insert": 591, "update": 261, "delete": 148}
    assert {g.collection for g in summary.groups} == {"orders", "products", "users"}
    assert summary.documents == 591  # every document was inserted once


def test_storage_summary_counts_live_documents_and_tombstones(full: object) -> None:
    groups = full.storage  # type: ignore[attr-defined]
    assert sum(g.records for g in groups) == full.storage_records == 1000  # type: ignore[attr-defined]
    assert sum(g.tombstones for g in groups) == 148
    assert sum(g.live_documents for g in groups) == len(full.logical) == 443  # type: ignore[attr-defined]
    assert {(g.collection, g.schema_version) for g in groups} == {
        ("orders", "v1"),
        ("products", "v1"),
        ("users", "v1"),
    }


@pytest.mark.parametrize(
    ("archive", "datadir"), [("backup-1000.tar", "datadir-1000"), ("backup-3snap.tar", "datadir-3snap")]
)
def test_the_logical_state_is_what_aerodb_live_storage_holds(archive: str, datadir: str) -> None:
    result = inspect_archive(AERODB_FIXTURES / archive, ops=REAL)
    with (AERODB_FIXTURES / datadir / "data/documents.dat").open("rb") as live:
        expected = logical_state(iter_storage(live), [])
    assert diff(expected, result.logical).identical


def test_an_archive_without_wal_has_empty_wal_tables() -> None:
    result = inspect_archive(AERODB_FIXTURES / "backup-nowal.tar", ops=REAL)
    assert result.wal.records == 0 and result.wal.groups == () and result.wal.first_sequence is None
    assert len(result.logical) == sum(g.live_documents for g in result.storage) > 0
    frame = tables.wal_frame(result)
    assert frame.empty and list(frame.columns) == list(records.WAL_COLUMNS)
    assert dict(frame.dtypes.astype(str)) == records.WAL_COLUMNS


def test_damaged_members_get_a_status_and_payload_errors_a_finding() -> None:
    members = read_members(fixture_bytes("backup-1000.tar"))
    storage = bytearray(dict(members)["snapshot/storage.dat"] or b"")
    storage[200] ^= 1
    bad_payload = encode_wal_record(WalType.INSERT, 1, b"\x05\x00\x00\x00ab")  # CRC fine, payload short
    damaged = replace_member(members, "snapshot/storage.dat", bytes(storage))
    result = _inspect(build(replace_member(damaged, "wal/wal.log", bad_payload)))
    status = {m.name: m.status for m in result.members}  # type: ignore[attr-defined]
    assert status["snapshot/storage.dat"].startswith("checksum")  # and the record it broke
    assert status["wal/wal.log"] == "wal_payload" and status["backup_manifest.json"] == "ok"
    payload = [f for f in result.report.findings if f.code == "AERO_WAL_PAYLOAD"]  # type: ignore[attr-defined]
    assert payload and payload[0].sequence == 1
    storage_damage = {f.code for f in result.report.findings if f.path == "snapshot/storage.dat"}  # type: ignore[attr-defined]
    assert "AERO_VERIFY_CHECKSUM" in storage_damage and any(c.startswith("AERO_STORAGE_") for c in storage_damage)


def test_member_status_names_warnings_and_errors_but_not_info() -> None:
    findings = [
        Finding(Code.VERIFY_CHECKSUM, Severity.ERROR, "x", "a"),
        Finding(Code.VERIFY_MEMBER_ORDER, Severity.WARNING, "x", "a"),
        Finding(Code.VERIFY_STOPPED, Severity.INFO, "x", "a"),
        Finding(Code.WAL_SEQUENCE, Severity.ERROR, "x", "b"),
    ]
    assert member_status("a", findings) == "checksum, member_order"
    assert member_status("b", findings) == "wal_sequence"
    assert member_status("c", findings) == "ok"


# --- views ------------------------------------------------------------------------------------


def test_every_frame_has_its_documented_columns_and_dtypes(full: object) -> None:
    frames = tables.inspect_frames(full)  # type: ignore[arg-type]
    declared = {
        "members": records.MEMBER_COLUMNS,
        "backup_manifest": records.BACKUP_MANIFEST_COLUMNS,
        "snapshot_manifest": records.SNAPSHOT_MANIFEST_COLUMNS,
        "schema_checksums": records.SCHEMA_CHECKSUM_COLUMNS,
        "wal": records.WAL_COLUMNS,
        "storage": records.STORAGE_COLUMNS,
        "collections": records.COLLECTION_COLUMNS,
        "documents": records.DOCUMENT_COLUMNS,
        "findings": records.FINDING_COLUMNS,
    }
    assert set(frames) == set(declared)
    for name, frame in frames.items():
        assert list(frame.columns) == list(declared[name]), name
        assert dict(frame.dtypes.astype(str)) == declared[name], name
    members = frames["members"]
    assert str(members["mtime"].dt.tz) == "UTC" and members["size"].sum() == sum(m.size for m in full.members)  # type: ignore[attr-defined]
    documents = frames["documents"]
    assert len(documents) == 443 and documents["size"].dtype == "int64"
    assert frames["collections"]["documents"].sum() == 443
    assert frames["backup_manifest"]["wal_present"].tolist() == [True]
    assert frames["snapshot_manifest"]["commit_boundary"].isna().all()
    assert frames["wal"]["records"].sum() == 1000


def test_a_findings_frame_over_several_reports() -> None:
    reports = [
        inspect_archive(AERODB_FIXTURES / name, ops=REAL).report for name in ("backup-1000.tar", "backup-nowal.tar")
    ]
    frame = tables.findings_frame(reports)
    assert frame["code"].tolist() == ["AERO_VERIFY_NO_SIDECAR", "AERO_VERIFY_NO_SIDECAR", "AERO_VERIFY_NO_WAL_DIR"]
    assert frame["offset"].isna().all() and frame["offset"].dtype == "Int64"
    empty = tables.findings_frame(replace(reports[0], findings=()))
    assert empty.empty and dict(empty.dtypes.astype(str)) == records.FINDING_COLUMNS


def test_the_json_view(full: InspectResult) -> None:
    out = json.loads(json.dumps(inspect_json(full, documents=True)))
    assert out["ok"] and out["backup_manifest"]["backup_id"] == "20261126T214824Z"
    assert out["snapshot_manifest"]["storage_checksum"] == "crc32:e6bf1eff"
    assert out["wal"]["records"] == 1000 and len(out["logical"]["document_list"]) == 443
    assert sum(out["logical"]["collections"].values()) == 443
    first = out["logical"]["document_list"][0]
    assert set(first) == {"collection", "document_id", "size", "crc32"}
    assert "document_list" not in inspect_json(full)["logical"]


def test_document_digests_are_of_the_bodies(full: object) -> None:
    frame = tables.documents_frame(full)  # type: ignore[arg-type]
    with (AERODB_FIXTURES / "datadir-1000/data/documents.dat").open("rb") as live:
        last = {r.key: r for r in iter_storage(live)}
    sample = frame.iloc[0]
    body = last[f"{sample['collection']}:{sample['document_id']}"].body
    assert sample["size"] == len(body) and sample["crc32"] == f"crc32:{zlib.crc32(body):08x}"
    assert isinstance(frame, pd.DataFrame)


@pytest.mark.parametrize("suffix", [".b3", ".sha256"])
def test_inspect_checks_the_sidecar_too(tmp_path: Path, suffix: str) -> None:
    archive = tmp_path / "b.tar"
    archive.write_bytes(fixture_bytes("backup-1000.tar"))
    Path(f"{archive}{suffix}").write_text(f"{'0' * 64}  b.tar\n")
    report = inspect_archive(archive, ops=REAL).report
    assert [f.code for f in report.findings] == ["AERO_VERIFY_SIDECAR"]
    assert report.sidecar_digest == f"{'blake3' if suffix == '.b3' else 'sha256'}:{'0' * 64}"
