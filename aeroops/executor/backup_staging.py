"""The backup's staging folder: made beside the output (same file system, so publishing is a
rename), owned by the run that made it (an flock-ed owner file holding the run's marker),
filled with the snapshot's files and the manifest (steps 4 to 7), and removed whatever
happens; and the clean-up of staging folders killed runs left behind."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from aeroops.core.backup_plan import BackupPlan, MemberKind
from aeroops.errors import BackupError
from aeroops.executor import log
from aeroops.executor.fileops import FileOps, is_within, logged_cleanup, write_new_file
from aeroops.executor.lock import try_flock
from aeroops.formats.layout import BACKUP_MANIFEST, SCHEMAS_DIR, SNAPSHOT_DIR, WAL_DIR, WAL_LOG
from aeroops.formats.sidecar import SUFFIXES

STAGING_PREFIX = ".aeroops-staging-"
OWNER_FILE = ".owner"  # flock-ed by the run that owns the staging folder, for its lifetime; holds its marker
ORPHAN_GRACE_SECONDS = 60  # a staging folder with no owner file yet may be a run starting up
STAGING_ARCHIVE = "archive.tar"
# Everything a staging folder can hold: a folder holding anything else is not aeroops' own.
STAGING_ENTRIES = frozenset(
    {OWNER_FILE, f"{OWNER_FILE}.new", SNAPSHOT_DIR, WAL_DIR, BACKUP_MANIFEST, STAGING_ARCHIVE}
    | {STAGING_ARCHIVE + suffix for suffix in SUFFIXES.values()}
    | {STAGING_ARCHIVE + ".json"}  # a layered archive's record
)
_STAGING_NAME = re.compile(re.escape(STAGING_PREFIX) + r"\d{8}T\d{6}Z-(?P<run>\d+-[0-9a-f]{8})")
MARKER_LIMIT = 256


def staging_marker(run_id: str) -> bytes:
    """What the owner file of run ``run_id``'s staging folder holds: the proof, checked before a
    later run removes the folder, that aeroops made it."""
    return f"aeroops backup staging folder of run {run_id}\n".encode()


def remove_stale_staging(folder: Path, ops: FileOps, *, keep: Path | None = None) -> tuple[str, ...]:
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
        if keep is not None and is_within(keep, path, ops):
            log.warning("kept %s: it is or holds the data directory being backed up", path)
            continue
        try:
            if _remove_if_ours(path, match["run"], ops):
                removed.append(str(path))
        except OSError as exc:  # another run's leftover: this run's backup goes on
            log.warning("could not remove the stale staging folder %s: %s", path, exc.strerror or exc)
    return tuple(removed)


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
        if ops.pread(fd, MARKER_LIMIT, 0) not in markers:
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


@contextlib.contextmanager
def staging_folder(folder: Path, backup_id: str, ops: FileOps) -> Iterator[Path]:
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


def stage(plan: BackupPlan, root: Path, staging: Path, ops: FileOps, step: Callable[[int], object]) -> str:
    """Steps 4–7. Snapshot files are immutable, so a hard link stages them at no cost where the
    file system allows. The WAL is not staged: the packer copies it from the data directory,
    cut at the planned size, into the tar (a staged copy wrote and fsynced the WAL twice)."""
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
    step(6)
    write_new_file(ops, staging / BACKUP_MANIFEST, plan.manifest_bytes)
    step(7)
    for member in plan.members:
        if member.kind is MemberKind.FILE and member.name not in (BACKUP_MANIFEST, WAL_LOG):
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
