"""The diff of two sources with bounded memory: each source's records (a key, a size and a CRC
each, no body) are spilled to Parquet parts in a private folder, and DuckDB replays them (the
last record of each key wins, WAL over storage: DESIGN.md §8) and joins the two sides, within
`ENGINE_MEMORY` (it spills to its own temporary folder past that). Only the changed documents'
bodies are read again, for their fields.

Measured on 1,000,000 documents a side, 1 % changed (2 cores): DuckDB 1.6–1.7 s, 343 MiB peak
RSS with a 256 MB limit (6.0 s, 217 MiB with 128 MB); pyarrow's group_by and hash join 3.2–4.2
s, 666–672 MiB, as Acero keeps both sides in memory. Hence DuckDB.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from aeroops.core.documents import (
    ADDED,
    CHANGED,
    REMOVED,
    CollectionDelta,
    DiffResult,
    Document,
    DocumentDelta,
    changed_fields,
)
from aeroops.core.logical import place
from aeroops.errors import UsageError
from aeroops.executor.document_table import SeamWriter
from aeroops.executor.fileops import FileOps, logged_cleanup
from aeroops.formats.checksum import crc32
from aeroops.formats.storage import StorageRecord
from aeroops.formats.wal import DOCUMENT_TYPES, DocumentChange, WalRecord, WalType, decode_payload
from aeroops.progress import Progress, ProgressCallback, no_progress, within_step

# DuckDB's memory_limit. The whole diff of two 1,000,000-document data directories peaked at
# 500-507 MiB with 256MB (too near the 512 MiB target), 409-424 MiB with 160MB, no slower.
ENGINE_MEMORY = "160MB"
ENGINE_THREADS = 2
PART_ROWS = 65_536  # records per Parquet part
FIELDS_COMPARED = 100_000  # changed documents whose fields a diff compares; past these, counted
_WAL = 1 << 62  # a WAL record's order is past every storage record's: the WAL wins
PART_BYTES = 8 << 20  # or this many body bytes
_COLUMNS = ("collection", "key", "live", "size", "crc", "schema", "version", "place", "ord", "body")


class _Spill:
    """A source's records as rows in Parquet parts: live, size, CRC, schema, place, order."""

    def __init__(self, folder: Path, ops: FileOps) -> None:
        self.folder, self.ops = folder, ops
        self.rows: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
        self.parts = 0
        self.bytes = 0
        self.storage = 0
        self.wal = 0

    def _add(
        self, collection: str, key: str, body: bytes | None, schema: str, version: str, where: int, ord_: int
    ) -> None:
        rows = self.rows
        rows["collection"].append(collection)
        rows["key"].append(key)
        rows["live"].append(body is not None)
        rows["size"].append(0 if body is None else len(body))
        rows["crc"].append(0 if body is None else crc32(body))
        rows["schema"].append(schema)
        rows["version"].append(version)
        rows["place"].append(where)
        rows["ord"].append(ord_)
        rows["body"].append(body)
        self.bytes += 0 if body is None else len(body)
        if len(rows["key"]) >= PART_ROWS or self.bytes >= PART_BYTES:
            self.flush()

    def add_storage(self, record: StorageRecord) -> None:
        index = self.storage
        self.storage += 1
        body = None if record.tombstone else record.body
        self._add(
            record.collection, record.document_id, body, record.schema_id, record.schema_version,
            place(index, wal=False), index,
        )  # fmt: skip

    def add_wal(self, record: WalRecord) -> None:
        index = self.wal
        self.wal += 1
        if record.type not in DOCUMENT_TYPES:
            return
        change = decode_payload(record)
        if not isinstance(change, DocumentChange):
            return
        body = None if record.type == WalType.DELETE else change.body
        self._add(
            change.collection, change.document_id, body, change.schema_id, change.schema_version,
            place(index, wal=True), _WAL + index,
        )  # fmt: skip

    def add_document(self, document: Document) -> None:
        """A winning document (a source read the fast way): the only record of its key."""
        index = self.storage
        self.storage += 1
        self._add(
            document.collection, document.key, document.body, document.schema, document.version,
            place(index, wal=False), index,
        )  # fmt: skip

    def flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self.rows["key"]:
            return
        table = pa.table({**self.rows, "body": pa.array(self.rows["body"], pa.large_binary())})
        with self.ops.create(self.folder / f"{self.parts:06d}.parquet", 0o600) as stream:
            pq.write_table(table, SeamWriter(self.ops, stream))
        self.parts += 1
        self.rows = {name: [] for name in _COLUMNS}
        self.bytes = 0


Reader = Callable[[Any, Callable[[WalRecord], None], Callable[[StorageRecord], None], ProgressCallback], None]
Winners = Callable[[Any, ProgressCallback], Iterable[Document] | None]


def engine_diff(
    a: Any,
    b: Any,
    read: Reader,
    *,
    collections: Sequence[str] | None = None,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
    winners: Winners | None = None,
) -> DiffResult:
    """`aeroops.executor.documents.diff`, with the comparison in DuckDB over spilled records;
    ``read(source, on_wal, on_storage, progress)`` hands a source's records to the callbacks.
    ``winners(source, progress)``, when given, hands only its winning documents (the fast C
    reading), or None for a source ``read`` must read record by record."""

    steps = ("read A", "read B", "compare", "read the changed documents")

    def step(index: int) -> ProgressCallback:
        progress(Progress("diff", steps[index], index + 1, len(steps)))
        return within_step(progress, "diff", steps[index], index + 1, len(steps))

    scratch = ops.make_temp_dir(None, "aeroops-diff-")
    try:
        parts = []
        for index, source in enumerate((a, b)):
            folder = scratch / "ab"[index]
            ops.mkdir(folder)
            spill = _Spill(folder, ops)
            picked = None if winners is None else winners(source, step(index))
            if picked is None:
                read(source, spill.add_wal, spill.add_storage, step(index))
            else:
                for document in picked:
                    spill.add_document(document)
            spill.flush()
            parts.append(spill.parts)
        step(2)
        chosen = None if collections is None else sorted(set(collections))
        found, counts = _compare(scratch, parts, chosen)
        step(3)
        compared = [(int(row[3]), int(row[4])) for row in found if row[2] == CHANGED][:FIELDS_COMPARED]
        bodies = _bodies(scratch, compared)
        deltas = []
        for collection, key, change, place_a, place_b, schema_a, schema_b in found:
            pair = (int(place_a), int(place_b))
            if change != CHANGED:
                deltas.append(DocumentDelta(collection, key, change))
            elif pair in bodies:
                fields, note = changed_fields(*bodies[pair])
                if schema_a != schema_b:
                    note = "; ".join(n for n in (note, f"schema {schema_a} → {schema_b}") if n)
                deltas.append(DocumentDelta(collection, key, CHANGED, fields, note))
            else:
                note = f"fields not compared: over {FIELDS_COMPARED:,} changed"
                deltas.append(DocumentDelta(collection, key, CHANGED, (), note))
        return DiffResult(str(a), str(b), tuple(deltas), counts)
    finally:
        with logged_cleanup("removing the diff's scratch folder", scratch):
            ops.remove_tree(scratch)


_STATE = """
SELECT collection, key, arg_max(live, ord) AS live, arg_max(size, ord) AS size, arg_max(crc, ord) AS crc,
       arg_max(schema || ' ' || version, ord) AS schema, arg_max(place, ord) AS place
FROM read_parquet('{folder}/*.parquet') {where} GROUP BY collection, key
"""


def _compare(
    scratch: Path, parts: Sequence[int], collections: Sequence[str] | None
) -> tuple[list[tuple[str, str, str, int, int, str, str]], tuple[CollectionDelta, ...]]:
    """The documents that differ (collection, key, change, place in A, place in B, schema in A,
    schema in B), sorted, and the per-collection counts."""
    import duckdb

    where = "" if collections is None else "WHERE list_contains($collections, collection)"
    params = {} if collections is None else {"collections": list(collections)}
    con = duckdb.connect(config={"memory_limit": ENGINE_MEMORY, "threads": ENGINE_THREADS})
    try:
        con.execute(f"SET temp_directory = '{_quoted(scratch / 'engine')}'")
        con.execute("SET preserve_insertion_order = false")
        for side, spilled in zip("ab", parts, strict=True):
            state = _STATE.format(folder=_quoted(scratch / side), where=where)
            if spilled:
                con.execute(f"CREATE TEMP TABLE {side} AS SELECT * FROM ({state}) WHERE live", params)
            else:  # a source without a document: read_parquet refuses an empty glob
                con.execute(
                    f"CREATE TEMP TABLE {side} (collection VARCHAR, key VARCHAR, live BOOLEAN, size BIGINT, "
                    "crc BIGINT, schema VARCHAR, place BIGINT)"
                )
        found = con.execute(
            """
            SELECT coalesce(a.collection, b.collection) AS c, coalesce(a.key, b.key) AS k,
                   CASE WHEN a.key IS NULL THEN 'added' WHEN b.key IS NULL THEN 'removed' ELSE 'changed' END,
                   coalesce(a.place, -1), coalesce(b.place, -1), coalesce(a.schema, ''), coalesce(b.schema, '')
            FROM a FULL OUTER JOIN b ON a.collection = b.collection AND a.key = b.key
            WHERE a.key IS NULL OR b.key IS NULL OR a.size <> b.size OR a.crc <> b.crc OR a.schema <> b.schema
            ORDER BY c, k
            """
        ).fetchall()
        sizes = con.execute(
            "SELECT collection, count(*) FILTER (WHERE side = 'a'), count(*) FILTER (WHERE side = 'b') FROM "
            "(SELECT collection, 'a' AS side FROM a UNION ALL SELECT collection, 'b' FROM b) GROUP BY collection"
        ).fetchall()
    finally:
        con.close()
    tally: dict[str, list[int]] = {c: [0, 0, 0] for c, _, _ in sizes}
    for row in found:
        tally.setdefault(row[0], [0, 0, 0])[(ADDED, REMOVED, CHANGED).index(row[2])] += 1
    in_a = {c: n for c, n, _ in sizes}
    counts = tuple(
        CollectionDelta(c, added, removed, changed, in_a.get(c, 0) - removed - changed)
        for c, (added, removed, changed) in sorted(tally.items())
    )
    return found, counts


def _bodies(scratch: Path, places: list[tuple[int, int]]) -> dict[tuple[int, int], tuple[bytes, bytes]]:
    """The bodies of the winning records at these places (in A, in B), from the spilled parts."""
    import duckdb
    import pyarrow as pa

    if not places:
        return {}
    con = duckdb.connect(config={"memory_limit": ENGINE_MEMORY, "threads": ENGINE_THREADS})
    try:
        found: list[dict[int, bytes]] = []
        for index, side in enumerate("ab"):
            wanted = pa.table({"place": pa.array([p[index] for p in places], pa.int64())})
            con.register("wanted", wanted)
            rows = con.execute(
                f"SELECT place, body FROM read_parquet('{_quoted(scratch / side)}/*.parquet') "
                "WHERE place IN (SELECT place FROM wanted)"
            ).fetchall()
            con.unregister("wanted")
            found.append(dict(rows))
    finally:
        con.close()
    return {(pa_, pb): (found[0][pa_], found[1][pb]) for pa_, pb in places}


def _quoted(path: Path) -> str:
    text = os.fspath(path)
    if "'" in text:
        raise UsageError("a temporary folder whose path holds a quote", path=path)
    return text
