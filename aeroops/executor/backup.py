"""The backup executor: DESIGN.md §4's ten steps, carried out for a plan.

lock → fsync WAL → scan and plan → stage snapshot → stage WAL → write manifest → fsync
staging → pack tar (checksumming every byte on its way in, and hashing the whole archive for
its sidecar: ``<archive>.b3`` by default, ``<archive>.sha256`` with ``digest="sha256"``) →
fsync, rename, fsync folder → unlock. On any failure the staging folder (which holds the
partial tar) is removed, nothing is left at the output path, and the data directory was never
written to.

Its parts: `aeroops.executor.backup_staging` (the staging folder, steps 4 to 7, and the clean-up
of those killed runs left), `aeroops.executor.backup_publish` (step 9); packing and the retry
that picks the next good snapshot when packing finds one damaged are here.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from aeroops.core.backup_plan import (
    ArchiveMember,
    BackupOptions,
    BackupPlan,
    BackupRefusal,
    MemberKind,
    plan_backup,
)
from aeroops.core.description import DataDirDescription, WalDescription, with_found_checksum, with_storage_schemas
from aeroops.core.results import BackupResult, PackedMember
from aeroops.errors import AeroError, BackupError, BackupIOError, UsageError, io_error
from aeroops.executor.backup_publish import check_not_serving, publish, publish_remote
from aeroops.executor.backup_staging import (
    ORPHAN_GRACE_SECONDS,
    OWNER_FILE,
    STAGING_ARCHIVE,
    STAGING_PREFIX,
    remove_stale_staging,
    stage,
    staging_folder,
    staging_marker,
)
from aeroops.executor.clock import default_created_at
from aeroops.executor.fileops import COPY_CHUNK, FileOps, failed_operation, not_a_file, not_a_folder
from aeroops.executor.heap import keep_freed_memory
from aeroops.executor.keys import load_recipients
from aeroops.executor.location import is_url, local_path, url_join, url_name, url_parent
from aeroops.executor.lock import DirectoryLock, FolderLock, data_dir_busy, writable_folder
from aeroops.executor.scan import describe_wal, scan
from aeroops.formats.checksum import crc32
from aeroops.formats.ids import check_creation_time
from aeroops.formats.layers import TAR_SUFFIX, Layer, archive_suffix, parse_compress
from aeroops.formats.layout import SCHEMAS, SNAPSHOT_DIR, STORAGE, WAL, WAL_LOG
from aeroops.formats.readable import Writable
from aeroops.formats.record import SUFFIX as RECORD_SUFFIX
from aeroops.formats.record import ArchiveRecord, render_record
from aeroops.formats.schemas import SchemaRef, StorageSchemaRefs
from aeroops.formats.sidecar import (
    DEFAULT,
    SUFFIXES,
    Algorithm,
    check_algorithm,
    check_archive_name,
    sidecar_path,
)
from aeroops.formats.tar import END_OF_ARCHIVE, member_header, padding
from aeroops.hashing import BackgroundDigest
from aeroops.option_names import option
from aeroops.progress import Progress, ProgressCallback, no_progress

STEPS = (
    "lock the data directory",
    "fsync the WAL",
    "choose the snapshot",
    "stage the snapshot",
    "stage the WAL",
    "write the backup manifest",
    "fsync the staging folder",
    "pack the archive",
    "fsync and rename the archive",
    "release the lock",
)

# The staging names are the backup's: tests and the fault suites import them from here.
__all__ = [
    "ORPHAN_GRACE_SECONDS",
    "OWNER_FILE",
    "STAGING_PREFIX",
    "STEPS",
    "BackupResult",
    "PackedMember",
    "check_output",
    "dry_run_refusal",
    "prepare_backup",
    "refusal_error",
    "remove_stale_staging",
    "resolve_output",
    "run_backup",
    "staging_marker",
]


def prepare_backup(
    data_dir: Path | str,
    *,
    created_at: datetime | None = None,
    snapshot_id: str | None = None,
    source: str | None = None,
    ops: FileOps,
) -> BackupPlan:
    """Scan and plan, without locking or writing anything: what a dry run shows."""
    plan = plan_backup(
        scan(data_dir, checksums="until-valid", ops=ops, error=BackupError, io_error_type=BackupIOError),
        BackupOptions(_creation_time(created_at), snapshot_id, source=source),
    )
    return _accept(plan)


def resolve_output(output: Path | str, plan: BackupPlan, ops: FileOps, layers: Sequence[Layer] = ()) -> Path:
    """A folder gets the plan's default archive name (with a suffix per layer: ``.tar.zst.age``);
    anything else is the archive's path, which must end in the layers' suffix."""
    suffix = archive_suffix(layers)
    name = plan.archive_name.removesuffix(TAR_SUFFIX) + suffix
    if is_url(output):
        return _resolve_url(str(output), plan, name, suffix)  # type: ignore[return-value]
    target = Path(output)
    if ops.is_dir(target):
        target = target / name
    elif os.fspath(output).endswith(("/", "/.")):  # Path() drops the slash that names a folder
        raise BackupError(f"the output folder {not_a_folder(output, ops)}", path=output)
    check_archive_name(target.name)
    _check_suffix(target.name, suffix, layers, target)
    if not ops.is_dir(target.parent):
        raise BackupError(f"the output folder {not_a_folder(target.parent, ops)}", path=target.parent)
    data_dir = Path(ops.realpath(plan.data_dir))
    resolved = Path(ops.realpath(target.parent)) / target.name
    if resolved == data_dir or data_dir in resolved.parents:
        raise BackupError("the archive must not be written inside the data directory", path=target)
    return target


def _check_suffix(name: str, suffix: str, layers: Sequence[Layer], target: object) -> None:
    if layers and not name.endswith(suffix):
        raise BackupError(f"an archive with these layers is named *{suffix}, not {name}", path=target)


def _resolve_url(output: str, plan: BackupPlan, name: str, suffix: str) -> str:
    """`resolve_output` for a URL: a bucket, a URL ending in ``/`` or a prefix that holds
    objects is a folder; anything else names the archive."""
    from aeroops.executor.objectstore import store_for

    store = store_for(output)
    if output.endswith("/") or "/" not in store.path(output).strip("/") or store.is_folder(output):
        target = url_join(output, name)
    else:
        target = output
    check_archive_name(url_name(target))
    if suffix != TAR_SUFFIX:
        _check_suffix(url_name(target), suffix, (Layer.ZSTD,), target)
    store.check_folder(url_parent(target))  # the bucket exists and may be listed: fail before staging
    return target


def check_output(archive: Path | str, *, overwrite: bool, ops: FileOps) -> None:
    """Raise the `BackupError` a backup to ``archive`` meets before it writes anything there."""
    if isinstance(archive, str):
        from aeroops.executor.objectstore import store_for

        if not overwrite and store_for(archive).info(archive) is not None:
            raise BackupError(
                f"an archive already exists at {archive} ({option('overwrite', True)} replaces it)", path=None
            )
        return
    if (why := not_a_file(archive, ops)) is not None:
        raise BackupError(f"the output path {why}", path=archive)
    if ops.exists(archive) and not overwrite:
        raise BackupError(
            f"an archive already exists at the output path ({option('overwrite', True)} replaces it)", path=archive
        )


def dry_run_refusal(data_dir: Path | str, archive: Path | str, *, overwrite: bool, ops: FileOps) -> str | None:
    """Why the real run of a dry run's plan would be refused or fail before its first write, or
    None: what the run checks then (the output path, the lock), and that this user may write the
    output folder (the run's first write)."""
    try:
        check_output(archive, overwrite=overwrite, ops=ops)
    except BackupError as error:
        return error.message
    if data_dir_busy(Path(data_dir), ops):
        return "another aeroops run holds this data directory right now"
    if isinstance(archive, str):
        return None
    if not writable_folder(archive.parent, ops):
        return f"this user cannot write in {archive.parent}, where the archive goes"
    return None


def run_backup(
    data_dir: Path | str,
    output: Path | str,
    *,
    created_at: datetime | None = None,
    snapshot_id: str | None = None,
    overwrite: bool = False,
    digest: str = DEFAULT,
    source: str | None = None,
    compress: str | int | None = None,
    encrypt_to: Sequence[str] = (),
    recipients_files: Sequence[str | os.PathLike[str]] = (),
    progress: ProgressCallback = no_progress,
    ops: FileOps,
) -> BackupResult:
    """Back up ``data_dir`` into an archive at ``output`` (a file path, or a folder).

    digest: the sidecar's algorithm, "blake3" (``<archive>.b3``, checked by ``b3sum -c``) or
    "sha256" (``<archive>.sha256``, checked by ``sha256sum -c``).
    source: a name for the data directory, recorded in the backup manifest (an extra key AeroDB's
    restore ignores) so that retention plans each source's archives apart; None writes AeroDB's
    manifest byte for byte.
    compress: ``"zstd"``, ``"zstd:LEVEL"`` or a level (1-19): the archive is ``NAME.tar.zst``.
    encrypt_to / recipients_files: age recipients (``age1…``, ``ssh-ed25519 …``), given or listed
    one per line in files: the archive is ``NAME.tar.age`` or ``NAME.tar.zst.age``. A layered
    archive gets a cleartext record beside it (`aeroops.formats.record`), listed in its sidecar."""
    started = time.monotonic()
    local_path(data_dir, "the data directory")
    algorithm = check_algorithm(digest)
    layering = _layering(compress, encrypt_to, recipients_files, ops)
    # libzstd's job buffers (8 MiB and more) stay mmap's, given back when freed: kept in the
    # heap they took a --compress --encrypt-to backup from 94 to 98 MiB (target 96).
    keep_freed_memory(2 << 20 if layering.level is not None else 16 << 20)
    root = Path(data_dir)
    options = BackupOptions(_creation_time(created_at), snapshot_id, checksums_while_packing=True, source=source)
    step = _Steps(progress)

    step(1)
    lock = DirectoryLock(root, BackupError, "backup", ops)
    lock.acquire()
    run: _Run | None = None
    try:
        step(2)
        _fsync_wal(root, ops)
        step(3)
        # Snapshot checksums are computed while packing, and the WAL is checked on the other
        # core meanwhile: every byte is read once. Their verdicts feed the same pure planner.
        description = scan(
            root, checksums="none", check_wal=False, ops=ops, error=BackupError, io_error_type=BackupIOError
        )
        with _WalCheck(root / WAL, description.wal.size if description.wal.present else None, ops) as wal:
            run = _Run(root, output, overwrite, algorithm, options, wal, ops, step, layering)
            done = _pack_newest_good(run, description)
        step(10)
    except AeroError:
        raise
    except OSError as exc:
        raise io_error(
            BackupIOError, exc, failed_operation(exc) or f"step {step.index}, {STEPS[step.index - 1]}"
        ) from exc
    finally:
        if run is not None and run.folder_lock is not None:
            run.folder_lock.release()
        lock.release()
    return BackupResult(
        archive=str(done.archive),
        sidecar=(
            str(done.archive) + SUFFIXES[algorithm]
            if isinstance(done.archive, str)
            else str(sidecar_path(done.archive, algorithm))
        ),
        size=done.stored_size,
        digest=done.digest,
        plan=done.plan,
        members=done.packed,
        staged_by=done.staged_by,
        duration_seconds=time.monotonic() - started,
        removed_stale=done.removed,
        layers=tuple(str(layer) for layer in layering.layers),
        plain_size=done.plan.archive_size,
        record=None if not layering.layers else str(done.archive) + RECORD_SUFFIX,
    )


@dataclass(frozen=True)
class _Layering:
    """The layers a backup writes around its tar."""

    level: int | None = None
    recipients: tuple[Any, ...] = ()

    @property
    def layers(self) -> tuple[Layer, ...]:
        return ((Layer.ZSTD,) if self.level is not None else ()) + ((Layer.AGE,) if self.recipients else ())

    def __repr__(self) -> str:
        return f"_Layering(level={self.level}, recipients={len(self.recipients)})"


def _layering(
    compress: str | int | None,
    encrypt_to: Sequence[str],
    recipients_files: Sequence[str | os.PathLike[str]],
    ops: FileOps,
) -> _Layering:
    if isinstance(compress, str):
        level: int | None = parse_compress(compress)
    elif isinstance(compress, int) and not isinstance(compress, bool):
        level = parse_compress(f"zstd:{compress}")
    elif compress is None:
        level = None
    else:
        raise UsageError(f"compress={compress!r} is not zstd, zstd:LEVEL or a level")
    if isinstance(encrypt_to, str):
        encrypt_to = (encrypt_to,)
    if isinstance(recipients_files, (str, os.PathLike)):
        recipients_files = (recipients_files,)
    return _Layering(level, tuple(load_recipients(encrypt_to, recipients_files, ops)))


@dataclass(slots=True)
class _Run:
    """What every attempt of one backup shares."""

    root: Path
    output: Path | str
    overwrite: bool
    algorithm: Algorithm
    options: BackupOptions
    wal: _WalCheck
    ops: FileOps
    step: _Steps
    layering: _Layering
    folder_lock: FolderLock | None = None  # shared: no prune removes from the output folder meanwhile


@dataclass(frozen=True, slots=True)
class _Published:
    """What publishing a backup leaves: the archive in place, its members and digest, the staging
    removed."""

    plan: BackupPlan
    archive: Path
    packed: tuple[PackedMember, ...]
    digest: str
    staged_by: str
    removed: tuple[str, ...]
    stored_size: int


def _pack_newest_good(run: _Run, description: DataDirDescription) -> _Published:
    """Steps 3 to 9, again for as long as packing finds the planned snapshot damaged (its
    checksums are checked only then, byte by byte, on the way into the archive): each time the
    planner learns the checksum it found and picks the next good snapshot, unless one was asked
    for by name."""
    while True:
        plan = _accept(plan_backup(description, run.options))
        try:
            return _pack_and_publish(run, plan, description)
        except _Mismatch as mismatch:
            description = with_found_checksum(description, plan.snapshot_id, mismatch.name, mismatch.crc)
            if run.options.snapshot_id is not None:
                raise BackupError(str(mismatch), path=mismatch.source) from None
            run.step(3)


def _pack_and_publish(run: _Run, plan: BackupPlan, description: DataDirDescription) -> _Published:
    """Steps 4 to 9 for one plan; raises `_Mismatch` when a snapshot file's bytes are not
    those its manifest lists (the staging folder is removed, nothing was published)."""
    ops, step = run.ops, run.step
    archive = resolve_output(run.output, plan, ops, run.layering.layers)
    if is_url(str(archive)):
        return _pack_and_upload(run, plan, description, str(archive))
    check_output(archive, overwrite=run.overwrite, ops=ops)
    if run.folder_lock is None:
        run.folder_lock = FolderLock(archive.parent, BackupError, exclusive=False, ops=ops)
        run.folder_lock.acquire()
    removed = remove_stale_staging(archive.parent, ops, keep=run.root)
    with staging_folder(archive.parent, plan.backup_id, ops) as staging:
        staged_by = stage(plan, run.root, staging, ops, step)
        step(8, total=plan.content_bytes)
        with _FileSink(ops, staging / STAGING_ARCHIVE) as sink:
            packed, digest, storage_schemas, stored_size = _pack(
                plan, staging, run.root, sink, run.algorithm, ops, step, run.layering
            )
        _check_packed(run, plan, description, packed, storage_schemas)
        step(9)
        check_not_serving(run.root, ops)
        record = _record(plan, archive.name, run.layering, stored_size)
        publish(staging / STAGING_ARCHIVE, archive, digest, run.algorithm, run.overwrite, ops, record=record)
    return _Published(plan, archive, packed, digest, staged_by, removed, stored_size)


def _record(plan: BackupPlan, name: str, layering: _Layering, stored_size: int) -> bytes | None:
    """The cleartext record of a layered archive (None for a plain one), written only once
    packing checked every snapshot CRC and WAL record."""
    if not layering.layers:
        return None
    manifest = plan.manifest
    return render_record(
        ArchiveRecord(
            archive=name,
            backup_id=manifest.backup_id,
            snapshot_id=manifest.snapshot_id,
            created_at=manifest.created_at,
            wal_present=manifest.wal_present,
            format_version=manifest.format_version,
            source=manifest.source,
            layers=tuple(str(layer) for layer in layering.layers),
            zstd_level=layering.level,
            plain_size=plan.archive_size,
            stored_size=stored_size,
            verified_at_creation="ok",
        )
    )


def _check_packed(
    run: _Run,
    plan: BackupPlan,
    description: DataDirDescription,
    packed: tuple[PackedMember, ...],
    storage_schemas: frozenset[SchemaRef],
) -> None:
    """After packing: the WAL checked meanwhile, and the schemas live storage names, judged by
    the planner again (it refuses a damaged WAL); the WAL packed is the WAL checked."""
    described = replace(description, wal=run.wal.result())
    described = with_storage_schemas(described, plan.snapshot_id, storage_schemas)
    _accept(plan_backup(described, run.options))
    _check_wal_packed(plan, described.wal, packed, run.root)


def _pack_and_upload(run: _Run, plan: BackupPlan, description: DataDirDescription, url: str) -> _Published:
    """Steps 4 to 9 into object storage: staged beside the data directory (hard links, as the
    snapshot files are immutable), packed straight into a multipart upload (no local archive),
    published whole by completing it, then its sidecar. Uploads a killed run left in the
    folder are aborted first (only aeroops' own, by their marker)."""
    from aeroops.executor.objectstore import store_for

    ops, step = run.ops, run.step
    store = store_for(url)
    check_output(url, overwrite=run.overwrite, ops=ops)
    parent = Path(ops.realpath(run.root)).parent
    removed = remove_stale_staging(parent, ops, keep=run.root) + store.abort_stale_uploads(url_parent(url))
    with staging_folder(parent, plan.backup_id, ops) as staging, store.upload(url, overwrite=run.overwrite) as upload:
        staged_by = stage(plan, run.root, staging, ops, step)
        step(8, total=plan.content_bytes)
        packed, digest, storage_schemas, stored_size = _pack(
            plan, staging, run.root, upload, run.algorithm, ops, step, run.layering
        )
        _check_packed(run, plan, description, packed, storage_schemas)
        step(9)
        check_not_serving(run.root, ops)
        record = _record(plan, url_name(url), run.layering, stored_size)
        publish_remote(store, upload, url, digest, run.algorithm, run.overwrite, record=record)
    return _Published(plan, url, packed, digest, staged_by, removed, stored_size)  # type: ignore[arg-type]


class _FileSink:
    """The staged tar file that `_pack` writes: created, written, fsynced, closed."""

    def __init__(self, ops: FileOps, path: Path) -> None:
        self._ops = ops
        self._stream = ops.create(path)

    def write(self, data: bytes | memoryview) -> None:
        self._ops.write(self._stream, data)

    def __enter__(self) -> _FileSink:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        try:
            if kind is None:
                self._ops.fsync(self._stream)
        finally:
            self._stream.close()


class _Sink(Protocol):
    """Where `_pack` writes the archive: the staged tar file, or an upload into object storage."""

    def write(self, data: bytes | memoryview) -> None: ...


class _WalCheck:
    """describe_wal() on a thread: record-by-record checking is Python work, packing is mostly
    system calls and C, so the two share the machine's cores well."""

    def __init__(self, path: Path, size: int | None, ops: FileOps) -> None:
        self._result: WalDescription = WalDescription(present=False)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if size is not None:
            self._thread = threading.Thread(target=self._run, args=(path, size, ops), daemon=True)
            self._thread.start()

    def _run(self, path: Path, size: int, ops: FileOps) -> None:
        try:
            self._result = describe_wal(path, ops=ops, size=size, crc=True)
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def result(self) -> WalDescription:
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result

    def __enter__(self) -> _WalCheck:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._thread is not None:
            self._thread.join()


class _Mismatch(Exception):
    def __init__(self, member: ArchiveMember, crc: int) -> None:
        assert member.source is not None and member.expected_crc32 is not None
        super().__init__(
            f"{member.name} has checksum crc32:{crc:08x} but the snapshot manifest says "
            f"crc32:{member.expected_crc32:08x}: the snapshot is damaged; nothing was written"
        )
        self.name = member.name.removeprefix(f"{SNAPSHOT_DIR}/")  # as the snapshot describes it: "storage.dat"
        self.source = member.source
        self.crc = crc


# --- the steps ------------------------------------------------------------------------------


class _Steps:
    def __init__(self, progress: ProgressCallback) -> None:
        self._progress = progress
        self.index = 0
        self.total = 0

    def __call__(self, index: int, *, total: int = 0) -> None:
        self.index, self.total = index, total
        self._progress(Progress("backup", STEPS[index - 1], index, len(STEPS), 0, total))

    def advance(self, done: int) -> None:
        self._progress(Progress("backup", STEPS[self.index - 1], self.index, len(STEPS), done, self.total))


def _creation_time(created_at: datetime | None) -> datetime:
    """The manifest's creation time, checked before anything is done: the caller's, else
    SOURCE_DATE_EPOCH's, else now (`UsageError` for one AeroDB's timestamps cannot carry)."""
    return check_creation_time(created_at) if created_at is not None else default_created_at()


def refusal_error(refusal: BackupRefusal) -> BackupError:
    """The error a backup raises for this refusal (what a panel shows instead of running)."""
    return BackupError(f"{refusal.message} [rule: {refusal.rule}]")


def _accept(plan: BackupPlan | BackupRefusal) -> BackupPlan:
    if isinstance(plan, BackupRefusal):
        raise refusal_error(plan)
    return plan


def _fsync_wal(root: Path, ops: FileOps) -> None:
    wal = root / WAL
    if ops.exists(wal):
        with ops.open_read(wal) as stream:
            ops.fsync(stream)


class _StoredSink:
    """The end of the layers: the stored bytes, hashed for the sidecar and written to the sink."""

    def __init__(self, out: _Sink, hasher: BackgroundDigest) -> None:
        self._out, self._hasher = out, hasher
        self.count = 0

    def write(self, data: bytes) -> int:
        data = bytes(data)  # the hashing thread keeps it: never a view of a buffer reused
        self._hasher.update(data)
        self._out.write(data)
        self.count += len(data)
        return len(data)


def _pack(
    plan: BackupPlan,
    staging: Path,
    root: Path,
    out: _Sink,
    algorithm: Algorithm,
    ops: FileOps,
    step: _Steps,
    layering: _Layering = _Layering(),
) -> tuple[tuple[PackedMember, ...], str, frozenset[SchemaRef], int]:
    """Step 8: stream every member into the tar, computing the CRC-32 of each file's bytes
    (checked against the snapshot manifest) and the ``algorithm`` digest of the whole archive
    (returned tagged), and which schemas the live storage records name (walked in C). With
    ``layering``, the tar goes through zstd and age writers first: the digest and the size
    returned are of the stored bytes. The WAL is read from the data directory (``root``), cut
    at the planned size: the CRC of what is packed is compared with the record-by-record check's."""
    packed: list[PackedMember] = []
    done = 0
    storage_schemas = StorageSchemaRefs()
    with BackgroundDigest(algorithm) as hasher, contextlib.ExitStack() as stack:
        sink = _StoredSink(out, hasher)
        top: Writable = sink
        ends: list[Any] = []  # the layers' writers, innermost first
        if layering.recipients:
            from aeroops.executor.age_layer import AgeWriter  # pyrage and zstandard: only when asked for

            age = AgeWriter(top, layering.recipients)
            stack.callback(age.abort)  # a failed pack ends the age thread too
            top = age
            ends.insert(0, age)
        if layering.level is not None:
            from aeroops.formats.zstd_layer import ZstdWriter

            top = ZstdWriter(top, level=layering.level)
            ends.insert(0, top)
        emit = top.write

        for member in plan.members:
            if member.kind is MemberKind.DIRECTORY:
                emit(member_header(member.name, directory=True))
                packed.append(PackedMember(member.name, member.kind, 0, None))
                continue
            emit(member_header(member.name, member.size))
            crc = 0
            source = root / member.source if member.name == WAL_LOG and member.source else staging / member.name
            with ops.open_read(source) as src:
                remaining = member.size
                while remaining:
                    # A fresh bytes object per chunk: the hashing thread may still hold the last.
                    chunk = ops.read(src, min(COPY_CHUNK, remaining))
                    if not chunk:
                        raise BackupError(f"{member.name} shrank while packed", path=source)
                    crc = crc32(chunk, crc)
                    if member.name == STORAGE:
                        storage_schemas.feed(chunk)
                    emit(chunk)
                    remaining -= len(chunk)
                    done += len(chunk)
                    step.advance(done)
                if member.source and member.name != WAL_LOG and ops.read(src, 1):
                    raise BackupError(f"{member.name} grew while packed", path=source)
            _check_crc(member, crc)
            emit(padding(member.size))
            packed.append(PackedMember(member.name, member.kind, member.size, crc))
        emit(END_OF_ARCHIVE)
        for end in ends:  # innermost first: zstd's last frame goes through age
            end.close()
        return (
            tuple(packed),
            hasher.tagged_digest(),
            frozenset(SchemaRef(*ref) for ref in storage_schemas.refs),
            sink.count,
        )


def _check_crc(member: ArchiveMember, crc: int) -> None:
    if member.expected_crc32 is not None and crc != member.expected_crc32:
        if member.source and member.source.startswith(f"{SCHEMAS}/"):  # a schema added from metadata/
            raise BackupError(f"{member.source} changed while it was backed up; nothing was written")
        raise _Mismatch(member, crc)


def _check_wal_packed(plan: BackupPlan, wal: WalDescription, packed: tuple[PackedMember, ...], root: Path) -> None:
    """The WAL is checked record by record in the data directory while its copy is packed: the
    bytes packed must be the bytes checked."""
    if plan.wal_present and next(m.crc32 for m in packed if m.name == WAL_LOG) != wal.crc32:
        raise BackupError(
            "the WAL changed while it was backed up (the bytes packed are not the bytes checked); nothing was written",
            path=root / WAL,
        )
