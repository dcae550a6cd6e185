"""Realistic AeroDB data directories, generated deterministically from a seed.

The directories look like the ones AeroDB's own code writes (see the fixtures in
``aerodb-reference``): a WAL, append-only document storage one-to-one with the WAL records,
schema files, snapshots taken at evenly spaced points of the operation stream, and optionally a
checkpoint. Every byte is a pure function of the `DemoSpec`: no wall clock, no global random
state, so two runs with one spec give byte-identical files.

How the data is made:

- ``wal_records`` operations over ``collections`` (each picked uniformly). An operation inserts a
  new document (about 60 %), or updates (about 25 %) or deletes (about 15 %) a live one of its
  collection; with no live document there, it inserts. Document ids are
  ``<collection>-<6-digit counter>`` and are never reused.
- Documents are compact JSON with sorted keys, as in the fixtures:
  ``{"_id":"users-000001","active":true,"name":"grace-2203","rev":1,"value":723674}``; ``rev``
  counts the inserts and updates so far. With ``storage_bytes`` a ``"blob"`` string pads them.
- Operation ``i`` (1-based) is WAL sequence ``i`` and appends one storage record to
  ``data/documents.dat`` (a full record for insert and update, a tombstone for delete).
- Snapshot ``k`` of ``n`` is taken after operation ``k * wal_records // (n + 1)`` (so some
  operations always follow the newest snapshot), at simulated time ``start + k`` hours. Its
  ``storage.dat`` is a byte copy of ``documents.dat`` at that moment.
- With ``checkpoint``, the newest snapshot is a checkpoint: ``checkpoint.json`` names it and the
  WAL holds only the operations after it, numbered again from 1.

Files are written in batches of about 1 MiB, snapshot storage is copied by the kernel
(`shutil.copyfile`), and CRCs are computed while writing, so memory stays small (about 40 MiB)
whatever the size. From `PARALLEL_MIN_RECORDS` WAL records on, a second Python process writes
the WAL while this one writes storage and snapshots: both draw the same documents from the same
seeds, so the bytes are the same as when one process writes everything.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

from aeroops.errors import AeroError, Code, UsageError, option
from aeroops.formats.checksum import crc32
from aeroops.formats.ids import format_snapshot_id
from aeroops.formats.layout import (
    CHECKPOINT,
    DATA_DIR,
    DOCUMENTS,
    MANIFEST_FILE,
    SCHEMAS,
    SCHEMAS_FOLDER,
    SNAPSHOTS,
    STORAGE_FILE,
    WAL,
    snapshot_folder,
)
from aeroops.formats.manifests import Checkpoint, SnapshotManifest, render_checkpoint, render_snapshot_manifest
from aeroops.formats.storage import StorageRecord, encode_storage_record
from aeroops.formats.wal import DocumentChange, WalType, encode_document_change, encode_wal_record
from aeroops.progress import Progress, ProgressCallback, no_progress

__all__ = [
    "DemoBackupFolder",
    "DemoSpec",
    "DemoSummary",
    "make_demo_backup_folder",
    "make_demo_datadir",
    "schema_file_bytes",
    "snapshot_positions",
]

SCHEMA_VERSION = "v1"
SNAPSHOT_INTERVAL = timedelta(hours=1)
NAMES = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy")

# Operation mix (cumulative thresholds on one uniform draw).
_INSERT_BELOW = 0.60
_UPDATE_BELOW = 0.85

_INSERT, _UPDATE, _DELETE = int(WalType.INSERT), int(WalType.UPDATE), int(WalType.DELETE)
_BATCH_BYTES = 1 << 20  # documents generated and written per batch, at most about this many bytes
_BATCH_OPS = 4096  # or this many operations
# From this many WAL records on, a second process writes the WAL (see make_demo_datadir).
PARALLEL_MIN_RECORDS = 100_000
_FILLER_POOL = 1 << 16  # characters of seeded filler the blobs are sliced from
_FILLER_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# A padded document larger than this means too few records for the size asked for.
MAX_BLOB_BYTES = 16 << 20


@dataclass(frozen=True)
class DemoSpec:
    """What to generate. The same spec always gives the same bytes."""

    seed: int = 0
    collections: tuple[str, ...] = ("users", "orders", "products")
    wal_records: int = 1000  # operations generated in total (inserts, updates, deletes)
    snapshots: int = 3  # taken at evenly spaced points of the operation stream
    checkpoint: bool = False  # the newest snapshot is a checkpoint: the WAL holds only what follows it
    storage_bytes: int = 0  # > 0: pad documents so the newest snapshot's storage.dat is at least this big
    start: datetime = field(default=datetime(2026, 1, 1, tzinfo=UTC))  # snapshot k is at start + k hours
    with_wal: bool = True  # False: no wal/ folder at all

    @classmethod
    def small(cls, seed: int = 0, **changes: Any) -> DemoSpec:
        """A few hundred records and two snapshots: for tests and quick looks."""
        return replace(cls(seed=seed, wal_records=200, snapshots=2), **changes)

    @classmethod
    def benchmark(cls, seed: int = 0, **changes: Any) -> DemoSpec:
        """1,000,000 WAL records and a 1 GiB newest snapshot (about 4.6 GiB on disk in all)."""
        return replace(cls(seed=seed, wal_records=1_000_000, snapshots=3, storage_bytes=1 << 30), **changes)

    def validate(self) -> None:
        """Raise `UsageError` for a spec that cannot be generated."""
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise UsageError(f"seed must be an integer, not {self.seed!r}")
        if not self.collections:
            raise UsageError("at least one collection is needed")
        if len(set(self.collections)) != len(self.collections):
            raise UsageError(f"collection names repeat: {self.collections!r}")
        for name in self.collections:
            if (
                not isinstance(name, str)
                or not name
                or any(c in ':/\\"' or c < " " for c in name)
                or name in (".", "..")
            ):
                raise UsageError(f"{name!r} is not a usable collection name (non-empty, no : / \\ or quotes)")
        for what in ("wal_records", "snapshots", "storage_bytes"):
            value = getattr(self, what)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise UsageError(f"{option(what)} must be a non-negative integer, not {value!r}")
        if self.checkpoint and self.snapshots == 0:
            raise UsageError("a checkpoint needs at least one snapshot")
        if not isinstance(self.start, datetime):
            raise UsageError(f"start must be a datetime, not {self.start!r}")


@dataclass(frozen=True)
class DemoSummary:
    """What `make_demo_datadir` wrote."""

    data_dir: Path
    snapshot_ids: tuple[str, ...]  # oldest first; the last is the checkpoint's when there is one
    wal_records: int  # records in wal/wal.log (0 without a WAL)
    storage_records: int  # records in data/documents.dat
    documents: int  # live documents after replay
    bytes: int  # total size of the files written


def snapshot_positions(spec: DemoSpec) -> tuple[int, ...]:
    """How many operations precede each snapshot, oldest first."""
    n, s = spec.wal_records, spec.snapshots
    return tuple(k * n // (s + 1) for k in range(1, s + 1))


def schema_file_bytes(collection: str, *, blob: bool = False) -> bytes:
    """A schema file as AeroDB writes it (pretty JSON, sorted keys, no trailing newline)."""
    fields: dict[str, dict[str, object]] = {
        "_id": {"required": True, "type": "string"},
        "active": {"required": False, "type": "bool"},
        "name": {"required": True, "type": "string"},
        "rev": {"required": False, "type": "int"},
        "value": {"required": True, "type": "int"},
    }
    if blob:
        fields["blob"] = {"required": False, "type": "string"}
    schema = {"fields": fields, "schema_id": collection, "schema_version": SCHEMA_VERSION}
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False).encode()


def make_demo_datadir(
    path: Path | str,
    spec: DemoSpec = DemoSpec(),
    *,
    parallel: bool | None = None,
    progress: ProgressCallback = no_progress,
) -> DemoSummary:
    """Generate an AeroDB data directory at ``path`` (absent, or an empty folder).

    Raises `UsageError` if ``path`` holds anything: the generator never overwrites data. A
    failure part-way leaves a partial directory behind, which is the caller's to remove.

    ``parallel``: write the WAL in a second Python process (it draws the same documents from
    the same seed) while this one writes storage and snapshots; the bytes are the same either
    way. ``None`` (default) does so from `PARALLEL_MIN_RECORDS` WAL records on, given two CPUs.
    ``progress`` hears the operations written (one step, counted in records).
    """
    spec.validate()
    padded_before = _padded_before(spec)  # raises UsageError before anything is written
    root = Path(path)
    _claim_empty_dir(root)

    start = spec.start if spec.start.tzinfo is not None else spec.start.replace(tzinfo=UTC)
    positions = snapshot_positions(spec)
    moments = tuple(start + k * SNAPSHOT_INTERVAL for k in range(1, spec.snapshots + 1))
    snapshot_ids = tuple(format_snapshot_id(m) for m in moments)

    schemas = {
        f"schema_{c}_{SCHEMA_VERSION}.json": schema_file_bytes(c, blob=spec.storage_bytes > 0)
        for c in sorted(spec.collections)
    }
    schema_crcs = tuple((name, crc32(data)) for name, data in schemas.items())
    _write_schemas(root / SCHEMAS, schemas)
    (root / DATA_DIR).mkdir()
    (root / SNAPSHOTS).mkdir()
    wal_path = root / WAL
    if spec.with_wal:
        wal_path.parent.mkdir()
    wal_from = positions[-1] if spec.checkpoint else 0  # truncated right after the checkpoint

    if parallel is None:
        parallel = spec.wal_records - wal_from >= PARALLEL_MIN_RECORDS and (os.cpu_count() or 1) > 1
    helper = _start_wal_process(spec, padded_before, wal_path, wal_from) if spec.with_wal and parallel else None
    try:
        storage_path = root / DOCUMENTS
        documents = _Documents(spec, padded_before)
        written = _Written(progress, spec.wal_records)
        with ExitStack() as files:
            storage = _CrcFile(files.enter_context(open(storage_path, "wb")))
            wal = None
            if spec.with_wal and helper is None:
                wal = _CrcFile(files.enter_context(open(wal_path, "wb")))
            for snapshot_id, moment, position in zip(snapshot_ids, moments, positions, strict=True):
                _write_records(documents, position, storage, wal, wal_from, written)
                storage.flush()
                snapshot = root / snapshot_folder(snapshot_id)
                _write_snapshot(snapshot, storage_path, storage.crc, schemas, schema_crcs, moment)
            _write_records(documents, spec.wal_records, storage, wal, wal_from, written)
        if storage.size != documents.storage_size:  # the padding arithmetic must match the bytes
            raise AssertionError(f"documents.dat is {storage.size} bytes, {documents.storage_size} expected")
        if helper is not None:
            _finish_wal_process(helper, wal_path)
            helper = None
    finally:
        if helper is not None:  # this process failed: stop the helper too
            helper.kill()
            helper.wait()

    if spec.checkpoint:
        checkpoint = Checkpoint(snapshot_id=snapshot_ids[-1], created_at=moments[-1])
        (root / CHECKPOINT).write_bytes(render_checkpoint(checkpoint))

    return DemoSummary(
        data_dir=root,
        snapshot_ids=snapshot_ids,
        wal_records=spec.wal_records - wal_from if spec.with_wal else 0,
        storage_records=spec.wal_records,
        documents=documents.live,
        bytes=_tree_bytes(root),
    )


@dataclass(frozen=True)
class DemoBackupFolder:
    """What `make_demo_backup_folder` wrote."""

    folder: Path  # the backup folder
    source: DemoSummary  # the demo data directory the backups were made of
    archives: tuple[Path, ...]  # every archive made, oldest first (the damaged one included)
    damaged: Path  # the newest backup of the newest snapshot, one byte flipped in its storage.dat
    not_an_archive: Path  # a ``*.tar`` file holding text


def make_demo_backup_folder(
    root: Path | str, spec: DemoSpec = DemoSpec(wal_records=3000), *, days: int = 2
) -> DemoBackupFolder:
    """A folder of backups to audit: ``root/datadir`` (demo data) and ``root/backups``, holding
    one backup of each snapshot per day for ``days`` days (made at 12:00, 12:01, … of
    2026-01-01, 2026-01-02, …), the newest of them damaged (one byte flipped inside the first
    document of its ``snapshot/storage.dat``), and ``notes.tar``, which is no archive.

    Every byte follows from ``spec``: the archives' creation times are fixed, not the clock's.
    """
    from aeroops.executor.backup import run_backup  # the executor imports demo-free modules only

    if days < 1:
        raise UsageError(f"days must be at least 1, not {days!r}")
    root = Path(root)
    source = make_demo_datadir(root / "datadir", spec)
    if not source.snapshot_ids:
        raise UsageError("a demo backup folder needs at least one snapshot")
    folder = root / "backups"
    folder.mkdir()
    start = spec.start if spec.start.tzinfo is not None else spec.start.replace(tzinfo=UTC)
    noon = start.replace(hour=12, minute=0, second=0, microsecond=0)
    archives = []
    for day in range(days):
        for index, snapshot_id in enumerate(source.snapshot_ids):
            made_at = noon + timedelta(days=day, minutes=index)
            result = run_backup(source.data_dir, folder, created_at=made_at, snapshot_id=snapshot_id)
            archives.append(Path(result.archive))
    damaged = archives[-1]
    data = bytearray(damaged.read_bytes())
    data[data.index(b'"_id"')] ^= 0xFF  # the first document of snapshot/storage.dat
    damaged.write_bytes(bytes(data))
    not_an_archive = folder / "notes.tar"
    not_an_archive.write_text("not an archive")
    return DemoBackupFolder(folder, source, tuple(archives), damaged, not_an_archive)


# --- operations and documents --------------------------------------------------------------------

# (WAL type, collection, document id, body) of one operation
_Op = tuple[int, str, str, bytes]


def _operations(spec: DemoSpec) -> Iterator[tuple[int, int, int]]:
    """``(WAL type, collection index, document number)`` of each operation, in order.

    Its own generator, seeded apart from the documents' one, so that the padding pre-count
    (`_padded_before`) can replay the operations without drawing any document.
    """
    draw = random.Random(f"aeroops.demo operations {spec.seed}").random
    count = len(spec.collections)
    live: list[list[int]] = [[] for _ in range(count)]
    counters = [0] * count
    for _ in range(spec.wal_records):
        c = int(draw() * count)
        pool = live[c]
        u = draw()
        if u < _INSERT_BELOW or not pool:
            counters[c] += 1
            pool.append(counters[c])
            yield _INSERT, c, counters[c]
            continue
        j = int(draw() * len(pool))
        number = pool[j]
        if u < _UPDATE_BELOW:
            yield _UPDATE, c, number
        else:
            pool[j] = pool[-1]  # O(1) removal; the order of the pool is the generator's own business
            pool.pop()
            yield _DELETE, c, number


def _padded_before(spec: DemoSpec) -> int:
    """Inserts and updates before the newest snapshot (or the end): the documents padding is
    spread over. Raises `UsageError` when ``storage_bytes`` cannot be reached sensibly."""
    if not spec.storage_bytes:
        return 0
    target_at = snapshot_positions(spec)[-1] if spec.snapshots else spec.wal_records
    padded = sum(kind != _DELETE for kind, _, _ in islice(_operations(spec), target_at))
    if padded == 0:
        raise UsageError(
            f"{option('storage_bytes')} needs at least one insert or update before the newest snapshot; "
            f"raise {option('wal_records')}"
        )
    if spec.storage_bytes / padded > MAX_BLOB_BYTES:
        raise UsageError(
            f"{option('storage_bytes')} of {spec.storage_bytes} bytes over {padded} documents would make records "
            f"of more than {MAX_BLOB_BYTES} bytes; raise {option('wal_records')}"
        )
    return padded


class _Documents:
    """The operations with their documents, in order, in batches.

    It also keeps, by arithmetic, the size ``documents.dat`` reaches, to size the padding: with
    ``storage_bytes`` every insert and update before the newest snapshot gets an equal share of
    what is still missing, so that snapshot's storage reaches the target exactly or just above.
    Later documents keep the last padding size.
    """

    def __init__(self, spec: DemoSpec, padded_before: int) -> None:
        self._rng = random.Random(f"aeroops.demo documents {spec.seed}")
        self._operations = _operations(spec)
        self._collections = spec.collections
        # storage record = u32 length + lp key + lp schema id + lp version + flag + lp body + crc, where
        # key = "<c>:<c>-<number>" and schema id = "<c>": this is all but the number and the body
        self._record_base = tuple(
            4 + (4 + 2 * len(c.encode()) + 2) + (4 + len(c.encode())) + (4 + len(SCHEMA_VERSION)) + 1 + 4 + 4
            for c in spec.collections
        )
        self.done = 0  # operations handed out
        self.live = 0  # documents alive after them
        self.storage_size = 0  # bytes of documents.dat after them
        self._rev = 0
        self._target = spec.storage_bytes
        self._padded_left = padded_before
        self._blob_len = 0
        self._filler = b""
        if self._target:
            alphabet = _FILLER_ALPHABET
            pool = "".join(alphabet[self._rng.randrange(len(alphabet))] for _ in range(_FILLER_POOL)).encode()
            self._filler = pool + pool  # any slice of up to _FILLER_POOL bytes from the first half

    def _blob(self, unpadded: int) -> bytes:
        """Padding for the next document, whose storage record is ``unpadded`` bytes without it."""
        if self._padded_left > 0:
            need = self._target - self.storage_size
            share = -(-need // self._padded_left) if need > 0 else 0  # ceiling division
            self._blob_len = max(0, share - unpadded)
            self._padded_left -= 1
        length = self._blob_len
        offset = self._rng.randrange(_FILLER_POOL)
        if length <= _FILLER_POOL:
            return self._filler[offset : offset + length]
        return (self._filler[:_FILLER_POOL] * (length // _FILLER_POOL + 2))[offset : offset + length]

    def batch(self, limit: int) -> list[_Op]:
        """The next operations: at most ``limit``, `_BATCH_OPS`, or about `_BATCH_BYTES` of bodies."""
        next_operation = self._operations.__next__
        collections, record_base = self._collections, self._record_base
        random_bits = self._rng.getrandbits
        names, name_count = NAMES, len(NAMES)
        padded = self._target > 0
        rev, size, live = self._rev, self.storage_size, self.live
        out: list[_Op] = []
        append = out.append
        budget = _BATCH_BYTES
        for _ in range(min(limit, _BATCH_OPS)):
            kind, c, n = next_operation()
            collection = collections[c]
            number = f"{n:06d}"
            document_id = f"{collection}-{number}"
            if kind == _DELETE:
                live -= 1
                body = b""
            else:
                if kind == _INSERT:
                    live += 1
                rev += 1
                bits = random_bits(48)  # one draw for every field: bit 0 active, then name, number, value
                active = "true" if bits & 1 else "false"
                name = f"{names[(bits >> 1) % name_count]}-{(bits >> 8) % 10000}"
                value = 100000 + (bits >> 24) % 900000
                if padded:
                    head = f'{{"_id":"{document_id}","active":{active},"blob":"'.encode()
                    tail = f'","name":"{name}","rev":{rev},"value":{value}}}'.encode()
                    self.storage_size = size
                    body = head + self._blob(record_base[c] + len(number) + len(head) + len(tail)) + tail
                else:
                    body = (
                        f'{{"_id":"{document_id}","active":{active},"name":"{name}","rev":{rev},"value":{value}}}'
                    ).encode()
            size += record_base[c] + len(number) + len(body)
            append((kind, collection, document_id, body))
            budget -= len(body)
            if budget <= 0:
                break
        self._rev, self.storage_size, self.live = rev, size, live
        self.done += len(out)
        return out


# --- writing -------------------------------------------------------------------------------------


class _CrcFile:
    """An output file written in large chunks, with the CRC-32 and size of all bytes written."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.crc = 0
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._stream.write(chunk)
        self.crc = crc32(chunk, self.crc)
        self.size += len(chunk)

    def flush(self) -> None:
        self._stream.flush()


def _storage_chunk(ops: list[_Op]) -> bytes:
    version = SCHEMA_VERSION
    return b"".join(
        [
            encode_storage_record(
                StorageRecord(f"{collection}:{document_id}", collection, version, kind == _DELETE, body)
            )
            for kind, collection, document_id, body in ops
        ]
    )


def _wal_chunk(ops: list[_Op], first_sequence: int) -> bytes:
    version = SCHEMA_VERSION
    return b"".join(
        [
            encode_wal_record(
                kind,
                sequence,
                encode_document_change(DocumentChange(collection, document_id, collection, version, body)),
            )
            for sequence, (kind, collection, document_id, body) in enumerate(ops, first_sequence)
        ]
    )


def _write_records(
    documents: _Documents,
    end: int,
    storage: _CrcFile | None,
    wal: _CrcFile | None,
    wal_from: int,
    written: Callable[[int], None] | None = None,
) -> None:
    """The operations up to ``end`` (exclusive, 0-based): storage records, and WAL records from
    operation ``wal_from`` on, numbered from 1 there. ``written`` hears the operations done."""
    while (i := documents.done) < end:
        ops = documents.batch(end - i)
        if storage is not None:
            storage.write(_storage_chunk(ops))
        if wal is not None and i + len(ops) > wal_from:
            skip = max(0, wal_from - i)
            wal.write(_wal_chunk(ops[skip:], i + skip - wal_from + 1))
        if written is not None:
            written(documents.done)


class _Written:
    """The operations written so far, as progress events of one step."""

    def __init__(self, progress: ProgressCallback, total: int) -> None:
        self._progress, self._total = progress, total
        progress(Progress("demo", "write the demo data", 1, 1, 0, total, unit="records"))

    def __call__(self, done: int) -> None:
        self._progress(Progress("demo", "write the demo data", 1, 1, done, self._total, unit="records"))


def _start_wal_process(spec: DemoSpec, padded_before: int, wal_path: Path, wal_from: int) -> subprocess.Popen[bytes]:
    """A fresh interpreter that writes ``wal_path``. Not `multiprocessing`: spawning re-imports
    the caller's ``__main__`` (a script without a main guard would run again), and forking copies
    a process that may hold threads, as notebook kernels do."""
    package_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    process = subprocess.Popen(
        [sys.executable, "-c", "from aeroops.demo import _wal_process_main; _wal_process_main()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdin is not None
    try:
        process.stdin.write(pickle.dumps((spec, padded_before, str(wal_path), wal_from)))
        process.stdin.close()
    except OSError:  # it died at once: report what it said
        _finish_wal_process(process, wal_path)
        raise
    return process


def _finish_wal_process(process: subprocess.Popen[bytes], wal_path: Path) -> None:
    assert process.stderr is not None
    err = process.stderr.read()
    process.stderr.close()
    if process.wait() != 0:
        detail = err.decode(errors="replace").strip().splitlines()
        raise AeroError(
            f"the WAL writer process failed (exit {process.returncode}): {detail[-1] if detail else 'no message'}",
            path=wal_path,
            code=Code.DEMO_FAILED,
        )


def _wal_process_main() -> None:
    """The WAL writer process: its arguments arrive pickled on stdin, from `_start_wal_process`."""
    spec, padded_before, wal_path, wal_from = pickle.loads(sys.stdin.buffer.read())
    with open(wal_path, "wb") as stream:
        _write_records(_Documents(spec, padded_before), spec.wal_records, None, _CrcFile(stream), wal_from)


def _write_snapshot(
    folder: Path,
    storage_path: Path,
    storage_crc: int,
    schemas: dict[str, bytes],
    schema_crcs: tuple[tuple[str, int], ...],
    moment: datetime,
) -> None:
    """storage.dat and schemas/ first, manifest.json last (a snapshot without it is incomplete)."""
    folder.mkdir()
    shutil.copyfile(storage_path, folder / STORAGE_FILE)
    _write_schemas(folder / SCHEMAS_FOLDER, schemas)
    manifest = SnapshotManifest(
        snapshot_id=folder.name,
        created_at=moment,
        storage_checksum=storage_crc,
        schema_checksums=schema_crcs,
    )
    (folder / MANIFEST_FILE).write_bytes(render_snapshot_manifest(manifest))


def _write_schemas(folder: Path, schemas: dict[str, bytes]) -> None:
    folder.mkdir(parents=True)
    for name, data in schemas.items():
        (folder / name).write_bytes(data)


def _claim_empty_dir(root: Path) -> None:
    if root.exists() or root.is_symlink():
        if not root.is_dir():
            raise UsageError(f"{root} exists and is not a folder", path=root)
        if any(root.iterdir()):
            raise UsageError(f"{root} is not empty; the demo generator never writes into existing data", path=root)
    else:
        root.mkdir(parents=True)


def _tree_bytes(root: Path) -> int:
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            total += os.path.getsize(os.path.join(folder, name))
    return total
