"""The logical state (DESIGN.md §8): storage then WAL, last write wins, as digests; and diff."""

from __future__ import annotations

import tracemalloc
import zlib

import pytest
from helpers.data import AERODB_FIXTURES

from aeroops.core.logical import DocumentDigest, LogicalStateBuilder, diff, digest, logical_state
from aeroops.errors import FormatError
from aeroops.formats.storage import StorageRecord, iter_storage
from aeroops.formats.wal import (
    DocumentChange,
    MvccCommit,
    WalRecord,
    WalType,
    encode_document_change,
    encode_mvcc_commit,
    iter_wal,
)


def put(key: str, body: bytes, *, tombstone: bool = False) -> StorageRecord:
    return StorageRecord(key, key.partition(":")[0], "v1", tombstone, b"" if tombstone else body)


def wal(sequence: int, kind: WalType, collection: str, document_id: str, body: bytes = b"") -> WalRecord:
    payload = encode_document_change(DocumentChange(collection, document_id, collection, "v1", body))
    return WalRecord(0, 17 + len(payload), kind, sequence, payload)


def docs(state: object) -> dict[tuple[str, str], bytes | DocumentDigest]:
    return {(c, d): doc for c, d, doc in state.iter_documents()}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("storage", "log", "expected"),
    [
        ([], [], {}),
        ([put("u:1", b"a"), put("u:1", b"bb")], [], {("u", "1"): b"bb"}),  # last storage record wins
        ([put("u:1", b"a"), put("u:1", b"", tombstone=True)], [], {}),  # a tombstone removes
        ([put("u:1", b"", tombstone=True), put("u:1", b"c")], [], {("u", "1"): b"c"}),  # ...until rewritten
        ([put("u:1", b"a")], [wal(1, WalType.UPDATE, "u", "1", b"new")], {("u", "1"): b"new"}),
        ([put("u:1", b"a")], [wal(1, WalType.DELETE, "u", "1")], {}),
        ([], [wal(1, WalType.INSERT, "o", "9", b"x"), wal(2, WalType.DELETE, "o", "9")], {}),
        (
            [put("u:1", b"a")],
            [wal(1, WalType.DELETE, "u", "1"), wal(2, WalType.INSERT, "u", "1", b"back")],
            {("u", "1"): b"back"},
        ),
        ([put("u:1", b"a"), put("o:1", b"b")], [], {("o", "1"): b"b", ("u", "1"): b"a"}),  # keys per collection
    ],
)
def test_replay_rules(
    storage: list[StorageRecord], log: list[WalRecord], expected: dict[tuple[str, str], bytes]
) -> None:
    state = logical_state(storage, log)
    assert docs(state) == {
        key: DocumentDigest(len(body), zlib.crc32(body), key[0], "v1") for key, body in expected.items()
    }
    assert len(state) == len(expected)


def test_the_wal_applies_after_storage_whatever_order_records_arrive_in() -> None:
    builder = LogicalStateBuilder()
    builder.add_wal(wal(1, WalType.UPDATE, "u", "1", b"from wal"))
    builder.add_storage(put("u:1", b"from storage"))
    builder.add_storage(put("u:2", b"kept"))
    assert docs(builder.build()) == {("u", "1"): digest(b"from wal", "u", "v1"), ("u", "2"): digest(b"kept", "u", "v1")}


def test_mvcc_records_are_counted_and_ignored() -> None:
    commit = WalRecord(0, 25, WalType.MVCC_COMMIT, 2, encode_mvcc_commit(MvccCommit(7)))
    state = logical_state([put("u:1", b"a")], [wal(1, WalType.INSERT, "u", "2", b"b"), commit])
    assert len(state) == 2 and state.mvcc_records_ignored == 1


def test_a_payload_that_does_not_decode_raises() -> None:
    broken = WalRecord(0, 20, WalType.INSERT, 1, b"\xff\xff\xff\xff")
    with pytest.raises(FormatError) as raised:
        logical_state([], [broken])
    assert raised.value.code == "AERO_WAL_PAYLOAD"


def test_state_is_read_only_and_queryable() -> None:
    state = logical_state([put("u:1", b"abc")], [])
    assert state.get("u", "1") == DocumentDigest(3, zlib.crc32(b"abc"), "u", "v1")
    assert state.get("u", "2") is None and state.get("x", "1") is None
    assert state.collections == ("u",)
    with pytest.raises(TypeError):
        state.documents["u"]["2"] = DocumentDigest(0, 0)  # type: ignore[index]


def test_diff_names_added_removed_and_changed_documents() -> None:
    a = logical_state([put("u:1", b"a"), put("u:2", b"b"), put("o:1", b"c")], [])
    b = logical_state([put("u:1", b"a"), put("u:2", b"B"), put("o:2", b"d")], [])
    difference = diff(a, b)
    assert difference.added == (("o", "2"),)
    assert difference.removed == (("o", "1"),)
    assert difference.changed == (("u", "2"),)
    assert not difference.identical and difference.summary() == "1 added, 1 removed, 1 changed"
    assert diff(a, a).identical and diff(a, a).summary() == "identical"


@pytest.mark.parametrize("datadir", ["datadir-1000", "datadir-3snap", "datadir-checkpoint"])
def test_snapshot_plus_wal_holds_what_aerodb_live_storage_holds(datadir: str) -> None:
    """AeroDB's own data: its newest snapshot replayed with its WAL gives exactly the documents
    its live storage file holds (the WAL is idempotent over the snapshot, §8)."""
    root = AERODB_FIXTURES / datadir
    snapshot = max((root / "snapshots").iterdir())
    with (root / "data/documents.dat").open("rb") as live_file:
        live = logical_state(iter_storage(live_file), [])
    with (snapshot / "storage.dat").open("rb") as storage, (root / "wal/wal.log").open("rb") as log:
        replayed = logical_state(iter_storage(storage), iter_wal(log))
    assert diff(live, replayed).identical
    assert len(live) > 0


def test_deleting_what_storage_never_held_keeps_no_tombstone() -> None:
    """A WAL of deletes of documents that never existed must not cost memory per key."""
    builder = LogicalStateBuilder()
    builder.add_storage(put("u:1", b"kept"))
    tracemalloc.start()
    for sequence in range(1, 20_001):
        builder.add_wal(wal(sequence, WalType.DELETE, "ghosts", f"never-{sequence}"))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 256 << 10  # a tombstone each would be megabytes
    state = builder.build()
    assert list(docs(state)) == [("u", "1")] and state.complete


def test_a_delete_before_storage_still_removes_what_storage_brings_later() -> None:
    builder = LogicalStateBuilder()
    builder.add_wal(wal(1, WalType.DELETE, "u", "1"))
    builder.add_storage(put("u:1", b"deleted by the wal"))
    builder.add_storage(put("u:2", b"kept"))
    state = builder.build()
    assert list(docs(state)) == [("u", "2")] and state.complete
