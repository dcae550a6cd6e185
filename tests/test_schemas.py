"""Schema files and the schemas records name (aeroops.formats.schemas), C and Python alike."""

from __future__ import annotations

import pytest
from helpers.data import AERODB_FIXTURES

from aeroops.errors import FormatError
from aeroops.formats import schemas
from aeroops.formats.schemas import SchemaRef, StorageSchemaRefs, add_wal_schema_refs, parse_schema_ref
from aeroops.formats.storage import StorageRecord, encode_storage_record
from aeroops.formats.wal import iter_wal_batches

RECORDS = [
    StorageRecord(
        f"c{i % 7}:{i}", f"s{i % 5}", f"v{i % 3}", i % 11 == 0, b"x" * [0, 5, 100, 3000, 70_000, 200_000][i % 6]
    )
    for i in range(120)
]
STORAGE = b"".join(encode_storage_record(r) for r in RECORDS)
LIVE = {(r.schema_id, r.schema_version) for r in RECORDS if not r.tombstone}


@pytest.fixture(params=["c", "python"])
def implementation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "python":
        monkeypatch.setattr(schemas, "_speedups", None)
    elif schemas._speedups is None:
        pytest.skip("the C extension is not built")
    return str(request.param)


@pytest.mark.parametrize("chunk", [7, 100, 4096, 1 << 20])
def test_storage_refs_are_those_of_live_records_however_the_bytes_are_cut(implementation: str, chunk: int) -> None:
    walk = StorageSchemaRefs()
    for start in range(0, len(STORAGE), chunk):
        walk.feed(STORAGE[start : start + chunk])
    assert walk.refs == LIVE and not walk.damaged


def test_an_impossible_storage_length_stops_the_walk(implementation: str) -> None:
    walk = StorageSchemaRefs()
    walk.feed(encode_storage_record(RECORDS[1]) + b"\x03\x00\x00\x00" + bytes(40))
    assert walk.damaged and walk.refs == {("s1", "v1")}


def test_wal_refs_are_those_of_inserts_and_updates(implementation: str) -> None:
    with (AERODB_FIXTURES / "datadir-schema-after-snapshot/wal/wal.log").open("rb") as log:
        refs: set[tuple[str, str]] = set()
        for batch in iter_wal_batches(log):
            add_wal_schema_refs(batch, refs)
    assert refs == {("events", "v1"), ("orders", "v1"), ("products", "v1"), ("users", "v1")}


def test_a_schema_file_is_keyed_by_what_it_defines() -> None:
    path = AERODB_FIXTURES / "datadir-longname/metadata/schemas/schema_users_v1.json"
    assert parse_schema_ref(path.read_bytes()) == SchemaRef("users", "v1")
    for bad in (b"{", b"[]", b'{"schema_id": "u"}', b'{"schema_id": 1, "schema_version": "v1"}'):
        with pytest.raises(FormatError):
            parse_schema_ref(bad)
