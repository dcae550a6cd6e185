"""The demo data generator: every file it writes reads back with aeroops' own readers, follows
AeroDB's layout and semantics, and is a pure function of the spec."""

from __future__ import annotations

import collections
import errno
import hashlib
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
from aeroops.demo.shapes import schema_fields
from aeroops.demo.spec import render_schema
from aeroops.errors import UsageError
from aeroops.executor.fileops import REAL
from aeroops.formats.ids import parse_snapshot_id
from aeroops.formats.manifests import parse_checkpoint, parse_snapshot_manifest
from aeroops.formats.storage import StorageRecord, iter_storage
from aeroops.formats.wal import DocumentChange, WalType, decode_payload, iter_wal

FIXTURES = AERODB_FIXTURES
MiB = 1 << 20
# sha256 of DemoSpec.small(seed=9, storage_bytes=256 KiB)'s documents.dat (test_the_bytes_are_pinned)
PINNED_SMALL_DIGEST = "59388d4acb6a4ad8c05feac24c5af7e25a302069ac1290b5150cc84f9ae90517"


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


def assert_conforms(document: dict[str, object], fields: dict[str, dict[str, object]], where: str) -> None:
    """A document as AeroDB's schema validator takes it (src/schema/types.rs): every required field
    present, no field the schema lacks, each value of its field's type, nested ones too."""
    assert set(document) <= set(fields), (where, set(document) - set(fields))
    for name, definition in fields.items():
        if name in document:
            assert_of_type(document[name], definition, f"{where}.{name}")
        else:
            assert not definition["required"], (where, name)


def assert_of_type(value: object, definition: dict[str, object], where: str) -> None:
    kind = definition["type"]
    if kind == "string":
        assert isinstance(value, str), where
    elif kind == "int":
        assert isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63, where
    elif kind == "bool":
        assert isinstance(value, bool), where
    elif kind == "float":
        assert isinstance(value, float), where
    elif kind == "object":
        assert isinstance(value, dict), where
        assert_conforms(value, definition["fields"], where)  # type: ignore[arg-type]
    else:
        assert kind == "array" and isinstance(value, list), where
        for i, item in enumerate(value):
            assert_of_type(item, definition["element_type"], f"{where}[{i}]")  # type: ignore[arg-type]


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
        assert schema["fields"] == schema_fields(schema["schema_id"])

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
            fields = json.loads(schemas[f"schema_{collection}_v1.json"])["fields"]
            assert set(body) == set(fields)  # every field, each as its schema says
            assert_conforms(body, fields, record.key)
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
    assert schema["fields"]["bio"] == {"required": False, "type": "string"}  # the padding goes there
    # documents after the snapshot are padded alike: the file keeps growing at the same pace
    assert (tmp_path / "d" / "data" / "documents.dat").stat().st_size > target * 1.3


def test_storage_bytes_without_snapshots_sizes_live_storage(tmp_path: Path) -> None:
    spec = DemoSpec(wal_records=50, snapshots=0, storage_bytes=MiB)
    summary = make_demo_datadir(tmp_path / "d", spec, ops=REAL)
    check_datadir(tmp_path / "d", spec, summary)
    assert summary.snapshot_ids == ()
    assert MiB <= (tmp_path / "d" / "data" / "documents.dat").stat().st_size < MiB + 64 * 1024


def test_schema_files_are_in_aerodbs_form(tmp_path: Path) -> None:
    # The demo's schemas hold more fields than the fixtures' (its documents are richer), in the
    # bytes AeroDB writes: the renderer gives a fixture's schema back byte for byte.
    reference = FIXTURES / "datadir-1000" / "metadata" / "schemas"
    make_demo_datadir(tmp_path / "d", DemoSpec(wal_records=10), ops=REAL)
    ours = tmp_path / "d" / "metadata" / "schemas"
    assert sorted(p.name for p in ours.iterdir()) == sorted(p.name for p in reference.iterdir())
    for path in reference.iterdir():
        assert render_schema(json.loads(path.read_bytes())) == path.read_bytes()
        theirs, mine = json.loads(path.read_bytes()), json.loads((ours / path.name).read_bytes())
        assert (mine["schema_id"], mine["schema_version"]) == (theirs["schema_id"], theirs["schema_version"])
        for name, definition in theirs["fields"].items():  # the fixtures' fields, typed alike
            assert mine["fields"][name] == definition


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
    # A long demo must show it is alive: each of its three steps reports its amount.
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


# --- the entropy of real data ------------------------------------------------------------------


def live_bodies(root: Path) -> list[tuple[str, dict[str, object]]]:
    """(collection, document) of every insert and update, in order."""
    return [
        (r.key.partition(":")[0], json.loads(r.body))
        for r in read_storage(root / "data" / "documents.dat")
        if not r.tombstone
    ]


def test_documents_have_the_entropy_of_real_data(tmp_path: Path) -> None:
    # The old generator's documents compressed 28 times (zstd -3 on the benchmark's archive):
    # five short fields, padded with slices of one 64 KiB string. Real JSON stores compress 3 to 6
    # times; deflate, a little weaker than zstd, gets about 3 from these.
    spec = DemoSpec(seed=11, wal_records=3000, storage_bytes=4 * MiB)
    make_demo_datadir(tmp_path / "d", spec, ops=REAL)
    data = (tmp_path / "d" / "data" / "documents.dat").read_bytes()
    assert 2.3 < len(data) / len(zlib.compress(data, 6)) < 5
    bodies = live_bodies(tmp_path / "d")
    users = [b for c, b in bodies if c == "users"]
    orders = [b for c, b in bodies if c == "orders"]
    products = [b for c, b in bodies if c == "products"]
    assert len(users) > 500 and len(orders) > 500 and len(products) > 500
    # people: names, addresses and e-mail addresses from real-looking lists, mostly distinct
    ids = {u["_id"] for u in users}
    assert len({u["email"] for u in users}) > 0.9 * len(ids)
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+\d*@[a-z.]+\.[a-z]+", u["email"]) for u in users)  # type: ignore[arg-type]
    assert len({u["address"]["city"] for u in users}) > 30  # type: ignore[index]
    assert len({u["password_hash"] for u in users}) == len(ids)  # a salt and hash each
    # amounts spread over orders of magnitude; prices are floats with cents
    totals = sorted(o["value"] for o in orders)  # type: ignore[type-var]
    assert totals[-1] > 100 * totals[0] > 0
    assert all(o["total"] == o["value"] / 100 for o in orders)  # type: ignore[operator]
    assert any(len(o["items"]) > 1 for o in orders)  # type: ignore[arg-type]
    # timestamps follow the simulated clock
    for o in orders:
        placed = datetime.strptime(o["placed_at"], "%Y-%m-%dT%H:%M:%S.%f%z")  # type: ignore[arg-type]
        assert spec.start.replace(tzinfo=UTC) <= placed < spec.start.replace(tzinfo=UTC) + timedelta(hours=4)
    # free text: Zipf-distributed words, the lengths varied (the padding sizes them here)
    words = collections.Counter(w.strip(".,") for p in products for w in p["description"].split())  # type: ignore[attr-defined]
    ranked = [n for _, n in words.most_common()]
    assert len(ranked) > 1000 and ranked[0] > 20 * ranked[100] > 0
    sizes = sorted(len(p["description"]) for p in products)  # type: ignore[arg-type]
    assert sizes[len(sizes) // 10] * 2 < sizes[-len(sizes) // 10]


def test_unpadded_text_varies_from_nothing_to_large(tmp_path: Path) -> None:
    make_demo_datadir(tmp_path / "d", DemoSpec(seed=2, wal_records=6000), ops=REAL)
    texts = [b.get("bio", b.get("note", b.get("description"))) for _, b in live_bodies(tmp_path / "d")]
    lengths = sorted(len(t) for t in texts)  # type: ignore[arg-type]
    assert lengths[0] == 0 and lengths[-1] > 4096 and 100 < lengths[len(lengths) // 2] < 2000


def test_updates_keep_a_documents_identity_and_orders_name_real_documents(tmp_path: Path) -> None:
    make_demo_datadir(tmp_path / "d", DemoSpec(seed=4, wal_records=3000), ops=REAL)
    versions: dict[str, list[dict[str, object]]] = collections.defaultdict(list)
    skus: set[object] = set()
    for collection, body in live_bodies(tmp_path / "d"):
        versions[str(body["_id"])].append(body)
        if collection == "products":
            skus.add(body["sku"])
        if collection == "orders" and skus and any(v.startswith("users-") for v in versions):
            # written once a user and a product exist, it names existing ones
            assert str(body["customer"]) in versions
            assert {item["sku"] for item in body["items"]} <= skus  # type: ignore[attr-defined]
    fixed = {"users": ("name", "email", "created_at", "address"), "orders": ("customer", "items", "placed_at")}
    fixed["products"] = ("sku", "name", "price", "image")
    updated = 0
    for document_id, bodies in versions.items():
        for field in fixed[document_id.rpartition("-")[0]]:
            assert len({json.dumps(b[field]) for b in bodies}) == 1, (document_id, field)
        revs = [b["rev"] for b in bodies]
        assert revs == sorted(revs)
        updated += len(bodies) > 1
    assert updated > 200


def test_the_bytes_are_pinned() -> None:
    # Same seed, same bytes, on any machine and any day: a change here changes every demo, every
    # benchmark figure and every test that counts its documents; make it on purpose.
    from aeroops.demo.documents import Documents, padded_before, storage_chunk

    spec = DemoSpec.small(seed=9, storage_bytes=256 * 1024)
    documents = Documents(spec, padded_before(spec))
    data = b""
    while documents.done < spec.wal_records:
        data += storage_chunk(documents.batch(spec.wal_records - documents.done))
    assert hashlib.sha256(data).hexdigest() == PINNED_SMALL_DIGEST
