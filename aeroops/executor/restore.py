"""The restore executor: AeroDB's RESTORE.md, with aeroops' improvements (DESIGN.md §5, §7).

lock → check the data directory (not serving, nothing left over) → one streaming pass over the
archive that verifies it and, with the very bytes it checks, writes its files into a temporary
folder beside the data directory (only file names of the backup layout are written, each once,
no link is ever created, nothing lands outside the folder) → plan from the verdict (a refusal
deletes the folder) → name the snapshot folder → fsync → write the swap journal → data_dir →
data_dir.old → temporary → data_dir, fsyncing the parent after each rename → delete
data_dir.old and the journal → unlock. Nothing in the data directory is touched before the
whole archive has been verified (DESIGN.md §5); reading it once, not twice, halves the reads,
and what is restored is what was verified, even if the file changes meanwhile.

A crash at any point leaves the data directory holding either all the old data or all the new
(or, between the two renames, no data directory and both folders beside it, which `recover`
resolves). The next restore refuses while anything is left over and names `aeroops recover`;
`recover` (`aeroops.executor.recover`) finishes or rolls back the interrupted swap (the rules
are pure, in `aeroops.core.recovery`). The one pass that verifies and stages is
`aeroops.executor.restore_stage`; describing the target, `aeroops.executor.restore_target`.

Every effect on disk goes through `FileOps`, so tests inject faults there; at each of
`KILL_POINTS` the restore calls `FileOps.crash_point`, where crash tests SIGKILL the process.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from aeroops.core.restore_plan import (
    STAGED_SNAPSHOT,
    STEPS,
    RestorePlan,
    RestoreRefusal,
    RestoreRule,
    check_target,
    plan_restore,
)
from aeroops.core.restore_target import (
    RestoreMode,
    RestorePaths,
    TargetState,
    render_journal,
)
from aeroops.core.results import RestoredFile, RestorePreview, RestoreResult
from aeroops.core.verify_report import StorageSink, VerifyReport, WalSink
from aeroops.errors import (
    AeroError,
    Code,
    InvalidBackupError,
    RestoreCorruptionError,
    RestoreError,
    RestoreIOError,
    io_error,
)
from aeroops.executor import log
from aeroops.executor.audit import archive_location, needs_contents, verify_archive
from aeroops.executor.fileops import FileOps, failed_operation, logged_cleanup, not_a_folder, save_file, walk
from aeroops.executor.keys import IdentityFiles, load_identities
from aeroops.executor.lock import DirectoryLock, aerodb_serving, data_dir_busy, writable_folder
from aeroops.executor.restore_stage import DIR_MODE, FILE_MODE, verify_and_extract
from aeroops.executor.restore_target import describe_target, restore_paths
from aeroops.formats.layout import SCHEMAS_FOLDER, WAL, snapshot_folder
from aeroops.progress import Progress, ProgressCallback, no_progress, within_step

# Builds a restore's WAL in place of the archive's: (path of the extracted WAL, ops) -> (size, CRC-32).
WalBuilder = Callable[[Path, FileOps], tuple[int, int]]

# --- the crash points: where restore and recover call `FileOps.crash_point` -----------------------

KILL_POINTS = (
    "locked",  # the lock is held, nothing else done
    "temp-created",  # the temporary folder and its subfolders exist, empty
    "extract-midway",  # the first file is written (its fsync queued), verification goes on
    "verified",  # the archive is verified and extracted, the plan made
    "extracted",  # the snapshot folder is named: every file is in place (and fsynced)
    "synced",  # the folders of the new directory are fsynced
    "journal-tmp-written",  # the journal's temporary file is written, not yet renamed
    "journal-written",  # the journal is in place: the new directory is complete
    "moved-aside",  # data_dir → data_dir.old done, the parent not yet fsynced
    "moved-aside-synced",
    "swapped",  # temporary → data_dir done, the parent not yet fsynced
    "swapped-synced",
    "old-partly-deleted",  # the first entry of data_dir.old is deleted
    "old-deleted",
    "journal-removed",  # done, the lock not yet released
    # recover's: after each of its steps
    "recover-step-1",
    "recover-step-2",
    "recover-step-3",
)


# --- results ----------------------------------------------------------------------------------


# --- the dry run --------------------------------------------------------------------------------


def preview_restore(
    archive: Path | str,
    data_dir: Path | str,
    *,
    create: bool = False,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
    identities: IdentityFiles | None = None,
) -> RestorePreview:
    """Verify the archive and plan the restore, changing nothing: what a dry run shows. The
    archive is verified even when the target would refuse, so the verdict is always shown."""
    archive_path = archive_location(archive)
    target = describe_target(data_dir, ops)
    # Named as what it is: a preview verifies, and extracts nothing.
    report = needs_contents(
        verify_archive(
            archive_path,
            progress=within_step(progress, "restore", "verify the archive", 1, 1),
            ops=ops,
            identities=identities,
        )
    )
    plan = plan_restore(
        report,
        target,
        archive=str(archive_path),
        archive_size=_size(archive_path, ops),
        create=create,
        archive_real_path=_real_archive(archive_path, ops),
    )
    if isinstance(plan, RestorePlan) and data_dir_busy(Path(target.paths.data_dir), ops):
        plan = RestoreRefusal(RestoreRule.BUSY, "another aeroops run holds this data directory right now")
    if isinstance(plan, RestorePlan) and not writable_folder(target.paths.parent, ops):
        # The real run would fail at its first write (the temporary folder beside it).
        plan = RestoreRefusal(
            RestoreRule.NOT_WRITABLE,
            f"this user cannot write in {target.paths.parent}, where the restore builds the new directory "
            "and swaps it in",
        )
    return RestorePreview(str(archive_path), target.paths.data_dir, report, plan)


# --- the restore --------------------------------------------------------------------------------


class _Steps:
    def __init__(self, progress: ProgressCallback, job: str = "restore") -> None:
        self._progress = progress
        self._job = job
        self.index = 0
        self.total = 0
        self._started = time.monotonic()
        self.timings: list[tuple[str, float]] = []

    def __call__(self, index: int, *, total: int = 0) -> None:
        self._close()
        self.index, self.total = index, total
        self._progress(Progress(self._job, STEPS[index - 1], index, len(STEPS), 0, total))

    def _close(self) -> None:
        now = time.monotonic()
        if self.index:
            self.timings.append((STEPS[self.index - 1], now - self._started))
        self._started = now

    def finish(self) -> tuple[tuple[str, float], ...]:
        self._close()
        self.index = 0
        return tuple(self.timings)


def restore(
    archive: Path | str,
    data_dir: Path | str,
    *,
    create: bool = False,
    verified: VerifyReport | None = None,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
    identities: IdentityFiles | None = None,
    wal_builder: WalBuilder | None = None,
    record_sinks: tuple[WalSink, StorageSink] | None = None,
    wal_observer: Callable[[bytes], None] | None = None,
) -> RestoreResult:
    """Replace ``data_dir`` with the contents of ``archive``.

    create: restore into a path that does not exist yet (AeroDB's restore requires an existing
    data directory; drills need a new one). verified: the report the operator confirmed (what a
    preview showed): the restore verifies again in its one pass and refuses if the archive's
    members are no longer those (RestoreCorruptionError). Raises a `RestoreError` (FATAL) and
    leaves the data directory as it was on any refusal or failure before the swap.
    wal_builder: replaces the extracted ``wal/wal.log`` (given its path and ops) before the new
    directory is fsynced, returning its size and CRC-32: a point-in-time restore's WAL.
    record_sinks: also hand the archive's WAL and storage records, parsed in the same pass, to
    these (a drill of an archive in a bucket reads it once).
    wal_observer: given the archive's WAL bytes as they are extracted (the builder's scan of
    them, without reading the extracted file back from the disk).
    """
    started = time.monotonic()
    archive_path = archive_location(archive)
    keys = load_identities(identities, ops)  # AERO_IDENTITY before anything is locked or written
    paths = restore_paths(data_dir)
    step = _Steps(progress)
    root, temp, old = Path(paths.data_dir), Path(paths.temp), Path(paths.old)

    step(1)
    if not ops.is_dir(paths.parent):
        raise RestoreError(
            f"the folder that holds the data directory {not_a_folder(paths.parent, ops)}", path=paths.parent
        )
    lock = DirectoryLock(root, RestoreError, "restore", ops)
    lock.acquire()
    phase = "checking"  # → staging → moved → swapped
    try:
        ops.crash_point("locked")
        step(2)
        target = describe_target(root, ops)
        real_archive = _real_archive(archive_path, ops)
        refusal = check_target(target, create=create, archive_real_path=real_archive)
        if refusal is not None:
            raise refusal_error(refusal, target.paths.data_dir)
        if not _is_archive_file(archive_path, ops):
            raise RestoreError("the archive does not exist or is not a file", path=archive_path)

        archive_size = _size(archive_path, ops)
        step(3, total=archive_size)
        phase = "staging"
        staging = within_step(progress, "restore", STEPS[2], 3, len(STEPS))
        observers = {WAL: wal_observer} if wal_observer is not None else None
        report = verify_and_extract(archive_path, archive_size, temp, ops, staging, keys, record_sinks, observers)
        if verified is not None and _members(verified) != _members(report):
            raise _changed("its members are not the ones the confirmed report lists")
        step(4)
        plan = plan_restore(
            report,
            target,
            archive=str(archive_path),
            archive_size=archive_size,
            create=create,
            archive_real_path=real_archive,
        )
        if isinstance(plan, RestoreRefusal):
            raise refusal_error(plan, paths.data_dir)
        ops.crash_point("verified")

        step(5)
        files = _name_snapshot_folder(plan, temp, ops)
        if wal_builder is not None:
            size, crc = wal_builder(temp / WAL, ops)
            files = tuple(RestoredFile(f.path, size, crc) if f.path == WAL else f for f in files)
        ops.crash_point("extracted")
        step(6)
        _sync_tree(plan, temp, target, ops)
        ops.crash_point("synced")

        step(7)
        _write_journal(plan, paths, ops)
        ops.crash_point("journal-written")

        step(8)
        # Right before the swap: AeroDB's .lock must never go away with the old tree.
        if aerodb_serving(root, ops):
            raise RestoreError("AeroDB started serving the data directory during the restore (.lock appeared)")
        if plan.mode is RestoreMode.REPLACE:
            ops.rename_noreplace(root, old)
            phase = "moved"
            ops.crash_point("moved-aside")
            ops.fsync_path(Path(paths.parent))
            ops.crash_point("moved-aside-synced")
        step(9)
        ops.rename_noreplace(temp, root)
        phase = "swapped"
        ops.crash_point("swapped")
        ops.fsync_path(Path(paths.parent))
        ops.crash_point("swapped-synced")
    except BaseException as exc:
        _undo(phase, paths, ops, exc)
        if isinstance(exc, OSError) and not isinstance(exc, AeroError):  # RemoteError has its own code
            raise io_error(
                RestoreIOError, exc, failed_operation(exc) or f"step {step.index}, {STEPS[step.index - 1]}"
            ) from exc
        raise
    else:
        step(10)
        warnings = _finish(plan, paths, ops)
        step(11)
    finally:
        lock.release()
    timings = step.finish()
    return RestoreResult(
        archive=str(archive_path),
        data_dir=paths.data_dir,
        plan=plan,
        report=report,
        files=files,
        duration_seconds=time.monotonic() - started,
        step_seconds=timings,
        warnings=warnings,
    )


def _is_archive_file(archive: Path | str, ops: FileOps) -> bool:
    if isinstance(archive, str):
        from aeroops.executor.objectstore import store_for

        return store_for(archive).info(archive) is not None
    return ops.is_file(archive)


def _size(path: Path | str, ops: FileOps) -> int:
    if isinstance(path, str):
        from aeroops.executor.objectstore import store_for

        found = store_for(path).info(path)
        return 0 if found is None else found.size
    try:
        return ops.stat(path).st_size
    except OSError:
        return 0


def refusal_error(refusal: RestoreRefusal, data_dir: str) -> RestoreError:
    """The error a restore raises for this refusal, with the code its findings call for."""
    message = f"{refusal.message} [rule: {refusal.rule}]"
    if refusal.rule is not RestoreRule.ARCHIVE_INVALID:
        return RestoreError(message, path=data_dir)
    codes = {f.code for f in refusal.findings}
    if Code.VERIFY_IO in codes:
        return RestoreIOError(message)
    if any(code.damage for code in codes):
        return RestoreCorruptionError(message)
    return InvalidBackupError(message)


def _members(report: VerifyReport) -> tuple[tuple[str, int, int | None], ...]:
    return tuple((m.name, m.size, m.crc32) for m in report.members)


def _name_snapshot_folder(plan: RestorePlan, temp: Path, ops: FileOps) -> tuple[RestoredFile, ...]:
    """Step 5: the staged snapshot folder gets its verified name, and the temporary folder
    then holds exactly the files the plan lists (a WAL-less archive gets an empty WAL)."""
    # Extraction wrote every schema file to both places before the manifest was judged: a
    # schema the backup added is not the snapshot's, so its copy there goes.
    for added in plan.added_schemas:
        ops.remove(temp / STAGED_SNAPSHOT / SCHEMAS_FOLDER / added)
    ops.rename(temp / STAGED_SNAPSHOT, temp / snapshot_folder(plan.snapshot_id))
    if not plan.wal_present:
        with ops.create(temp / WAL, FILE_MODE) as stream:
            ops.fsync(stream)
    crcs = {m.name: m.crc32 for m in plan.members}
    files = tuple(RestoredFile(f.path, f.size, 0 if f.member is None else crcs.get(f.member) or 0) for f in plan.files)
    found = _files_under(temp, ops)
    if found != {f.path: f.size for f in files}:
        raise RestoreError(f"the extracted files are not the planned ones: {sorted(found)}", path=str(temp))
    return files


def _files_under(folder: Path, ops: FileOps) -> dict[str, int]:
    """Every file below ``folder`` (relative POSIX path → size)."""
    found = {}
    for parent, _, names in walk(ops, folder):
        for name in names:
            path = parent / name
            found[path.relative_to(folder).as_posix()] = ops.lstat(path).st_size
    return found


def _changed(message: str) -> RestoreCorruptionError:
    return RestoreCorruptionError(f"the archive changed since it was verified: {message}; nothing was replaced")


def _sync_tree(plan: RestorePlan, temp: Path, target: TargetState, ops: FileOps) -> None:
    """Step 6: the new directory gets the old one's permissions (and, when run as root, its
    owner, so AeroDB's service user can still write it), then every folder is fsynced, deepest
    first (files were fsynced as they were written)."""
    if target.is_dir and os.geteuid() == 0:
        info = ops.stat(Path(target.paths.data_dir))
        if (info.st_uid, info.st_gid) != (0, 0):
            for parent, names, files in walk(ops, temp):
                for name in (*names, *files):
                    ops.lchown(parent / name, info.st_uid, info.st_gid)
            ops.lchown(temp, info.st_uid, info.st_gid)
    ops.chmod(temp, plan.keep_mode if plan.keep_mode is not None else DIR_MODE)
    for folder in sorted(plan.directories, key=lambda d: d.count("/"), reverse=True):
        ops.fsync_path(temp / folder)
    ops.fsync_path(temp)


def _write_journal(plan: RestorePlan, paths: RestorePaths, ops: FileOps) -> None:
    """Step 7: the journal appears whole (written under a temporary name, fsynced, renamed) and
    only once the new directory is complete: it is what tells `recover` the swap may finish."""
    journal = replace(plan.journal, archive=os.path.abspath(plan.archive), pid=os.getpid())
    save_file(
        ops, Path(paths.journal), render_journal(journal), tmp=Path(paths.journal_tmp), written="journal-tmp-written"
    )


def _finish(plan: RestorePlan, paths: RestorePaths, ops: FileOps) -> tuple[str, ...]:
    """Step 10: the new directory is in place; delete the old one, then the journal. A failure
    here harms nothing (the restore is done): it is a warning, and the journal stays so that
    `recover` can finish the clean-up."""
    try:
        if plan.mode is RestoreMode.REPLACE:
            old = Path(paths.old)
            for index, entry in enumerate(ops.scandir(old)):
                ops.remove_tree(old / entry.name)
                if index == 0:
                    ops.crash_point("old-partly-deleted")
            ops.remove_tree(old)
            ops.fsync_path(Path(paths.parent))
            ops.crash_point("old-deleted")
        ops.remove(Path(paths.journal))
        ops.fsync_path(Path(paths.parent))
        ops.crash_point("journal-removed")
    except OSError as exc:
        log.warning("restore of %s is complete, but cleaning up failed: %s", paths.data_dir, exc)
        return (
            f"the restore is complete, but cleaning up failed ({exc.strerror or exc}); "
            f"run `aeroops recover {paths.data_dir} --yes` to finish it",
        )
    return ()


def _undo(phase: str, paths: RestorePaths, ops: FileOps, cause: BaseException) -> None:
    """After a failure (not a crash): put things back as they were before the restore."""
    if phase == "staging":
        for path in (paths.journal, paths.journal_tmp, paths.temp):
            with logged_cleanup("after a failed restore, removing", path):
                ops.remove_tree(Path(path))
        with logged_cleanup("after a failed restore, fsyncing", paths.parent):
            ops.fsync_path(Path(paths.parent))
    elif phase == "moved":
        try:
            ops.rename_noreplace(Path(paths.old), Path(paths.data_dir))
            ops.fsync_path(Path(paths.parent))
            for path in (paths.journal, paths.temp):
                ops.remove_tree(Path(path))
        except OSError as exc:
            log.error("restore of %s: putting the old directory back failed: %s", paths.data_dir, exc)
            raise RestoreError(
                f"the swap failed ({cause}) and so did putting the old directory back ({exc.strerror or exc}); "
                f"run `aeroops recover {paths.data_dir}` to see where it stands",
                path=paths.data_dir,
            ) from cause
    elif phase == "swapped":
        raise RestoreIOError(
            f"the new directory is in place, but making the swap durable failed ({cause}); "
            f"run `aeroops recover {paths.data_dir} --yes` to finish",
            path=paths.data_dir,
        ) from cause


__all__ = [
    "KILL_POINTS",
    "preview_restore",
    "restore",
]


def _real_archive(archive: Path | str, ops: FileOps) -> str | None:
    """Where the archive really is, for the check that it does not lie inside the target; None
    for a missing archive, which is refused for being missing, not for where it would be, and
    for one in object storage (never inside a data directory)."""
    if isinstance(archive, str):
        return None
    return ops.realpath(archive) if ops.exists(archive) else None
