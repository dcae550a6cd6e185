"""The restore drill: prove an archive restores, without touching any live data directory.

restore the archive into a scratch folder (timed: the restore's real duration, verification
included) → the logical state (DESIGN.md §8) of the restored directory → the logical state of
the archive, read independently from the archive's own bytes → with a source, the logical state
of the live source → compare them document by document → remove the scratch folder.

The restored directory's state is read from ``metadata/schemas/``, ``wal/wal.log`` and
``data/documents.dat``: what AeroDB boots from, in its order, so a drill proves AeroDB would
start with those documents, and start again: every schema a document or WAL record names must
be there (else AeroDB's boot fails with AERO_RECOVERY_SCHEMA_MISSING, from the second boot on
when only WAL records name it), or the drill fails. A source's is
read as §8 says: the storage of its snapshot (the archive's own, while the source still has
it; else its newest valid one) and then its WAL.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

from aeroops.core.description import Verdict
from aeroops.core.logical import (
    LogicalState,
    LogicalStateBuilder,
    MissingSchemas,
    diff,
    missing_schemas,
)
from aeroops.core.results import CollectionCount, Comparison, DrillResult, RestoreResult
from aeroops.errors import AeroError, Finding, FormatError, RestoreError, RestoreIOError, UsageError, io_error
from aeroops.executor.audit import archive_location, inspect_archive
from aeroops.executor.fileops import (
    FileOps,
    LimitedReader,
    failed_operation,
    is_within,
    logged_cleanup,
    not_a_folder,
    open_buffered,
)
from aeroops.executor.keys import IdentityFiles, identity_files
from aeroops.executor.location import local_path
from aeroops.executor.restore import restore
from aeroops.executor.scan import describe_schema_files, scan
from aeroops.formats.layout import DOCUMENTS, MANIFEST_FILE, SCHEMAS, STORAGE, WAL, member_source, snapshot_folder
from aeroops.formats.schemas import SchemaRef
from aeroops.formats.storage import StorageRecord, iter_storage
from aeroops.formats.wal import WalRecord, iter_wal
from aeroops.progress import Progress, ProgressCallback, no_progress, within_step

DRILL_STEPS = (
    "restore into a scratch folder",
    "read the restored directory",
    "read the archive",
    "read the source",
    "compare",
    "remove the scratch folder",
)
SCRATCH_PREFIX = "aeroops-drill-"


def datadir_logical_state(
    data_dir: Path | str,
    *,
    storage: str = DOCUMENTS,
    ops: FileOps,
    progress: ProgressCallback = no_progress,
    places: bool = False,
) -> LogicalState:
    """The logical state of a data directory as AeroDB's boot computes it (recovery/startup.rs),
    reading what it reads in its order: ``wal/wal.log`` (replayed first: an absent WAL is an
    empty one), then the storage file ``storage`` (relative to it), to which boot appends the
    replayed records, so they win over it. The WAL is read up to the size it had when opened,
    so a source AeroDB is appending to can be read. Its schemas: `datadir_schemas`. ``progress``
    hears the bytes read of both files (one step, "read the data directory"). ``places``: see
    `LogicalStateBuilder`.

    Raises `FormatError` on damaged storage or WAL records.
    """
    builder = LogicalStateBuilder(places=places)
    read_datadir_records(data_dir, builder.add_wal, builder.add_storage, storage=storage, ops=ops, progress=progress)
    return builder.build()


def read_datadir_records(
    data_dir: Path | str,
    on_wal: Callable[[WalRecord], None],
    on_storage: Callable[[StorageRecord], None],
    *,
    storage: str = DOCUMENTS,
    ops: FileOps,
    progress: ProgressCallback = no_progress,
) -> None:
    """Hand every WAL record, then every storage record, of a data directory to the callbacks,
    in `datadir_logical_state`'s order (its one reading of a data directory)."""
    root = Path(data_dir)
    wal_path = root / WAL
    with contextlib.ExitStack() as files:
        wal_stream = files.enter_context(open_buffered(ops, wal_path)) if ops.exists(wal_path) else None
        storage_stream = files.enter_context(open_buffered(ops, root / storage))
        sizes = [ops.fstat(s).st_size for s in (wal_stream, storage_stream) if s is not None]
        read = _ReadCounter(progress, sum(sizes))
        if wal_stream is not None:
            for record in iter_wal(LimitedReader(wal_stream, sizes[0], counted=read), path=str(wal_path)):
                on_wal(record)
        for stored in iter_storage(LimitedReader(storage_stream, sizes[-1], counted=read), path=str(root / storage)):
            on_storage(stored)


class _ReadCounter:
    """Bytes read so far of ``total``, as the events of one step (at most one per MiB)."""

    def __init__(self, progress: ProgressCallback, total: int) -> None:
        self._progress, self._total = progress, total
        self._done = self._shown = 0
        progress(Progress("read", "read the data directory", 1, 1, 0, total))

    def __call__(self, size: int) -> None:
        self._done += size
        if self._done - self._shown >= 1 << 20 or self._done >= self._total:
            self._shown = self._done
            self._progress(Progress("read", "read the data directory", 1, 1, self._done, self._total))


def datadir_schemas(data_dir: Path | str, ops: FileOps) -> tuple[SchemaRef, ...]:
    """The schemas AeroDB's boot loads first: every ``*.json`` file of ``metadata/schemas/``,
    keyed by what it defines. Raises `FormatError` for a file that does not parse (AeroDB's
    boot fails on it too)."""
    folder = Path(data_dir) / SCHEMAS
    facts = describe_schema_files(folder, ops)
    for fact in facts:
        if fact.schema is None:
            raise FormatError(f"{fact.name} is not a schema AeroDB can load", path=folder / fact.name)
    return tuple(sorted({fact.schema for fact in facts if fact.schema is not None}))


def source_snapshot(source: Path | str, preferred: str | None, ops: FileOps) -> str:
    """The snapshot a source's logical state is read from: ``preferred`` (the archive's) while
    the source still has it complete, else the newest valid one."""
    root = local_path(source, "the source data directory")
    if preferred and ops.is_file(root / snapshot_folder(preferred) / MANIFEST_FILE):
        return preferred
    try:
        description = scan(root, checksums="until-valid", check_wal=False, ops=ops)
    except AeroError as exc:
        raise RestoreError(f"cannot read the source: {exc.message}", path=root) from None
    valid = [s.snapshot_id for s in description.snapshots if s.verdict is Verdict.VALID]
    if not valid:
        raise RestoreError("the source has no valid snapshot to read its state from", path=root)
    return max(valid)


def drill(
    archive: Path | str,
    *,
    source: Path | str | None = None,
    scratch_parent: Path | str | None = None,
    keep: bool = False,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
    identities: IdentityFiles | None = None,
) -> DrillResult:
    """Restore ``archive`` into a scratch folder and check what came out (see the module doc).

    source: a live data directory to compare with too (only read). scratch_parent: where the
    scratch folder goes (default: the system's temporary folder; it needs room for the restored
    directory). keep: leave the scratch folder for a look (its path is in the result).

    Never raises for a failed restore or a difference: those are the verdict (``ok``, ``error``);
    raises `UsageError` only when the scratch folder cannot be made (``scratch_parent`` is not
    a folder, or not one the user can write in).
    """
    started = time.monotonic()
    archive_path = archive_location(archive)
    identity_paths = identity_files(identities)
    if scratch_parent is not None:
        local_path(scratch_parent, "the scratch folder")
    if scratch_parent is not None and not ops.is_dir(scratch_parent):
        raise UsageError(
            f"the folder for the scratch directory {not_a_folder(scratch_parent, ops)}", path=scratch_parent
        )
    if scratch_parent is not None and source is not None and is_within(scratch_parent, source, ops):
        raise UsageError("the scratch folder must not be inside the source data directory", path=scratch_parent)
    try:
        scratch = ops.make_temp_dir(None if scratch_parent is None else Path(scratch_parent), SCRATCH_PREFIX)
    except OSError as exc:  # a folder the user cannot write in: nothing was done yet
        raise UsageError(
            f"cannot make the scratch folder there ({exc.strerror}); name one you can write in with --scratch",
            path=exc.filename or scratch_parent,
        ) from None
    run = _Run(archive_path, progress, ops, identity_paths)
    try:
        run.go(source, scratch / "data")
    except AeroError as exc:
        run.error = exc.finding
    except OSError as exc:
        run.error = io_error(RestoreIOError, exc, failed_operation(exc)).finding
    finally:
        if not keep:
            run.step(6)
            with logged_cleanup("removing the drill's scratch folder", scratch):
                ops.remove_tree(scratch)
    return DrillResult(
        archive=str(archive_path),
        source=None if source is None else str(source),
        scratch=str(scratch),
        backup_id=None if run.restored is None else run.restored.backup_id,
        snapshot_id=None if run.restored is None else run.restored.plan.snapshot_id,
        restore=run.restored,
        duration_seconds=time.monotonic() - started,
        collections=run.collections,
        comparisons=run.comparisons,
        source_snapshot=run.source_snapshot,
        error=run.error,
        scratch_removed=not ops.exists(scratch),
        missing_schemas=run.missing_schemas,
    )


class _Run:
    """The drill's steps, and what they found so far (a failure keeps what came before)."""

    def __init__(
        self, archive: Path | str, progress: ProgressCallback, ops: FileOps, identities: tuple[Path, ...] = ()
    ) -> None:
        self.archive = archive
        self.identities = identities
        self.ops = ops
        self.progress = progress
        self.restored: RestoreResult | None = None
        self.collections: tuple[CollectionCount, ...] = ()
        self.comparisons: tuple[Comparison, ...] = ()
        self.source_snapshot: str | None = None
        self.error: Finding | None = None
        self.missing_schemas = MissingSchemas()

    def step(self, index: int) -> ProgressCallback:
        """Announce step ``index``; the callback to hand to what it runs (shown as this step)."""
        self.progress(Progress("drill", DRILL_STEPS[index - 1], index, len(DRILL_STEPS)))
        return within_step(self.progress, "drill", DRILL_STEPS[index - 1], index, len(DRILL_STEPS))

    def go(self, source: Path | str | None, restored_dir: Path) -> None:
        # An archive in a bucket is read once: its own state is parsed from the bytes the
        # restore verifies (not from the files it wrote); a local one is read again.
        remote = LogicalStateBuilder() if isinstance(self.archive, str) else None
        self.restored = restore(
            self.archive,
            restored_dir,
            create=True,
            progress=self.step(1),
            ops=self.ops,
            identities=self.identities,
            record_sinks=None if remote is None else (remote.add_wal, remote.add_storage),
        )
        restored = datadir_logical_state(restored_dir, ops=self.ops, progress=self.step(2))
        self.missing_schemas = missing_schemas(restored, datadir_schemas(restored_dir, self.ops))
        if remote is not None:
            self.step(3)
            states = {"archive": remote.build()}
        else:
            inspection = inspect_archive(self.archive, ops=self.ops, progress=self.step(3), identities=self.identities)
            if not inspection.ok:  # the restore verified it a moment ago: it changed since
                raise RestoreError("the archive no longer verifies: it changed during the drill", path=self.archive)
            states = {"archive": inspection.logical}
        if source is not None:
            read_source = self.step(4)
            self.source_snapshot = source_snapshot(source, self.restored.plan.snapshot_id, self.ops)
            states["source"] = datadir_logical_state(
                source, storage=member_source(STORAGE, self.source_snapshot), ops=self.ops, progress=read_source
            )
        self.comparisons = self._compare(states, restored, self.step(5))
        names = sorted(set(restored.collections).union(*(s.collections for s in states.values())))
        source_state = states.get("source")
        self.collections = tuple(
            CollectionCount(
                name,
                len(restored.documents.get(name, {})),
                len(states["archive"].documents.get(name, {})),
                None if source_state is None else len(source_state.documents.get(name, {})),
            )
            for name in names
        )

    @staticmethod
    def _compare(
        states: dict[str, LogicalState], restored: LogicalState, progress: ProgressCallback
    ) -> tuple[Comparison, ...]:
        """The restored state against each reference, with the documents compared as progress."""
        sizes = [len(state) + len(restored) for state in states.values()]
        total, offset, comparisons = sum(sizes), 0, []
        for (name, state), size in zip(states.items(), sizes, strict=True):

            def counted(done: int, _: int, offset: int = offset) -> None:
                progress(Progress("compare", "compare", 1, 1, offset + done, total, unit="documents"))

            comparisons.append(Comparison(name, diff(state, restored, counted)))
            offset += size
        return tuple(comparisons)


__all__ = [
    "DRILL_STEPS",
    "datadir_logical_state",
    "datadir_schemas",
    "drill",
    "read_datadir_records",
    "source_snapshot",
]
