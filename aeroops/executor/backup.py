"""The backup executor: DESIGN.md §4's ten steps, carried out for a plan.

lock → fsync WAL → scan and plan → stage snapshot → stage WAL → write manifest → fsync
staging → pack tar (checksumming every byte on its way in, and hashing the whole archive for
its sidecar: ``<archive>.b3`` by default, ``<archive>.sha256`` with ``digest="sha256"``) →
fsync, rename, fsync folder → unlock. On any failure the staging folder (which holds the
partial tar) is removed, nothing is left at the output path, and the data directory was never
written to.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import secrets
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from aeroops.core.description import DataDirDescription, WalDescription, with_found_checksum, with_storage_schemas
from aeroops.core.plan import (
    ArchiveMember,
    BackupOptions,
    BackupPlan,
    MemberKind,
    Refusal,
    plan_backup,
)
from aeroops.core.results import BackupResult, PackedMember
from aeroops.errors import AeroError, BackupError, BackupIOError, io_error
from aeroops.executor.clock import default_created_at
from aeroops.executor.fileops import COPY_CHUNK, REAL, FileOps, failed_operation, logged_cleanup, write_new_file
from aeroops.executor.lock import DirectoryLock, FolderLock, aerodb_serving, data_dir_busy, try_flock, writable_folder
from aeroops.executor.scan import describe_wal, scan
from aeroops.formats.checksum import crc32
from aeroops.formats.ids import check_creation_time
from aeroops.formats.layout import BACKUP_MANIFEST, SCHEMAS, SCHEMAS_DIR, SNAPSHOT_DIR, STORAGE, WAL, WAL_DIR, WAL_LOG
from aeroops.formats.schemas import SchemaRef, StorageSchemaRefs
from aeroops.formats.sidecar import (
    ALGORITHMS,
    DEFAULT,
    SUFFIXES,
    Algorithm,
    check_algorithm,
    check_archive_name,
    render_sidecar,
    sidecar_path,
)
from aeroops.formats.tar import END_OF_ARCHIVE, member_header, padding
from aeroops.hashing import BackgroundDigest
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
STAGING_PREFIX = ".aeroops-staging-"
OWNER_FILE = ".owner"  # flock-ed by the run that owns the staging folder, for its lifetime; holds its marker
ORPHAN_GRACE_SECONDS = 60  # a staging folder with no owner file yet may be a run starting up
STAGING_ARCHIVE = "archive.tar"
# Everything a staging folder can hold: a folder holding anything else is not aeroops' own.
STAGING_ENTRIES = frozenset(
    {OWNER_FILE, f"{OWNER_FILE}.new", SNAPSHOT_DIR, WAL_DIR, BACKUP_MANIFEST, STAGING_ARCHIVE}
    | {STAGING_ARCHIVE + suffix for suffix in SUFFIXES.values()}
)
_STAGING_NAME = re.compile(re.escape(STAGING_PREFIX) + r"\d{8}T\d{6}Z-(?P<run>\d+-[0-9a-f]{8})")
MARKER_LIMIT = 256

log = logging.getLogger("aeroops")


def staging_marker(run_id: str) -> bytes:
    """What the owner file of run ``run_id``'s staging folder holds: the proof, checked before a
    later run removes the folder, that aeroops made it."""
    return f"aeroops backup staging folder of run {run_id}\n".encode()


def prepare_backup(
    data_dir: Path | str,
    *,
    created_at: datetime | None = None,
    snapshot_id: str | None = None,
    source: str | None = None,
    ops: FileOps = REAL,
) -> BackupPlan:
    """Scan and plan, without locking or writing anything: what a dry run shows."""
    plan = plan_backup(
        scan(data_dir, checksums="until-valid", ops=ops, error=BackupError, io_error_type=BackupIOError),
        BackupOptions(_creation_time(created_at), snapshot_id, source=source),
    )
    return _accept(plan)


def resolve_output(output: Path | str, plan: BackupPlan) -> Path:
    """A folder gets the plan's default archive name; anything else is the archive's path."""
    target = Path(output)
    if target.is_dir():
        target = target / plan.archive_name
    elif os.fspath(output).endswith(("/", "/.")):  # Path() drops the slash that names a folder
        raise BackupError("the output folder does not exist", path=output)
    check_archive_name(target.name)
    if not target.parent.is_dir():
        raise BackupError("the output folder does not exist", path=target.parent)
    data_dir = Path(plan.data_dir).resolve()
    resolved = target.parent.resolve() / target.name
    if resolved == data_dir or data_dir in resolved.parents:
        raise BackupError("the archive must not be written inside the data directory", path=target)
    return target


def check_output(archive: Path, *, overwrite: bool) -> None:
    """Raise the `BackupError` a backup to ``archive`` meets before it writes anything there."""
    if os.path.lexists(archive) and not overwrite:
        raise BackupError("an archive already exists at the output path (pass overwrite to replace it)", path=archive)


def dry_run_refusal(data_dir: Path | str, archive: Path, *, overwrite: bool) -> str | None:
    """Why the real run of a dry run's plan would be refused or fail before its first write, or
    None: what the run checks then (the output path, the lock), and that this user may write the
    output folder (the run's first write)."""
    try:
        check_output(archive, overwrite=overwrite)
    except BackupError as error:
        return error.message
    if data_dir_busy(Path(data_dir)):
        return "another aeroops run holds this data directory right now"
    if not writable_folder(archive.parent):
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
    progress: ProgressCallback = no_progress,
    ops: FileOps = REAL,
) -> BackupResult:
    """Back up ``data_dir`` into an archive at ``output`` (a file path, or a folder).

    digest: the sidecar's algorithm, "blake3" (``<archive>.b3``, checked by ``b3sum -c``) or
    "sha256" (``<archive>.sha256``, checked by ``sha256sum -c``).
    source: a name for the data directory, recorded in the backup manifest (an extra key AeroDB's
    restore ignores) so that retention plans each source's archives apart; None writes AeroDB's
    manifest byte for byte."""
    started = time.monotonic()
    algorithm = check_algorithm(digest)
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
            run = _Run(root, output, overwrite, algorithm, options, wal, ops, step)
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
        sidecar=str(sidecar_path(done.archive, algorithm)),
        size=done.plan.archive_size,
        digest=done.digest,
        plan=done.plan,
        members=done.packed,
        staged_by=done.staged_by,
        duration_seconds=time.monotonic() - started,
        removed_stale=done.removed,
    )


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
    folder_lock: FolderLock | None = None  # shared: no prune removes from the output folder meanwhile


@dataclass(frozen=True, slots=True)
class _Published:
    plan: BackupPlan
    archive: Path
    packed: tuple[PackedMember, ...]
    digest: str
    staged_by: str
    removed: tuple[str, ...]


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
    archive = resolve_output(run.output, plan)
    check_output(archive, overwrite=run.overwrite)
    if run.folder_lock is None:
        run.folder_lock = FolderLock(archive.parent, BackupError, exclusive=False, ops=ops)
        run.folder_lock.acquire()
    removed = remove_stale_staging(archive.parent, ops, keep=run.root)
    with _staging(archive.parent, plan.backup_id, ops) as staging:
        staged_by = _stage(plan, run.root, staging, ops, step)
        step(8, total=plan.content_bytes)
        packed, digest, storage_schemas = _pack(plan, staging, staging / STAGING_ARCHIVE, run.algorithm, ops, step)
        described = replace(description, wal=run.wal.result())
        described = with_storage_schemas(described, plan.snapshot_id, storage_schemas)
        _accept(plan_backup(described, run.options))  # refuses here if the WAL is damaged
        _check_wal_packed(plan, described.wal, packed, run.root)
        step(9)
        _check_not_serving(run.root)
        _publish(staging / STAGING_ARCHIVE, archive, digest, run.algorithm, run.overwrite, ops)
    return _Published(plan, archive, packed, digest, staged_by, removed)


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


def remove_stale_staging(folder: Path, ops: FileOps = REAL, *, keep: Path | None = None) -> tuple[str, ...]:
    """Remove the staging folders killed runs left in ``folder``, and nothing else: a folder goes
    only when aeroops provably made it (a staging name, an owner file holding the marker of the
    run that name says, nothing inside that a staging folder does not hold) and no live run
    holds it. ``keep`` (the data directory) and any folder holding it are never touched. A run
    killed before its owner file took its name left at most that file in the making: such a
    folder goes once older than the grace period."""
    removed = []
    for entry in ops.scandir(folder):
        match = _STAGING_NAME.fullmatch(entry.name)
        if not match or not entry.is_dir(follow_symlinks=False):
            continue
        path = folder / entry.name
        if keep is not None and _holds(path, keep):
            log.warning("kept %s: it is or holds the data directory being backed up", path)
            continue
        try:
            if _remove_if_ours(path, match["run"], ops):
                removed.append(str(path))
        except OSError as exc:  # another run's leftover: this run's backup goes on
            log.warning("could not remove the stale staging folder %s: %s", path, exc.strerror or exc)
    return tuple(removed)


def _holds(path: Path, inner: Path) -> bool:
    outer, inner = path.resolve(), inner.resolve()
    return outer == inner or outer in inner.parents


def _remove_if_ours(path: Path, run_id: str, ops: FileOps) -> bool:
    entries = {entry.name for entry in ops.scandir(path)}
    if not entries <= STAGING_ENTRIES:
        log.warning("kept %s: it holds %s, which no staging folder holds", path, sorted(entries - STAGING_ENTRIES))
        return False
    marker = staging_marker(run_id)
    if OWNER_FILE in entries:
        return _remove_owned(path, path / OWNER_FILE, (marker,), ops, whole=True)
    if time.time() - ops.lstat(path).st_mtime <= ORPHAN_GRACE_SECONDS:
        return False  # maybe a run starting up
    if entries:  # only the owner file in the making: empty, or holding the marker
        return _remove_owned(path, path / f"{OWNER_FILE}.new", (b"", marker), ops, whole=False)
    ops.rmdir(path)  # empty: nothing to prove, nothing lost (rmdir fails if something appeared)
    return True


def _remove_owned(path: Path, owner: Path, markers: tuple[bytes, ...], ops: FileOps, *, whole: bool) -> bool:
    """Remove ``path`` if its ``owner`` file is a regular file holding one of ``markers`` and no
    live run holds its flock; ``whole``: with what it staged (else only the owner file goes,
    then the folder if empty)."""
    if not stat.S_ISREG(ops.lstat(owner).st_mode):
        return False
    fd = try_flock(owner, ops)
    if fd is None:
        return False  # a live run holds it
    try:
        if os.pread(fd, MARKER_LIMIT, 0) not in markers:
            log.warning("kept %s: its owner file does not name the run its name says", path)
            return False
        if whole:
            ops.remove_tree(path)
        else:
            ops.remove(owner)
            ops.rmdir(path)
    finally:
        ops.unlock(fd)
    return True


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


def refusal_error(refusal: Refusal) -> BackupError:
    """The error a backup raises for this refusal (what a panel shows instead of running)."""
    return BackupError(f"{refusal.message} [rule: {refusal.rule}]")


def _accept(plan: BackupPlan | Refusal) -> BackupPlan:
    if isinstance(plan, Refusal):
        raise refusal_error(plan)
    return plan


def _fsync_wal(root: Path, ops: FileOps) -> None:
    wal = root / WAL
    if os.path.lexists(wal):
        with ops.open_read(wal) as stream:
            ops.fsync(stream)


@contextlib.contextmanager
def _staging(folder: Path, backup_id: str, ops: FileOps) -> Iterator[Path]:
    """A private folder beside the output (same file system, so the final rename is atomic),
    held by an flock on its owner file, and removed whatever happens."""
    run_id = f"{os.getpid()}-{secrets.token_hex(4)}"
    path = folder / f"{STAGING_PREFIX}{backup_id}-{run_id}"
    ops.mkdir(path, 0o700)
    try:
        # The owner file is locked before it takes its name: another run's clean-up never finds
        # it unlocked while this run lives (until it has its name, the grace period covers it).
        # It holds the run's marker, the proof a later clean-up asks for before removing anything.
        owner = ops.create(path / f"{OWNER_FILE}.new")
        try:
            ops.flock(owner.fileno())  # a new file: always free
            ops.write(owner, staging_marker(run_id))
            ops.rename(path / f"{OWNER_FILE}.new", path / OWNER_FILE)
            yield path
        finally:
            owner.close()
    finally:
        with logged_cleanup("removing the staging folder", path):
            ops.remove_tree(path)


def _stage(plan: BackupPlan, root: Path, staging: Path, ops: FileOps, step: _Steps) -> str:
    """Steps 4–7. Snapshot files are immutable, so a hard link stages them at no cost where the
    file system allows; the WAL is always a real copy, cut at the planned size."""
    step(4)
    for folder in (SNAPSHOT_DIR, SCHEMAS_DIR, WAL_DIR):
        ops.mkdir(staging / folder)
    staged_by = "hardlink"
    for member in plan.members:
        if member.kind is MemberKind.FILE and member.source and member.name != WAL_LOG:
            try:
                ops.link(root / member.source, staging / member.name)
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EACCES, errno.ENOTSUP):
                    raise
                _copy_file(root / member.source, staging / member.name, member.size, ops, whole=True)
                staged_by = "copy"
    step(5)
    if plan.wal_present:
        _copy_file(root / WAL, staging / WAL_LOG, plan.wal_size, ops)
    step(6)
    write_new_file(ops, staging / BACKUP_MANIFEST, plan.manifest_bytes)
    step(7)
    for member in plan.members:
        if member.kind is MemberKind.FILE and member.name != BACKUP_MANIFEST:
            ops.fsync_path(staging / member.name)
    for folder in (SCHEMAS_DIR, SNAPSHOT_DIR, WAL_DIR, "."):
        ops.fsync_path(staging / folder)
    return staged_by


def _copy_file(source: Path, target: Path, size: int, ops: FileOps, *, whole: bool = False) -> None:
    """Copy the first ``size`` bytes; ``whole``: the file must hold no more (a snapshot file is
    immutable; the WAL is cut at the size seen)."""
    with ops.open_read(source) as src, ops.create(target) as dst:
        copied = ops.copy_range(src, dst, size)
        if copied != size:
            raise BackupError(f"the file shrank while copied ({size} → {copied} bytes)", path=source)
        if whole and ops.read(src, 1):
            raise BackupError(f"the file grew while copied (past the {size} bytes seen)", path=source)


def _pack(
    plan: BackupPlan, staging: Path, tar_path: Path, algorithm: Algorithm, ops: FileOps, step: _Steps
) -> tuple[tuple[PackedMember, ...], str, frozenset[SchemaRef]]:
    """Step 8: stream every member into the tar, computing the CRC-32 of each file's bytes
    (checked against the snapshot manifest) and the ``algorithm`` digest of the whole archive
    (returned tagged), and which schemas the live storage records name (walked in C)."""
    packed: list[PackedMember] = []
    done = 0
    storage_schemas = StorageSchemaRefs()
    with ops.create(tar_path) as out, BackgroundDigest(algorithm) as hasher:

        def emit(data: bytes) -> None:
            hasher.update(data)
            ops.write(out, data)

        for member in plan.members:
            if member.kind is MemberKind.DIRECTORY:
                emit(member_header(member.name, directory=True))
                packed.append(PackedMember(member.name, member.kind, 0, None))
                continue
            emit(member_header(member.name, member.size))
            crc = 0
            with ops.open_read(staging / member.name) as src:
                remaining = member.size
                while remaining:
                    # A fresh bytes object per chunk: the hashing thread may still hold the last.
                    chunk = ops.read(src, min(COPY_CHUNK, remaining))
                    if not chunk:
                        raise BackupError(f"{member.name} shrank while packed", path=staging / member.name)
                    crc = crc32(chunk, crc)
                    if member.name == STORAGE:
                        storage_schemas.feed(chunk)
                    emit(chunk)
                    remaining -= len(chunk)
                    done += len(chunk)
                    step.advance(done)
                if member.source and member.name != WAL_LOG and ops.read(src, 1):
                    raise BackupError(f"{member.name} grew while packed", path=staging / member.name)
            _check_crc(member, crc)
            emit(padding(member.size))
            packed.append(PackedMember(member.name, member.kind, member.size, crc))
        emit(END_OF_ARCHIVE)
        ops.fsync(out)
        return tuple(packed), hasher.tagged_digest(), frozenset(SchemaRef(*ref) for ref in storage_schemas.refs)


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


def _check_not_serving(root: Path) -> None:
    """AeroDB may have started while the backup ran (it was refused if serving at the start).
    Its snapshot files cannot have changed, but a running AeroDB may checkpoint and truncate the
    WAL: an archive pairing the snapshot with a WAL that no longer follows it would verify and
    still lose writes. Discard it."""
    if aerodb_serving(root):
        raise BackupError(
            "AeroDB started serving the data directory during the backup (.lock appeared); the archive was "
            "discarded: stop AeroDB and back up again",
            path=root / ".lock",
        )


def _publish(tar_path: Path, archive: Path, digest: str, algorithm: Algorithm, overwrite: bool, ops: FileOps) -> None:
    """Step 9: the sidecar is written and fsynced first; then it takes its name, then the
    archive appears beside it, each whole or not at all: a crash or a power loss between the two
    leaves a sidecar without an archive (nothing to verify), never an archive without its
    sidecar (which would verify without its digest).

    Sidecars already at the output belong to the archive being replaced, or to none: they go
    before the new sidecar takes its name. Verify reads ``.b3`` before ``.sha256``, so a stale
    ``.b3`` beside a new ``.sha256`` would fail an archive that is whole."""
    ops.chmod(tar_path, 0o600)
    sidecar_tmp = sidecar_path(tar_path, algorithm)
    write_new_file(ops, sidecar_tmp, render_sidecar(digest, archive_name=archive.name).encode())
    if overwrite:
        # Before the rename: a crash may leave the old archive without a sidecar, never the new
        # archive with the old one's.
        _remove_sidecars(archive, ops)
        ops.rename(tar_path, archive)
        ops.rename(sidecar_tmp, sidecar_path(archive, algorithm))
    else:
        if os.path.lexists(archive):
            raise BackupError("an archive appeared at the output path during the backup", path=archive)
        _remove_sidecars(archive, ops)  # orphans: of an archive removed by hand, or of a run cut short
        ops.rename(sidecar_tmp, sidecar_path(archive, algorithm))
        try:
            ops.link(tar_path, archive)  # fails if an archive took the name meanwhile
        except OSError as exc:
            with logged_cleanup("removing the sidecar of an archive not published", sidecar_path(archive, algorithm)):
                ops.remove(sidecar_path(archive, algorithm))  # ours: of no archive, or not that one
            if isinstance(exc, FileExistsError):
                raise BackupError("an archive appeared at the output path during the backup", path=archive) from None
            raise
        ops.remove(tar_path)
    ops.fsync_path(archive.parent)


def _remove_sidecars(archive: Path, ops: FileOps) -> None:
    for algorithm in ALGORITHMS:
        path = sidecar_path(archive, algorithm)
        if os.path.lexists(path):
            ops.remove(path)
