"""Writing a demo data directory: the documents of `aeroops.demo.documents` into storage, the
WAL, snapshots and schema files, through a `FileOps` like every effect aeroops has on a disk."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from aeroops.demo.documents import Documents, padded_before, storage_chunk, wal_chunk
from aeroops.demo.spec import (
    DEFAULT_SPEC,
    SCHEMA_VERSION,
    SNAPSHOT_INTERVAL,
    DemoSpec,
    DemoSummary,
    schema_file_bytes,
    snapshot_positions,
)
from aeroops.errors import AeroError, Code, UsageError
from aeroops.executor.fileops import REAL, FileOps, walk, write_new_file
from aeroops.formats.checksum import crc32
from aeroops.formats.ids import format_snapshot_id
from aeroops.formats.layout import (
    CHECKPOINT,
    DATA_DIR,
    DOCUMENTS,
    MANIFEST_FILE,
    METADATA_DIR,
    SCHEMAS,
    SCHEMAS_FOLDER,
    SNAPSHOTS,
    STORAGE_FILE,
    WAL,
    snapshot_folder,
)
from aeroops.formats.manifests import Checkpoint, SnapshotManifest, render_checkpoint, render_snapshot_manifest
from aeroops.progress import Progress, ProgressCallback, no_progress

# From this many WAL records on, a second process writes the WAL (see make_demo_datadir).
PARALLEL_MIN_RECORDS = 100_000
# What the demo's files and folders are made with (the umask applies): as open() and mkdir() make them.
FILE_MODE = 0o666
FOLDER_MODE = 0o777


def make_demo_datadir(
    path: Path | str,
    spec: DemoSpec = DEFAULT_SPEC,
    *,
    parallel: bool | None = None,
    ops: FileOps,
    progress: ProgressCallback = no_progress,
) -> DemoSummary:
    """Generate an AeroDB data directory at ``path`` (absent, or an empty folder).

    Raises `UsageError` if ``path`` holds anything: the generator never overwrites data. A
    failure part-way leaves a partial directory behind, which is the caller's to remove.

    ``parallel``: write the WAL in a second Python process (it draws the same documents from
    the same seed) while this one writes storage and snapshots; the bytes are the same either
    way. ``None`` (default) does so from `PARALLEL_MIN_RECORDS` WAL records on, given two CPUs.
    ``ops``: every effect on the disk goes through it (the WAL writer process's uses `REAL`: a
    test's FileOps does not cross into another process). ``progress`` hears the operations
    written (one step, counted in records).
    """
    spec.validate()
    padded = padded_before(spec)  # raises UsageError before anything is written
    root = Path(path)
    _claim_empty_dir(root, ops)

    start = spec.start if spec.start.tzinfo is not None else spec.start.replace(tzinfo=UTC)
    positions = snapshot_positions(spec)
    moments = tuple(start + k * SNAPSHOT_INTERVAL for k in range(1, spec.snapshots + 1))
    snapshot_ids = tuple(format_snapshot_id(m) for m in moments)

    schemas = {f"schema_{c}_{SCHEMA_VERSION}.json": schema_file_bytes(c) for c in sorted(spec.collections)}
    schema_crcs = tuple((name, crc32(data)) for name, data in schemas.items())
    ops.mkdir(root / METADATA_DIR, FOLDER_MODE)
    _write_schemas(root / SCHEMAS, schemas, ops)
    ops.mkdir(root / DATA_DIR, FOLDER_MODE)
    ops.mkdir(root / SNAPSHOTS, FOLDER_MODE)
    wal_path = root / WAL
    if spec.with_wal:
        ops.mkdir(wal_path.parent, FOLDER_MODE)
    wal_from = positions[-1] if spec.checkpoint else 0  # truncated right after the checkpoint

    if parallel is None:
        parallel = spec.wal_records - wal_from >= PARALLEL_MIN_RECORDS and (os.cpu_count() or 1) > 1
    helper = _start_wal_process(spec, padded, wal_path, wal_from) if spec.with_wal and parallel else None
    try:
        storage_path = root / DOCUMENTS
        documents = Documents(spec, padded)
        written = _Written(progress, spec.wal_records)
        with ExitStack() as files:
            storage = _CrcFile(files.enter_context(ops.create(storage_path, FILE_MODE)), ops)
            wal = None
            if spec.with_wal and helper is None:
                wal = _CrcFile(files.enter_context(ops.create(wal_path, FILE_MODE)), ops)
            for snapshot_id, moment, position in zip(snapshot_ids, moments, positions, strict=True):
                _write_records(documents, position, storage, wal, wal_from, written)
                snapshot = root / snapshot_folder(snapshot_id)
                _write_snapshot(snapshot, storage_path, storage, schemas, schema_crcs, moment, ops)
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
        _write_file(ops, root / CHECKPOINT, render_checkpoint(checkpoint))

    return DemoSummary(
        data_dir=root,
        snapshot_ids=snapshot_ids,
        wal_records=spec.wal_records - wal_from if spec.with_wal else 0,
        storage_records=spec.wal_records,
        documents=documents.live,
        bytes=_tree_bytes(root, ops),
    )


class _CrcFile:
    """An output file written in large chunks, with the CRC-32 and size of all bytes written."""

    def __init__(self, stream: BinaryIO, ops: FileOps) -> None:
        self._stream = stream
        self._ops = ops
        self.crc = 0
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._ops.write(self._stream, chunk)
        self.crc = crc32(chunk, self.crc)
        self.size += len(chunk)


def _write_records(
    documents: Documents,
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
            storage.write(storage_chunk(ops))
        if wal is not None and i + len(ops) > wal_from:
            skip = max(0, wal_from - i)
            wal.write(wal_chunk(ops[skip:], i + skip - wal_from + 1))
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
    package_root = str(Path(__file__).resolve().parent.parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    process = subprocess.Popen(
        [sys.executable, "-c", "from aeroops.demo.datadir import wal_process_main; wal_process_main()"],
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


def wal_process_main() -> None:
    """The WAL writer process: its arguments arrive pickled on stdin, from `_start_wal_process`."""
    spec, padded, wal_path, wal_from = pickle.loads(sys.stdin.buffer.read())
    with REAL.create(Path(wal_path), FILE_MODE) as stream:
        _write_records(Documents(spec, padded), spec.wal_records, None, _CrcFile(stream, REAL), wal_from)


def _write_snapshot(
    folder: Path,
    storage_path: Path,
    storage: _CrcFile,
    schemas: dict[str, bytes],
    schema_crcs: tuple[tuple[str, int], ...],
    moment: datetime,
    ops: FileOps,
) -> None:
    """storage.dat (a copy of documents.dat as written so far, made by the kernel) and schemas/
    first, manifest.json last (a snapshot without it is incomplete)."""
    ops.mkdir(folder, FOLDER_MODE)
    with ops.open_read(storage_path) as source, ops.create(folder / STORAGE_FILE, FILE_MODE) as target:
        if ops.copy_range(source, target, storage.size) != storage.size:
            raise AeroError(
                "documents.dat shrank while copied into a snapshot", path=storage_path, code=Code.DEMO_FAILED
            )
    _write_schemas(folder / SCHEMAS_FOLDER, schemas, ops)
    manifest = SnapshotManifest(
        snapshot_id=folder.name,
        created_at=moment,
        storage_checksum=storage.crc,
        schema_checksums=schema_crcs,
    )
    _write_file(ops, folder / MANIFEST_FILE, render_snapshot_manifest(manifest))


def _write_schemas(folder: Path, schemas: dict[str, bytes], ops: FileOps) -> None:
    ops.mkdir(folder, FOLDER_MODE)
    for name, data in schemas.items():
        _write_file(ops, folder / name, data)


def _write_file(ops: FileOps, path: Path, data: bytes) -> None:
    """A new file holding ``data``. Not fsynced: demo data is scratch, made again from its seed."""
    write_new_file(ops, path, data, FILE_MODE, fsync=False)


def make_folders(path: Path, ops: FileOps) -> None:
    """``path`` and any missing parents (as ``mkdir -p``), through ``ops``."""
    missing = [p for p in (path, *path.parents) if not ops.exists(p)]
    for folder in reversed(missing):
        ops.mkdir(folder, FOLDER_MODE)


def _claim_empty_dir(root: Path, ops: FileOps) -> None:
    if ops.exists(root):
        if not ops.is_dir(root):
            raise UsageError(f"{root} exists and is not a folder", path=root)
        if ops.scandir(root):
            raise UsageError(f"{root} is not empty; the demo generator never writes into existing data", path=root)
    else:
        make_folders(root, ops)


def _tree_bytes(root: Path, ops: FileOps) -> int:
    total = 0
    for folder, _, files in walk(ops, root):
        for name in files:
            total += ops.stat(folder / name).st_size
    return total
