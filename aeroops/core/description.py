"""A data directory described as plain values: what `scan` saw, and the verdicts that follow.

Facts (sizes, computed CRCs, parse errors) are gathered by `aeroops.executor.scan`; every
judgement on them (is this snapshot valid, and if not why) is a pure function here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from aeroops.errors import Finding
from aeroops.formats.ids import is_snapshot_id
from aeroops.formats.layout import SCHEMAS_FOLDER, STORAGE_FILE
from aeroops.formats.manifests import SNAPSHOT_FORMAT_VERSIONS, Checkpoint, SnapshotManifest
from aeroops.formats.schemas import SchemaRef


@dataclass(frozen=True, slots=True)
class FileFact:
    """One file of a snapshot as the scan found it: size, CRC-32 when read, or why it could not be
    read."""

    name: str  # relative to its snapshot folder, e.g. "storage.dat", "schemas/users.json"
    size: int
    crc32: int | None = None  # None: not read (checksums were not asked for)
    error: str | None = None  # it could not be read
    schema: SchemaRef | None = None  # a schema file: the schema written inside, when it parses


class Verdict(enum.StrEnum):
    VALID = "valid"
    INCOMPLETE = "incomplete"  # no manifest.json: AeroDB ignores such a snapshot
    INVALID = "invalid"  # manifest or layout wrong
    CORRUPT = "corrupt"  # a checksum does not match
    UNCHECKED = "unchecked"  # layout fine, checksums not computed


@dataclass(frozen=True, slots=True)
class SnapshotDescription:
    """One snapshot folder as the scan found it: its manifest, storage and schema files."""

    snapshot_id: str  # the folder name
    is_dir: bool = True
    manifest: SnapshotManifest | None = None
    manifest_size: int = 0
    manifest_error: str | None = None  # set when manifest.json exists but does not parse
    manifest_unreadable: str | None = None  # set when manifest.json exists but reading it failed (why)
    has_manifest: bool = False
    storage: FileFact | None = None
    schemas_dir: bool = True
    schemas: tuple[FileFact, ...] = ()  # regular files directly in schemas/, sorted by name
    other_entries: tuple[str, ...] = ()  # anything else found in schemas/ (folders, links)
    schemas_error: str | None = None  # schemas/ exists but cannot be listed
    # named by storage.dat's live records, once read (a backup learns them while packing)
    storage_schemas: frozenset[SchemaRef] | None = None

    @property
    def verdict(self) -> Verdict:
        return judge_snapshot(self)[0]

    @property
    def reason(self) -> str:
        return judge_snapshot(self)[1]

    @property
    def size(self) -> int:
        return self.manifest_size + (self.storage.size if self.storage else 0) + sum(s.size for s in self.schemas)


def judge_snapshot(snap: SnapshotDescription) -> tuple[Verdict, str]:
    """The verdict on one snapshot and, unless valid, why. Checks run cheapest first."""
    if not snap.is_dir:
        return Verdict.INVALID, "not a folder"
    if not is_snapshot_id(snap.snapshot_id):
        return Verdict.INVALID, "folder name is not a snapshot id (YYYYMMDDTHHMMSSZ)"
    if not snap.has_manifest:
        return Verdict.INCOMPLETE, "no manifest.json: the snapshot was never completed"
    if snap.manifest_unreadable:
        return Verdict.INVALID, f"manifest.json cannot be read: {snap.manifest_unreadable}"
    if snap.manifest is None:
        return Verdict.INVALID, f"manifest.json does not parse: {snap.manifest_error}"
    manifest = snap.manifest
    if manifest.snapshot_id != snap.snapshot_id:
        return Verdict.INVALID, f"manifest names snapshot {manifest.snapshot_id}, not its folder's"
    if manifest.format_version not in SNAPSHOT_FORMAT_VERSIONS:
        return Verdict.INVALID, f"unsupported format_version {manifest.format_version}"
    if snap.storage is None:
        return Verdict.INVALID, "storage.dat is missing"
    if not snap.schemas_dir:
        return Verdict.INVALID, "schemas/ folder is missing"
    if snap.schemas_error:
        return Verdict.INVALID, f"schemas/ cannot be listed: {snap.schemas_error}"
    if snap.other_entries:
        return Verdict.INVALID, f"schemas/ holds entries that are not plain files: {', '.join(snap.other_entries)}"
    found = {fact.name.removeprefix("schemas/"): fact for fact in snap.schemas}
    listed = manifest.schema_checksum_map
    if missing := sorted(set(listed) - set(found)):
        return Verdict.INVALID, f"schema files listed in the manifest are missing: {', '.join(missing)}"
    if unlisted := sorted(set(found) - set(listed)):
        return Verdict.INVALID, f"schema files not listed in the manifest: {', '.join(unlisted)}"
    for fact in (snap.storage, *snap.schemas):
        if fact.error:
            return Verdict.INVALID, f"{fact.name} cannot be read: {fact.error}"
    expected = {STORAGE_FILE: manifest.storage_checksum} | {f"{SCHEMAS_FOLDER}/{n}": c for n, c in listed.items()}
    # One known mismatch condemns the snapshot even while other files are still unchecked.
    for fact in (snap.storage, *snap.schemas):
        if fact.crc32 is not None and fact.crc32 != expected[fact.name]:
            return Verdict.CORRUPT, (
                f"{fact.name} has checksum crc32:{fact.crc32:08x}, the manifest says crc32:{expected[fact.name]:08x}"
            )
    if any(fact.crc32 is None for fact in (snap.storage, *snap.schemas)):
        return Verdict.UNCHECKED, "checksums not computed"
    return Verdict.VALID, ""


@dataclass(frozen=True, slots=True)
class WalDescription:
    """The data directory's WAL as the scan found it: size, sequences, and its first damage."""

    present: bool
    size: int = 0
    records: int | None = None  # None: not read
    first_sequence: int | None = None
    last_sequence: int | None = None
    damage: Finding | None = None  # the first damage found (AeroDB refuses to start on any), or AERO_FILE_GREW
    crc32: int | None = None  # of the bytes checked, when all were read and a backup asked for it
    schemas: frozenset[SchemaRef] | None = None  # named by its inserts and updates; None: not read

    @property
    def healthy(self) -> bool:
        return self.damage is None


@dataclass(frozen=True, slots=True)
class DataDirDescription:
    """Everything a backup plan is made from: a data directory as the scan found it."""

    path: str
    snapshots: tuple[SnapshotDescription, ...]  # sorted by folder name: oldest first
    wal: WalDescription
    checkpoint: Checkpoint | None = None
    checkpoint_error: str | None = None  # checkpoint.json exists but does not parse
    serving: bool = False  # AeroDB's .lock marker is present
    clean_shutdown: bool = False
    # metadata/schemas/*.json, what AeroDB's boot loads (name: the file name; crc32 always read)
    schema_files: tuple[FileFact, ...] = ()

    def snapshot(self, snapshot_id: str) -> SnapshotDescription | None:
        return next((s for s in self.snapshots if s.snapshot_id == snapshot_id), None)

    def schema_file_holders(self) -> list[tuple[FileFact, list[str]]]:
        """Each schema file of metadata/schemas/, with the snapshots that hold its schema."""
        return [
            (fact, [s.snapshot_id for s in self.snapshots if fact.schema in {f.schema for f in s.schemas}])
            for fact in self.schema_files
        ]


def with_found_checksum(description: DataDirDescription, snapshot_id: str, name: str, crc: int) -> DataDirDescription:
    """The description, with the CRC-32 of one snapshot file as computed from its bytes (the
    backup packer learns it while packing, and re-plans on a mismatch)."""

    def found(fact: FileFact) -> FileFact:
        return replace(fact, crc32=crc) if fact.name == name else fact

    snapshots = tuple(
        replace(
            snap,
            storage=found(snap.storage) if snap.storage else None,
            schemas=tuple(found(f) for f in snap.schemas),
        )
        if snap.snapshot_id == snapshot_id
        else snap
        for snap in description.snapshots
    )
    return replace(description, snapshots=snapshots)


def with_storage_schemas(
    description: DataDirDescription, snapshot_id: str, schemas: frozenset[SchemaRef]
) -> DataDirDescription:
    """The description, knowing which schemas one snapshot's live storage records name (the
    backup packer learns them while packing)."""
    snapshots = tuple(
        replace(snap, storage_schemas=schemas) if snap.snapshot_id == snapshot_id else snap
        for snap in description.snapshots
    )
    return replace(description, snapshots=snapshots)
