"""The results of the executor's runs, as values: what a backup, restore, drill, recovery or
prune did. They live in core, not beside the code that produces them, so that views, panels and
the CLI read them without importing the executor (nothing here has an effect)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aeroops.core.backup_plan import BackupPlan, MemberKind
from aeroops.core.inventory import Inventory
from aeroops.core.logical import LogicalDiff, MissingSchemas
from aeroops.core.recovery import RecoveryPlan
from aeroops.core.restore_plan import RestorePlan, RestoreRefusal
from aeroops.core.restore_target import RestoreMode
from aeroops.core.retention import RetentionPlan, SegmentDecision
from aeroops.core.verify_report import VerifyReport
from aeroops.errors import Finding

# --- backup ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PackedMember:
    """One member as the backup packed it: size and the CRC-32 of the bytes written."""

    name: str
    kind: MemberKind
    size: int
    crc32: int | None  # of the bytes packed (files only)


@dataclass(frozen=True, slots=True)
class BackupResult:
    """A published backup: the archive, its sidecar and digest, the plan carried out, and its
    members."""

    archive: str
    sidecar: str  # <archive>.b3 or <archive>.sha256
    size: int
    digest: str  # of every byte of the archive, tagged: "blake3:<hex>" or "sha256:<hex>"
    plan: BackupPlan
    members: tuple[PackedMember, ...]
    staged_by: str  # "hardlink" or "copy"
    duration_seconds: float
    removed_stale: tuple[str, ...] = ()  # staging folders of killed runs, cleared before this run
    layers: tuple[str, ...] = ()  # around the tar, inside out: ("zstd", "age") for NAME.tar.zst.age
    plain_size: int | None = None  # bytes of the plain tar inside (``size`` is the file's)
    record: str | None = None  # the cleartext record beside a layered archive (<archive>.json)

    @property
    def backup_id(self) -> str:
        return self.plan.backup_id


# --- restore -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RestoredFile:
    """One file as the restore wrote it: size and CRC-32 of the bytes written."""

    path: str  # relative to the data directory
    size: int
    crc32: int


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """A finished restore: the plan carried out, the archive's verify report, the files written, the
    time each step took."""

    archive: str
    data_dir: str
    plan: RestorePlan
    report: VerifyReport
    files: tuple[RestoredFile, ...]
    duration_seconds: float
    step_seconds: tuple[tuple[str, float], ...]  # (step, seconds), in order
    warnings: tuple[str, ...] = ()  # e.g. the old directory could not be deleted

    @property
    def backup_id(self) -> str:
        return self.plan.backup_id

    @property
    def created(self) -> bool:
        return self.plan.mode is RestoreMode.CREATE

    @property
    def restored_bytes(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True, slots=True)
class RestorePreview:
    """What ``aeroops restore`` shows without --yes: the archive's verdict and the plan (or
    why the restore would be refused). Nothing was written, nothing locked."""

    archive: str
    data_dir: str
    report: VerifyReport
    plan: RestorePlan | RestoreRefusal

    @property
    def would_restore(self) -> bool:
        return isinstance(self.plan, RestorePlan)


# --- drill -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CollectionCount:
    """One collection's documents in a drill: restored, in the archive, and in the source when
    given."""

    collection: str
    restored: int
    archive: int
    source: int | None = None  # None: no source given


@dataclass(frozen=True, slots=True)
class Comparison:
    """How the restored directory differs from ``reference`` ("archive" or "source")."""

    reference: str
    diff: LogicalDiff

    @property
    def identical(self) -> bool:
        return self.diff.identical


@dataclass(frozen=True, slots=True)
class DrillResult:
    """A restore drill: the restore into scratch, and how its documents compare with the archive's
    and the source's."""

    archive: str
    source: str | None
    scratch: str
    backup_id: str | None
    snapshot_id: str | None
    restore: RestoreResult | None  # None: the restore failed (see error)
    duration_seconds: float
    collections: tuple[CollectionCount, ...] = ()
    comparisons: tuple[Comparison, ...] = ()
    source_snapshot: str | None = None  # the source snapshot its state was read from
    error: Finding | None = None
    scratch_removed: bool = True
    # Schemas the restored directory's documents or WAL records name that its metadata/schemas/
    # lacks: AeroDB's boot of it fails (at once, or from the second boot on).
    missing_schemas: MissingSchemas = field(default_factory=MissingSchemas)

    @property
    def ok(self) -> bool:
        """The archive restored, AeroDB can boot the restored directory (every schema its
        records name is there), and its documents equal the archive's (and the source's) one
        for one."""
        return (
            self.error is None
            and self.restore is not None
            and not self.missing_schemas
            and all(c.identical for c in self.comparisons)
        )

    @property
    def restore_seconds(self) -> float | None:
        return None if self.restore is None else self.restore.duration_seconds

    @property
    def documents(self) -> int:
        return sum(c.restored for c in self.collections)


# --- recover -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecoveryResult:
    """A recovery carried out (or previewed): the plan and whether it was performed."""

    data_dir: str
    plan: RecoveryPlan
    performed: bool  # False: a preview (or nothing to do)
    duration_seconds: float = 0.0


# --- prune -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PruneResult:
    """A prune: the retention plan, what was removed, or why a dry run's ``yes`` would be refused."""

    folder: str
    plan: RetentionPlan
    inventory: Inventory
    dry_run: bool
    removed: tuple[str, ...] = ()  # files removed, archives and sidecars, relative to the folder
    refusal: str | None = None  # a dry run: why ``yes`` would be refused before removing anything
    segments: tuple[SegmentDecision, ...] = ()  # the WAL segments' keep or remove

    @property
    def verified(self) -> bool:
        return self.inventory.verified
