"""What verification judges: of one tar entry (is it safe, is it a schema file, what a WAL
sequence problem is called), and, after the pass, of the archive as a whole (the manifests
against each other, the CRCs against the manifests, the members against the layout, the schemas
the records name against the schema files)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from aeroops.core.logical import MissingSchemas
from aeroops.core.verify_findings import Findings
from aeroops.errors import Code
from aeroops.formats.checksum import format_crc_tag
from aeroops.formats.ids import format_timestamp
from aeroops.formats.layout import (
    BACKUP_MANIFEST,
    REQUIRED_MEMBERS,
    SCHEMA_PREFIX,
    SNAPSHOT_MANIFEST,
    STORAGE,
    WAL_DIR,
    WAL_LOG,
)
from aeroops.formats.manifests import NAME_MAX, BackupManifest, SnapshotManifest
from aeroops.formats.schemas import SchemaRef
from aeroops.formats.tar import EntryType, TarEntry

_UNSAFE_TYPES = {
    EntryType.SYMLINK: "a symbolic link",
    EntryType.HARDLINK: "a hard link",
    EntryType.CHAR_DEVICE: "a character device",
    EntryType.BLOCK_DEVICE: "a block device",
    EntryType.FIFO: "a FIFO",
}


# --- one entry ----------------------------------------------------------------------------------


def kind(entry: TarEntry) -> str:
    return entry.type.name.lower()


def normalised(entry: TarEntry) -> str:
    """Directory names with or without their trailing slash are one name (AeroDB writes none)."""
    if entry.type == EntryType.DIRECTORY and entry.name.endswith("/") and len(entry.name) > 1:
        return entry.name[:-1]
    return entry.name


def unsafe_reasons(entry: TarEntry) -> list[str]:
    reasons = []
    name = entry.name
    if not name:
        reasons.append("its name is empty")
    if name.startswith("/"):
        reasons.append("its name is absolute")
    if ".." in name.split("/"):
        reasons.append("its name climbs out with '..'")
    if entry.type in _UNSAFE_TYPES:
        target = f" to {entry.linkname!r}" if entry.type in (EntryType.SYMLINK, EntryType.HARDLINK) else ""
        reasons.append(f"it is {_UNSAFE_TYPES[entry.type]}{target}")
    if entry.type == EntryType.OTHER:
        reasons.append(
            f"its entry type {entry.typeflag!r} is one aeroops does not read "
            "(a pax or vendor header can rename or reshape the next member)"
        )
    if entry.mode & 0o7000:
        reasons.append(f"its mode {entry.mode & 0o7777:04o} sets setuid, setgid or sticky bits")
    return reasons


def schema_file(name: str) -> str | None:
    """The schema file name for ``snapshot/schemas/<file>``, else None."""
    if not name.startswith(SCHEMA_PREFIX):
        return None
    rest = name[len(SCHEMA_PREFIX) :]
    plain = rest and "/" not in rest and rest not in (".", "..")
    return rest if plain and len(rest.encode("utf-8", "surrogateescape")) <= NAME_MAX else None


def sequence_problem(sequence: int, expected: int) -> str:
    if expected == 1:
        return f"the log starts at sequence {sequence}, not 1"
    if sequence > expected:
        missing = sequence - expected
        return f"sequence {sequence} follows {expected - 1}: {missing} record{'s' * (missing != 1)} missing"
    return f"sequence {sequence} follows {expected - 1}: sequences must grow by one"


# --- after the pass -----------------------------------------------------------------------------


def check_manifests(findings: Findings, backup: BackupManifest | None, snapshot: SnapshotManifest | None) -> None:
    """The two manifests against each other."""
    if backup is None or snapshot is None:
        return
    if backup.snapshot_id != snapshot.snapshot_id:
        findings.new(
            Code.VERIFY_MANIFEST,
            f"the backup manifest names snapshot {backup.snapshot_id}, the snapshot manifest {snapshot.snapshot_id}",
            path=SNAPSHOT_MANIFEST,
        )
    if backup.created_at < snapshot.created_at:
        findings.new(
            Code.VERIFY_CREATED_AT,
            f"the backup's created_at {format_timestamp(backup.created_at)} is before its snapshot's "
            f"{format_timestamp(snapshot.created_at)}",
            path=BACKUP_MANIFEST,
        )


def check_checksums(
    findings: Findings,
    backup: BackupManifest | None,
    manifest: SnapshotManifest | None,
    file_crcs: Sequence[tuple[str, int, int]],
) -> None:
    """Each file's CRC (``file_crcs``: name, data offset, CRC) against the manifest that lists it."""
    if manifest is None:
        return
    listed = manifest.schema_checksum_map
    # Schemas the backup added (created after the snapshot) carry their CRC in its manifest.
    added = backup.added_schema_map if backup is not None else {}
    for member, offset, crc in file_crcs:
        if member == STORAGE:
            expected = manifest.storage_checksum
        else:
            schema = member[len(SCHEMA_PREFIX) :]
            schema_checksum = listed.get(schema, added[schema].checksum if schema in added else None)
            if schema_checksum is None:
                findings.new(
                    Code.VERIFY_SCHEMA_UNLISTED,
                    f"{member} is not listed in the snapshot manifest's schema_checksums",
                    path=member,
                    offset=offset,
                )
                continue
            expected = schema_checksum
        if crc != expected:
            findings.new(
                Code.VERIFY_CHECKSUM,
                f"{member} has checksum {format_crc_tag(crc)}; the "
                f"{'snapshot' if member == STORAGE or schema in listed else 'backup'} manifest says "
                f"{format_crc_tag(expected)}",
                path=member,
                offset=offset,
            )


def check_completeness(
    findings: Findings,
    present: Collection[str],
    backup: BackupManifest | None,
    snapshot: SnapshotManifest | None,
    schema_files: Collection[str],
) -> None:
    """The members ``present`` (normalised names) and the schema files held against the layout
    and what the manifests say the archive holds."""
    for required in REQUIRED_MEMBERS:
        if required not in present:
            findings.new(
                Code.VERIFY_MISSING_MEMBER,
                f"the archive has no {required!r}",
                path=required,
            )
    if WAL_DIR not in present:
        findings.new(
            Code.VERIFY_NO_WAL_DIR,
            "the archive has no 'wal' directory: AeroDB's own restore rejects it "
            "(AeroDB's backup leaves it out when there is no WAL; DESIGN.md §3 keeps an empty one)",
            path=WAL_DIR,
        )
    if backup is not None:
        has_log = WAL_LOG in present
        if backup.wal_present and not has_log:
            findings.new(
                Code.VERIFY_MANIFEST,
                "wal_present is true but the archive has no wal/wal.log",
                path=BACKUP_MANIFEST,
            )
        elif has_log and not backup.wal_present:
            findings.new(
                Code.VERIFY_MANIFEST,
                "wal_present is false but the archive holds wal/wal.log",
                path=BACKUP_MANIFEST,
            )
    if backup is not None:
        listed = snapshot.schema_checksum_map if snapshot is not None else {}
        for added in backup.added_schemas:
            if added.name in listed:
                findings.new(
                    Code.VERIFY_MANIFEST,
                    f"the backup manifest adds {added.name}, which the snapshot manifest lists already",
                    path=BACKUP_MANIFEST,
                )
            elif added.name not in schema_files:
                findings.new(
                    Code.VERIFY_MISSING_MEMBER,
                    f"the backup manifest adds {added.name}, which the archive does not hold",
                    path=SCHEMA_PREFIX + added.name,
                )
    if snapshot is not None:
        for schema, _ in snapshot.schema_checksums:
            if schema not in schema_files:
                findings.new(
                    Code.VERIFY_MISSING_MEMBER,
                    f"the snapshot manifest lists {schema}, which the archive does not hold",
                    path=SCHEMA_PREFIX + schema,
                )


def check_schemas(
    findings: Findings,
    defined_schemas: Mapping[str, SchemaRef],
    storage_schemas: Collection[tuple[str, str]],
    wal_schemas: Collection[tuple[str, str]],
) -> None:
    """Every schema the archive's records name must be defined by one of its schema files:
    AeroDB's boot of the restored directory checks each live record's (DESIGN.md §8).
    Not checked when a schema file is missing or damaged: that finding says it already."""
    damaged = (Code.VERIFY_MISSING_MEMBER, Code.VERIFY_CHECKSUM)
    if findings.any(lambda f: f.code in damaged and (f.path or "").startswith(SCHEMA_PREFIX)):
        return
    defined = set(defined_schemas.values())
    storage = {SchemaRef(*ref) for ref in storage_schemas} - defined
    wal = {SchemaRef(*ref) for ref in wal_schemas} - defined - storage
    missing = MissingSchemas(tuple(sorted(storage)), tuple(sorted(wal)))
    for refs, member in ((missing.first_boot, STORAGE), (missing.later_boots, WAL_LOG)):
        if refs:
            only = MissingSchemas(refs) if member == STORAGE else MissingSchemas(later_boots=refs)
            findings.new(Code.VERIFY_SCHEMA_MISSING, only.describe("the archive"), path=member)
