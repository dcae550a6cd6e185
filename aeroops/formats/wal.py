"""AeroDB's write-ahead log, ``wal/wal.log``: framed records (see `framing`).

Record: u32 length | u8 type | u64 sequence | payload | u32 CRC-32. Sequences start at 1 and
grow by one per record (they restart at 1 after a checkpoint truncates the log).
"""

from __future__ import annotations

import enum
import importlib
import struct
from collections.abc import Callable, Iterator
from itertools import chain
from types import ModuleType
from typing import NamedTuple

from aeroops.errors import Code, FormatError
from aeroops.formats.framing import (
    MAX_RECORD_LENGTH,
    U32,
    U64,
    Buffers,
    Framing,
    Where,
    checksum_error,
    iter_frames,
    lp,
    read_lp_fields,
    seal,
    utf8,
)
from aeroops.formats.readable import Readable


def load_speedups() -> ModuleType | None:
    """The optional C twin of the hot loops (see _speedups.c); same results, faster."""
    try:
        return importlib.import_module("aeroops.formats._speedups")
    except ImportError:  # pragma: no cover - depends on the build
        return None


_speedups = load_speedups()

WAL_FRAMING = Framing("WAL", 4 + 1 + 8 + 4, Code.WAL_LENGTH, Code.WAL_CHECKSUM, Code.WAL_TORN_TAIL)
_PAYLOAD_CODE = Code.WAL_PAYLOAD


class WalType(enum.IntEnum):
    INSERT = 0
    UPDATE = 1
    DELETE = 2
    MVCC_COMMIT = 3
    MVCC_VERSION = 4
    MVCC_GC = 5


DOCUMENT_TYPES = frozenset({WalType.INSERT, WalType.UPDATE, WalType.DELETE})
_LAST_DOCUMENT_TYPE = 2
_LAST_SEQUENCE = (1 << 64) - 1
_BATCH_RECORDS = 1024  # records the C reader builds per call: bounds memory, keeps calls few
_TYPES = tuple(WalType)  # indexing beats calling the enum, once per record
_HEAD = struct.Struct("<IBQ")  # length, type, sequence


class WalRecord(NamedTuple):
    # A tuple, not a dataclass: millions are made per scan, and tuples are cheap to build.
    offset: int  # byte offset of the record in the log
    length: int  # whole record, length field and checksum included
    type: WalType
    sequence: int
    payload: bytes


class DocumentChange(NamedTuple):
    """Payload of insert, update and delete records (body is empty for delete)."""

    collection: str
    document_id: str
    schema_id: str
    schema_version: str
    body: bytes


class MvccCommit(NamedTuple):
    """A WAL record of type 3: an MVCC commit. (Payloads are tuples, as `DocumentChange` is: a
    dataclass costs every start of the command line a millisecond to define.)"""

    commit_id: int


class MvccVersion(NamedTuple):
    """A WAL record of type 4: an MVCC version of a key."""

    commit_id: int
    key: str
    tombstone: bool
    body: bytes


WalPayload = DocumentChange | MvccCommit | MvccVersion | bytes


def iter_wal(stream: Readable, *, path: object = None, first_sequence: int | None = 1) -> Iterator[WalRecord]:
    """Stream the log's records, checking framing, checksum, type and sequence continuity.

    ``first_sequence=None`` skips the sequence check. Raises `FormatError` (AERO_WAL_*) at the
    first damage, with offset and sequence, after handing out every record before it.
    """
    return chain.from_iterable(iter_wal_batches(stream, path=path, first_sequence=first_sequence))


SequenceGap = Callable[[WalRecord, int], None]  # on_gap(record, expected sequence)


def iter_wal_batches(
    stream: Readable,
    *,
    path: object = None,
    first_sequence: int | None = 1,
    on_gap: SequenceGap | None = None,
) -> Iterator[list[WalRecord]]:
    """`iter_wal`'s records, a list at a time (at most 1,024): for callers that count or check
    and need no Python-level step per record.

    on_gap: called with a record whose sequence is not the expected one, and the expected one,
    instead of raising; the continuity check goes on from that record. It is called after
    every record before it was handed out, and before the record itself is.
    """
    if _speedups is None:
        return _wal_batches_python(stream, path, first_sequence, on_gap)
    return _wal_batches_c(stream, path, first_sequence, on_gap)


def _wal_batches_python(
    stream: Readable, path: object, first_sequence: int | None, on_gap: SequenceGap | None
) -> Iterator[list[WalRecord]]:
    expected = first_sequence
    unpack_head = _HEAD.unpack_from
    batch: list[WalRecord] = []
    try:
        for offset, buf, start, end in iter_frames(stream, WAL_FRAMING, path=path):
            length, kind, sequence = unpack_head(buf, start)
            if kind > 5:
                raise _type_error(kind, path, offset, sequence)
            record = WalRecord(offset, length, _TYPES[kind], sequence, bytes(buf[start + 13 : end - 4]))
            if expected is not None:
                if sequence != expected:
                    if on_gap is None:
                        raise _sequence_error(sequence, expected, path, offset)
                    if batch:
                        yield batch
                        batch = []
                    on_gap(record, expected)
                expected = sequence + 1
            batch.append(record)
            if len(batch) == _BATCH_RECORDS:
                yield batch
                batch = []
    except FormatError:
        if batch:
            yield batch  # the records before the damage, then the error
        raise
    if batch:
        yield batch


class BatchStatus(enum.IntEnum):
    """Why `_speedups.wal_batch` stopped: the C side's enum batch_status, value for value."""

    MORE = 0  # the end of the buffer, or an incomplete record: read more
    BAD_LENGTH = 1
    BAD_CHECKSUM = 2
    BAD_TYPE = 3
    SEQUENCE_GAP = 4
    FULL = 5  # max_records built: call again


def _wal_batches_c(
    stream: Readable, path: object, first_sequence: int | None, on_gap: SequenceGap | None
) -> Iterator[list[WalRecord]]:
    """The same, with each buffer's records framed, checked and built in C."""
    assert _speedups is not None
    expected = first_sequence or 0  # 0: no sequence check (sequences start at 1)
    buffers = Buffers(stream, WAL_FRAMING, path)
    buf, pos, base = buffers.first()
    while True:
        # No u64 follows 2**64 - 1 (and C takes the expected sequence as a u64): past it, check
        # one record at a time, here.
        past_last = expected > _LAST_SEQUENCE
        records, pos, status, sequence = _speedups.wal_batch(
            buf,
            pos,
            base,
            0 if past_last else expected,
            MAX_RECORD_LENGTH,
            WalRecord,
            _TYPES,
            1 if past_last else _BATCH_RECORDS,
        )
        if past_last and records:
            if on_gap is None:
                raise _sequence_error(records[0].sequence, expected, path, records[0].offset)
            on_gap(records[0], expected)
        if records:
            yield records
            if expected:
                expected = records[-1].sequence + 1
        if status == BatchStatus.FULL:
            continue
        if status == BatchStatus.SEQUENCE_GAP and on_gap is not None:
            # The record at pos is whole and checked but for its sequence: take it alone,
            # unchecked, and go on expecting its successor.
            (gap,), pos, _, _ = _speedups.wal_batch(buf, pos, base, 0, MAX_RECORD_LENGTH, WalRecord, _TYPES, 1)
            on_gap(gap, expected)
            yield [gap]
            expected = gap.sequence + 1
            continue
        if status == BatchStatus.BAD_CHECKSUM:
            (length,) = U32.unpack_from(buf, pos)
            raise checksum_error(buf, pos, pos + length, WAL_FRAMING, path, base)
        if status == BatchStatus.BAD_TYPE:
            raise _type_error(buf[pos + 4], path, base + pos, sequence)
        if status == BatchStatus.SEQUENCE_GAP:
            raise _sequence_error(sequence, expected, path, base + pos)
        following = buffers.after(buf, pos, base)  # raises for a bad length or a torn tail
        if following is None:
            return
        buf, pos, base = following


def _type_error(kind: int, path: object, offset: int, sequence: int) -> FormatError:
    return FormatError(f"unknown record type {kind}", path=path, offset=offset, sequence=sequence, code=Code.WAL_TYPE)


def _sequence_error(sequence: int, expected: int, path: object, offset: int) -> FormatError:
    return FormatError(
        f"sequence {sequence} where {expected} was expected",
        path=path,
        offset=offset,
        sequence=sequence,
        code=Code.WAL_SEQUENCE,
    )


def _decode_payload_python(record: WalRecord, *, path: object = None) -> WalPayload:
    """Decode a record's payload (types 0–4); MVCC GC payloads are returned raw.

    Raises `FormatError` (AERO_WAL_PAYLOAD) saying what is wrong with a damaged payload."""
    if record.type <= _LAST_DOCUMENT_TYPE:  # an int comparison: hashing an enum member is slow here
        try:
            return _decode_document(record.payload, DocumentChange)
        except (struct.error, UnicodeDecodeError, ValueError):
            pass  # damaged: the careful path says exactly how
    return _decode_payload_carefully(record, path=path)


def _decode_payload_carefully(record: WalRecord, *, path: object = None) -> WalPayload:
    """Every record type, field by field, naming what is wrong: the path for MVCC records and
    for damage (the C twin of decode_payload hands it every record it does not decode itself)."""
    data, kind = record.payload, record.type
    where: Where = {"path": path, "offset": record.offset, "code": _PAYLOAD_CODE}
    if kind in DOCUMENT_TYPES:
        fields, pos = read_lp_fields(data, 0, len(data), 5, what=f"{kind.name} payload", **where)
        _expect_end(pos, data, record, path)
        collection, document_id, schema_id, schema_version = (
            utf8(raw, what=name, sequence=record.sequence, **where)
            for raw, name in zip(fields[:4], ("collection", "document id", "schema id", "schema version"), strict=True)
        )
        return DocumentChange(collection, document_id, schema_id, schema_version, fields[4])
    if kind == WalType.MVCC_COMMIT:
        if len(data) != 8:
            raise FormatError(f"MVCC commit payload is {len(data)} bytes, not 8", sequence=record.sequence, **where)
        return MvccCommit(U64.unpack_from(data)[0])
    if kind == WalType.MVCC_VERSION:
        if len(data) < 8:
            raise FormatError("MVCC version payload too short", sequence=record.sequence, **where)
        (commit_id,) = U64.unpack_from(data)
        (key_raw,), pos = read_lp_fields(data, 8, len(data), 1, what="MVCC version key", **where)
        if pos >= len(data):
            raise FormatError("MVCC version payload lacks its tombstone flag", sequence=record.sequence, **where)
        tombstone = data[pos]
        (body,), pos = read_lp_fields(data, pos + 1, len(data), 1, what="MVCC version body", **where)
        _expect_end(pos, data, record, path)
        return MvccVersion(
            commit_id, utf8(key_raw, what="MVCC key", sequence=record.sequence, **where), tombstone != 0, body
        )
    return data


def _decode_document_python(data: bytes, cls: type[DocumentChange]) -> DocumentChange:
    """The fast path for the common record: five length-prefixed fields, unrolled."""
    unpack = U32.unpack_from
    (n,) = unpack(data, 0)
    a = 4 + n
    (n,) = unpack(data, a)
    b = a + 4 + n
    (n,) = unpack(data, b)
    c = b + 4 + n
    (n,) = unpack(data, c)
    d = c + 4 + n
    (n,) = unpack(data, d)
    e = d + 4 + n
    if e != len(data):  # a slice past the end is silently short: one check at the end catches it
        raise ValueError
    return cls(
        data[4:a].decode(),
        data[a + 4 : b].decode(),
        data[b + 4 : c].decode(),
        data[c + 4 : d].decode(),
        data[d + 4 : e],
    )


_decode_document = _decode_document_python if _speedups is None else _speedups.decode_document

decode_payload: Callable[..., WalPayload]  # decode_payload(record, *, path=None): see _decode_payload_python
if _speedups is None:
    decode_payload = _decode_payload_python
else:  # clean documents decode in C; the C twin hands every other record to the Python decoder
    _speedups.bind(DocumentChange, _decode_payload_carefully)
    decode_payload = _speedups.decode_payload


def _expect_end(pos: int, data: bytes, record: WalRecord, path: object) -> None:
    if pos != len(data):
        raise FormatError(
            f"{len(data) - pos} unexpected bytes after the payload's fields",
            path=path,
            offset=record.offset,
            sequence=record.sequence,
            code=_PAYLOAD_CODE,
        )


# --- writers -------------------------------------------------------------------------------


def encode_wal_record(kind: WalType | int, sequence: int, payload: bytes) -> bytes:
    return seal(bytes([int(kind)]) + U64.pack(sequence) + payload)


def encode_document_change(change: DocumentChange) -> bytes:
    return b"".join(
        [
            lp(change.collection.encode()),
            lp(change.document_id.encode()),
            lp(change.schema_id.encode()),
            lp(change.schema_version.encode()),
            lp(change.body),
        ]
    )


def encode_mvcc_commit(commit: MvccCommit) -> bytes:
    return U64.pack(commit.commit_id)


def encode_mvcc_version(version: MvccVersion) -> bytes:
    return U64.pack(version.commit_id) + lp(version.key.encode()) + bytes([version.tombstone]) + lp(version.body)


def encode_payload(payload: WalPayload) -> bytes:
    if isinstance(payload, DocumentChange):
        return encode_document_change(payload)
    if isinstance(payload, MvccCommit):
        return encode_mvcc_commit(payload)
    if isinstance(payload, MvccVersion):
        return encode_mvcc_version(payload)
    return bytes(payload)


__all__ = [
    "DOCUMENT_TYPES",
    "U32",
    "DocumentChange",
    "MvccCommit",
    "MvccVersion",
    "WalPayload",
    "WalRecord",
    "WalType",
    "decode_payload",
    "encode_document_change",
    "encode_payload",
    "encode_wal_record",
    "iter_wal",
    "iter_wal_batches",
]
