"""Documents, diffs and histories as pandas DataFrames.

A document row: ``collection``, ``key``, ``schema``, ``version``, ``note`` (what was unusual
about the body, "" when nothing), optionally ``body`` (the raw bytes), then the body's fields,
flattened with dotted names (`aeroops.core.documents.flatten`). A field's column takes the
type its values share (boolean, Int64, Float64, string); a field whose type varies, or holds
arrays, is JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pandas as pd

from aeroops.core.documents import (
    BODY_COLUMN,
    BOOLEAN,
    FLOAT,
    INTEGER,
    META_COLUMNS,
    STRING,
    DiffResult,
    Document,
    HistoryEntry,
    json_text,
)
from aeroops.executor.documents import Source, iter_documents
from aeroops.executor.fileops import FileOps
from aeroops.executor.keys import IdentityFiles
from aeroops.progress import ProgressCallback, no_progress

if TYPE_CHECKING:
    from aeroops.executor.document_table import FieldArrays

CHUNK_DOCUMENTS = 50_000  # rows of one frame of `document_frames`
CHUNK_BYTES = 64 << 20  # or this many body bytes


def document_frame(
    documents: Iterable[Document], *, columns: Sequence[str] | None = None, raw: bool = False
) -> pd.DataFrame:
    """One frame of ``documents``. ``columns``: only these body fields (dotted names); ``raw``:
    add the ``body`` column, the bytes as stored."""
    from aeroops.executor.document_table import FieldReading, chunks

    wanted = None if columns is None else list(dict.fromkeys(columns))
    reading = FieldReading(wanted)
    # Of each document only its row's own values are kept (its body too for ``raw``): a body is
    # let go once its fields are read, so a whole source's frame does not also hold every body.
    kept: dict[str, list[Any]] = {name: [] for name in (*META_COLUMNS[:4], BODY_COLUMN)}
    # The fields are read on a second thread, a chunk behind the documents: the C reading lets
    # go of the interpreter's lock, so it runs beside the source's second pass building them.
    with ThreadPoolExecutor(1, thread_name_prefix="aeroops-fields") as pool:
        reading_chunk: Future[None] | None = None
        for chunk in chunks(documents):
            collection, key, schema, version, body = zip(*chunk, strict=True)
            for name, values in zip(kept, (collection, key, schema, version, body if raw else ()), strict=True):
                kept[name] += values
            if reading_chunk is not None:
                reading_chunk.result()
            reading_chunk = pool.submit(reading.feed, list(body))
        if reading_chunk is not None:
            reading_chunk.result()
    fields = pandas_columns(reading.finish())
    notes = [""] * reading.rows
    for row, note in reading.notes.items():
        notes[row] = note
    meta = {name: _text(kept[name]) for name in META_COLUMNS[:4]} | {"note": _text(notes)}
    if raw:
        meta[BODY_COLUMN] = pd.Series(kept[BODY_COLUMN], dtype=object)
    if wanted is not None:
        fields = {name: fields[name] for name in wanted if name in fields}
    return pd.DataFrame({**meta, **fields}, copy=False)


def _text(values: list[str]) -> pd.api.extensions.ExtensionArray:
    """A "string" column, through Arrow (a third of the time pd.array takes for the same)."""
    import pyarrow as pa

    return pd.StringDtype().__from_arrow__(pa.array(values, pa.large_string()))


FieldColumns = dict[str, pd.api.extensions.ExtensionArray]

_DTYPES = {BOOLEAN: pd.BooleanDtype(), INTEGER: pd.Int64Dtype(), FLOAT: pd.Float64Dtype()}  # text: "string"


def pandas_columns(found: FieldArrays) -> FieldColumns:
    """Columns `document_table.field_arrays` read as pandas ones: boolean, Int64, Float64, and
    string for text and JSON text (Arrow's strings, taken as they are)."""
    return {
        name: _DTYPES.get(kind or STRING, pd.StringDtype()).__from_arrow__(array)
        for name, (kind, array) in found.items()
    }


def document_frames(
    documents: Iterable[Document],
    *,
    columns: Sequence[str] | None = None,
    raw: bool = False,
    rows: int = CHUNK_DOCUMENTS,
    size: int = CHUNK_BYTES,
) -> Iterator[pd.DataFrame]:
    """``documents`` as frames of at most ``rows`` rows or about ``size`` body bytes each (each
    frame's field types are its own)."""
    chunk: list[Document] = []
    taken = 0
    for document in documents:
        chunk.append(document)
        taken += len(document.body)
        if len(chunk) >= rows or taken >= size:
            yield document_frame(chunk, columns=columns, raw=raw)
            chunk, taken = [], 0
    if chunk:
        yield document_frame(chunk, columns=columns, raw=raw)


def documents_left_out(frame: pd.DataFrame, fields: int = 5) -> tuple[str, ...]:
    """The columns a table of documents that must fit a notebook's width leaves out: schema,
    version, the body, and every field past the first ``fields`` that most rows have."""
    shown = [n for n in frame.columns if n not in (*META_COLUMNS, BODY_COLUMN) and frame[n].notna().mean() >= 0.5]
    keep = {"collection", "key", "note", *shown[:fields]}
    return tuple(n for n in frame.columns if n not in keep)


def empty_frame() -> pd.DataFrame:
    return pd.DataFrame({name: pd.array([], dtype="string") for name in META_COLUMNS})


def documents(
    source: Source,
    collection: str | Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    *,
    raw: bool = False,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
    identities: IdentityFiles | None = None,
) -> pd.DataFrame:
    """The live documents of ``source`` as one DataFrame (`aeroops.views.documents`): one row
    per document, its body's fields as columns. ``collection``: one or several; ``columns``:
    only these fields; ``raw``: add ``body``, the bytes as stored. For a source larger than
    memory, iterate `document_chunks` instead."""
    found = iter_documents(
        source, collections=_collections(collection), progress=progress, ops=ops, identities=identities
    )
    return document_frame(found, columns=columns, raw=raw)


def document_chunks(
    source: Source,
    collection: str | Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    *,
    raw: bool = False,
    rows: int | None = None,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
    identities: IdentityFiles | None = None,
) -> Iterator[pd.DataFrame]:
    """`documents` as an iterator of DataFrames of at most ``rows`` rows (default 50,000) or
    64 MiB of bodies: memory stays bounded whatever the source's size."""
    found = iter_documents(
        source, collections=_collections(collection), progress=progress, ops=ops, identities=identities
    )
    return document_frames(found, columns=columns, raw=raw, rows=rows or CHUNK_DOCUMENTS)


def _collections(collection: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if collection is None:
        return None
    return (collection,) if isinstance(collection, str) else tuple(collection)


# --- diffs and histories -------------------------------------------------------------------------

DIFF_COLUMNS = ("collection", "key", "change", "field", "old", "new", "note")
COLLECTION_COLUMNS = ("collection", "added", "removed", "changed", "unchanged")
HISTORY_COLUMNS = ("archive", "backup_id", "created_at", "event", "schema", "version", "field", "old", "new", "note")


def _shown(value: Any) -> Any:
    """A field value as a cell: JSON text for anything but text (so 1, true and "1" differ),
    spaced after its commas so a long array wraps."""
    if isinstance(value, str) or value is None:
        return value
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else json_text(value)


def diff_records(result: DiffResult) -> list[dict[str, Any]]:
    """One row per changed field (one per added or removed document)."""
    rows: list[dict[str, Any]] = []
    for delta in result.deltas:
        base = {"collection": delta.collection, "key": delta.key, "change": delta.change, "note": delta.note}
        if not delta.fields:
            rows.append({**base, "field": None, "old": None, "new": None})
        for change in delta.fields:
            rows.append({**base, "field": change.field, "old": _shown(change.old), "new": _shown(change.new)})
    return rows


def collection_records(result: DiffResult) -> list[dict[str, Any]]:
    return [c._asdict() for c in result.collections]


def diff_frame(result: DiffResult) -> pd.DataFrame:
    return pd.DataFrame(diff_records(result), columns=list(DIFF_COLUMNS)).astype("string")


def collection_frame(result: DiffResult) -> pd.DataFrame:
    frame = pd.DataFrame(collection_records(result), columns=list(COLLECTION_COLUMNS))
    return frame.astype(
        {"collection": "string", "added": "Int64", "removed": "Int64", "changed": "Int64", "unchanged": "Int64"}
    )


def history_records(entries: Sequence[HistoryEntry]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for entry in entries:
        base = {
            "archive": entry.archive,
            "backup_id": entry.backup_id,
            "created_at": entry.created_at,
            "event": entry.event,
            "schema": entry.schema,
            "version": entry.version,
            "note": entry.note,
        }
        if not entry.fields:
            rows.append({**base, "field": None, "old": None, "new": None})
        for change in entry.fields:
            rows.append({**base, "field": change.field, "old": _shown(change.old), "new": _shown(change.new)})
    return rows


def history_frame(entries: Sequence[HistoryEntry]) -> pd.DataFrame:
    return pd.DataFrame(history_records(entries), columns=list(HISTORY_COLUMNS)).astype("string")
