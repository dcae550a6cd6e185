"""Documents as Arrow tables with their bodies' fields flattened, and the Parquet and CSV exports
written from them (README: Looking inside backups).

A field's column takes the type its values share across the whole source (boolean, int64,
float64 for integers and floats, string); a field whose type varies is JSON text, as in the
DataFrame (`aeroops.core.documents.merged_kind`). A file's schema is written first, but a
field's type is known only once every document is read: each chunk is written as it comes to a
part file of its own (an LZ4-compressed Arrow IPC stream, in a private folder beside the
output), then the parts are rewritten, one row group at a time, into the one file under the
schema the whole source decided. Memory stays one chunk; the parts cost a second write of the
data.

`field_arrays` turns bodies into those typed columns, for the exports and the DataFrame alike.
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
from aeroops.formats.wal import load_speedups

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


# --- body fields as typed columns -------------------------------------------------------------

FieldArrays = dict[str, tuple[str | None, "pa.Array"]]  # name -> (merged kind, None: only nulls; values)


def field_arrays(bodies: list[bytes], notes: list[str], wanted: Sequence[str] | None = None) -> FieldArrays:
    """The body fields of ``bodies`` as typed Arrow columns by name, in the order names first
    appear (row by row, each in `flatten`'s order), with the kind their values share; each
    body's note goes to ``notes``. ``wanted``: only these fields. Text is Arrow's large string."""
    reading = FieldReading(wanted)
    reading.feed(bodies)
    found = reading.finish()
    for row, note in reading.notes.items():
        notes[row] = note
    return found


class FieldReading:
    """`field_arrays` a list of bodies at a time. In C where the extension is built
    (`_speedups_fields.h`): a body written as orjson writes one is read there, without a Python
    object per value and without the interpreter's lock (a thread may feed while another builds
    the next documents); any other body by `document_fields`. Both give what
    `python_field_arrays` gives (tests/test_document_columns.py)."""

    def __init__(self, wanted: Sequence[str] | None = None) -> None:
        self._wanted = None if wanted is None else list(wanted)
        self.notes: dict[int, str] = {}  # by row, the rows with one
        self.rows = 0
        self._speedups: Any = load_speedups()
        if self._speedups is not None and hasattr(self._speedups, "fields_new"):
            self._reading: Any = self._speedups.fields_new(self._wanted)
        else:
            self._reading = None
        self._bodies: list[bytes] = []  # the Python reading's, without the extension

    def feed(self, bodies: list[bytes]) -> None:
        """Read the next ``bodies`` (one thread at a time)."""
        if self._reading is None:
            self._bodies += bodies
        else:
            self._speedups.fields_feed(self._reading, bodies, self._careful)
        self.rows += len(bodies)

    def finish(self) -> FieldArrays:
        """The columns of every body fed, each as long as the rows fed."""
        if self._reading is None:
            notes = [""] * len(self._bodies)
            found = python_field_arrays(self._bodies, notes, self._wanted)
            self.notes = {row: note for row, note in enumerate(notes) if note}
            return found
        columns = self._speedups.fields_finish(self._reading)
        return {
            name: (_KINDS[kind], _c_array(kind, missing, values, text)) for name, kind, missing, values, text in columns
        }

    def _careful(self, row: int, body: bytes) -> list[tuple[str, int, Any, str | None]]:
        fields, note = document_fields(body)
        if note:
            self.notes[row] = note
        out = []
        for name, value in fields.items():
            kind = value_kind(value)
            out.append((name, _KIND_CODES[kind], value, json_text(value) if kind in _WITH_TEXT else None))
        return out


def python_field_arrays(bodies: list[bytes], notes: list[str], wanted: Sequence[str] | None = None) -> FieldArrays:
    """`field_arrays` in Python, a dictionary per body: the reference the C reading is tested
    against, and the reading where the extension is not built."""
    keep = None if wanted is None else set(wanted)
    rows: list[dict[str, Any]] = []
    for row, body in enumerate(bodies):
        fields, notes[row] = document_fields(body)
        rows.append(fields if keep is None else {name: v for name, v in fields.items() if name in keep})
    names: dict[str, None] = {}
    for fields in rows:
        names.update(dict.fromkeys(fields))
    found: FieldArrays = {}
    for name in names:
        values = [fields.get(name) for fields in rows]
        kind = merged_kind(value_kind(v) for v in values)
        found[name] = (kind, _typed(values, kind or STRING))
    return found


_KINDS: tuple[str | None, ...] = (None, BOOLEAN, INTEGER, FLOAT, STRING, JSON_TEXT)  # the C reading's codes
_KIND_CODES = {kind: code for code, kind in enumerate(_KINDS)}
_WITH_TEXT = (INTEGER, FLOAT, JSON_TEXT)  # a careful row's value whose JSON text C cannot write


def _c_array(kind: int, missing: bytearray, values: bytearray, text: Any) -> pa.Array:
    """A column the C reading built (a byte per row, 1 where missing) as an Arrow array, the
    buffers taken as they are."""
    import numpy as np
    import pyarrow as pa

    mask = np.frombuffer(missing, dtype=np.bool_)
    numbers = {_KIND_CODES[BOOLEAN]: np.bool_, _KIND_CODES[INTEGER]: np.int64, _KIND_CODES[FLOAT]: np.float64}
    if kind in numbers:
        return pa.array(np.frombuffer(values, dtype=numbers[kind]), mask=mask)
    valid = pa.py_buffer(np.packbits(~mask, bitorder="little"))
    return pa.LargeStringArray.from_buffers(len(mask), pa.py_buffer(values), pa.py_buffer(text or b""), valid)


class FieldColumns:
    """The field columns an export has met so far, in the order first met, with their kinds."""

    def __init__(self, limit: int | None = None) -> None:
        self.kinds: dict[str, set[str]] = {}
        self.limit = EXPORT_FIELDS_LIMIT if limit is None else limit

    def table(self, batch: Sequence[Document]) -> tuple[pa.Table, dict[str, str]]:
        """One chunk: meta columns, ``body`` (bytes), ``note``, then its fields, each typed by
        the kind its values share in this chunk (returned too; absent: only nulls)."""
        import pyarrow as pa

        notes = [""] * len(batch)
        found = field_arrays([document.body for document in batch], notes)
        room = self.limit - len(self.kinds)  # new columns this export may still take
        kept = []
        for name in found:
            if name in self.kinds or room > 0:
                room -= name not in self.kinds
                kept.append(name)
        if len(kept) < len(found):
            _note_left_out(batch, notes, set(found) - set(kept), self.limit)
        arrays: dict[str, pa.Array] = {name: pa.array([getattr(d, name) for d in batch], pa.string()) for name in META}
        arrays["body"] = pa.array([d.body for d in batch], pa.large_binary())
        arrays["note"] = pa.array(notes, pa.string())
        kinds: dict[str, str] = {}
        for name in kept:
            kind, arrays[name] = found[name]
            self.kinds.setdefault(name, set())
            if kind is not None:
                self.kinds[name].add(kind)
                kinds[name] = kind
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


def _note_left_out(batch: Sequence[Document], notes: list[str], left_out: set[str], limit: int) -> None:
    """Each document's note says how many of its fields were past the export's first ``limit``
    columns (a field present with null counts: its bodies are read again, a rare case)."""
    for row, document in enumerate(batch):
        fields, _ = document_fields(document.body)
        count = sum(1 for name in fields if name in left_out)
        if count:
            extra = f"{count:,} field(s) past the export's first {limit:,} columns: see the body"
            notes[row] = f"{notes[row]}; {extra}" if notes[row] else extra


def _typed(values: list[Any], kind: str) -> pa.Array:
    import pyarrow as pa

    if kind == JSON_TEXT:
        return pa.array([None if v is None else json_text(v) for v in values], pa.large_string())
    if kind == FLOAT:  # integers among floats, past 2**53 too (which pyarrow refuses to round)
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    return pa.array(values, _arrow_type(kind) if kind in (BOOLEAN, INTEGER) else pa.large_string())


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
        else:  # an integer past 2**53 rounds to the nearest float, as Python's float() rounds it
            arrays.append(column.cast(field.type, safe=field.type != pa.float64()))
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
    parts first (Arrow IPC streams), in a private folder beside ``output`` (removed whatever
    happens)."""

    columns = FieldColumns()
    parts: list[tuple[Path, dict[str, str]]] = []
    folder = ops.make_temp_dir(output.parent, f".{output.name}.aeroops-parts-")
    try:
        for batch in chunks(found):
            part = folder / f"{len(parts):06d}.arrows"
            table, kinds = columns.table(batch)
            with ops.create(part, 0o600) as stream:
                _write_part(table, SeamWriter(ops, stream))
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


def _write_part(table: pa.Table, sink: SeamWriter) -> None:
    """A part as an Arrow IPC stream, LZ4-compressed: read back once, by this export, so it is
    written as Arrow holds it (Parquet's encoding made writing and reading the parts cost as
    much as writing the file itself)."""
    import pyarrow as pa

    with pa.ipc.new_stream(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="lz4")) as writer:
        writer.write_table(table)


def _part_tables(parts: Parts, columns: FieldColumns, schema: pa.Schema, ops: FileOps) -> Iterator[pa.Table]:
    import pyarrow as pa

    for part, kinds in parts:
        with ops.open_read(part) as stream:
            yield conform(pa.ipc.open_stream(stream).read_all(), kinds, columns, schema)


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
