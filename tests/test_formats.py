"""Formats: AeroDB's own files read and re-encode byte for byte; damage is reported precisely."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path

import pytest
from helpers.data import AERODB_FIXTURES

from aeroops.errors import FormatError, UsageError
from aeroops.executor.clock import default_created_at
from aeroops.formats.checksum import format_crc_tag, parse_crc_tag
from aeroops.formats.ids import (
    format_snapshot_id,
    format_timestamp,
    parse_snapshot_id,
    parse_timestamp,
    parse_user_time,
)
from aeroops.formats.manifests import (
    BackupManifest,
    parse_backup_manifest,
    parse_checkpoint,
    parse_snapshot_manifest,
    render_backup_manifest,
    render_checkpoint,
    render_snapshot_manifest,
)
from aeroops.formats.storage import StorageRecord, encode_storage_record, iter_storage
from aeroops.formats.tar import END_OF_ARCHIVE, NAME_KEPT, EntryType, TarReader, member_header, padding
from aeroops.formats.wal import (
    DocumentChange,
    MvccCommit,
    MvccVersion,
    WalType,
    decode_payload,
    encode_payload,
    encode_wal_record,
    iter_wal,
)

WALS = sorted(AERODB_FIXTURES.glob("*/wal/wal.log"))
STORAGES = sorted(AERODB_FIXTURES.glob("*/data/documents.dat")) + sorted(
    AERODB_FIXTURES.glob("*/snapshots/*/storage.dat")
)
MANIFESTS = sorted(AERODB_FIXTURES.glob("*/snapshots/*/manifest.json"))


@pytest.mark.parametrize("path", WALS, ids=lambda p: p.parent.parent.name)
def test_every_aerodb_wal_reads_decodes_and_reencodes_byte_for_byte(path: Path) -> None:
    raw = path.read_bytes()
    records = list(iter_wal(io.BytesIO(raw), path=path))
    assert [r.sequence for r in records] == list(range(1, len(records) + 1))
    rebuilt = b""
    for record in records:
        payload = decode_payload(record)
        assert isinstance(payload, DocumentChange)
        assert encode_payload(payload) == record.payload
        rebuilt += encode_wal_record(record.type, record.sequence, encode_payload(payload))
    assert rebuilt == raw


@pytest.mark.parametrize("path", STORAGES, ids=lambda p: "/".join(p.parts[-3:]))
def test_every_aerodb_storage_file_reads_and_reencodes_byte_for_byte(path: Path) -> None:
    raw = path.read_bytes()
    records = list(iter_storage(io.BytesIO(raw), path=path))
    assert records and all(r.key == f"{r.collection}:{r.document_id}" for r in records)
    assert all(r.body == b"" for r in records if r.tombstone)
    assert b"".join(encode_storage_record(r) for r in records) == raw


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.parent.name)
def test_every_aerodb_snapshot_manifest_parses_and_matches_its_files(path: Path) -> None:
    manifest = parse_snapshot_manifest(path.read_bytes(), path=path)
    assert manifest.snapshot_id == path.parent.name
    assert zlib.crc32((path.parent / "storage.dat").read_bytes()) == manifest.storage_checksum
    for name, crc in manifest.schema_checksums:
        assert zlib.crc32((path.parent / "schemas" / name).read_bytes()) == crc
    # AeroDB writes the schema map in no fixed order; we write it sorted. Same JSON value.
    import json

    assert json.loads(render_snapshot_manifest(manifest)) == json.loads(path.read_bytes())


def test_backup_manifest_and_checkpoint_render_exactly_as_aerodb_writes_them() -> None:
    with (AERODB_FIXTURES / "backup-1000.tar").open("rb") as stream:
        reader = TarReader(stream)
        next(iter(reader))
        raw = reader.read_all(4096)
    assert render_backup_manifest(parse_backup_manifest(raw)) == raw
    checkpoint = (AERODB_FIXTURES / "datadir-checkpoint/checkpoint.json").read_bytes()
    assert render_checkpoint(parse_checkpoint(checkpoint)) == checkpoint


# --- WAL damage ------------------------------------------------------------------------------


def wal(*records: bytes) -> io.BytesIO:
    return io.BytesIO(b"".join(records))


def change(i: int, kind: WalType = WalType.INSERT) -> bytes:
    body = b"" if kind is WalType.DELETE else b'{"_id":"d%d"}' % i
    return encode_wal_record(kind, i, encode_payload(DocumentChange("users", f"d{i}", "users", "v1", body)))


def damage(stream: io.BytesIO, **kw: object) -> FormatError:
    with pytest.raises(FormatError) as caught:
        list(iter_wal(stream, path="wal.log", **kw))  # type: ignore[arg-type]
    return caught.value


def test_wal_checksum_damage_names_offset() -> None:
    second = bytearray(change(2))
    second[20] ^= 0x40
    error = damage(wal(change(1), bytes(second)))
    assert (error.code, error.offset, error.path) == ("AERO_WAL_CHECKSUM", len(change(1)), "wal.log")


def test_wal_torn_tail_is_corruption_at_every_cut() -> None:
    whole = change(1) + change(2)
    for cut in range(len(change(1)) + 1, len(whole)):
        error = damage(io.BytesIO(whole[:cut]))
        assert error.code == "AERO_WAL_TORN_TAIL" and error.offset == len(change(1))


def test_wal_impossible_length_type_and_sequence() -> None:
    short = struct.pack("<I", 5) + b"\x00" * 20
    assert damage(wal(change(1), short)).code == "AERO_WAL_LENGTH"
    bad_type = encode_wal_record(9, 2, b"")
    error = damage(wal(change(1), bad_type))
    assert (error.code, error.sequence) == ("AERO_WAL_TYPE", 2)
    error = damage(wal(change(1), change(3)))
    assert (error.code, error.sequence) == ("AERO_WAL_SEQUENCE", 3)
    assert "2 was expected" in error.message
    assert damage(wal(change(2))).code == "AERO_WAL_SEQUENCE"  # must start at 1
    assert len(list(iter_wal(wal(change(2), change(3)), first_sequence=2))) == 2
    assert len(list(iter_wal(wal(change(1), change(1)), first_sequence=None))) == 2


def test_wal_payload_damage_bad_utf8_and_overlong_field() -> None:
    payload = encode_payload(DocumentChange("users", "d1", "users", "v1", b"{}")).replace(b"users", b"us\xffrs", 1)
    record = next(iter_wal(wal(encode_wal_record(WalType.INSERT, 1, payload))))
    with pytest.raises(FormatError) as caught:
        decode_payload(record, path="w")
    assert caught.value.code == "AERO_WAL_PAYLOAD" and "collection is not valid UTF-8" in caught.value.message
    record = next(iter_wal(wal(encode_wal_record(WalType.UPDATE, 1, struct.pack("<I", 999) + b"abc"))))
    with pytest.raises(FormatError, match="runs past the record"):
        decode_payload(record)


def test_mvcc_payloads_round_trip() -> None:
    for payload in (MvccCommit(7), MvccVersion(7, "users:d1", True, b""), MvccVersion(8, "k", False, b"{}")):
        kind = WalType.MVCC_COMMIT if isinstance(payload, MvccCommit) else WalType.MVCC_VERSION
        record = next(iter_wal(wal(encode_wal_record(kind, 1, encode_payload(payload)))))
        assert decode_payload(record) == payload
    gc = next(iter_wal(wal(encode_wal_record(WalType.MVCC_GC, 1, b"\x01\x02"))))
    assert decode_payload(gc) == b"\x01\x02"


def test_wal_reader_streams_in_bounded_memory() -> None:
    class CountingStream(io.BytesIO):
        largest = 0

        def read(self, n: int | None = -1) -> bytes:
            data = super().read(n)
            CountingStream.largest = max(CountingStream.largest, len(data))
            return data

    stream = CountingStream(b"".join(change(i) for i in range(1, 40_001)))  # ~2.6 MB
    assert sum(1 for _ in iter_wal(stream)) == 40_000
    assert CountingStream.largest <= 1 << 20


def test_records_straddling_chunks_read_exactly_as_written() -> None:
    """Readers walk chunks in place and copy only a record that straddles two chunks; check
    every way one can straddle (length field cut, body cut, a record longer than a chunk) on
    both readers, against the records as they were encoded."""
    from aeroops.formats import framing
    from aeroops.formats import wal as wal_module

    sizes = [30, 1000, (1 << 20) + 12_345, 5, 3 << 20, 17, 70_000] * 3
    payloads = [bytes([i % 251]) * n for i, n in enumerate(sizes)]
    log = b"".join(encode_wal_record(WalType.MVCC_GC, i + 1, p) for i, p in enumerate(payloads))

    class Cuts(io.BytesIO):
        """Reads that end 0-4 bytes into a record's length field, or anywhere else."""

        def __init__(self, data: bytes, step: int) -> None:
            super().__init__(data)
            self._step = step

        def read(self, n: int | None = -1) -> bytes:
            return super().read(min(n if n is not None and n >= 0 else 1 << 30, self._step))

    def readers_of(batches: Callable[..., Iterator[list[wal_module.WalRecord]]]) -> Callable[..., Iterator[object]]:
        return lambda stream, path, first: chain.from_iterable(batches(stream, path, first, None))

    readers = [readers_of(wal_module._wal_batches_python), readers_of(wal_module._wal_batches_c)]
    offsets = []
    at = 0
    for p in payloads:
        offsets.append(at)
        at += len(p) + 17
    for step in (framing.READ_CHUNK, 1001, 4096 + 1, 65_537, 1 << 21):
        for read in readers:
            records = list(read(Cuts(log, step), "w", 1))
            assert [r.payload for r in records] == payloads, step
            assert [r.offset for r in records] == offsets
        for cut in (len(log) - 3, offsets[3] + 2, offsets[4] + 100):
            for read in readers:
                with pytest.raises(FormatError) as raised:
                    list(read(Cuts(log[:cut], step), "w", 1))
                assert raised.value.code == "AERO_WAL_TORN_TAIL"
                assert raised.value.offset == max(o for o in offsets if o < cut)


# --- storage damage ----------------------------------------------------------------------------


def test_storage_damage_is_reported_with_its_offset() -> None:
    one = encode_storage_record(StorageRecord("users:d1", "users", "v1", False, b"{}"))
    two = bytearray(encode_storage_record(StorageRecord("users:d2", "users", "v1", True, b"")))
    assert [r.offset for r in iter_storage(io.BytesIO(one + bytes(two)))] == [0, len(one)]
    two[10] ^= 1
    with pytest.raises(FormatError) as caught:
        list(iter_storage(io.BytesIO(one + bytes(two)), path="s"))
    assert (caught.value.code, caught.value.offset) == ("AERO_STORAGE_CHECKSUM", len(one))
    with pytest.raises(FormatError) as caught:
        list(iter_storage(io.BytesIO(one[:-3])))
    assert caught.value.code == "AERO_STORAGE_TORN_TAIL"


# --- manifests, ids, tags ----------------------------------------------------------------------

GOOD_SNAPSHOT_MANIFEST = (AERODB_FIXTURES / "datadir-1000/snapshots/20261126T214824Z/manifest.json").read_text()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{}", "'snapshot_id' is missing"),
        ("[]", "expected a JSON object"),
        ("{", "not valid JSON"),
        (GOOD_SNAPSHOT_MANIFEST.replace('"crc32:e6bf1eff"', '"e6bf1eff"'), "crc32:<8 hex digits>"),
        (
            GOOD_SNAPSHOT_MANIFEST.replace('"format_version": 1', '"format_version": "1"'),
            "'format_version' has the wrong",
        ),
        (
            GOOD_SNAPSHOT_MANIFEST.replace('"format_version": 1', '"format_version": true'),
            "'format_version' has the wrong",
        ),
        (GOOD_SNAPSHOT_MANIFEST.replace("2026-11-26T21:48:24Z", "yesterday"), "not a timestamp"),
        (
            GOOD_SNAPSHOT_MANIFEST.replace('"snapshot_id": "20261126T214824Z"', '"snapshot_id": "../x"'),
            "not a snapshot id",
        ),
        (GOOD_SNAPSHOT_MANIFEST.replace("schema_users_v1.json", "../../etc/passwd"), "not a plain file name"),
    ],
)
def test_snapshot_manifest_errors_say_which_field(text: str, words: str) -> None:
    with pytest.raises(FormatError) as caught:
        parse_snapshot_manifest(text, path="m.json")
    assert caught.value.code == "AERO_MANIFEST_INVALID" and words in caught.value.message


def test_format_version_2_carries_the_commit_boundary() -> None:
    text = GOOD_SNAPSHOT_MANIFEST.replace('"format_version": 1', '"format_version": 2,\n  "commit_boundary": 42')
    manifest = parse_snapshot_manifest(text)
    assert (manifest.format_version, manifest.commit_boundary) == (2, 42)
    assert parse_snapshot_manifest(render_snapshot_manifest(manifest)) == manifest


def test_crc_tags_ids_and_times() -> None:
    assert format_crc_tag(0xDEADBEEF) == "crc32:deadbeef"
    assert parse_crc_tag("crc32:DEADBEEF") == 0xDEADBEEF
    for bad in ("crc32:dead", "md5:deadbeef", 7, "crc32:deadbeefx"):
        with pytest.raises(FormatError):
            parse_crc_tag(bad)
    moment = datetime(2026, 2, 4, 11, 30, tzinfo=UTC)
    assert format_snapshot_id(moment) == "20260204T113000Z" and parse_snapshot_id("20260204T113000Z") == moment
    assert format_timestamp(moment) == "2026-02-04T11:30:00Z" and parse_timestamp("2026-02-04T11:30:00Z") == moment
    for bad in ("20261332T000000Z", "2026-02-04T11:30:00", "20260204T113000"):
        with pytest.raises(FormatError):
            parse_snapshot_id(bad)
    assert parse_user_time("2026-02-04T12:30:00+01:00") == datetime(2026, 2, 4, 11, 30, tzinfo=UTC)
    assert parse_user_time("2026-02-04T11:30:00Z") == moment
    assert default_created_at({"SOURCE_DATE_EPOCH": "0"}) == datetime(1970, 1, 1, tzinfo=UTC)
    with pytest.raises(UsageError):
        default_created_at({"SOURCE_DATE_EPOCH": "soon"})
    assert default_created_at({}).tzinfo == UTC and default_created_at({}).microsecond == 0  # now
    assert BackupManifest("20260204T113000Z", moment, "20260204T113000Z", True).format_version == 1


# --- tar ---------------------------------------------------------------------------------------


def test_header_writer_matches_aerodbs_header_bytes_but_the_time() -> None:
    raw = (AERODB_FIXTURES / "backup-1000.tar").read_bytes()
    with io.BytesIO(raw) as stream:
        entries = list(TarReader(stream))
    for entry in entries:
        theirs = raw[entry.header_offset : entry.header_offset + 512]
        ours = member_header(entry.name, entry.size, directory=entry.type is EntryType.DIRECTORY, mtime=entry.mtime)
        assert ours == theirs, entry.name


def test_long_names_and_huge_sizes_round_trip() -> None:
    name = "snapshot/schemas/" + "x" * 150 + ".json"
    data = b"hello"
    huge = member_header("big", 9 << 30)  # over 8 GiB: GNU base-256 size field
    archive = member_header(name, len(data)) + data + padding(len(data)) + END_OF_ARCHIVE
    reader = TarReader(io.BytesIO(archive))
    entry = next(iter(reader))
    assert entry.name == name and b"".join(reader.chunks()) == data
    big = next(iter(TarReader(io.BytesIO(huge + bytes(512)))))
    assert big.size == 9 << 30


def test_tar_reader_rejects_a_damaged_header_checksum_and_truncation() -> None:
    archive = bytearray(member_header("a", 3) + b"abc" + padding(3) + END_OF_ARCHIVE)
    archive[0] = ord("b")
    with pytest.raises(FormatError) as caught:
        list(TarReader(io.BytesIO(bytes(archive))))
    assert caught.value.code == "AERO_TAR_CHECKSUM"
    good = member_header("a", 3) + b"abc" + padding(3) + END_OF_ARCHIVE
    for cut in (100, 512, 515, 1024, 1500, len(good) - 1):
        with pytest.raises(FormatError) as caught:
            reader = TarReader(io.BytesIO(good[:cut]))
            for _ in reader:
                b"".join(reader.chunks())
        assert caught.value.code == "AERO_TAR_TRUNCATED"


def test_a_long_name_is_kept_to_its_first_4_kib_with_its_length() -> None:
    name = "snapshot/schemas/" + "é" * 30_000  # 60,017 bytes
    data = member_header(name, 1) + b"x" + padding(1) + END_OF_ARCHIVE
    (entry,) = TarReader(io.BytesIO(data))
    assert entry.name_bytes == len(name.encode()) and len(entry.name.encode("utf-8", "surrogateescape")) == NAME_KEPT
    assert name.encode().startswith(entry.name.encode("utf-8", "surrogateescape"))
    short = member_header("snapshot/schemas/" + "n" * 200, 0) + END_OF_ARCHIVE
    assert next(iter(TarReader(io.BytesIO(short)))).name_bytes is None  # kept whole
