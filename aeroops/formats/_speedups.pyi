# The C extension's interface (aeroops/formats/_speedups.c), for the type checker.
from collections.abc import Callable
from typing import Any

def wal_batch(
    buf: bytes | bytearray,
    pos: int,
    base: int,
    expected: int,
    max_length: int,
    record_cls: type[tuple[Any, ...]],
    types: tuple[Any, ...],
    max_records: int,
) -> tuple[list[Any], int, int, int]: ...
def wal_tally(
    buf: bytes | bytearray,
    pos: int,
    expected: int,
    max_length: int,
    refs: set[Any] | None,
    until: int,
) -> tuple[int, int, int, int, int, int]: ...
def decode_document(payload: bytes, cls: type[Any]) -> Any: ...
def decode_payload(record: Any, *, path: object = None) -> Any: ...
def wal_schema_refs(records: list[Any], refs: set[Any]) -> None: ...
def storage_schema_refs(buf: bytes | bytearray, pos: int, refs: set[Any]) -> int: ...
def crc32(data: bytes | bytearray | memoryview, value: int = 0, /) -> int: ...
def keep_freed_memory(trim: int, mmap: int, /) -> bool: ...
def bind(document_cls: type[Any], python_decoder: Callable[..., Any]) -> None: ...

crc_path: str  # which CRC-32 the WAL loop checks records with

# Documents (issue 24, _speedups_documents.h): the live documents' index and their second pass.
def doc_index_new() -> object: ...
def doc_index_feed(
    index: object, buf: bytes | bytearray, pos: int, wal: bool, check_crc: bool, /
) -> tuple[int, int]: ...
def doc_index_winners(index: object, collections: set[str] | None, /) -> tuple[bytes, bytes, dict[str, int]]: ...
def doc_pick(
    buf: bytes | bytearray,
    pos: int,
    ordinal: int,
    wanted: bytes,
    index: int,
    wal: bool,
    cls: type[Any],
    max_docs: int,
    /,
) -> tuple[list[Any], int, int, int, int]: ...
def doc_match(
    buf: bytes | bytearray, pos: int, wal: bool, collection: bytes, id: bytes, check_crc: bool, cls: type[Any], /
) -> tuple[int, int, list[tuple[bool, Any]]]: ...
def doc_index_wal(
    index: object,
    buf: bytes | bytearray,
    pos: int,
    expected: int,
    upto: int,
    index_them: bool,
    crc_upto: int,
    crc: int,
    check_crc: bool,
    /,
) -> tuple[int, int, int, int]: ...

# Documents' body fields as typed columns (issue 24, _speedups_fields.h): a reading fed bodies a
# list at a time (without the interpreter's lock for plain ones), then finished once.
def fields_new(wanted: list[str] | None, /) -> object: ...
def fields_feed(
    reading: object, bodies: list[bytes], careful: Callable[[int, bytes], list[tuple[str, int, Any, str | None]]], /
) -> None: ...
def fields_finish(reading: object, /) -> list[tuple[str, int, bytearray, bytearray, Any]]: ...
