"""`scan`: look at a data directory and describe it (read-only; nothing is ever written).

It gathers facts (sizes, CRCs computed from the bytes, manifests, the WAL's health); the
verdicts on those facts are pure functions in `aeroops.core.description`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Literal

from aeroops.core.description import (
    DataDirDescription,
    FileFact,
    SnapshotDescription,
    Verdict,
    WalDescription,
)
from aeroops.errors import AeroError, Code, Finding, FormatError, ScanError, io_error
from aeroops.executor.fileops import COPY_CHUNK, FileOps, LimitedReader, read_head
from aeroops.executor.location import local_path
from aeroops.executor.lock import aerodb_serving
from aeroops.formats.checksum import crc32
from aeroops.formats.layout import (
    CHECKPOINT,
    MANIFEST_FILE,
    SCHEMAS_FOLDER,
    SNAPSHOTS,
    STORAGE_FILE,
    WAL,
    snapshot_folder,
)
from aeroops.formats.manifests import parse_checkpoint, parse_snapshot_manifest
from aeroops.formats.schemas import SchemaRef, add_wal_schema_refs, is_schema_file_name, parse_schema_ref
from aeroops.formats.wal import iter_wal_batches
from aeroops.progress import Progress, ProgressCallback, no_progress

ChecksumMode = Literal["all", "until-valid", "none"]
MANIFEST_LIMIT = 1 << 20  # a manifest is a few hundred bytes; a huge one is damage


def scan(
    data_dir: Path | str,
    *,
    checksums: ChecksumMode = "all",
    check_wal: bool = True,
    ops: FileOps,
    progress: ProgressCallback = no_progress,
    error: type[AeroError] = ScanError,
    io_error_type: type[AeroError] = ScanError,
) -> DataDirDescription:
    """Describe ``data_dir``. ``checksums``: compute every snapshot's CRCs ("all"), only newest
    first until a valid snapshot is found ("until-valid", what a backup needs), or none.
    ``progress`` hears of each snapshot checksummed and of the WAL check, bytes read.
    ``error`` is raised when the data directory is missing or not a folder, ``io_error_type``
    when it or its snapshots folder cannot be read (a backup's say AERO_BACKUP_FAILED and
    AERO_BACKUP_IO; scan's own, AERO_SCAN_FAILED)."""
    root = local_path(data_dir, "the data directory")
    try:
        if not stat.S_ISDIR(ops.stat(root).st_mode):
            raise error("the data directory is not a folder", path=root)
    except FileNotFoundError:
        raise error("the data directory does not exist", path=root) from None
    except OSError as exc:
        raise io_error(io_error_type, exc, "look at the data directory") from None

    try:
        found = _entries(root / SNAPSHOTS, ops)
    except OSError as exc:
        raise io_error(io_error_type, exc, "list the snapshots folder") from None
    snapshots = [_describe_snapshot(root / snapshot_folder(e.name), e.name, ops) for e in found]
    # Steps for progress: a snapshot at most each (newest first), then the WAL.
    step_count = (len(snapshots) if checksums != "none" else 0) + 1
    if checksums != "none":
        newest_first = sorted(range(len(snapshots)), key=lambda k: snapshots[k].snapshot_id, reverse=True)
        for step, i in enumerate(newest_first, start=1):
            if snapshots[i].verdict is Verdict.UNCHECKED:
                on_bytes = _reporter(progress, f"checksum snapshot {snapshots[i].snapshot_id}", step, step_count)
                snapshots[i] = _with_checksums(
                    root / snapshot_folder(snapshots[i].snapshot_id), snapshots[i], ops, on_bytes
                )
            if checksums == "until-valid" and snapshots[i].verdict is Verdict.VALID:
                break

    checkpoint = checkpoint_error = None
    checkpoint_path = root / CHECKPOINT
    if ops.exists(checkpoint_path):
        try:
            checkpoint = parse_checkpoint(_read_small(checkpoint_path, ops), path=checkpoint_path)
        except (FormatError, OSError) as exc:
            checkpoint_error = getattr(exc, "message", None) or str(exc)

    return DataDirDescription(
        path=str(root),
        snapshots=tuple(snapshots),
        wal=describe_wal(
            root / WAL,
            check=check_wal,
            ops=ops,
            on_bytes=_reporter(progress, "check the WAL", step_count, step_count),
        ),
        checkpoint=checkpoint,
        checkpoint_error=checkpoint_error,
        serving=aerodb_serving(root, ops),
        clean_shutdown=ops.exists(root / "clean_shutdown"),
        schema_files=describe_schema_files(root / "metadata" / "schemas", ops),
    )


def describe_schema_files(folder: Path, ops: FileOps) -> tuple[FileFact, ...]:
    """The ``*.json`` files of a schema folder (what AeroDB's schema loader reads), each read
    whole (a few hundred bytes): size, CRC-32 and the schema written inside; sorted by name."""
    facts = []
    for entry in _entries(folder, ops):
        if not is_schema_file_name(entry.name):
            continue
        fact = _file_fact(folder / entry.name, entry.name, ops)
        if fact is None or fact.error:
            facts.extend([fact] if fact else [])
            continue
        try:
            data = _read_small(folder / entry.name, ops)
        except (FormatError, OSError) as exc:
            facts.append(replace(fact, error=getattr(exc, "message", None) or str(exc)))
            continue
        facts.append(FileFact(entry.name, len(data), crc32(data), schema=_schema_of(data, folder / entry.name)))
    return tuple(sorted(facts, key=lambda f: f.name))


def _schema_of(data: bytes, path: Path) -> SchemaRef | None:
    try:
        return parse_schema_ref(data, path=path)
    except FormatError:
        return None


def describe_wal(
    path: Path,
    *,
    check: bool = True,
    ops: FileOps,
    size: int | None = None,
    crc: bool = False,
    on_bytes: BytesCallback | None = None,
) -> WalDescription:
    """The WAL's size and health; ``size`` cuts it at a size seen earlier (a backup packs that,
    and asks for the ``crc`` of the bytes checked, to compare with those it packed).
    ``on_bytes(done, total)`` hears how far the check has read."""
    try:
        size = ops.stat(path).st_size if size is None else size
    except FileNotFoundError:
        return WalDescription(present=False)
    if not check:
        return WalDescription(present=True, size=size)
    records = 0
    first = last = None
    schemas: set[tuple[str, str]] = set()
    try:
        with ops.open_read(path) as stream:
            limited = LimitedReader(stream, size, checksum=crc)
            for batch in iter_wal_batches(limited, path=path):
                if first is None:
                    first = batch[0].sequence
                last = batch[-1].sequence
                records += len(batch)
                add_wal_schema_refs(batch, schemas)
                if on_bytes is not None:
                    on_bytes(batch[-1].offset + batch[-1].length, size)
    except FormatError as exc:
        return WalDescription(True, size, records, first, last, _grown_or_damaged(exc, path, size, ops))
    except OSError as exc:
        err = FormatError(f"cannot read the WAL: {exc.strerror}", path=path, code=Code.WAL_IO)
        return WalDescription(True, size, records, first, last, err.finding)
    refs = frozenset(SchemaRef(*ref) for ref in schemas)
    return WalDescription(True, size, records, first, last, crc32=limited.crc, schemas=refs)


def _grown_or_damaged(exc: FormatError, path: Path, size: int, ops: FileOps) -> Finding:
    """A WAL that ends inside a record is damaged, unless it is longer now than the size it
    was read up to: then a writer was appending that record while it was read."""
    if exc.code is not Code.WAL_TORN_TAIL:
        return exc.finding
    try:
        now = ops.stat(path).st_size
    except OSError:
        return exc.finding
    if now <= size:
        return exc.finding
    return FormatError(
        f"the WAL grew while it was read ({size:,} bytes when read, {now:,} now): something, "
        "AeroDB most likely, is appending to it, so its last record was cut where the read "
        "stopped, not damaged; stop AeroDB and look again",
        path=path,
        offset=exc.offset,
        code=Code.FILE_GREW,
    ).finding


def crc32_file(path: Path, ops: FileOps, on_chunk: Callable[[int], None] | None = None) -> tuple[int, int]:
    """CRC-32 and length of a file's bytes, streamed; ``on_chunk(n)`` after each chunk read."""
    crc = length = 0
    buffer = memoryview(bytearray(COPY_CHUNK))
    with ops.open_read(path) as stream:
        while n := ops.readinto(stream, buffer):
            crc = crc32(buffer[:n], crc)
            length += n
            if on_chunk is not None:
                on_chunk(n)
    return crc, length


BytesCallback = Callable[[int, int], None]  # (bytes done, bytes in all)


def _reporter(progress: ProgressCallback, step: str, index: int, count: int) -> BytesCallback:
    def report(done: int, total: int) -> None:
        progress(Progress("scan", step, index, count, done, total))

    return report


def _entries(folder: Path, ops: FileOps) -> list[os.DirEntry[str]]:
    try:
        return ops.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _read_small(path: Path, ops: FileOps) -> bytes:
    data = read_head(ops, path, MANIFEST_LIMIT + 1)
    if len(data) > MANIFEST_LIMIT:
        raise FormatError(f"larger than {MANIFEST_LIMIT} bytes", path=path, code=Code.MANIFEST_INVALID)
    return data


def _file_fact(path: Path, name: str, ops: FileOps) -> FileFact | None:
    try:
        info = ops.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return FileFact(name, 0, error=exc.strerror)
    if not stat.S_ISREG(info.st_mode):
        return FileFact(name, 0, error="not a regular file")
    return FileFact(name, info.st_size)


def _describe_snapshot(folder: Path, snapshot_id: str, ops: FileOps) -> SnapshotDescription:
    try:
        is_dir = stat.S_ISDIR(ops.lstat(folder).st_mode)
    except OSError:
        is_dir = False
    if not is_dir:
        return SnapshotDescription(snapshot_id, is_dir=False)
    manifest_path = folder / MANIFEST_FILE
    has_manifest = ops.exists(manifest_path)
    manifest = manifest_error = manifest_unreadable = None
    manifest_size = 0
    if has_manifest:
        try:
            if not stat.S_ISREG(ops.lstat(manifest_path).st_mode):  # a link would be packed as a link
                raise OSError(errno.EINVAL, "not a regular file")
            data = _read_small(manifest_path, ops)
            manifest_size = len(data)
            manifest = parse_snapshot_manifest(data, path=manifest_path)
        except FormatError as exc:
            manifest_error = exc.message
        except OSError as exc:
            manifest_unreadable = exc.strerror or str(exc)
    schemas_dir = folder / SCHEMAS_FOLDER
    schemas: list[FileFact] = []
    others: list[str] = []
    schemas_error = None
    try:
        has_schemas_dir = stat.S_ISDIR(ops.lstat(schemas_dir).st_mode)
    except OSError:
        has_schemas_dir = False
    try:
        listed = _entries(schemas_dir, ops) if has_schemas_dir else []
    except OSError as exc:
        listed, schemas_error = [], exc.strerror or str(exc)
    if has_schemas_dir:
        for entry in listed:
            if entry.is_file(follow_symlinks=False):
                fact = _file_fact(schemas_dir / entry.name, f"{SCHEMAS_FOLDER}/{entry.name}", ops)
                if fact is not None and not fact.error and fact.size <= MANIFEST_LIMIT:
                    # What it defines (a few hundred bytes); its checksum is still taken apart.
                    with contextlib.suppress(OSError, FormatError):
                        fact = replace(fact, schema=_schema_of(_read_small(schemas_dir / entry.name, ops), schemas_dir))
                if fact is not None:
                    schemas.append(fact)
            else:
                others.append(entry.name)
    return SnapshotDescription(
        snapshot_id=snapshot_id,
        manifest=manifest,
        manifest_size=manifest_size,
        manifest_error=manifest_error,
        manifest_unreadable=manifest_unreadable,
        has_manifest=has_manifest,
        storage=_file_fact(folder / STORAGE_FILE, STORAGE_FILE, ops),
        schemas_dir=has_schemas_dir,
        schemas=tuple(schemas),
        other_entries=tuple(others),
        schemas_error=schemas_error,
    )


def _with_checksums(
    folder: Path, snap: SnapshotDescription, ops: FileOps, on_bytes: BytesCallback
) -> SnapshotDescription:
    assert snap.storage is not None
    total = snap.storage.size + sum(f.size for f in snap.schemas)
    done = 0

    def read(n: int) -> None:
        nonlocal done
        done += n
        on_bytes(done, total)

    def checked(fact: FileFact) -> FileFact:
        try:
            crc, length = crc32_file(folder / fact.name, ops, read)
        except OSError as exc:
            return FileFact(fact.name, fact.size, error=exc.strerror or str(exc))
        if length != fact.size:
            return FileFact(fact.name, fact.size, error=f"changed size while read ({fact.size} → {length} bytes)")
        return replace(fact, crc32=crc)

    return replace(snap, storage=checked(snap.storage), schemas=tuple(checked(f) for f in snap.schemas))
