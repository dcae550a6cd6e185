"""Restore planning: pure functions from a verified archive and a description of the target to
the new directory's layout and the steps that build it (what a dry run shows).

Nothing here touches a file system or a clock: the executor (`aeroops.executor.restore`)
gathers the facts and carries the plans out.

The layout (DESIGN.md §1, §7): the snapshot's storage goes to ``data/documents.dat`` (the file
AeroDB's storage reads; AeroDB's own restore writes ``data/storage.dat``, which nothing reads)
*and* to ``snapshots/<id>/storage.dat``; its schema files to ``metadata/schemas/`` and
``snapshots/<id>/schemas/``; its manifest to ``snapshots/<id>/manifest.json``; the WAL to
``wal/wal.log``, empty when the archive has none. ``backup_manifest.json`` describes the
archive and is not restored.

What lies at the target and beside it (paths, journal, leftovers) is described in
`aeroops.core.restore_target`; the recovery rules are in `aeroops.core.recovery`.
"""

from __future__ import annotations

import enum
import posixpath
from dataclasses import dataclass
from datetime import datetime

from aeroops.core.recovery import SITUATION_TEXT, Situation, classify_leftovers, plan_recovery
from aeroops.core.restore_target import ExistingEntry, Leftovers, RestoreJournal, RestoreMode, RestorePaths, TargetState
from aeroops.core.verify_report import VerifyReport
from aeroops.errors import Finding, Severity
from aeroops.formats.layout import BACKUP_MANIFEST, SCHEMAS, WAL, member_targets, new_directories, snapshot_folder
from aeroops.option_names import option

# Where the snapshot's files are extracted before verification has named the snapshot (a
# snapshot id never starts with a dot); the folder is renamed to snapshots/<id> after.
STAGED_SNAPSHOT = snapshot_folder(".extracting")


STEPS = (
    "lock the data directory",
    "check the data directory",
    "verify the archive, extracting it into the temporary folder",
    "plan the restore",
    "name the snapshot folder",
    "fsync the new directory",
    "write the swap journal",
    "move the data directory aside",
    "move the new directory into place",
    "delete the old directory",
    "release the lock",
)


# --- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedMember:
    """One archive member as verified, and the files of the new directory its bytes become."""

    name: str  # normalised: directories without a trailing slash
    is_dir: bool
    size: int
    crc32: int | None  # what verification computed, from the very bytes restore writes
    targets: tuple[str, ...]  # paths relative to the data directory (none: not restored)


@dataclass(frozen=True, slots=True)
class TargetFile:
    """One file the restore writes into the data directory, and the member it copies."""

    path: str  # relative to the data directory
    member: str | None  # the archive member it is a copy of; None: created empty
    size: int


class RestoreRule(enum.StrEnum):
    ARCHIVE_INVALID = "archive-invalid"
    SERVING = "serving"
    MISSING = "missing"
    NOT_A_DIRECTORY = "not-a-directory"
    SYMLINK = "symlink"
    NO_PARENT = "no-parent"
    MOUNT_POINT = "mount-point"
    INTERRUPTED = "interrupted"
    BUSY = "busy"  # another aeroops run holds the data directory's lock (seen by a dry run)
    FOREIGN_OLD = "foreign-old"
    ARCHIVE_INSIDE = "archive-inside"
    NOT_WRITABLE = "not-writable"  # the folder holding the data directory is not writable (seen by a dry run)
    UNREADABLE = "unreadable"  # this user cannot list the data directory


@dataclass(frozen=True, slots=True)
class RestoreRefusal:
    """Why a restore cannot go ahead: the rule, in words, with the findings behind it."""

    rule: RestoreRule
    message: str
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True, slots=True)
class RestorePlan:
    """A restore to carry out: the archive, the target's paths and mode, and every file it writes."""

    archive: str
    archive_size: int
    paths: RestorePaths
    mode: RestoreMode
    backup_id: str
    snapshot_id: str
    created_at: datetime
    wal_present: bool
    members: tuple[PlannedMember, ...]  # every member, in archive order
    directories: tuple[str, ...]  # of the new directory, parents first
    files: tuple[TargetFile, ...]  # of the new directory, sorted
    replaced: tuple[ExistingEntry, ...]  # what is in the data directory now, and goes
    keep_mode: int | None  # permission bits the new directory gets (the old one's)
    notes: tuple[str, ...]
    steps: tuple[str, ...] = STEPS
    added_schemas: tuple[str, ...] = ()  # schema files the backup added: metadata/schemas/ only

    @property
    def new_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def replaced_bytes(self) -> int:
        return sum(e.bytes for e in self.replaced)

    @property
    def replaced_files(self) -> int:
        return sum(e.files for e in self.replaced)

    @property
    def journal(self) -> RestoreJournal:
        """The journal this plan's swap writes (pid filled in by the executor)."""
        return RestoreJournal(self.paths.data_dir, self.mode, self.backup_id, self.archive, 0)


def check_target(
    target: TargetState, *, create: bool = False, archive_real_path: str | None = None
) -> RestoreRefusal | None:
    """The target-side refusals, cheapest first: run before the archive is read at all."""
    paths = target.paths
    interrupted = interrupted_refusal(target.leftovers)
    if interrupted is not None:
        return interrupted
    if target.is_symlink:
        return RestoreRefusal(
            RestoreRule.SYMLINK,
            "the data directory is a symbolic link: the swap would replace the link, not the folder; "
            f"restore into the folder it points to ({target.real_path})",
        )
    if not target.exists:
        if not target.parent_exists:
            return RestoreRefusal(RestoreRule.NO_PARENT, f"the folder {paths.parent} does not exist")
        if not create:
            return RestoreRefusal(
                RestoreRule.MISSING,
                "the data directory does not exist (AeroDB's restore replaces an existing one); "
                f"ask for a new directory explicitly to create it ({option('create', True)})",
            )
        return None
    if not target.is_dir:
        return RestoreRefusal(RestoreRule.NOT_A_DIRECTORY, "the data directory is not a folder")
    if not target.listable:
        return RestoreRefusal(
            RestoreRule.UNREADABLE,
            "this user cannot list the data directory (permission denied), so cannot tell whether AeroDB "
            "is serving it nor remove what it holds after the swap; restore as its owner",
        )
    if target.serving:
        return RestoreRefusal(
            RestoreRule.SERVING,
            "AeroDB is serving this data directory (.lock is present); stop it before restoring",
        )
    if target.other_file_system:
        return RestoreRefusal(
            RestoreRule.MOUNT_POINT,
            "the data directory is a mount point (on another file system than its parent folder): the "
            "swap renames it, which cannot cross file systems; restore into a folder inside the mount",
        )
    if archive_real_path is not None and _inside(archive_real_path, target.real_path):
        return RestoreRefusal(
            RestoreRule.ARCHIVE_INSIDE,
            "the archive lies inside the data directory, which the restore replaces and deletes; "
            "move the archive out first",
        )
    return None


def interrupted_refusal(leftovers: Leftovers) -> RestoreRefusal | None:
    """A refusal naming the way out when an earlier restore left something behind."""
    if not leftovers.any:
        return None
    situation = classify_leftovers(leftovers)
    if situation is Situation.FOREIGN_OLD:
        return RestoreRefusal(
            RestoreRule.FOREIGN_OLD,
            f"{leftovers.paths.old} exists and no aeroops journal explains it (AeroDB's own restore leaves "
            "one behind when it fails): look at it, then move it away before restoring",
        )
    plan = plan_recovery(leftovers)
    return RestoreRefusal(
        RestoreRule.INTERRUPTED,
        f"an interrupted restore left {', '.join(leftovers.present())} ({SITUATION_TEXT[situation]}); "
        f"run `aeroops recover {leftovers.paths.data_dir}` to see what happened, and add --yes to "
        f"{plan.summary}",
    )


def plan_restore(
    report: VerifyReport,
    target: TargetState,
    *,
    archive: str,
    archive_size: int,
    create: bool = False,
    archive_real_path: str | None = None,
) -> RestorePlan | RestoreRefusal:
    """The restore of a verified archive into ``target``, or why it must not happen."""
    refusal = check_target(target, create=create, archive_real_path=archive_real_path)
    if refusal is not None:
        return refusal
    if not report.ok:
        errors = tuple(f for f in report.findings if f.severity in (Severity.ERROR, Severity.FATAL))
        first = errors[0] if errors else None
        return RestoreRefusal(
            RestoreRule.ARCHIVE_INVALID,
            f"the archive failed verification with {len(errors)} error(s)"
            + (f", the first: {first.message}" + (f" ({first.where()})" if first.where() else "") if first else ""),
            errors,
        )
    backup, snapshot = report.backup_manifest, report.snapshot_manifest
    if backup is None or snapshot is None:  # a passing report always has both
        return RestoreRefusal(RestoreRule.ARCHIVE_INVALID, "the archive's manifests could not be read")

    base = snapshot_folder(snapshot.snapshot_id)
    members: list[PlannedMember] = []
    files: list[TargetFile] = []
    for info in report.members:
        is_dir = info.type == "directory"
        name = info.name.rstrip("/") if is_dir else info.name
        targets = () if is_dir else member_targets(name, base, backup.added_schema_map)
        assert targets or is_dir or name == BACKUP_MANIFEST, name  # verification admits nothing else
        members.append(PlannedMember(name, is_dir, 0 if is_dir else info.size, info.crc32, targets))
        files.extend(TargetFile(t, name, info.size) for t in targets)

    notes = []
    if not backup.wal_present:
        files.append(TargetFile(WAL, None, 0))
        notes.append("the archive holds no WAL (wal_present: false): the restored WAL is empty")
    mode = RestoreMode.REPLACE if target.exists else RestoreMode.CREATE
    if mode is RestoreMode.CREATE:
        notes.append("the data directory does not exist: it is created, nothing is replaced")
    notes.extend(
        f"{SCHEMAS}/{a.name} is installed beyond the snapshot's schemas: {a.reason}" for a in backup.added_schemas
    )
    notes.extend(f"archive warning: {f.message}" for f in report.findings if f.severity is Severity.WARNING)
    return RestorePlan(
        archive=archive,
        archive_size=archive_size,
        paths=target.paths,
        mode=mode,
        backup_id=backup.backup_id,
        snapshot_id=snapshot.snapshot_id,
        created_at=backup.created_at,
        wal_present=backup.wal_present,
        members=tuple(members),
        directories=new_directories(base),
        files=tuple(sorted(files, key=lambda f: f.path)),
        replaced=target.entries if mode is RestoreMode.REPLACE else (),
        keep_mode=target.mode if mode is RestoreMode.REPLACE else None,
        notes=tuple(notes),
        steps=STEPS if mode is RestoreMode.REPLACE else tuple(s for s in STEPS if s != "move the data directory aside"),
        added_schemas=tuple(a.name for a in backup.added_schemas),
    )


def _inside(path: str, folder: str) -> bool:
    path, folder = posixpath.normpath(path), posixpath.normpath(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")
