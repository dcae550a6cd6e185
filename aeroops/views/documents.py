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
from typing import Any

import pandas as pd

from aeroops.core.documents import (
    BODY_COLUMN,
    BOOLEAN,
    FLOAT,
    INTEGER,
    JSON_TEXT,
    META_COLUMNS,
    STRING,
    DiffResult,
    Document,
    HistoryEntry,
    document_fields,
    json_text,
    merged_kind,
    value_kind,
)
from aeroops.executor.documents import Source, iter_documents
from aeroops.executor.fileops import FileOps
from aeroops.executor.keys import IdentityFiles
from aeroops.formats.wal import load_speedups
from aeroops.progress import ProgressCallback, no_progress

CHUNK_DOCUMENTS = 50_000  # rows of one frame of `document_frames`
CHUNK_BYTES = 64 << 20  # or this many body bytes


def document_frame(
    documents: Iterable[Document], *, columns: Sequence[str] | None = None, raw: bool = False
) -> pd.DataFrame:
    """One frame of ``documents``. ``columns``: only these body fields (dotted names); ``raw``:
    add the ``body`` column, the bytes as stored."""
    found = list(documents)
    notes = [""] * len(found)
    wanted = None if columns is None else list(dict.fromkeys(columns))
    fields = field_columns([document.body for document in found], notes, wanted)
    meta = {
        "collection": [d.collection for d in found],
        "key": [d.key for d in found],
        "schema": [d.schema for d in found],
        "version": [d.version for d in found],
        "note": notes,
    }
    frame = pd.DataFrame({name: pd.array(values, dtype="string") for name, values in meta.items()})
    if raw:
        frame[BODY_COLUMN] = pd.Series([d.body for d in found], dtype=object)
    if wanted is not None:
        fields = {name: fields[name] for name in wanted if name in fields}
    return pd.concat([frame, pd.DataFrame(fields)], axis=1) if fields else frame


FieldColumns = dict[str, pd.api.extensions.ExtensionArray]


def field_columns(bodies: list[bytes], notes: list[str], wanted: Sequence[str] | None = None) -> FieldColumns:
    """The body fields of ``bodies`` as typed columns by name, in the order names first appear
    (row by row, each in `flatten`'s order); each body's note goes to ``notes``. ``wanted``:
    only these fields. In C where the extension is built (`_speedups_fields.h`): a body
    written as orjson writes one is read there, any other by `document_fields`, and both give
    what `python_field_columns` gives."""
    speedups = load_speedups()
    if speedups is None or not hasattr(speedups, "fields_columns"):
        return python_field_columns(bodies, notes, wanted)

    def careful(row: int, body: bytes) -> list[tuple[str, int, Any, str | None]]:
        fields, notes[row] = document_fields(body)
        out = []
        for name, value in fields.items():
            kind = value_kind(value)
            text = json_text(value) if kind in (INTEGER, FLOAT, JSON_TEXT) else None
            out.append((name, _KIND_CODES[kind], value, text))
        return out

    found = speedups.fields_columns(bodies, careful, None if wanted is None else list(wanted))
    return {name: _typed(kind, missing, values, text) for name, kind, missing, values, text in found}


def python_field_columns(bodies: list[bytes], notes: list[str], wanted: Sequence[str] | None = None) -> FieldColumns:
    """`field_columns` in Python, one dictionary per body: the reference the C reading is
    tested against, and the reading where the extension is not built."""
    keep = None if wanted is None else set(wanted)
    rows: list[dict[str, Any]] = []
    for row, body in enumerate(bodies):
        fields, notes[row] = document_fields(body)
        rows.append(fields if keep is None else {name: v for name, v in fields.items() if name in keep})
    names: dict[str, None] = {}
    for fields in rows:
        names.update(dict.fromkeys(fields))
    return {name: _column([fields.get(name) for fields in rows]) for name in names}


_KIND_CODES = {None: 0, BOOLEAN: 1, INTEGER: 2, FLOAT: 3, STRING: 4, JSON_TEXT: 5}


def _typed(kind: int, missing: bytearray, values: bytearray, text: bytearray | None) -> Any:
    """A column the C reading built (one byte per row for ``missing``) as its pandas array,
    without a Python object per value: numbers and truth values as masked arrays, text as
    Arrow's large strings (what ``pd.array(..., dtype="string")`` holds)."""
    import numpy as np

    mask = np.frombuffer(missing, dtype=np.bool_)
    if kind == _KIND_CODES[BOOLEAN]:
        return pd.arrays.BooleanArray(np.frombuffer(values, dtype=np.bool_), mask)
    if kind == _KIND_CODES[INTEGER]:
        return pd.arrays.IntegerArray(np.frombuffer(values, dtype=np.int64), mask)
    if kind == _KIND_CODES[FLOAT]:
        return pd.arrays.FloatingArray(np.frombuffer(values, dtype=np.float64), mask)
    import pyarrow as pa

    valid = pa.py_buffer(np.packbits(~mask, bitorder="little"))
    strings = pa.LargeStringArray.from_buffers(len(mask), pa.py_buffer(values), pa.py_buffer(text or b""), valid)
    return pd.arrays.ArrowStringArray(strings)


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


_DTYPES = {BOOLEAN: "boolean", INTEGER: "Int64", FLOAT: "Float64", STRING: "string"}


def _column(values: list[Any]) -> pd.api.extensions.ExtensionArray:
    """The values of one field as one typed column, by the rule the exports share
    (`aeroops.core.documents.merged_kind`): JSON text when their types vary."""
    kind = merged_kind(value_kind(v) for v in values) or STRING
    if kind == JSON_TEXT:
        return pd.array([None if v is None else json_text(v) for v in values], dtype="string")
    return pd.array(values, dtype=_DTYPES[kind])


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
