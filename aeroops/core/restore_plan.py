"""Restore planning: pure functions from a verified archive and a description of the target to
the new directory's layout and the steps that build it (what a dry run shows), and from the
leftovers of an interrupted restore to the steps that finish or roll it back.

Nothing here touches a file system or a clock: the executor (`aeroops.executor.restore`)
gathers the facts and carries the plans out.

The layout (DESIGN.md §1, §7): the snapshot's storage goes to ``data/documents.dat`` (the file
AeroDB's storage reads; AeroDB's own restore writes ``data/storage.dat``, which nothing reads)
*and* to ``snapshots/<id>/storage.dat``; its schema files to ``metadata/schemas/`` and
``snapshots/<id>/schemas/``; its manifest to ``snapshots/<id>/manifest.json``; the WAL to
``wal/wal.log``, empty when the archive has none. ``backup_manifest.json`` describes the
archive and is not restored.

The swap and its crash states. Beside the data directory ``D`` (names derived from its own, so
the next run finds them): the temporary folder ``.D.aeroops-restore-tmp`` (``T``), the journal
``.D.aeroops-restore-journal`` (``J``, written once ``T`` is complete and fsynced: it is the
commit record of the staging), and ``D.old`` (``O``). The restore goes

    build T → fsync T → write J → rename D → O → rename T → D → delete O → delete J

with the parent folder fsynced after each rename, so at any crash the folders on disk tell
where it stopped (`classify_leftovers`); `plan_recovery` turns that into steps.
"""

from __future__ import annotations

import enum
import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aeroops.core.verify import VerifyReport
from aeroops.errors import Code, Finding, FormatError, Severity, UsageError
from aeroops.formats.layout import BACKUP_MANIFEST, SCHEMAS, WAL, member_targets, new_directories, snapshot_folder

TEMP_SUFFIX = ".aeroops-restore-tmp"
JOURNAL_SUFFIX = ".aeroops-restore-journal"
OLD_SUFFIX = ".old"
JOURNAL_VERSION = 1

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


# --- paths ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RestorePaths:
    """Where a restore of ``data_dir`` keeps its work: all beside it, on its file system."""

    data_dir: str  # absolute
    temp: str
    journal: str
    old: str

    @classmethod
    def for_data_dir(cls, data_dir: str) -> RestorePaths:
        """``data_dir`` must be absolute (the executor makes it so): a bare relative name has no
        parent to put the temporary folder in (AeroDB's own restore trips on exactly that)."""
        if not posixpath.isabs(data_dir):
            raise ValueError(f"not an absolute path: {data_dir!r}")
        path = posixpath.normpath(data_dir)
        parent, name = posixpath.split(path)
        if not name:
            raise UsageError("the file system root cannot be restored into: name a data directory below it")
        return cls(
            data_dir=path,
            temp=posixpath.join(parent, f".{name}{TEMP_SUFFIX}"),
            journal=posixpath.join(parent, f".{name}{JOURNAL_SUFFIX}"),
            old=posixpath.join(parent, f"{name}{OLD_SUFFIX}"),
        )

    @property
    def parent(self) -> str:
        return posixpath.dirname(self.data_dir)

    @property
    def journal_tmp(self) -> str:
        return self.journal + ".tmp"


# --- the journal ------------------------------------------------------------------------------


class RestoreMode(enum.StrEnum):
    REPLACE = "replace"  # an existing data directory is replaced (AeroDB's restore)
    CREATE = "create"  # the data directory did not exist: asked for explicitly (drills)


@dataclass(frozen=True, slots=True)
class RestoreJournal:
    data_dir: str
    mode: RestoreMode
    backup_id: str
    archive: str
    pid: int


def render_journal(journal: RestoreJournal) -> bytes:
    return json.dumps(
        {
            "aeroops_restore_journal": JOURNAL_VERSION,
            "data_dir": journal.data_dir,
            "mode": str(journal.mode),
            "backup_id": journal.backup_id,
            "archive": journal.archive,
            "pid": journal.pid,
        },
        indent=2,
    ).encode()


def parse_journal(data: bytes) -> RestoreJournal:
    try:
        obj = json.loads(data)
        if not isinstance(obj, dict) or obj.get("aeroops_restore_journal") != JOURNAL_VERSION:
            raise ValueError("not an aeroops restore journal (version 1)")
        return RestoreJournal(
            data_dir=_str(obj, "data_dir"),
            mode=RestoreMode(_str(obj, "mode")),
            backup_id=_str(obj, "backup_id"),
            archive=_str(obj, "archive"),
            pid=int(obj["pid"]),
        )
    # A damaged journal must not crash recovery: deep nesting and huge numbers included.
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError, OverflowError) as exc:
        raise FormatError(f"the restore journal does not parse: {exc}", code=Code.RESTORE_JOURNAL) from None


def _str(obj: Mapping[str, Any], key: str) -> str:
    value = obj[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} is not a string")
    return value


# --- what is at the target --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Leftovers:
    """What an interrupted restore may have left beside the data directory."""

    paths: RestorePaths
    data_dir: bool  # the data directory exists
    temp: bool
    old: bool
    journal_tmp: bool
    journal: RestoreJournal | None = None
    journal_error: str | None = None  # the journal exists but does not parse

    @property
    def has_journal(self) -> bool:
        return self.journal is not None or self.journal_error is not None

    @property
    def any(self) -> bool:
        return self.temp or self.old or self.journal_tmp or self.has_journal

    def present(self) -> tuple[str, ...]:
        """The leftover paths, for messages."""
        found = [
            (self.temp, self.paths.temp),
            (self.journal_tmp, self.paths.journal_tmp),
            (self.has_journal, self.paths.journal),
            (self.old, self.paths.old),
        ]
        return tuple(path for there, path in found if there)


@dataclass(frozen=True, slots=True)
class ExistingEntry:
    """One top-level entry of the data directory a restore would replace."""

    name: str
    kind: str  # "file", "directory", "symlink", "other"
    files: int
    bytes: int


@dataclass(frozen=True, slots=True)
class TargetState:
    """The target of a restore, as the executor saw it (under the lock)."""

    paths: RestorePaths
    exists: bool
    is_dir: bool
    is_symlink: bool
    parent_exists: bool
    other_file_system: bool  # a mount point: the swap's renames cannot cross file systems
    serving: bool  # AeroDB's .lock is present
    entries: tuple[ExistingEntry, ...]
    leftovers: Leftovers
    real_path: str  # symlinks resolved: to tell whether the archive lies inside
    mode: int | None = None  # permission bits of the existing directory, kept by the restore


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


@dataclass(frozen=True, slots=True)
class RestoreRefusal:
    rule: RestoreRule
    message: str
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True, slots=True)
class RestorePlan:
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
                "ask for a new directory explicitly to create it (create=True, --create)",
            )
        return None
    if not target.is_dir:
        return RestoreRefusal(RestoreRule.NOT_A_DIRECTORY, "the data directory is not a folder")
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


# --- recovery ---------------------------------------------------------------------------------


class Situation(enum.StrEnum):
    CLEAN = "clean"
    STAGING = "staging"  # the new directory was being built; the data directory is untouched
    STAGED = "staged"  # the new directory is complete (journal written); the swap had not begun
    MOVED_ASIDE = "moved-aside"  # data directory → .old done; the new one not yet in place
    SWAPPED = "swapped"  # the new directory is in place; the old one is still beside it
    FINISHING = "finishing"  # only the journal is left (after a finished swap, or a roll back)
    FOREIGN_OLD = "foreign-old"  # <name>.old without an aeroops journal: not ours to touch
    INCONSISTENT = "inconsistent"  # the folders do not fit any state a restore passes through


SITUATION_TEXT = {
    Situation.CLEAN: "nothing left over",
    Situation.STAGING: "it stopped while building the new directory; the data directory is untouched",
    Situation.STAGED: "the new directory was complete, but the swap had not begun; the data directory is untouched",
    Situation.MOVED_ASIDE: "it stopped mid-swap: the old directory is at .old, the new one not yet in place",
    Situation.SWAPPED: "the new directory is in place; the old one still waits at .old to be deleted",
    Situation.FINISHING: "only the journal is left: the data directory is complete as it stands",
    Situation.FOREIGN_OLD: "a .old folder that no aeroops restore journal explains",
    Situation.INCONSISTENT: "the folders do not match any state an aeroops restore passes through",
}


class RecoveryAction(enum.StrEnum):
    AUTO = "auto"  # roll back before the swap began, finish after
    FINISH = "finish"
    ROLLBACK = "rollback"


class Outcome(enum.StrEnum):
    OLD = "old"  # the data directory holds what it held before the restore
    NEW = "new"  # it holds the restored archive
    NONE = "none"  # there was no data directory (a create-mode restore rolled back)
    UNCHANGED = "unchanged"  # the data directory stays as it is (only the journal goes), or refused


@dataclass(frozen=True, slots=True)
class RecoveryStep:
    op: str  # "delete" or "rename"
    path: str
    target: str | None = None

    def __str__(self) -> str:
        return f"rename {self.path} → {self.target}" if self.op == "rename" else f"delete {self.path}"


@dataclass(frozen=True, slots=True)
class RecoveryPlan:
    situation: Situation
    action: RecoveryAction  # what the steps do: FINISH or ROLLBACK (AUTO resolved)
    steps: tuple[RecoveryStep, ...]
    outcome: Outcome
    explanation: str
    refusal: str | None = None  # set when the asked action cannot be done safely

    @property
    def summary(self) -> str:
        if self.refusal:
            return "nothing (see why)"
        if not self.steps:
            return "do nothing"
        if self.outcome is Outcome.UNCHANGED:
            return "remove the journal (the data directory stays as it is)"
        if self.outcome is Outcome.NONE:
            return "roll it back (no data directory, as before the restore)"
        if self.action is RecoveryAction.FINISH:
            return "finish the restore (the data directory then holds the restored data)"
        return "roll it back (the data directory then holds the old data)"


def classify_leftovers(leftovers: Leftovers) -> Situation:
    """Which state of the swap a crash stopped in, from what exists (see the module docstring)."""
    d, t, o = leftovers.data_dir, leftovers.temp, leftovers.old
    if not leftovers.has_journal:
        if o:
            return Situation.FOREIGN_OLD
        return Situation.STAGING if (t or leftovers.journal_tmp) else Situation.CLEAN
    if leftovers.journal_error is not None:
        return Situation.INCONSISTENT
    journal = leftovers.journal
    assert journal is not None
    if journal.mode is RestoreMode.CREATE:
        if o:
            return Situation.INCONSISTENT
        if t and not d:
            return Situation.STAGED
        if d and not t:
            return Situation.FINISHING
        return Situation.INCONSISTENT
    if t and d and not o:
        return Situation.STAGED
    if not d and o:
        return Situation.MOVED_ASIDE  # with or without the new directory (see plan_recovery)
    if d and o and not t:
        return Situation.SWAPPED
    if d and not o and not t:
        return Situation.FINISHING
    return Situation.INCONSISTENT


def plan_recovery(leftovers: Leftovers, action: RecoveryAction = RecoveryAction.AUTO) -> RecoveryPlan:
    """The steps that bring an interrupted restore to an end: the data directory then holds
    either all of the old data or all of the new, and nothing is left beside it."""
    paths = leftovers.paths
    situation = classify_leftovers(leftovers)
    text = SITUATION_TEXT[situation]
    journal_steps = tuple(
        RecoveryStep("delete", p) for there, p in ((leftovers.journal_tmp, paths.journal_tmp),) if there
    )
    drop_journal = (RecoveryStep("delete", paths.journal),)
    drop_temp = (RecoveryStep("delete", paths.temp),) if leftovers.temp else ()

    def plan(kind: RecoveryAction, steps: tuple[RecoveryStep, ...], outcome: Outcome) -> RecoveryPlan:
        return RecoveryPlan(situation, kind, steps, outcome, text)

    def refuse(why: str) -> RecoveryPlan:
        return RecoveryPlan(situation, action, (), Outcome.UNCHANGED, text, why)

    if situation is Situation.CLEAN:
        return RecoveryPlan(situation, action, (), Outcome.UNCHANGED, text)
    if situation is Situation.FOREIGN_OLD:
        return refuse(
            f"{paths.old} was not left by an aeroops restore (no journal): aeroops does not delete or move "
            "it; look at it and move it away yourself"
        )
    if situation is Situation.INCONSISTENT:
        found = ", ".join(leftovers.present()) or "nothing"
        detail = f" ({leftovers.journal_error})" if leftovers.journal_error else ""
        return refuse(
            f"found {found}, with the data directory {'present' if leftovers.data_dir else 'missing'}{detail}: "
            "aeroops cannot tell safely which folder holds what; sort it out by hand"
        )
    if situation is Situation.STAGING:
        if action is RecoveryAction.FINISH:
            return refuse("the new directory was never completed (no journal): it can only be rolled back")
        return plan(RecoveryAction.ROLLBACK, (*drop_temp, *journal_steps), Outcome.OLD)

    journal = leftovers.journal
    assert journal is not None
    create = journal.mode is RestoreMode.CREATE
    rename_in = RecoveryStep("rename", paths.temp, paths.data_dir)
    if situation is Situation.STAGED:
        if action is RecoveryAction.FINISH:
            steps = (rename_in,) if create else (RecoveryStep("rename", paths.data_dir, paths.old), rename_in)
            delete_old = () if create else (RecoveryStep("delete", paths.old),)
            return plan(RecoveryAction.FINISH, (*steps, *delete_old, *journal_steps, *drop_journal), Outcome.NEW)
        return plan(
            RecoveryAction.ROLLBACK,
            (*drop_journal, *journal_steps, *drop_temp),
            Outcome.NONE if create else Outcome.OLD,
        )
    if situation is Situation.MOVED_ASIDE:
        rollback = (RecoveryStep("rename", paths.old, paths.data_dir), *drop_journal, *journal_steps, *drop_temp)
        if action is RecoveryAction.ROLLBACK or not leftovers.temp:
            if action is RecoveryAction.FINISH:
                return refuse("the new directory is gone: the restore can only be rolled back")
            return plan(RecoveryAction.ROLLBACK, rollback, Outcome.OLD)
        return plan(
            RecoveryAction.FINISH,
            (rename_in, RecoveryStep("delete", paths.old), *journal_steps, *drop_journal),
            Outcome.NEW,
        )
    if situation is Situation.SWAPPED:
        if action is RecoveryAction.ROLLBACK:
            return refuse(
                "the new directory is already in place; aeroops does not swap back. Finish instead, or "
                f"move {paths.old} somewhere safe yourself before finishing"
            )
        return plan(
            RecoveryAction.FINISH, (RecoveryStep("delete", paths.old), *journal_steps, *drop_journal), Outcome.NEW
        )
    assert situation is Situation.FINISHING
    if action is RecoveryAction.ROLLBACK:
        return refuse("the swap had completed; there is nothing left to roll back to")
    # Both a finished swap and a rolled-back one end here: the folder in place is whole either way.
    return plan(RecoveryAction.FINISH, (*journal_steps, *drop_journal), Outcome.UNCHANGED)


__all__ = [
    "STEPS",
    "ExistingEntry",
    "Leftovers",
    "Outcome",
    "PlannedMember",
    "RecoveryAction",
    "RecoveryPlan",
    "RecoveryStep",
    "RestoreJournal",
    "RestoreMode",
    "RestorePaths",
    "RestorePlan",
    "RestoreRefusal",
    "RestoreRule",
    "Situation",
    "TargetFile",
    "TargetState",
    "check_target",
    "classify_leftovers",
    "interrupted_refusal",
    "parse_journal",
    "plan_recovery",
    "plan_restore",
    "render_journal",
]
