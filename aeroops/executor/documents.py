"""The documents of an archive or a data directory (read-only), streamed with bounded memory.

Two passes over the source, both through the readers verify and drill use: the first is the
logical state of DESIGN.md §8 (`aeroops.core.logical`, digests only) with the place of each live
document's winning record; the second hands out the body of exactly those records. Memory
follows the number of documents (a key and a few numbers each), never their bytes.

An archive is verified on the first pass; damage that makes its records untrustworthy (tar,
storage or WAL damage, a storage checksum that does not match) refuses with that finding,
while findings that leave the documents readable (a missing schema, no sidecar) do not.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from aeroops.core.documents import Document
from aeroops.core.logical import LogicalState, LogicalStateBuilder, place
from aeroops.core.verify_report import VerifyReport
from aeroops.errors import Category, Code, Finding, FormatError, Severity, UsageError, most_severe_first
from aeroops.executor.fileops import REAL, FileOps
from aeroops.formats.layout import STORAGE
from aeroops.formats.storage import StorageRecord
from aeroops.formats.wal import DOCUMENT_TYPES, DocumentChange, WalRecord, WalType, decode_payload
from aeroops.progress import Progress, ProgressCallback, no_progress

ARCHIVE, DATADIR = "archive", "data directory"
READ_STEPS = ("read the keys", "read the documents")
BATCH_DOCUMENTS = 1024  # documents handed from the reading thread at a time
BATCH_BYTES = 8 << 20  # or this many body bytes
QUEUED_BATCHES = 4

# Findings that leave an archive's documents readable: about schemas, manifests' form and times,
# the sidecar. Any other ERROR or FATAL finding refuses.
_HARMLESS = frozenset(
    {
        Code.VERIFY_SCHEMA_MISSING,
        Code.VERIFY_SCHEMA_UNLISTED,
        Code.VERIFY_SIDECAR,
        Code.VERIFY_CREATED_AT,
        Code.VERIFY_MANIFEST_FORM,
        Code.SCHEMA_INVALID,
    }
)


@dataclass(frozen=True, slots=True)
class SourceState:
    """A source's logical state, with the archive's verify report (None for a data directory)."""

    source: str
    kind: str  # ARCHIVE or DATADIR
    state: LogicalState
    report: VerifyReport | None = None


def source_kind(source: str | os.PathLike[str]) -> str:
    """ARCHIVE for a file, DATADIR for a folder; `UsageError` for anything else."""
    path = Path(source)
    if path.is_dir():
        return DATADIR
    if path.is_file():
        return ARCHIVE
    what = "does not exist" if not path.exists() and not path.is_symlink() else "is neither an archive nor a folder"
    raise UsageError(f"the source {what}", path=path)


def damage(report: VerifyReport) -> Finding | None:
    """The worst finding that makes an archive's documents untrustworthy, or None."""
    for finding in most_severe_first(report.findings):
        if finding.severity in (Severity.ERROR, Severity.FATAL) and finding.code not in _HARMLESS:
            if finding.code is Code.VERIFY_MISSING_MEMBER and STORAGE not in finding.message:
                continue  # a schema file the manifest lists: the documents are all there
            if finding.code.category is Category.MANIFEST or finding.code is Code.VERIFY_MANIFEST:
                continue
            return finding
    return None


def read_state(
    source: str | os.PathLike[str],
    *,
    places: bool = False,
    progress: ProgressCallback = no_progress,
    ops: FileOps = REAL,
) -> SourceState:
    """The logical state of an archive (verified on the way) or a data directory."""
    kind = source_kind(source)
    if kind == DATADIR:
        from aeroops.executor.drill import datadir_logical_state

        try:
            state = datadir_logical_state(Path(source), places=places, ops=ops, progress=progress)
        except FileNotFoundError as error:
            raise UsageError(
                f"not an AeroDB data directory: {Path(str(error.filename)).name} is missing", path=source
            ) from None
        except OSError as error:
            raise UsageError(f"cannot read the data directory: {error.strerror or error}", path=source) from None
        return SourceState(str(source), kind, state)
    from aeroops.executor.audit import stream_archive

    builder = LogicalStateBuilder(places=places)

    def on_wal(record: WalRecord) -> None:
        builder.add_wal(record)  # a payload that does not decode: a finding (refused below)

    report = stream_archive(source, wal_sink=on_wal, storage_sink=builder.add_storage, progress=progress, ops=ops)
    found = damage(report)
    if found is not None:
        where = f" ({found.where()})" if found.where() else ""
        raise FormatError(
            f"the archive's documents cannot be read: {found.message}{where}", path=source, code=found.code
        )
    return SourceState(str(source), kind, builder.build(), report)


def iter_documents(
    source: str | os.PathLike[str],
    *,
    collections: Iterable[str] | None = None,
    keys: Iterable[tuple[str, str]] | None = None,
    progress: ProgressCallback = no_progress,
    ops: FileOps = REAL,
) -> Iterator[Document]:
    """Every live document of ``source`` (an archive, or a data directory: read only), as
    AeroDB's boot would list them, in the order the source holds them; only those of
    ``collections`` and of ``keys`` (``(collection, key)`` pairs) when given.

    Raises `UsageError` for a source that is not one, `FormatError` for a damaged one."""
    first = _step(progress, 0)
    known = read_state(source, places=True, progress=first, ops=ops)
    yield from documents_of(known, collections=collections, keys=keys, progress=_step(progress, 1), ops=ops)


def documents_of(
    known: SourceState,
    *,
    collections: Iterable[str] | None = None,
    keys: Iterable[tuple[str, str]] | None = None,
    progress: ProgressCallback = no_progress,
    ops: FileOps = REAL,
) -> Iterator[Document]:
    """`iter_documents`' second pass, over a source whose state (with places) is known."""
    wanted = _wanted(known.state, collections, keys)
    expected = len(wanted)
    handed = 0
    for document in _second_pass(known, wanted, progress, ops):
        handed += 1
        yield document
    if handed != expected:
        raise FormatError(
            f"the {known.kind} changed while it was read: {expected:,} documents were expected, {handed:,} found",
            path=known.source,
        )


def _wanted(
    state: LogicalState, collections: Iterable[str] | None, keys: Iterable[tuple[str, str]] | None
) -> dict[int, tuple[str, str]]:
    """Place → (collection, key) of the documents to hand out."""
    chosen = None if collections is None else set(collections)
    if keys is not None:
        return {state.places[k]: k for k in set(keys) if k in state.places and (chosen is None or k[0] in chosen)}
    return {where: k for k, where in state.places.items() if chosen is None or k[0] in chosen}


def _step(progress: ProgressCallback, index: int) -> ProgressCallback:
    step = READ_STEPS[index]

    def report(event: Progress) -> None:
        progress(Progress("documents", step, index + 1, len(READ_STEPS), event.done_bytes, event.total_bytes))

    return report


class _Picker:
    """Counts records as the first pass did and keeps those whose place is wanted."""

    def __init__(self, wanted: dict[int, tuple[str, str]], emit: Callable[[Document], None]) -> None:
        self._wanted = wanted
        self._emit = emit
        self._storage = 0
        self._wal = 0

    def storage(self, record: StorageRecord) -> None:
        where = place(self._storage, wal=False)
        self._storage += 1
        key = self._wanted.get(where)
        if key is not None and key == (record.collection, record.document_id) and not record.tombstone:
            self._emit(Document(key[0], key[1], record.schema_id, record.schema_version, record.body))

    def wal(self, record: WalRecord) -> None:
        where = place(self._wal, wal=True)
        self._wal += 1
        key = self._wanted.get(where)
        if key is None or record.type not in DOCUMENT_TYPES or record.type == WalType.DELETE:
            return
        change = decode_payload(record)
        if isinstance(change, DocumentChange) and key == (change.collection, change.document_id):
            self._emit(Document(key[0], key[1], change.schema_id, change.schema_version, change.body))


def _second_pass(
    known: SourceState, wanted: dict[int, tuple[str, str]], progress: ProgressCallback, ops: FileOps
) -> Iterator[Document]:
    if not wanted:
        return iter(())
    if known.kind == DATADIR:
        return _datadir_documents(known.source, wanted, progress, ops)
    return _archive_documents(known.source, wanted, progress, ops)


def _datadir_documents(
    source: str, wanted: dict[int, tuple[str, str]], progress: ProgressCallback, ops: FileOps
) -> Iterator[Document]:
    from aeroops.executor.drill import read_datadir_records

    def read(emit: Callable[[Document], None]) -> None:
        picker = _Picker(wanted, emit)
        read_datadir_records(source, picker.wal, picker.storage, ops=ops, progress=progress)

    return _pushed(read)


def _archive_documents(
    source: str, wanted: dict[int, tuple[str, str]], progress: ProgressCallback, ops: FileOps
) -> Iterator[Document]:
    from aeroops.executor.audit import stream_archive

    def read(emit: Callable[[Document], None]) -> None:
        picker = _Picker(wanted, emit)
        stream_archive(source, wal_sink=picker.wal, storage_sink=picker.storage, progress=progress, ops=ops)

    return _pushed(read)


class _Stopped(BaseException):
    """Raised inside the reading thread once the consumer has gone (BaseException: the readers
    turn a FormatError from a sink into a finding, and must not swallow this)."""


def _pushed(read: Callable[[Callable[[Document], None]], None]) -> Iterator[Document]:
    """The documents a push-style reader hands to its callback, as an iterator: the reader runs
    in a thread, a few batches ahead at most (bounded memory); closing the iterator stops it."""
    batches: queue.Queue[list[Document] | BaseException | None] = queue.Queue(QUEUED_BATCHES)
    stop = threading.Event()
    batch: list[Document] = []
    size = 0

    def put(item: list[Document] | BaseException | None) -> None:
        while True:
            if stop.is_set():
                raise _Stopped
            try:
                batches.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def emit(document: Document) -> None:
        nonlocal batch, size
        batch.append(document)
        size += len(document.body)
        if len(batch) >= BATCH_DOCUMENTS or size >= BATCH_BYTES:
            put(batch)
            batch, size = [], 0

    def run() -> None:
        try:
            read(emit)
            if batch:
                put(batch)
            put(None)
        except _Stopped:
            return
        except BaseException as error:  # handed to the consumer, raised there
            try:
                put(error)
            except _Stopped:
                return

    thread = threading.Thread(target=run, name="aeroops-documents", daemon=True)
    thread.start()
    try:
        while True:
            item = batches.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        stop.set()
        thread.join()


__all__ = [
    "ARCHIVE",
    "DATADIR",
    "SourceState",
    "damage",
    "documents_of",
    "iter_documents",
    "read_state",
    "source_kind",
]
