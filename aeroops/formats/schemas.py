"""AeroDB's schema files, ``metadata/schemas/*.json`` and a snapshot's ``schemas/*.json``.

AeroDB's boot loads every ``*.json`` file of ``metadata/schemas/`` and keys it by the
``schema_id`` and ``schema_version`` written inside (not by the file name); every live storage
record must name a loaded pair, or boot fails with AERO_RECOVERY_SCHEMA_MISSING. AeroDB names
the files ``schema_<schema_id>_<schema_version>.json``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import NamedTuple

from aeroops.errors import Code, FormatError
from aeroops.formats.framing import U32
from aeroops.formats.manifests import load_aerodb_object
from aeroops.formats.wal import WalRecord, WalType, load_speedups

_speedups = load_speedups()  # the C twins of the two walks below (see _speedups.c); same results, faster

_CODE = Code.SCHEMA_INVALID
SCHEMA_FILE_LIMIT = 1 << 20  # AeroDB's are a few hundred bytes; more is not a schema file


class SchemaRef(NamedTuple):
    """A schema as AeroDB's schema loader keys it, and as records name it."""

    schema_id: str
    schema_version: str

    def __str__(self) -> str:
        return f"'{self.schema_id}' version '{self.schema_version}'"


def schema_file_name(ref: SchemaRef) -> str:
    """The file name AeroDB gives a schema."""
    return f"schema_{ref.schema_id}_{ref.schema_version}.json"


def is_schema_file_name(name: str) -> bool:
    """Whether AeroDB's schema loader reads a file of this name (it reads every ``*.json``)."""
    return name.endswith(".json")


def parse_schema_ref(data: bytes, *, path: object = None) -> SchemaRef:
    """The schema a schema file defines; raises `FormatError` where AeroDB's loader would fail."""
    # As strict as AeroDB's serde_json: a byte order mark, UTF-16, NaN, a repeated or
    # unencodable schema_id are refused there, so such a file defines no schema.
    value = load_aerodb_object(data, path, ("schema_id", "schema_version"), code=_CODE)
    schema_id, version = value.get("schema_id"), value.get("schema_version")
    if not isinstance(schema_id, str) or not isinstance(version, str):
        raise FormatError("schema file lacks a text schema_id and schema_version", path=path, code=_CODE)
    return SchemaRef(schema_id, version)


# --- which schemas records name, without decoding them whole -----------------------------------

_STORAGE_MIN_LENGTH = 4 + 4 + 4 + 4 + 1 + 4 + 4
_HEAD_LIMIT = 64 << 10  # of a record longer than a chunk, only this much is kept: the fields


def _fields(data: bytes | memoryview, pos: int, end: int, count: int) -> tuple[list[bytes], int] | None:
    fields = []
    for _ in range(count):
        if end - pos < 4:
            return None
        (n,) = U32.unpack_from(data, pos)
        if n > end - pos - 4:
            return None
        fields.append(bytes(data[pos + 4 : pos + 4 + n]))
        pos += 4 + n
    return fields, pos


def _add(refs: set[tuple[str, str]], schema_id: bytes, version: bytes) -> None:
    # Not text: not a schema AeroDB could load; the readers that decode it report it.
    with contextlib.suppress(UnicodeDecodeError):
        refs.add((schema_id.decode(), version.decode()))


def add_wal_schema_refs(records: Sequence[WalRecord], refs: set[tuple[str, str]]) -> None:
    """Add ``(schema_id, schema_version)`` of every insert and update record to ``refs`` (a
    delete is stored as a tombstone, which AeroDB's boot check skips). Payloads that do not
    decode are skipped: the readers that decode them report it."""
    if _speedups is not None:
        _speedups.wal_schema_refs(records if isinstance(records, list) else list(records), refs)
        return
    for record in records:
        if record.type in (WalType.INSERT, WalType.UPDATE):
            found = _fields(record.payload, 0, len(record.payload), 4)
            if found is not None:
                _add(refs, found[0][2], found[0][3])


def _storage_walk_python(buf: bytes | memoryview, pos: int, refs: set[tuple[str, str]]) -> int:
    while len(buf) - pos >= 4:
        (length,) = U32.unpack_from(buf, pos)
        if length < _STORAGE_MIN_LENGTH:
            return -1
        if length > len(buf) - pos:
            break
        found = _fields(buf, pos + 4, pos + length - 4, 3)
        if found is not None and found[1] < pos + length - 4 and buf[found[1]] == 0:
            _add(refs, found[0][1], found[0][2])
        pos += length
    return pos


def _storage_walk(buf: bytes, pos: int, refs: set[tuple[str, str]]) -> int:
    if _speedups is not None:
        end: int = _speedups.storage_schema_refs(buf, pos, refs)  # the module is loaded by name: typed here
        return end
    return _storage_walk_python(buf, pos, refs)


class StorageSchemaRefs:
    """The schemas the live records of a storage file name, from its bytes fed a chunk at a
    time (as verification streams a member). Only a record that straddles two chunks is copied,
    and of one longer than 64 KiB only its head (the fields come first). Checksums are not
    checked here: the caller checks the file's. ``damaged``: an impossible length stopped the
    walk (the refs are then those before it)."""

    def __init__(self) -> None:
        self.refs: set[tuple[str, str]] = set()
        self.damaged = False
        self._head = bytearray()  # the start of a record that continues in the next chunk
        self._skip = 0  # bytes of a long record still to come, after its head

    def feed(self, chunk: bytes) -> None:
        if self.damaged or not chunk:
            return
        start = 0
        if self._skip:
            start = min(self._skip, len(chunk))
            self._skip -= start
            if self._skip:
                return
        if self._head:
            found = self._complete(chunk, start)
            if found is None:
                return
            start = found
        pos = _storage_walk(chunk, start, self.refs)
        if pos < 0:
            self.damaged = True
        elif pos < len(chunk):
            self._head = bytearray(chunk[pos:])
            self._complete(b"", 0)

    def _complete(self, chunk: bytes, start: int) -> int | None:
        """Finish the straddling record with ``chunk``'s bytes from ``start``; where in the
        chunk the records after it start, or None when it goes on past the chunk."""
        head = self._head  # grows in place: a long record arrives in many small chunks
        if len(head) < 4:
            piece = chunk[start : start + 4 - len(head)]
            head += piece
            start += len(piece)
            if len(head) < 4:
                return None
        length: int = U32.unpack_from(head, 0)[0]
        if length < _STORAGE_MIN_LENGTH:
            self.damaged = True
            return None
        wanted = min(length, _HEAD_LIMIT)
        taken_before = len(head)
        if len(head) < wanted:
            head += chunk[start : start + wanted - len(head)]
        consumed = len(head) - taken_before  # of this chunk, from start
        if len(head) < wanted:
            return None
        record = bytes(head)
        self._head = bytearray()
        if wanted == length:
            _storage_walk(record, 0, self.refs)
        else:  # a long record: its fields are in its head
            found = _fields(record, 4, len(record), 3)
            if found is not None and found[1] < len(record) and record[found[1]] == 0:
                _add(self.refs, found[0][1], found[0][2])
        rest = length - len(record)  # bytes of the record after those held
        end = start + consumed + rest
        if end > len(chunk):
            self._skip = end - len(chunk)
            return None
        return end


__all__ = [
    "SCHEMA_FILE_LIMIT",
    "SchemaRef",
    "StorageSchemaRefs",
    "add_wal_schema_refs",
    "is_schema_file_name",
    "parse_schema_ref",
    "schema_file_name",
]
