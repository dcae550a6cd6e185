"""Documents as Arrow tables with their bodies' fields flattened, and the Parquet and CSV exports
written from them (README: Looking inside backups).

A field's column takes the type its values share across the whole source (boolean, int64,
float64 for integers and floats, string); a field whose type varies is JSON text, as in the
DataFrame (`aeroops.core.documents.merged_kind`). A file's schema is written first, but a
field's type is known only once every document is read: each chunk is written as it comes to a
part file of its own (Parquet, in a private folder beside the output), then the parts are
rewritten, one row group at a time, into the one file under the schema the whole source
decided. Memory stays one chunk; the parts cost a second write of the data.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from aeroops.core.documents import (
    BOOLEAN,
    FLOAT,
    INTEGER,
    JSON_TEXT,
    STRING,
    Document,
    document_fields,
    json_text,
    merged_kind,
    value_kind,
)
from aeroops.executor.fileops import FileOps, logged_cleanup

if TYPE_CHECKING:
    import pyarrow as pa

EXPORT_FIELDS_LIMIT = 4096  # field columns of an export; a field first seen past these stays in the body
CHUNK_DOCUMENTS = 16_384  # documents per part (and per row group of the file)
CHUNK_BYTES = 4 << 20  # or this many body bytes: peak RSS grows with it (pyarrow keeps freed buffers)
META = ("collection", "key", "schema", "version")


class SeamWriter(io.RawIOBase):
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


def _arrow_type(kind: str) -> pa.DataType:
    import pyarrow as pa

    return {BOOLEAN: pa.bool_(), INTEGER: pa.int64(), FLOAT: pa.float64()}.get(kind, pa.string())


class FieldColumns:
    """The field columns an export has met so far, in the order first met, with their kinds."""

    def __init__(self, limit: int | None = None) -> None:
        self.kinds: dict[str, set[str]] = {}
        self.limit = EXPORT_FIELDS_LIMIT if limit is None else limit

    def table(self, batch: Sequence[Document]) -> tuple[pa.Table, dict[str, str]]:
        """One chunk: meta columns, ``body`` (bytes), ``note``, then its fields, each typed by
        the kind its values share in this chunk (returned too; absent: only nulls)."""
        import pyarrow as pa

        values: dict[str, list[Any]] = {}
        notes: list[str] = []
        for row, document in enumerate(batch):
            fields, note = document_fields(document.body)
            left_out = 0
            for name, value in fields.items():
                column = values.get(name)
                if column is None:
                    if name not in self.kinds and len(self.kinds) >= self.limit:
                        left_out += 1
                        continue
                    self.kinds.setdefault(name, set())
                    column = values[name] = [None] * row
                column.append(value)
            for column in values.values():
                if len(column) <= row:
                    column.append(None)
            if left_out:
                extra = f"{left_out:,} field(s) past the export's first {self.limit:,} columns: see the body"
                note = f"{note}; {extra}" if note else extra
            notes.append(note)
        arrays: dict[str, pa.Array] = {name: pa.array([getattr(d, name) for d in batch], pa.string()) for name in META}
        arrays["body"] = pa.array([d.body for d in batch], pa.large_binary())
        arrays["note"] = pa.array(notes, pa.string())
        kinds: dict[str, str] = {}
        for name, column in values.items():
            kind = merged_kind(value_kind(v) for v in column)
            if kind is not None:
                self.kinds[name].add(kind)
                kinds[name] = kind
            arrays[name] = _typed(column, kind or STRING)
        return pa.table(arrays), kinds

    def schema(self, *, body: pa.DataType) -> pa.Schema:
        """The file's schema: meta, body, note, then each field as the whole source decided."""
        import pyarrow as pa

        fields = [pa.field(name, pa.string()) for name in META]
        fields += [pa.field("body", body), pa.field("note", pa.string())]
        fields += [pa.field(name, _arrow_type(self.kind(name))) for name in self.kinds]
        return pa.schema(fields)

    def kind(self, name: str) -> str:
        return merged_kind(self.kinds[name]) or STRING


def _typed(values: list[Any], kind: str) -> pa.Array:
    import pyarrow as pa

    if kind == JSON_TEXT:
        return pa.array([None if v is None else json_text(v) for v in values], pa.string())
    return pa.array(values, _arrow_type(kind))


def conform(table: pa.Table, kinds: dict[str, str], columns: FieldColumns, schema: pa.Schema) -> pa.Table:
    """A part's table (its fields of ``kinds``) under the file's schema: a field absent from the
    part is null, an integer column of a float field is cast, a field whose type varies across
    the parts becomes JSON text."""
    import pyarrow as pa

    arrays = []
    for field in schema:
        if field.name not in table.column_names:
            arrays.append(pa.nulls(len(table), field.type))
            continue
        column = table.column(field.name)
        part_kind = kinds.get(field.name)
        if field.name in columns.kinds and columns.kind(field.name) == JSON_TEXT and part_kind not in (None, JSON_TEXT):
            arrays.append(pa.array([None if v is None else json_text(v) for v in column.to_pylist()], pa.string()))
        elif column.type == field.type:
            arrays.append(column)
        else:
            arrays.append(column.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def chunks(found: Iterable[Document]) -> Iterator[list[Document]]:
    batch: list[Document] = []
    size = 0
    for document in found:
        batch.append(document)
        size += len(document.body)
        if len(batch) >= CHUNK_DOCUMENTS or size >= CHUNK_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def write_flattened(found: Iterable[Document], sink: SeamWriter, output: Path, form: str, ops: FileOps) -> None:
    """``found`` into ``sink`` as Parquet (``form`` "parquet") or CSV, fields flattened: the
    parts first, in a private folder beside ``output`` (removed whatever happens)."""
    import pyarrow.parquet as pq

    columns = FieldColumns()
    parts: list[tuple[Path, dict[str, str]]] = []
    folder = ops.make_temp_dir(output.parent, f".{output.name}.aeroops-parts-")
    try:
        for batch in chunks(found):
            part = folder / f"{len(parts):06d}.parquet"
            table, kinds = columns.table(batch)
            with ops.create(part, 0o600) as stream:
                pq.write_table(table, SeamWriter(ops, stream), **_unique_columns(table.column_names))
            del table
            parts.append((part, kinds))
        if form == "parquet":
            _rewrite_parquet(parts, columns, sink, ops)
        else:
            _rewrite_csv(parts, columns, sink, ops)
    finally:
        with logged_cleanup("removing the export's parts", folder):
            ops.remove_tree(folder)


Parts = Sequence[tuple[Path, dict[str, str]]]


# Keys and bodies are unique per document: a dictionary of them never pays, yet its builder and
# statistics hold a copy of each column's values per row group (the export's peak RSS).
def _unique_columns(names: Sequence[str]) -> dict[str, Any]:
    kept = [name for name in names if name not in ("key", "body")]
    return {"use_dictionary": kept, "write_statistics": kept}


def _part_tables(parts: Parts, columns: FieldColumns, schema: pa.Schema, ops: FileOps) -> Iterator[pa.Table]:
    import pyarrow.parquet as pq

    for part, kinds in parts:
        with ops.open_read(part) as stream:
            yield conform(pq.read_table(stream, use_threads=False, pre_buffer=False), kinds, columns, schema)


def _rewrite_parquet(parts: Parts, columns: FieldColumns, sink: SeamWriter, ops: FileOps) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = columns.schema(body=pa.large_binary())
    with pq.ParquetWriter(sink, schema, **_unique_columns(schema.names)) as writer:
        for table in _part_tables(parts, columns, schema, ops):
            writer.write_table(table)


def _rewrite_csv(parts: Parts, columns: FieldColumns, sink: SeamWriter, ops: FileOps) -> None:
    """CSV as pyarrow writes it (true/false, numbers as written, text quoted when it must be); a
    body that is not UTF-8 is left empty, with a note."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    stored = columns.schema(body=pa.large_binary())
    schema = columns.schema(body=pa.large_string())
    with pcsv.CSVWriter(sink, schema) as writer:
        for table in _part_tables(parts, columns, stored, ops):
            bodies, notes = [], []
            for body, note in zip(table.column("body").to_pylist(), table.column("note").to_pylist(), strict=True):
                try:
                    bodies.append(body.decode("utf-8"))
                    notes.append(note)
                except UnicodeDecodeError as bad:
                    bodies.append("")
                    why = f"the body is not UTF-8 (byte {bad.start}): export it as jsonl or parquet"
                    notes.append(f"{note}; {why}" if note else why)
            table = table.set_column(table.schema.get_field_index("body"), "body", pa.array(bodies, pa.large_string()))
            table = table.set_column(table.schema.get_field_index("note"), "note", pa.array(notes, pa.string()))
            writer.write_table(table)
