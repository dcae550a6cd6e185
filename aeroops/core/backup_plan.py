"""Backup planning: a pure function from a data directory's description to a plan.

`plan_backup` chooses the newest valid snapshot (saying why each newer one was skipped),
refuses where a backup would be wrong, and lists the archive's members and manifest. No file
system, no clock: the creation time is an argument.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from aeroops.core.description import DataDirDescription, FileFact, SnapshotDescription, Verdict
from aeroops.errors import AERODB_SCHEMA_MISSING, Code
from aeroops.formats.ids import format_snapshot_id
from aeroops.formats.layout import (
    BACKUP_MANIFEST,
    SCHEMAS,
    SCHEMAS_DIR,
    SCHEMAS_FOLDER,
    SNAPSHOT_DIR,
    SNAPSHOT_MANIFEST,
    STORAGE,
    WAL,
    WAL_DIR,
    WAL_LOG,
    member_source,
)
from aeroops.formats.manifests import AddedSchema, BackupManifest, check_source_name, render_backup_manifest
from aeroops.formats.tar import END_OF_ARCHIVE, member_span


class MemberKind(enum.StrEnum):
    FILE = "file"
    DIRECTORY = "directory"


@dataclass(frozen=True, slots=True)
class ArchiveMember:
    """One member of a planned archive: its name in the tar, what it is, and where its bytes come
    from."""

    name: str  # as written in the tar: directories without a trailing slash, as AeroDB writes
    kind: MemberKind
    size: int = 0
    source: str | None = None  # path relative to the data directory; None: generated or folder
    expected_crc32: int | None = None  # from the snapshot manifest, checked while packing


@dataclass(frozen=True, slots=True)
class SkippedSnapshot:
    """A snapshot the plan passed over, newer than the one chosen, and why."""

    snapshot_id: str
    verdict: Verdict
    reason: str


@dataclass(frozen=True, slots=True)
class BackupOptions:
    """What the caller asks of a backup plan, beyond the data directory."""

    created_at: datetime
    snapshot_id: str | None = None  # back up this snapshot instead of the newest valid one
    # Accept a snapshot whose checksums are not computed yet: the packer checks every byte and
    # re-plans on a mismatch, so the snapshot is read once instead of twice.
    checksums_while_packing: bool = False
    source: str | None = None  # recorded in the backup manifest as "source" (retention groups by it)

    def __post_init__(self) -> None:
        if self.source is not None:
            check_source_name(self.source)  # refused before anything is read or written


class RefusalRule(enum.StrEnum):
    SERVING = "serving"  # AeroDB's .lock is present
    NO_VALID_SNAPSHOT = "no-valid-snapshot"
    CHECKPOINT_FALLBACK = "checkpoint-fallback"  # the valid snapshot predates the checkpoint
    CHECKPOINT_UNREADABLE = "checkpoint-unreadable"
    WAL_DAMAGED = "wal-damaged"
    WAL_GROWING = "wal-growing"  # something appends to the WAL while the backup reads it
    SNAPSHOT_NOT_USABLE = "snapshot-not-usable"  # the snapshot asked for is not valid
    SCHEMA_MISSING = "schema-missing"  # WAL records name a schema the data directory lacks


@dataclass(frozen=True, slots=True)
class BackupRefusal:
    """Why no backup can be planned: the rule that refuses it, in words."""

    rule: RefusalRule
    message: str
    skipped: tuple[SkippedSnapshot, ...] = ()


@dataclass(frozen=True, slots=True)
class BackupPlan:
    """A backup to carry out: the snapshot, the WAL's length, the manifest and every member, in
    order."""

    data_dir: str
    snapshot_id: str
    manifest: BackupManifest
    manifest_bytes: bytes
    members: tuple[ArchiveMember, ...]
    wal_size: int  # bytes of the WAL to pack: the size seen after the fsync
    skipped: tuple[SkippedSnapshot, ...] = field(default=())

    @property
    def added_schemas(self) -> tuple[AddedSchema, ...]:
        """Schema files carried beyond the snapshot's own, and why (also in the manifest)."""
        return self.manifest.added_schemas

    @property
    def backup_id(self) -> str:
        return self.manifest.backup_id

    @property
    def wal_present(self) -> bool:
        return self.manifest.wal_present

    @property
    def content_bytes(self) -> int:
        return sum(m.size for m in self.members)

    @property
    def archive_size(self) -> int:
        """The exact size of the tar the plan produces."""
        return sum(
            member_span(m.name, m.size) if m.kind is MemberKind.FILE else member_span(m.name, 0) for m in self.members
        ) + len(END_OF_ARCHIVE)

    @property
    def archive_name(self) -> str:
        """The file name used when the output is a folder: backup id and creation time."""
        return default_archive_name(self.manifest)


def default_archive_name(manifest: BackupManifest) -> str:
    return f"aerodb-backup-{manifest.backup_id}-{format_snapshot_id(manifest.created_at)}.tar"


def plan_backup(description: DataDirDescription, options: BackupOptions) -> BackupPlan | BackupRefusal:
    if description.serving:
        return BackupRefusal(
            RefusalRule.SERVING,
            "AeroDB is serving this data directory (.lock is present); stop it before backing up",
        )
    if description.checkpoint_error:
        return BackupRefusal(
            RefusalRule.CHECKPOINT_UNREADABLE,
            f"checkpoint.json does not parse ({description.checkpoint_error}); without it there is no knowing "
            "where the WAL was truncated",
        )
    damage = description.wal.damage if description.wal.present else None
    if damage is not None and damage.code is Code.FILE_GREW:
        return BackupRefusal(
            RefusalRule.WAL_GROWING,
            f"something is writing to the WAL, so a backup now would not be consistent: {damage}",
        )
    if damage is not None:
        return BackupRefusal(
            RefusalRule.WAL_DAMAGED, f"the WAL is damaged, AeroDB would refuse to start on it: {damage}"
        )

    usable = {Verdict.VALID, Verdict.UNCHECKED} if options.checksums_while_packing else {Verdict.VALID}
    chosen, skipped_list = _choose_snapshot(description, options.snapshot_id, usable)
    skipped = tuple(skipped_list)  # a refusal is frozen all the way down
    if isinstance(chosen, BackupRefusal):
        return chosen
    if chosen is None:
        reasons = "; ".join(f"{s.snapshot_id}: {s.reason}" for s in skipped) or "snapshots/ holds no snapshot"
        return BackupRefusal(RefusalRule.NO_VALID_SNAPSHOT, f"no valid snapshot to back up ({reasons})", skipped)

    checkpoint = description.checkpoint
    if checkpoint is not None and checkpoint.wal_truncated and chosen.snapshot_id < checkpoint.snapshot_id:
        return BackupRefusal(
            RefusalRule.CHECKPOINT_FALLBACK,
            f"checkpoint.json says the WAL was truncated after snapshot {checkpoint.snapshot_id}, but the newest "
            f"valid snapshot is {chosen.snapshot_id}: a backup of it would lose every write in between",
            skipped,
        )

    added = _schemas_to_add(description, chosen)
    held = {f.schema for f in (*chosen.schemas, *added)}
    if missing := sorted(chosen.storage_schemas - held if chosen.storage_schemas is not None else ()):
        names = ", ".join(str(ref) for ref in missing)
        return BackupRefusal(
            RefusalRule.SCHEMA_MISSING,
            f"storage records of snapshot {chosen.snapshot_id} name schema {names}, which neither the snapshot nor "
            f"metadata/schemas/ holds: a restored directory would not boot ({AERODB_SCHEMA_MISSING})",
            skipped,
        )
    if missing := sorted(description.wal.schemas - held if description.wal.schemas is not None else ()):
        names = ", ".join(str(ref) for ref in missing)
        return BackupRefusal(
            RefusalRule.SCHEMA_MISSING,
            f"WAL records name schema {names}, which neither snapshot {chosen.snapshot_id} nor metadata/schemas/ "
            f"holds: the data directory itself would not boot twice ({AERODB_SCHEMA_MISSING})",
            skipped,
        )
    manifest = BackupManifest(
        backup_id=chosen.snapshot_id,
        created_at=options.created_at,
        snapshot_id=chosen.snapshot_id,
        wal_present=description.wal.present,
        source=options.source,
        added_schemas=tuple(
            AddedSchema(
                fact.name,
                fact.crc32 or 0,
                f"schema {fact.schema} was created after snapshot {chosen.snapshot_id}: records written since "
                f"need it, or a restored directory fails to boot ({AERODB_SCHEMA_MISSING})",
            )
            for fact in added
        ),
    )
    manifest_bytes = render_backup_manifest(manifest)
    snapshot_manifest = chosen.manifest
    assert snapshot_manifest is not None and chosen.storage is not None  # a valid snapshot has both
    snapshot_id = chosen.snapshot_id
    expected = snapshot_manifest.schema_checksum_map
    members = [
        ArchiveMember(BACKUP_MANIFEST, MemberKind.FILE, len(manifest_bytes)),
        ArchiveMember(SNAPSHOT_DIR, MemberKind.DIRECTORY),
        ArchiveMember(
            SNAPSHOT_MANIFEST,
            MemberKind.FILE,
            chosen.manifest_size,
            member_source(SNAPSHOT_MANIFEST, snapshot_id),
        ),
        ArchiveMember(SCHEMAS_DIR, MemberKind.DIRECTORY),
        *(
            ArchiveMember(
                f"{SNAPSHOT_DIR}/{fact.name}",
                MemberKind.FILE,
                fact.size,
                member_source(f"{SNAPSHOT_DIR}/{fact.name}", snapshot_id),
                expected[fact.name.removeprefix(f"{SCHEMAS_FOLDER}/")],
            )
            for fact in chosen.schemas
        ),
        ArchiveMember(
            STORAGE,
            MemberKind.FILE,
            chosen.storage.size,
            member_source(STORAGE, snapshot_id),
            snapshot_manifest.storage_checksum,
        ),
        # Schemas created after the snapshot, where AeroDB's own restore installs them too.
        *(
            ArchiveMember(
                f"{SCHEMAS_DIR}/{fact.name}", MemberKind.FILE, fact.size, f"{SCHEMAS}/{fact.name}", fact.crc32
            )
            for fact in added
        ),
        # AeroDB's restore rejects an archive without wal/, so the folder is always there.
        ArchiveMember(WAL_DIR, MemberKind.DIRECTORY),
    ]
    if description.wal.present:
        members.append(ArchiveMember(WAL_LOG, MemberKind.FILE, description.wal.size, WAL))
    return BackupPlan(
        data_dir=description.path,
        snapshot_id=chosen.snapshot_id,
        manifest=manifest,
        manifest_bytes=manifest_bytes,
        members=tuple(sorted(members, key=lambda m: m.name)),
        wal_size=description.wal.size if description.wal.present else 0,
        skipped=skipped,
    )


def _schemas_to_add(description: DataDirDescription, chosen: SnapshotDescription) -> tuple[FileFact, ...]:
    """Schema files of metadata/schemas/ defining a schema the snapshot does not hold: AeroDB's
    boot of the restored directory needs them for every record written after the snapshot.
    A file that does not parse, or whose name the snapshot uses already, is not carried."""
    held = {f.schema for f in chosen.schemas}
    names = {f.name.removeprefix("schemas/") for f in chosen.schemas}
    return tuple(
        fact
        for fact in description.schema_files
        if fact.schema is not None and fact.schema not in held and fact.name not in names and fact.crc32 is not None
    )


def _choose_snapshot(
    description: DataDirDescription, wanted: str | None, usable: set[Verdict]
) -> tuple[SnapshotDescription | BackupRefusal | None, list[SkippedSnapshot]]:
    """Newest first, the first valid snapshot; every newer one is skipped with its reason."""
    skipped: list[SkippedSnapshot] = []
    if wanted is not None:
        snap = description.snapshot(wanted)
        if snap is None:
            return BackupRefusal(RefusalRule.SNAPSHOT_NOT_USABLE, f"there is no snapshot {wanted}"), skipped
        if snap.verdict not in usable:
            return BackupRefusal(
                RefusalRule.SNAPSHOT_NOT_USABLE, f"snapshot {wanted} is {snap.verdict}: {snap.reason}"
            ), [SkippedSnapshot(wanted, snap.verdict, snap.reason)]
        return snap, skipped
    for snap in sorted(description.snapshots, key=lambda s: s.snapshot_id, reverse=True):
        verdict, reason = snap.verdict, snap.reason
        if verdict in usable:
            return snap, skipped
        skipped.append(SkippedSnapshot(snap.snapshot_id, verdict, reason))
    return None, skipped


__all__ = [
    "ArchiveMember",
    "BackupOptions",
    "BackupPlan",
    "BackupRefusal",
    "MemberKind",
    "RefusalRule",
    "SkippedSnapshot",
    "plan_backup",
]
