"""The demo data generator: every file it writes reads back with aeroops' own readers, follows
AeroDB's layout and semantics, and is a pure function of the spec."""

from __future__ import annotations

import errno
import json
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers.data import AERODB_FIXTURES
from helpers.faults import CountingOps, FailingOps

from aeroops.demo import DemoSpec, DemoSummary, make_demo_backup_folder, make_demo_datadir, snapshot_positions
from aeroops.errors import UsageError
from aeroops.executor.fileops import REAL
from aeroops.formats.ids import parse_snapshot_id
from aeroops.formats.manifests import parse_checkpoint, parse_snapshot_manifest
from aeroops.formats.storage import StorageRecord, iter_storage
from aeroops.formats.wal import DocumentChange, WalType, decode_payload, iter_wal

FIXTURES = AERODB_FIXTURES
MiB = 1 << 20


# --- reading back, with aeroops' readers only ----------------------------------------------------


@dataclass(frozen=True)
class WalEntry:
    sequence: int
    type: WalType
    change: DocumentChange


def read_wal(path: Path) -> list[WalEntry]:
    entries = []
    with open(path, "rb") as stream:
        for record in iter_wal(stream, path=path):  # checks sequences 1, 2, 3, ...
            change = decode_payload(record, path=path)
            assert isinstance(change, DocumentChange)
            entries.append(WalEntry(record.sequence, record.type, change))
    return entries


def read_storage(path: Path) -> list[StorageRecord]:
    with open(path, "rb") as stream:
        return list(iter_storage(stream, path=path))


def replay(storage: list[StorageRecord], wal: list[WalEntry] = ()) -> dict[str, bytes]:
    """DESIGN §8: storage records, last per key winning, then the WAL in sequence order."""
    documents: dict[str, bytes] = {}
    for record in storage:
        if record.tombstone:
            documents.pop(record.key, None)
        else:
            documents[record.key] = record.body
    for entry in wal:
        key = f"{entry.change.collection}:{entry.change.document_id}"
        if entry.type == WalType.DELETE:
            documents.pop(key, None)
        else:
            documents[key] = entry.change.body
    return documents


def all_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def check_datadir(root: Path, spec: DemoSpec, summary: DemoSummary) -> None:
    """Everything a generated data directory must satisfy."""
    schema_names = sorted(f"schema_{c}_v1.json" for c in spec.collections)
    top = {p.name for p in root.iterdir()}
    expected_top = {"data", "metadata", "snapshots"}
    if spec.with_wal:
        expected_top.add("wal")
    if spec.checkpoint:
        expected_top.add("checkpoint.json")
    assert top == expected_top

    # schema files: pretty JSON (2-space indent, sorted keys, no trailing newline), as AeroDB writes them
    schemas = {p.name: p.read_bytes() for p in sorted((root / "metadata" / "schemas").iterdir())}
    assert sorted(schemas) == schema_names
    for name, data in schemas.items():
        schema = json.loads(data)
        assert data == json.dumps(schema, indent=2, sort_keys=True).encode()
        assert set(schema) == {"fields", "schema_id", "schema_version"}
        assert name == f"schema_{schema['schema_id']}_{schema['schema_version']}.json"
        assert {"_id", "active", "name", "rev", "value"} <= set(schema["fields"])

    # live storage: one record per operation, keys and bodies as AeroDB writes them
    documents_path = root / "data" / "documents.dat"
    storage = read_storage(documents_path)
    assert len(storage) == spec.wal_records == summary.storage_records
    revs = []
    for record in storage:
        collection, _, document_id = record.key.partition(":")
        assert collection in spec.collections
        assert re.fullmatch(rf"{re.escape(collection)}-\d{{6,}}", document_id)
        assert (record.schema_id, record.schema_version) == (collection, "v1")
        assert record.tombstone == (record.body == b"")
        if not record.tombstone:
            body = json.loads(record.body)
            assert record.body == json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
            assert body["_id"] == document_id
            padded = {"blob"} if spec.storage_bytes else set()
            assert set(body) == {"_id", "active", "name", "rev", "value"} | padded
            assert isinstance(body["active"], bool) and isinstance(body["value"], int)
            revs.append(body["rev"])
    assert revs == list(range(1, len(revs) + 1))  # rev counts inserts and updates, as in the fixtures

    # inserts first: a key is written only while live after its first write, never after a delete
    seen: set[str] = set()
    live: set[str] = set()
    for record in storage:
        if record.tombstone:
            assert record.key in live
            live.discard(record.key)
        else:
            assert record.key in live or record.key not in seen  # update of a live one, or a new insert
            live.add(record.key)
        seen.add(record.key)
    final = replay(storage)
    assert set(final) == live
    assert len(final) == summary.documents

    # snapshots: byte copies of storage and schemas at evenly spaced points, manifest last
    folders = sorted((root / "snapshots").iterdir())
    assert tuple(p.name for p in folders) == summary.snapshot_ids
    assert len(folders) == spec.snapshots
    documents_bytes = documents_path.read_bytes()
    previous_size = 0
    for folder, position in zip(folders, snapshot_positions(spec), strict=True):
        assert {p.name for p in folder.iterdir()} == {"storage.dat", "schemas", "manifest.json"}
        manifest = parse_snapshot_manifest((folder / "manifest.json").read_bytes(), path=folder)
        assert manifest.snapshot_id == folder.name
        assert manifest.created_at == parse_snapshot_id(folder.name)
        assert manifest.format_version == 1 and manifest.commit_boundary is None
        data = (folder / "storage.dat").read_bytes()
        assert manifest.storage_checksum == zlib.crc32(data)
        assert documents_bytes.startswith(data)
        assert len(data) >= previous_size
        previous_size = len(data)
        assert len(read_storage(folder / "storage.dat")) == position
        snapshot_schemas = {p.name: p.read_bytes() for p in sorted((folder / "schemas").iterdir())}
        assert snapshot_schemas == schemas
        assert manifest.schema_checksum_map == {name: zlib.crc32(data) for name, data in schemas.items()}

    # WAL: one record per operation after the checkpoint (or all), sequences from 1
    if not spec.with_wal:
        assert summary.wal_records == 0
        return
    wal = read_wal(root / "wal" / "wal.log")
    assert len(wal) == summary.wal_records
    first = snapshot_positions(spec)[-1] if spec.checkpoint else 0
    assert len(wal) == len(storage) - first
    first_write: dict[str, int] = {}
    for index, record in enumerate(storage):
        first_write.setdefault(record.key, index)
    for index, (entry, record) in enumerate(zip(wal, storage[first:], strict=True), first):
        change = entry.change
        assert f"{change.collection}:{change.document_id}" == record.key
        assert (change.schema_id, change.schema_version) == (record.schema_id, record.schema_version)
        assert change.body == record.body
        assert (entry.type == WalType.DELETE) == record.tombstone
        assert (entry.type == WalType.INSERT) == (first_write[record.key] == index)  # ids are never reused
    if spec.checkpoint:
        checkpoint = parse_checkpoint((root / "checkpoint.json").read_bytes())
        assert checkpoint.snapshot_id == summary.snapshot_ids[-1]
        assert checkpoint.created_at == parse_snapshot_id(checkpoint.snapshot_id)
        assert checkpoint.wal_truncated
    else:
        assert replay([], wal) == final
    # the logical state: newest snapshot + WAL gives what documents.dat holds
    if folders:
        assert replay(read_storage(folders[-1] / "storage.dat"), wal) == final


# --- tests -------------------------------------------------------------------------------------------


def test_default_spec_reads_back_with_aeroops_readers(tmp_path: Path) -> None:
    spec = DemoSpec()
    summary = make_demo_datadir(tmp_path / "d", spec, ops=REAL)
    assert summary.data_dir == tmp_path / "d"
    assert summary.snapshot_ids == ("20260101T010000Z", "20260101T020000Z", "20260101T030000Z")
    assert summary.wal_records == summary.storage_records == 1000
    assert summary.bytes == sum(len(b) for b in all_files(tmp_path / "d").values())
    check_datadir(tmp_path / "d", spec, summary)
    # an operation mix like the fixtures' (591 inserts, 261 updates, 148 deletes of 1000)
    kinds = [e.type for e in read_wal(tmp_path / "d" / "wal" / "wal.log")]
    assert 500 < kinds.count(WalType.INSERT) < 700
    assert 180 < kinds.count(WalType.UPDATE) < 320
    assert 90 < kinds.count(WalType.DELETE) < 210


def test_same_spec_gives_identical_bytes(tmp_path: Path) -> None:
    spec = DemoSpec(seed=7, wal_records=600, snapshots=2, checkpoint=True, storage_bytes=64 * 1024)
    first = make_demo_datadir(tmp_path / "a", spec, ops=REAL)
    second = make_demo_datadir(tmp_path / "b", spec, ops=REAL)
    assert all_files(tmp_path / "a") == all_files(tmp_path / "b")
    assert first.snapshot_ids == second.snapshot_ids and first.documents == second.documents
    make_demo_datadir(tmp_path / "c", DemoSpec(seed=8, wal_records=600, snapshots=2, checkpoint=True), ops=REAL)
    assert (tmp_path / "a" / "data" / "documents.dat").read_bytes() != (
        tmp_path / "c" / "data" / "documents.dat"
    ).read_bytes()


def test_parallel_wal_writer_gives_the_same_bytes(tmp_path: Path) -> None:
    spec = DemoSpec(seed=3, wal_records=3000, snapshots=2, storage_bytes=256 * 1024)
    make_demo_datadir(tmp_path / "serial", spec, parallel=False, ops=REAL)
    summary = make_demo_datadir(tmp_path / "parallel", spec, parallel=True, ops=REAL)
    assert all_files(tmp_path / "serial") == all_files(tmp_path / "parallel")
    check_datadir(tmp_path / "parallel", spec, summary)


def test_checkpoint_truncates_the_wal_after_the_newest_snapshot(tmp_path: Path) -> None:
    spec = DemoSpec(seed=1, wal_records=800, snapshots=3, checkpoint=True)
    summary = make_demo_datadir(tmp_path / "d", spec, ops=REAL)
    check_datadir(tmp_path / "d", spec, summary)
    wal = read_wal(tmp_path / "d" / "wal" / "wal.log")
    assert [e.sequence for e in wal] == list(range(1, 201))  # 800 - 3 * 800 // 4 operations follow it
    assert summary.wal_records == 200 and summary.storage_records == 800
    checkpoint = json.loads((tmp_path / "d" / "checkpoint.json").read_bytes())
    assert checkpoint == {
        "snapshot_id": "20260101T030000Z",
        "created_at": "2026-01-01T03:00:00Z",
        "wal_truncated": True,
        "format_version": 1,
    }
    # documents.dat still holds everything; the WAL holds exactly what follows the snapshot
    newest = (tmp_path / "d" / "snapshots" / summary.snapshot_ids[-1] / "storage.dat").read_bytes()
    documents = (tmp_path / "d" / "data" / "documents.dat").read_bytes()
    after = read_storage(tmp_path / "d" / "data" / "documents.dat")[600:]
    assert len(documents) > len(newest)
    assert [(f"{e.change.collection}:{e.change.document_id}", e.change.body) for e in wal] == [
        (r.key, r.body) for r in after
    ]


def test_without_wal_there_is_no_wal_folder(tmp_path: Path) -> None:
    spec = DemoSpec(seed=2, wal_records=300, snapshots=1, with_wal=False)
    summary = make_demo_datadir(tmp_path / "d", spec, ops=REAL)
    assert not (tmp_path / "d" / "wal").exists()
    assert summary.wal_records == 0
    check_datadir(tmp_path / "d", spec, summary)


def test_storage_bytes_makes_the_newest_snapshot_that_big(tmp_path: Path) -> None:
    target = 3 * MiB
    spec = DemoSpec(seed=5, wal_records=2000, snapshots=2, storage_bytes=target)
    summary = make_demo_datadir(tmp_path / "d", spec, ops=REAL)
    check_datadir(tmp_path / "d", spec, summary)
    sizes = [(tmp_path / "d" / "snapshots" / s / "storage.dat").stat().st_size for s in summary.snapshot_ids]
    assert target <= sizes[-1] < target + 4096  # reached, by one share of padding at most
    assert sizes[0] < sizes[-1]
    schema = json.loads((tmp_path / "d" / "metadata" / "schemas" / "schema_users_v1.json").read_bytes())
    assert schema["fields"]["blob"] == {"required": False, "type": "string"}
    # documents after the snapshot are padded alike: the file keeps growing at the same pace
    assert (tmp_path / "d" / "data" / "documents.dat").stat().st_size > target * 1.3


def test_storage_bytes_without_snapshots_sizes_live_storage(tmp_path: Path) -> None:
    spec = DemoSpec(wal_records=50, snapshots=0, storage_bytes=MiB)
    summary = make_demo_datadir(tmp_path / "d", spec, ops=REAL)
    check_datadir(tmp_path / "d", spec, summary)
    assert summary.snapshot_ids == ()
    assert MiB <= (tmp_path / "d" / "data" / "documents.dat").stat().st_size < MiB + 64 * 1024


def test_schema_files_match_aerodb_byte_for_byte(tmp_path: Path) -> None:
    reference = FIXTURES / "datadir-1000" / "metadata" / "schemas"
    make_demo_datadir(tmp_path / "d", DemoSpec(wal_records=10), ops=REAL)
    ours = tmp_path / "d" / "metadata" / "schemas"
    assert sorted(p.name for p in ours.iterdir()) == sorted(p.name for p in reference.iterdir())
    for path in reference.iterdir():
        assert (ours / path.name).read_bytes() == path.read_bytes()


def test_zero_records_gives_empty_but_valid_files(tmp_path: Path) -> None:
    spec = DemoSpec(wal_records=0, snapshots=2, checkpoint=True)
    summary = make_demo_datadir(tmp_path / "d", spec, ops=REAL)
    check_datadir(tmp_path / "d", spec, summary)
    assert (tmp_path / "d" / "wal" / "wal.log").read_bytes() == b""
    assert summary.documents == 0


def test_snapshot_times_follow_start(tmp_path: Path) -> None:
    start = datetime(2026, 2, 4, 10, 30)  # naive: taken as UTC
    summary = make_demo_datadir(tmp_path / "d", DemoSpec(wal_records=20, snapshots=2, start=start), ops=REAL)
    assert summary.snapshot_ids == ("20260204T113000Z", "20260204T123000Z")
    manifest = parse_snapshot_manifest(
        (tmp_path / "d" / "snapshots" / "20260204T123000Z" / "manifest.json").read_bytes()
    )
    assert manifest.created_at == start.replace(tzinfo=UTC) + timedelta(hours=2)


def test_refuses_to_write_into_existing_data(tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_bytes(b"precious")
    with pytest.raises(UsageError):
        make_demo_datadir(busy, DemoSpec.small(), ops=REAL)
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]
    assert (busy / "keep.txt").read_bytes() == b"precious"
    with pytest.raises(UsageError):
        make_demo_datadir(busy / "keep.txt", DemoSpec.small(), ops=REAL)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert make_demo_datadir(str(empty), DemoSpec.small(), ops=REAL).storage_records == 200


@pytest.mark.parametrize(
    "spec",
    [
        DemoSpec(snapshots=0, checkpoint=True),
        DemoSpec(wal_records=-1),
        DemoSpec(collections=()),
        DemoSpec(collections=("users", "users")),
        DemoSpec(collections=("a:b",)),
        DemoSpec(collections=('quo"te',)),
        DemoSpec(wal_records=4, storage_bytes=1 << 30),  # records of 256 MiB each
        DemoSpec(wal_records=1, snapshots=1, storage_bytes=10),  # no document before the snapshot
    ],
)
def test_bad_specs_are_refused_before_anything_is_written(tmp_path: Path, spec: DemoSpec) -> None:
    with pytest.raises(UsageError):
        make_demo_datadir(tmp_path / "d", spec, ops=REAL)
    assert not (tmp_path / "d").exists()


def test_presets() -> None:
    small = DemoSpec.small(seed=4)
    assert (small.seed, small.wal_records, small.snapshots) == (4, 200, 2)
    assert DemoSpec.small(checkpoint=True).checkpoint
    bench = DemoSpec.benchmark()
    assert (bench.wal_records, bench.storage_bytes) == (1_000_000, 1 << 30)
    bench.validate()


def test_the_demo_command_reports_progress_through_every_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `aeroops demo` once printed nothing for 22 s: each of its three steps reports its amount.
    import contextlib
    from collections.abc import Iterator

    from aeroops.cli.main import main
    from aeroops.progress import Progress
    from aeroops.views import progress as progress_module

    events: list[Progress] = []

    @contextlib.contextmanager
    def recording(wanted: bool = True) -> Iterator[object]:
        yield events.append

    monkeypatch.setattr(progress_module, "terminal_progress", recording)
    assert main(["demo", str(tmp_path / "demo"), "--records", "3000", "--created-at", "2026-01-02T00:00:00Z"]) == 0
    capsys.readouterr()
    assert sorted({e.step_index for e in events}) == [1, 2, 3] and {e.step_count for e in events} == {3}
    made = [e for e in events if e.step_index == 1]
    assert made[-1].unit == "records" and made[-1].done_bytes == made[-1].total_bytes == 3000
    assert any(e.step.startswith("back it up, 8/") and e.total_bytes for e in events)
    verified = [e for e in events if e.step_index == 3]
    assert verified[-1].done_bytes == verified[-1].total_bytes > 0


# --- effects through the seam ------------------------------------------------------------------


def test_the_demo_writes_through_the_file_ops_it_is_given(tmp_path: Path) -> None:
    """Every file and folder of a demo backup folder comes from an operation of ``ops`` (as the
    executor's effects do), so the fault suites reach the demo too."""
    ops = CountingOps()
    made = make_demo_backup_folder(tmp_path / "f", DemoSpec.small(), days=1, ops=ops)
    folders = sum(1 for p in (tmp_path / "f").rglob("*") if p.is_dir()) + 1  # and f itself
    files = sum(1 for p in (tmp_path / "f").rglob("*") if p.is_file())
    assert ops.calls.count("mkdir") >= folders and len(made.archives) == 2
    assert ops.calls.count("create") >= files and "copy_range" in ops.calls  # snapshots' storage.dat
    with pytest.raises(OSError, match="No space left"):
        make_demo_datadir(tmp_path / "g", DemoSpec.small(), ops=FailingOps("copy_range", errno.ENOSPC))
