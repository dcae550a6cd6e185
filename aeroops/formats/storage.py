"""AeroDB's document storage, ``data/documents.dat`` and a snapshot's ``storage.dat``.

Record: u32 length | lp key (``collection:document_id``) | lp schema id | lp schema version |
u8 tombstone | lp body | u32 CRC-32 (``lp`` = u32 length + bytes).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from aeroops.errors import Code, FormatError
from aeroops.formats.framing import U32, Framing, Where, iter_frames, lp, read_lp_fields, seal, utf8
from aeroops.formats.readable import Readable

STORAGE_FRAMING = Framing(
    "STORAGE", 4 + 4 + 4 + 4 + 1 + 4 + 4, Code.STORAGE_LENGTH, Code.STORAGE_CHECKSUM, Code.STORAGE_TORN_TAIL
)
_PAYLOAD_CODE = Code.STORAGE_PAYLOAD


@dataclass(frozen=True, slots=True)
class StorageRecord:
    """One record of document storage (``documents.dat``, a snapshot's ``storage.dat``)."""

    key: str  # "collection:document_id"
    schema_id: str
    schema_version: str
    tombstone: bool
    body: bytes
    offset: int = 0  # where it was read; 0 for records built in memory

    @property
    def collection(self) -> str:
        return self.key.partition(":")[0]

    @property
    def document_id(self) -> str:
        return self.key.partition(":")[2]


def iter_storage(stream: Readable, *, path: object = None) -> Iterator[StorageRecord]:
    """Stream storage records; raises `FormatError` (AERO_STORAGE_*) at the first damage."""
    for offset, buf, start, end in iter_frames(stream, STORAGE_FRAMING, path=path):
        where: Where = {"path": path, "offset": offset, "code": _PAYLOAD_CODE}
        (key, schema_id, schema_version), pos = read_lp_fields(
            buf, start + 4, end - 4, 3, what="storage record", **where
        )
        if pos >= end - 4:
            raise FormatError("storage record lacks its tombstone flag", **where)
        tombstone = buf[pos]
        (body,), pos = read_lp_fields(buf, pos + 1, end - 4, 1, what="storage record body", **where)
        if pos != end - 4:
            raise FormatError(f"{end - 4 - pos} unexpected bytes after the record's fields", **where)
        yield StorageRecord(
            utf8(key, what="document key", **where),
            utf8(schema_id, what="schema id", **where),
            utf8(schema_version, what="schema version", **where),
            tombstone != 0,
            body,
            offset,
        )


def encode_storage_record(record: StorageRecord) -> bytes:
    return seal(
        lp(record.key.encode())
        + lp(record.schema_id.encode())
        + lp(record.schema_version.encode())
        + bytes([record.tombstone])
        + lp(record.body)
    )


__all__ = ["U32", "StorageRecord", "encode_storage_record", "iter_storage"]
