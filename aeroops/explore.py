"""Looking inside backups: the plain functions behind ``aeroops export``, ``diff``, ``history``
and the Explore panel (also ``aeroops.documents``, ``aeroops.diff``, ``aeroops.history``).

A source is an archive file or a data directory (only read). Documents are what AeroDB's boot
would list: the snapshot's storage, then the WAL replayed (DESIGN.md §8).
"""

from __future__ import annotations

import base64
import csv
import io
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

from aeroops.core.documents import (
    ADDED,
    CHANGED,
    REMOVED,
    UNREADABLE,
    DiffResult,
    Document,
    DocumentDelta,
    FieldChange,
    HistoryEntry,
    boot_listing_line,
    changed_fields,
    collection_deltas,
    history_event,
    split_key,
)
from aeroops.core.logical import diff as logical_diff
from aeroops.errors import AeroError, OutputError, UsageError, io_error
from aeroops.executor.documents import documents_of, iter_documents, read_state
from aeroops.executor.fileops import REAL, FileOps, logged_cleanup
from aeroops.progress import Progress, ProgressCallback, no_progress, within_step

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("parquet", "jsonl", "csv")
FIELDS_COMPARED = 100_000  # changed documents whose fields a diff compares; past these, counted
PARQUET_ROW_GROUP = 16_384  # documents per row group


def documents(
    source: str | os.PathLike[str],
    collection: str | Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    *,
    raw: bool = False,
    progress: ProgressCallback = no_progress,
    ops: FileOps = REAL,
) -> pd.DataFrame:
    """The live documents of ``source`` as one DataFrame (`aeroops.views.documents`): one row
    per document, its body's fields as columns. ``collection``: one or several; ``columns``:
    only these fields; ``raw``: add ``body``, the bytes as stored. For a source larger than
    memory, iterate `document_chunks` instead."""
    from aeroops.views.documents import document_frame

    found = iter_documents(source, collections=_collections(collection), progress=progress, ops=ops)
    return document_frame(found, columns=columns, raw=raw)


def document_chunks(
    source: str | os.PathLike[str],
    collection: str | Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    *,
    raw: bool = False,
    rows: int | None = None,
    progress: ProgressCallback = no_progress,
    ops: FileOps = REAL,
) -> Iterator[pd.DataFrame]:
    """`documents` as an iterator of DataFrames of at most ``rows`` rows (default 50,000) or
    64 MiB of bodies: memory stays bounded whatever the source's size."""
    from aeroops.views.documents import CHUNK_DOCUMENTS, document_frames

    found = iter_documents(source, collections=_collections(collection), progress=progress, ops=ops)
    return document_frames(found, columns=columns, raw=raw, rows=rows or CHUNK_DOCUMENTS)


def _collections(collection: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if collection is None:
        return None
    return (collection,) if isinstance(collection, str) else tuple(collection)


# --- export ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What `export` wrote."""

    source: str
    output: str
    format: str
    documents: int
    bytes: int  # of the file written
    collections: tuple[tuple[str, int], ...]  # documents per collection

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "output": self.output,
            "format": self.format,
            "documents": self.documents,
            "bytes": self.bytes,
            "collections": dict(self.collections),
        }


def export(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    collections: Sequence[str] | None = None,
    format: str | None = None,
    progress: ProgressCallback = no_progress,
    ops: FileOps = REAL,
) -> ExportResult:
    """Write the documents of ``source`` to ``output``, whole or not at all: a temporary file
    beside it, fsynced, renamed over it. ``format``: parquet, jsonl or csv (default: from the
    output's suffix, else parquet). JSON Lines are AeroDB's boot listing (``key``,
    ``schema_id``, ``schema_version``, ``body`` as JSON text: the body byte for byte), a body
    that is not UTF-8 as ``body_base64``; Parquet and CSV hold ``collection``, ``key``,
    ``schema``, ``version``, ``body`` (Parquet: the bytes) and ``note``."""
    target = Path(output)
    chosen = format or _format_of(target)
    if chosen not in FORMATS:
        raise UsageError(f"format {chosen!r} is not one of {', '.join(FORMATS)}")
    if not target.parent.is_dir():
        raise UsageError("the output's folder does not exist", path=target.parent)
    if target.is_dir():
        raise UsageError("the output is a folder: name a file", path=target)
    _refuse_writing_into(Path(source), target)
    found = iter_documents(source, collections=collections, progress=progress, ops=ops)
    tmp = target.parent / f".{target.name}.aeroops-export-{os.getpid()}"
    counts: dict[str, int] = {}

    def counted(docs: Iterable[Document]) -> Iterator[Document]:
        for document in docs:
            counts[document.collection] = counts.get(document.collection, 0) + 1
            yield document

    try:
        with ops.create(tmp, 0o600) as stream:
            sink = _SeamWriter(ops, stream)
            {"parquet": _write_parquet, "jsonl": _write_jsonl, "csv": _write_csv}[chosen](counted(found), sink)
            ops.fsync(stream)
        ops.rename(tmp, target)
        ops.fsync_path(target.parent)
    except OSError as error:
        with logged_cleanup("removing the unfinished export", tmp):
            if tmp.exists():
                ops.remove(tmp)
        raise io_error(OutputError, error, "writing the export") from None
    except BaseException:
        with logged_cleanup("removing the unfinished export", tmp):
            if tmp.exists():
                ops.remove(tmp)
        raise
    return ExportResult(
        str(source), str(target), chosen, sum(counts.values()), ops.stat(target).st_size, tuple(sorted(counts.items()))
    )


def _refuse_writing_into(source: Path, target: Path) -> None:
    """An export never replaces its own source, nor writes inside a data directory it reads."""
    try:
        same = target.exists() and source.exists() and target.samefile(source)
    except OSError:
        same = False
    if same:
        raise UsageError("the output is the source itself: name another file", path=target)
    if source.is_dir() and target.resolve().is_relative_to(source.resolve()):
        raise UsageError("the output is inside the data directory, which aeroops never writes to", path=target)


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return {"jsonl": "jsonl", "ndjson": "jsonl", "csv": "csv"}.get(suffix, "parquet")


class _SeamWriter(io.RawIOBase):
    """A writable file whose writes go through the FileOps seam (pyarrow and csv write here)."""

    def __init__(self, ops: FileOps, stream: BinaryIO) -> None:
        self._ops, self._stream = ops, stream
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(data)
        self._ops.write(self._stream, view)
        size = view.nbytes
        self.written += size
        return size

    def tell(self) -> int:
        return self.written


def _write_jsonl(found: Iterable[Document], sink: _SeamWriter) -> None:
    import json

    buffered = io.BufferedWriter(cast(io.RawIOBase, sink), 1 << 20)
    for document in found:
        try:
            line = boot_listing_line(document)
        except UnicodeDecodeError:
            record = {
                "body_base64": base64.b64encode(document.body).decode(),
                "key": document.aerodb_key,
                "schema_id": document.schema,
                "schema_version": document.version,
            }
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
        buffered.write(line + b"\n")
    buffered.flush()


def _text_body(document: Document) -> tuple[str, str]:
    try:
        return document.body.decode("utf-8"), ""
    except UnicodeDecodeError as bad:
        return "", f"the body is not UTF-8 (byte {bad.start}): export it as jsonl or parquet"


def _write_csv(found: Iterable[Document], sink: _SeamWriter) -> None:
    text = io.TextIOWrapper(io.BufferedWriter(cast(io.RawIOBase, sink), 1 << 20), encoding="utf-8", newline="")
    writer = csv.writer(text)
    writer.writerow(("collection", "key", "schema", "version", "body", "note"))
    for document in found:
        body, note = _text_body(document)
        writer.writerow((document.collection, document.key, document.schema, document.version, body, note))
    text.flush()
    text.detach().flush()


def _write_parquet(found: Iterable[Document], sink: _SeamWriter) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from aeroops.core.documents import parse_body

    schema = pa.schema(
        [
            ("collection", pa.string()),
            ("key", pa.string()),
            ("schema", pa.string()),
            ("version", pa.string()),
            ("body", pa.large_binary()),
            ("note", pa.string()),
        ]
    )
    with pq.ParquetWriter(sink, schema) as writer:
        batch: list[Document] = []
        size = 0

        def flush() -> None:
            columns = list(zip(*batch, strict=True))
            notes = [parse_body(d.body).note if _unusual(d.body) else "" for d in batch]
            arrays = [pa.array(values, type=schema.field(i).type) for i, values in enumerate((*columns, notes))]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))

        for document in found:
            batch.append(document)
            size += len(document.body)
            if len(batch) >= PARQUET_ROW_GROUP or size >= 64 << 20:
                flush()
                batch, size = [], 0
        if batch:
            flush()


def _unusual(body: bytes) -> bool:
    """A cheap test before parsing: AeroDB's bodies are JSON objects."""
    return not (body[:1] == b"{" and body[-1:] == b"}")


# --- diff --------------------------------------------------------------------------------------


def diff(
    a: str | os.PathLike[str],
    b: str | os.PathLike[str],
    *,
    collections: Sequence[str] | None = None,
    progress: ProgressCallback = no_progress,
    ops: FileOps = REAL,
) -> DiffResult:
    """How the documents of ``b`` differ from those of ``a`` (archives or data directories):
    added, removed, changed (with the top-level fields that changed, old and new values), and
    per collection how many of each and how many are unchanged."""
    steps = ("read A", "read B", "compare", "read the changed documents")

    def step(index: int) -> ProgressCallback:
        progress(Progress("diff", steps[index], index + 1, len(steps)))
        return within_step(progress, "diff", steps[index], index + 1, len(steps))

    known_a = read_state(a, places=True, progress=step(0), ops=ops)
    known_b = read_state(b, places=True, progress=step(1), ops=ops)
    step(2)
    chosen = None if collections is None else set(collections)
    delta = logical_diff(known_a.state, known_b.state)

    def keep(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        return [k for k in pairs if chosen is None or k[0] in chosen]

    changed = keep(delta.changed)
    compared = changed[:FIELDS_COMPARED]
    read_changes = step(3)
    old = {(d.collection, d.key): d.body for d in documents_of(known_a, keys=compared, progress=read_changes, ops=ops)}
    new = {(d.collection, d.key): d.body for d in documents_of(known_b, keys=compared, progress=read_changes, ops=ops)}
    deltas = [DocumentDelta(c, k, ADDED) for c, k in keep(delta.added)]
    deltas += [DocumentDelta(c, k, REMOVED) for c, k in keep(delta.removed)]
    for pair in changed:
        if pair in old and pair in new:
            fields, note = changed_fields(old[pair], new[pair])
            schema_a, schema_b = known_a.state.get(*pair), known_b.state.get(*pair)
            if schema_a and schema_b and schema_a[2:] != schema_b[2:]:
                note = "; ".join(
                    n for n in (note, f"schema {schema_a[2]} {schema_a[3]} → {schema_b[2]} {schema_b[3]}") if n
                )
            deltas.append(DocumentDelta(*pair, CHANGED, fields, note))
        else:
            deltas.append(DocumentDelta(*pair, CHANGED, (), f"fields not compared: over {FIELDS_COMPARED:,} changed"))
    deltas.sort(key=lambda d: (d.collection, d.key))

    def counts(state: object) -> dict[str, int]:
        docs = known_a.state.documents if state is known_a else known_b.state.documents
        return {c: len(d) for c, d in docs.items() if chosen is None or c in chosen}

    return DiffResult(str(a), str(b), tuple(deltas), collection_deltas(counts(known_a), counts(known_b), deltas))


# --- history -----------------------------------------------------------------------------------


def history(
    folder: str | os.PathLike[str],
    key: str,
    *,
    collection: str | None = None,
    progress: ProgressCallback = no_progress,
    ops: FileOps = REAL,
) -> tuple[HistoryEntry, ...]:
    """The document ``key`` (``collection:id``, or an id with ``collection``) in every archive
    of ``folder``, oldest backup first: when it first appeared, each change (the top-level
    fields), when it was deleted; each state with the archive it comes from. Archives that
    cannot be read are left out (inventory says why)."""
    from aeroops.executor.audit import inventory

    try:
        wanted = split_key(key, collection)
    except ValueError as error:
        raise UsageError(str(error)) from None
    rows = [r for r in inventory(folder, ops=ops).rows if r.backup_id is not None]
    rows.sort(key=lambda r: (r.created_at or datetime.min, r.file))
    root = Path(folder)
    entries: list[HistoryEntry] = []
    before: bytes | None = None
    seen = False
    for index, row in enumerate(rows, start=1):
        progress(Progress("history", f"read {row.file}", index, len(rows)))
        inner = within_step(progress, "history", f"read {row.file}", index, len(rows))
        try:
            known = read_state(root / row.file, places=True, progress=inner, ops=ops)
            found = list(documents_of(known, keys=[wanted], ops=ops))
        except AeroError as error:  # one damaged archive does not end the history
            entries.append(
                HistoryEntry(
                    row.file,
                    row.backup_id or "",
                    _time(row.created_at),
                    UNREADABLE,
                    None,
                    None,
                    None,
                    (),
                    error.message,
                )
            )
            continue
        document = found[0] if found else None
        after = None if document is None else document.body
        event = history_event(before, after, seen)
        fields: tuple[FieldChange, ...] = ()
        note = ""
        if event == CHANGED and before is not None and after is not None:
            fields, note = changed_fields(before, after)
        entries.append(
            HistoryEntry(
                row.file,
                row.backup_id or "",
                _time(row.created_at),
                event,
                None if document is None else document.schema,
                None if document is None else document.version,
                after,
                fields,
                note,
            )
        )
        seen = seen or after is not None
        before = after
    return tuple(entries)


def _time(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")
