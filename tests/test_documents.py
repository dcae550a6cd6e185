"""Documents of archives and data directories (issue 24): AeroDB's boot listings are the ground
truth (fixtures' aerodb-boot/), every export read back, diffs that find exactly what was planted,
a document's history, and bodies no parser expects."""

from __future__ import annotations

import base64
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from helpers.cli import run_main
from helpers.data import AERODB_FIXTURES, copy_fixture

from aeroops.core.documents import CLASH_PREFIX, boot_listing_line
from aeroops.errors import AeroError, Code, FormatError, UsageError
from aeroops.executor.backup import run_backup
from aeroops.executor.documents import diff, export, history, iter_documents
from aeroops.executor.fileops import REAL
from aeroops.formats.storage import StorageRecord, encode_storage_record
from aeroops.formats.wal import DocumentChange, WalType, encode_document_change, encode_wal_record, iter_wal
from aeroops.views.documents import document_chunks, documents

BOOT = AERODB_FIXTURES / "aerodb-boot"
DATADIRS = sorted(p.stem for p in BOOT.glob("*.jsonl"))
ARCHIVES = {
    "datadir-1000": "backup-1000.tar",
    "datadir-3snap": "backup-3snap.tar",
    "datadir-nowal": "backup-nowal.tar",
    "datadir-schema-after-snapshot": "backup-schema-after-snapshot.tar",
}
SOURCES = [*(BOOT.parent / d for d in DATADIRS), *(BOOT.parent / a for a in ARCHIVES.values())]
T0 = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


def listing(datadir: str) -> list[bytes]:
    """AeroDB's boot listing of a fixture data directory: its lines, sorted."""
    return sorted((BOOT / f"{datadir}.jsonl").read_bytes().splitlines())


def boot_of(source: Path) -> str:
    return next((d for d, a in ARCHIVES.items() if a == source.name), source.name)


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_documents_are_what_aerodb_boot_lists_byte_for_byte(source: Path) -> None:
    found = sorted(boot_listing_line(d) for d in iter_documents(source, ops=REAL))
    assert found == listing(boot_of(source))


@pytest.mark.parametrize("source", SOURCES[:2], ids=lambda p: p.name)
def test_the_dataframe_holds_every_document_with_its_fields_and_raw_body(source: Path) -> None:
    frame = documents(source, raw=True, ops=REAL)
    expected = {json.loads(line)["key"]: json.loads(line) for line in listing(boot_of(source))}
    assert len(frame) == len(expected)
    for row in frame.itertuples(index=False):
        want = expected[f"{row.collection}:{row.key}"]
        assert row.body == want["body"].encode()
        assert (row.schema, row.version) == (want["schema_id"], want["schema_version"])
        body = json.loads(want["body"])
        assert (row.name, row.value, row.active, row.rev) == (body["name"], body["value"], body["active"], body["rev"])
    assert str(frame["value"].dtype) == "Int64" and str(frame["active"].dtype) == "boolean"
    assert (frame["note"] == "").all()


def test_a_collection_and_columns_narrow_the_frame() -> None:
    source = AERODB_FIXTURES / "backup-3snap.tar"
    frame = documents(source, "orders", columns=["value"], ops=REAL)
    assert list(frame.columns) == ["collection", "key", "schema", "version", "note", "value"]
    assert set(frame["collection"]) == {"orders"}
    assert len(frame) == sum(1 for line in listing("datadir-3snap") if json.loads(line)["key"].startswith("orders:"))


def test_chunks_stream_every_document_once() -> None:
    source = AERODB_FIXTURES / "backup-1000.tar"
    chunks = list(document_chunks(source, rows=100, ops=REAL))
    assert [len(c) for c in chunks] == [100, 100, 100, 100, 43]
    keys = pd.concat(chunks)["collection"] + ":" + pd.concat(chunks)["key"]
    assert sorted(keys) == sorted(json.loads(line)["key"] for line in listing("datadir-1000"))


def test_leaving_a_chunk_iterator_early_stops_its_reading_thread() -> None:
    import threading

    chunks = document_chunks(AERODB_FIXTURES / "backup-1000.tar", rows=10, ops=REAL)
    next(chunks)
    chunks.close()  # type: ignore[attr-defined]
    assert not [t for t in threading.enumerate() if t.name == "aeroops-documents"]


# --- export -----------------------------------------------------------------------------------


@pytest.mark.parametrize("source", [AERODB_FIXTURES / "backup-1000.tar", AERODB_FIXTURES / "datadir-checkpoint"])
def test_jsonl_export_is_aerodbs_boot_listing(source: Path, tmp_path: Path) -> None:
    result = export(source, tmp_path / "out.jsonl", ops=REAL)
    lines = (tmp_path / "out.jsonl").read_bytes().splitlines()
    assert sorted(lines) == listing(boot_of(source))
    assert result.documents == len(lines) and result.format == "jsonl"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]  # no temporary file left


FIXTURE_FIELDS = ["_id", "active", "name", "rev", "value"]  # the fixtures' bodies, flattened


def test_parquet_export_reads_back_in_pyarrow_and_pandas(tmp_path: Path) -> None:
    source = AERODB_FIXTURES / "backup-3snap.tar"
    export(source, tmp_path / "out.parquet", collections=["orders", "users"], ops=REAL)
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column_names == ["collection", "key", "schema", "version", "body", "note", *FIXTURE_FIELDS]
    frame = pd.read_parquet(tmp_path / "out.parquet")
    expected = [json.loads(line) for line in listing("datadir-3snap")]
    expected = [e for e in expected if e["key"].split(":")[0] in ("orders", "users")]
    got = sorted(zip(frame["collection"] + ":" + frame["key"], frame["body"], strict=True))
    assert got == sorted((e["key"], e["body"].encode()) for e in expected)
    assert table.num_rows == len(expected)


def test_csv_export_reads_back_in_pandas(tmp_path: Path) -> None:
    export(AERODB_FIXTURES / "datadir-nowal", tmp_path / "out.csv", ops=REAL)
    frame = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    expected = sorted((e["key"], e["body"]) for e in map(json.loads, listing("datadir-nowal")))
    assert sorted(zip(frame["collection"] + ":" + frame["key"], frame["body"], strict=True)) == expected


def test_an_export_that_fails_leaves_the_old_file_and_no_temporary_one(tmp_path: Path) -> None:
    archive = copy_fixture("backup-1000.tar", tmp_path / "a.tar")
    data = bytearray(archive.read_bytes())
    data[data.index(b'{"_id"') + 2] ^= 0xFF  # a body byte of the storage: its record's CRC fails
    archive.write_bytes(bytes(data))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x.jsonl").write_bytes(b"old")
    with pytest.raises(FormatError) as raised:
        export(archive, tmp_path / "out" / "x.jsonl", ops=REAL)
    assert "documents cannot be read" in raised.value.message
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["x.jsonl"]
    assert (tmp_path / "out" / "x.jsonl").read_bytes() == b"old"


def test_export_cli_writes_and_refuses_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "export", str(AERODB_FIXTURES / "backup-nowal.tar"), "-o", str(tmp_path / "o.csv"))
    assert code == 0 and "101 documents" in out
    code, _, err = run_main(capsys, "export", str(tmp_path / "missing.tar"), "-o", str(tmp_path / "x.parquet"))
    assert code == 2 and err.strip().splitlines() == [err.strip()] and "AERO_USAGE" in err
    code, _, err = run_main(
        capsys, "export", str(AERODB_FIXTURES / "backup-nowal.tar"), "-o", str(tmp_path / "no" / "x.parquet")
    )
    assert code == 2 and "AERO_USAGE" in err


@pytest.mark.parametrize("source", [AERODB_FIXTURES / "backup-1000.tar", AERODB_FIXTURES / "datadir-1000"])
def test_export_of_a_collection_the_source_lacks_is_refused_naming_those_it_has(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not an empty file that looks like an export: one coded line, and nothing written."""
    out = tmp_path / "out.jsonl"
    args = ("export", str(source), "-o", str(out), "--collection", "orders", "--collection", "ordres", "--no-progress")
    code, stdout, stderr = run_main(capsys, *args)
    assert code == 2 and stdout == "" and stderr.strip().splitlines() == [stderr.strip()]
    assert stderr.startswith("[ERROR] AERO_USAGE: ") and "'ordres'" in stderr and "orders, products, users" in stderr
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(UsageError, match="no document in collection 'nowhere'"):
        export(source, out, collections=["nowhere"], ops=REAL)
    assert list(tmp_path.iterdir()) == []
    assert export(source, out, collections=["orders"], ops=REAL).collections[0][0] == "orders"


# --- diff -------------------------------------------------------------------------------------


def boot_documents(datadir: str) -> dict[str, tuple[str, str, str]]:
    return {d["key"]: (d["schema_id"], d["schema_version"], d["body"]) for d in map(json.loads, listing(datadir))}


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("datadir-1000", "backup-3snap.tar"),
        ("backup-nowal.tar", "datadir-checkpoint"),
        ("datadir-3snap", "datadir-3snap"),
    ],
)
def test_a_diff_of_two_fixtures_is_the_set_difference_of_their_boot_listings(a: str, b: str) -> None:
    result = diff(AERODB_FIXTURES / a, AERODB_FIXTURES / b, ops=REAL)
    old, new = boot_documents(boot_of(Path(a))), boot_documents(boot_of(Path(b)))
    by_change = {
        change: {f"{d.collection}:{d.key}" for d in result.deltas if d.change == change}
        for change in ("added", "removed", "changed")
    }
    assert by_change["added"] == new.keys() - old.keys()
    assert by_change["removed"] == old.keys() - new.keys()
    assert by_change["changed"] == {k for k in old.keys() & new.keys() if old[k] != new[k]}
    assert result.counts()["unchanged"] == len({k for k in old.keys() & new.keys() if old[k] == new[k]})
    assert result.identical == (old == new)


def _append_wal(data_dir: Path, changes: list[tuple[WalType, DocumentChange]]) -> None:
    wal = data_dir / "wal/wal.log"
    with wal.open("rb") as stream:
        last = max((r.sequence for r in iter_wal(stream)), default=0)
    with wal.open("ab") as stream:
        for sequence, (kind, change) in enumerate(changes, start=last + 1):
            stream.write(encode_wal_record(kind, sequence, encode_document_change(change)))


def _planted(tmp_path: Path) -> tuple[Path, Path]:
    a = copy_fixture("datadir-1000", tmp_path / "a")
    b = tmp_path / "b"
    shutil.copytree(a, b)
    old = boot_documents("datadir-1000")
    body = json.loads(old["orders:orders-000001"][2])
    _append_wal(
        b,
        [
            (
                WalType.UPDATE,
                DocumentChange(
                    "orders", "orders-000001", "orders", "v1", json.dumps({**body, "value": 1, "note": "x"}).encode()
                ),
            ),
            (WalType.DELETE, DocumentChange("users", "users-000001", "users", "v1", b"")),
            (
                WalType.INSERT,
                DocumentChange("products", "products-999999", "products", "v1", b'{"_id":"products-999999"}'),
            ),
            (
                WalType.UPDATE,
                DocumentChange("orders", "orders-000009", "orders", "v1", old["orders:orders-000009"][2].encode()),
            ),
        ],
    )
    return a, b


def test_a_diff_finds_exactly_the_planted_changes_with_their_fields(tmp_path: Path) -> None:
    a, b = _planted(tmp_path)
    result = diff(a, b, ops=REAL)
    assert [(d.collection, d.key, d.change) for d in result.deltas] == [
        ("orders", "orders-000001", "changed"),
        ("products", "products-999999", "added"),
        ("users", "users-000001", "removed"),
    ]
    changed = result.deltas[0]
    body = json.loads(boot_documents("datadir-1000")["orders:orders-000001"][2])
    assert [(f.field, f.old, f.new) for f in changed.fields] == [("note", None, "x"), ("value", body["value"], 1)]
    orders = next(c for c in result.collections if c.collection == "orders")
    assert (orders.added, orders.removed, orders.changed) == (0, 0, 1)
    assert orders.unchanged == sum(1 for k in boot_documents("datadir-1000") if k.startswith("orders:")) - 1


def test_diff_cli_exits_0_when_identical_and_1_when_not(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = _planted(tmp_path)
    code, out, _ = run_main(capsys, "diff", str(a), str(a))
    assert code == 0 and out.startswith("0 added, 0 removed, 0 changed")
    code, out, _ = run_main(capsys, "diff", str(a), str(b), "--format", "json")
    assert code == 1 and json.loads(out)["counts"]["changed"] == 1
    code, out, _ = run_main(capsys, "diff", str(a), str(b), "--format", "csv")
    rows = pd.read_csv(__import__("io").StringIO(out), dtype=str)
    assert code == 1 and set(rows["change"]) == {"added", "removed", "changed"}
    code, out, _ = run_main(capsys, "diff", str(a), str(b))
    assert code == 1 and "orders-000001" in out and "products-999999" in out


# --- history ----------------------------------------------------------------------------------


def test_history_follows_a_document_through_a_folder_of_backups(tmp_path: Path) -> None:
    a, b = _planted(tmp_path)
    folder = tmp_path / "backups"
    folder.mkdir()
    run_backup(a, folder / "1.tar", created_at=T0, ops=REAL)
    run_backup(b, folder / "2.tar", created_at=T0.replace(hour=13), ops=REAL)
    shutil.copy(folder / "2.tar", folder / "3.tar")  # a third, with nothing changed
    run_backup(b, folder / "3.tar", created_at=T0.replace(hour=14), overwrite=True, ops=REAL)
    entries = history(folder, "orders:orders-000001", ops=REAL)
    assert [(e.archive, e.event) for e in entries] == [
        ("1.tar", "first seen"),
        ("2.tar", "changed"),
        ("3.tar", "unchanged"),
    ]
    assert [f.field for f in entries[1].fields] == ["note", "value"]
    assert entries[0].body == boot_documents("datadir-1000")["orders:orders-000001"][2].encode()
    gone = history(folder, "users-000001", collection="users", ops=REAL)
    assert [e.event for e in gone] == ["first seen", "deleted", "absent"]
    new = history(folder, "products:products-999999", ops=REAL)
    assert [e.event for e in new] == ["absent", "first seen", "unchanged"]
    with pytest.raises(UsageError):
        history(folder, "no-collection-here", ops=REAL)


def test_history_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    shutil.copy(AERODB_FIXTURES / "backup-1000.tar", folder / "a.tar")
    code, out, _ = run_main(capsys, "history", str(folder), "orders:orders-000001", "--format", "json")
    assert code == 0
    (entry,) = json.loads(out)
    assert entry["event"] == "first seen"
    assert entry["body"] == boot_documents("datadir-1000")["orders:orders-000001"][2]


# --- hostile bodies ---------------------------------------------------------------------------

HOSTILE = {
    "not-json": b"{this is not json",
    "not-utf8": b'{"name":"\xff\xfe"}',
    "duplicate": b'{"a":1,"a":2}',
    "huge": b'{"blob":"' + b"x" * (10 << 20) + b'"}',
    "clash": b'{"collection":"fake","key":"fake","body":1,"name":"n"}',
    "wide": json.dumps({f"f{i}": i for i in range(10_000)}).encode(),
    "deep": b'{"a":' * 40 + b"1" + b"}" * 40,
    "very-deep": b"[" * 100_000 + b"]" * 100_000,
    "array": b"[1,2,3]",
    "empty": b"",
}


def _hostile_datadir(tmp_path: Path) -> Path:
    data_dir = copy_fixture("datadir-checkpoint", tmp_path / "hostile")
    with (data_dir / "data/documents.dat").open("ab") as stream:
        for name, body in HOSTILE.items():
            stream.write(encode_storage_record(StorageRecord(f"orders:{name}", "orders", "v1", False, body)))
    return data_dir


def test_hostile_bodies_get_a_note_each_and_stay_whole(tmp_path: Path) -> None:
    data_dir = _hostile_datadir(tmp_path)
    frame = documents(data_dir, "orders", raw=True, ops=REAL).set_index("key")
    for name, body in HOSTILE.items():
        assert frame.loc[name, "body"] == body
    notes = frame["note"]
    assert "not JSON" in notes["not-json"] and "not UTF-8" in notes["not-utf8"]
    assert "repeated field 'a'" in notes["duplicate"] and frame.loc["duplicate", "a"] == 2
    assert "not expanded" in notes["huge"]
    assert frame.loc["clash", CLASH_PREFIX + "collection"] == "fake" and frame.loc["clash", "collection"] == "orders"
    assert frame.loc["clash", CLASH_PREFIX + "key"] == "fake" and notes["clash"] == ""
    assert "10,000" not in notes["wide"] and "9,000 field(s)" in notes["wide"]
    assert "nested deeper than 32" in notes["deep"]
    assert "not JSON" in notes["very-deep"]
    assert "JSON array" in notes["array"] and "not JSON" in notes["empty"]
    assert len(frame.columns) < 1100  # the wide body's fields past the first 1,000 are not columns


def test_hostile_bodies_export_byte_for_byte(tmp_path: Path) -> None:
    data_dir = _hostile_datadir(tmp_path)
    export(data_dir, tmp_path / "h.jsonl", collections=["orders"], ops=REAL)
    exported = {}
    for line in (tmp_path / "h.jsonl").read_bytes().splitlines():
        record = json.loads(line)
        body = record["body"].encode() if "body" in record else base64.b64decode(record["body_base64"])
        exported[record["key"].split(":", 1)[1]] = body
    for name, body in HOSTILE.items():
        assert exported[name] == body
    export(data_dir, tmp_path / "h.parquet", collections=["orders"], ops=REAL)
    table = pq.read_table(tmp_path / "h.parquet").to_pandas().set_index("key")
    assert table.loc["not-utf8", "body"] == HOSTILE["not-utf8"]
    assert "not JSON" in table.loc["not-json", "note"]


def test_an_export_never_replaces_its_source_nor_writes_into_a_data_directory(tmp_path: Path) -> None:
    archive = copy_fixture("backup-nowal.tar", tmp_path / "a.tar")
    before = archive.read_bytes()
    with pytest.raises(UsageError, match="the source itself"):
        export(archive, archive, format="jsonl", ops=REAL)
    assert archive.read_bytes() == before
    data_dir = copy_fixture("datadir-nowal", tmp_path / "d")
    with pytest.raises(UsageError, match="inside the data directory"):
        export(data_dir, data_dir / "x.jsonl", ops=REAL)
    assert not (data_dir / "x.jsonl").exists()


def test_history_names_a_damaged_archive_and_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    shutil.copy(AERODB_FIXTURES / "backup-1000.tar", folder / "a.tar")
    data = bytearray((AERODB_FIXTURES / "backup-1000.tar").read_bytes())
    data[data.index(b'{"_id"') + 2] ^= 0xFF
    (folder / "b.tar").write_bytes(bytes(data))
    entries = history(folder, "orders:orders-000001", ops=REAL)
    assert [(e.archive, e.event) for e in entries] == [("a.tar", "first seen"), ("b.tar", "unreadable")]
    assert "checksum" in entries[1].note


# --- the Explore panel ------------------------------------------------------------------------


def test_the_explore_panel_does_what_the_plain_functions_do(tmp_path: Path) -> None:
    from aeroops.demo import make_demo_nightly_folder
    from aeroops.panels import ExplorePanel

    folder, archives = make_demo_nightly_folder(tmp_path, ops=REAL)
    panel = ExplorePanel(folder)
    assert panel.archives == [a.name for a in archives] and panel.error is None
    frame = panel.show_documents(archives[0].name, "users")
    assert frame is not None and panel.error is None
    assert frame.equals(documents(archives[0], "users", ops=REAL))
    active = panel.filter("active", "true")
    assert active is not None and len(active) == int(frame["active"].sum()) and 0 < len(active) < len(frame)
    one = frame["key"].iloc[0]
    panel.filter("", "")  # the field filter off: the key search alone
    assert list(panel.search(one)["key"]) == [k for k in frame["key"] if one in k]
    changes = panel.diff(archives[0].name, archives[2].name)
    assert changes == diff(archives[0], archives[2], ops=REAL) and not changes.identical
    assert panel.diff_chart.value[:4] == b"\x89PNG"
    key = f"{changes.deltas[0].collection}:{changes.deltas[0].key}"
    assert panel.history(key) == history(folder, key, ops=REAL)
    panel.folder_input.value = str(tmp_path / "nowhere")
    assert panel.error is not None and "does not exist" in str(panel.error)
    assert panel.filter("no-such-field", "x") is None and "no field" in str(panel.error)


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_one_document_found_in_one_pass_is_the_one_boot_lists(source: Path) -> None:
    from aeroops.executor.documents import find_document

    listed = boot_documents(boot_of(source))
    for aerodb_key in sorted(listed)[:: max(1, len(listed) // 7)]:
        found = find_document(source, tuple(aerodb_key.split(":", 1)), ops=REAL)  # type: ignore[arg-type]
        assert found is not None and boot_listing_line(found) == next(
            line for line in listing(boot_of(source)) if json.loads(line)["key"] == aerodb_key
        )
    for missing in ("orders:orders-999999", "nowhere:x"):
        assert find_document(source, tuple(missing.split(":", 1)), ops=REAL) is None  # type: ignore[arg-type]


# --- compressed and encrypted archives (issue 22's layers) --------------------------------------


def test_documents_of_compressed_and_encrypted_archives(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pyrage

    identity = pyrage.x25519.Identity.generate()
    key_file = tmp_path / "key.txt"
    key_file.write_text(f"{identity}\n")
    key_file.chmod(0o600)
    data = copy_fixture("datadir-1000", tmp_path / "data")
    (tmp_path / "z").mkdir()
    (tmp_path / "a").mkdir()
    zstd = Path(run_backup(data, tmp_path / "z", created_at=T0, compress="zstd", ops=REAL).archive)
    aged = Path(
        run_backup(data, tmp_path / "a", created_at=T0, encrypt_to=[str(identity.to_public())], ops=REAL).archive
    )
    assert sorted(boot_listing_line(d) for d in iter_documents(zstd, ops=REAL)) == listing("datadir-1000")
    with pytest.raises(AeroError) as refused:
        list(iter_documents(aged, identities=(), ops=REAL))
    assert refused.value.code is Code.AGE_NO_IDENTITY
    found = sorted(boot_listing_line(d) for d in iter_documents(aged, identities=[key_file], ops=REAL))
    assert found == listing("datadir-1000")
    code, out, err = run_main(
        capsys, "export", str(aged), "-o", str(tmp_path / "a.jsonl"), "--identity", str(key_file), "--no-progress"
    )
    assert code == 0 and sorted((tmp_path / "a.jsonl").read_bytes().splitlines()) == listing("datadir-1000")
    secret = str(identity)
    assert secret not in out + err and secret.removeprefix("AGE-SECRET-KEY-1") not in out + err
    code, out, err = run_main(capsys, "diff", str(zstd), str(aged), "--identity", str(key_file), "--no-progress")
    assert code == 0 and secret not in out + err


def test_export_into_object_storage_is_refused_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The output is a local file (documents read from a bucket: tests/test_s3_documents.py): a
    URL as output is one coded line naming it whole, before any reading; nothing written."""
    source = copy_fixture("datadir-1000", tmp_path / "data")
    code, stdout, stderr = run_main(capsys, "export", str(source), "-o", "s3://backups/p/out.jsonl", "--no-progress")
    assert code == 2 and stdout == ""
    assert stderr.startswith("[ERROR] AERO_USAGE: export writes a local file") and "s3://backups/p/out.jsonl" in stderr
    assert "Traceback" not in stderr and sorted(p.name for p in tmp_path.iterdir()) == ["data"]
