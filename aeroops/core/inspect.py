"""What an archive holds, without extracting it: members, manifests, a WAL summary, a storage
summary and the logical state (DESIGN.md §8).

One streaming pass: it is `verify_archive_stream` with sinks that decode every WAL record and
parse every storage record on the way, so an inspection carries the full verification report
too (plus payload and storage-record findings, which plain verification does not look for).
Results are plain frozen values; `aeroops.views` turns them into tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from aeroops.columns import UTC_TIME, column
from aeroops.core.logical import LogicalState, LogicalStateBuilder
from aeroops.core.verify import verify_archive_stream
from aeroops.core.verify_report import DigestSink, MemberInfo, VerifyReport
from aeroops.errors import Finding, Severity
from aeroops.formats.checksum import format_crc_tag
from aeroops.formats.layers import Decrypt, LayerReader
from aeroops.formats.layout import SCHEMA_PREFIX, STORAGE
from aeroops.formats.manifests import BackupManifest, SnapshotManifest
from aeroops.formats.readable import Readable
from aeroops.formats.schemas import SchemaRef
from aeroops.formats.storage import StorageRecord
from aeroops.formats.wal import DocumentChange, MvccVersion, WalRecord, decode_payload
from aeroops.progress import ProgressCallback


@dataclass(frozen=True, slots=True)
class MemberRow:
    """One archive member. ``status`` is "ok" or the findings about it, e.g. "checksum"."""

    # "ok", or the findings about the member ("checksum", "unsafe_member", ...)
    status: str = column("string", verdict=True)
    name: str = column("string")
    # file, directory, symlink, hardlink, char_device, block_device, fifo, contiguous, other
    type: str = column("string")
    size: int = column("int64", unit="bytes")
    mode: int = column("int64", unit="mode")
    checksum_found: str | None = column("string")  # crc32:… of the data, for regular files
    checksum_expected: str | None = column("string")  # from the snapshot manifest: storage.dat and schema files
    mtime: datetime | None = column(UTC_TIME)  # None when the header's time is beyond what datetime holds


@dataclass(frozen=True, slots=True)
class WalGroup:
    """WAL records of one operation on one collection ("" for MVCC commit and GC records)."""

    collection: str = column("string")
    operation: str = column("string")  # "insert", "update", "delete", "mvcc_commit", "mvcc_version", "mvcc_gc"
    records: int = column("int64")
    bytes: int = column("int64", unit="bytes")  # whole records, framing included
    documents: int = column("int64")  # distinct document ids touched
    first_sequence: int = column("int64")
    last_sequence: int = column("int64")


@dataclass(frozen=True, slots=True)
class WalSummary:
    """The WAL of an archive, counted by collection and operation."""

    groups: tuple[WalGroup, ...] = ()  # sorted by collection, then operation
    records: int = 0
    bytes: int = 0
    documents: int = 0  # distinct (collection, document id) touched
    first_sequence: int | None = None
    last_sequence: int | None = None
    documents_exact: bool = True  # False: the document counts are lower bounds (see _WalTally)


@dataclass(frozen=True, slots=True)
class StorageGroup:
    """Storage keys of one collection whose last record has this schema version."""

    collection: str = column("string")
    schema_version: str = column("string")  # of each key's last record
    live_documents: int = column("int64")  # keys whose last record is a document
    tombstones: int = column("int64")  # keys whose last record is a tombstone
    records: int = column("int64")  # every record of this collection and version, superseded ones included
    live_bytes: int = column("int64", unit="bytes")  # body bytes of the live documents


@dataclass(frozen=True, slots=True)
class SchemaRow:
    """One schema file of the archive (or a schema records need that no file defines)."""

    file: str | None  # under snapshot/schemas/; None: no file defines the schema
    schema: SchemaRef | None  # what the file defines; None: it defines none
    source: str  # "snapshot", "added by the backup: <why>", "unlisted", or "missing"
    needed_by: tuple[str, ...]  # "storage" and/or "wal": whose records name it


@dataclass(frozen=True, slots=True)
class InspectResult:
    """What `inspect` found in one archive: its verify report, members, WAL, storage and documents."""

    archive: str
    report: VerifyReport
    members: tuple[MemberRow, ...]
    wal: WalSummary
    storage: tuple[StorageGroup, ...]
    logical: LogicalState
    storage_records: int = 0
    schemas: tuple[SchemaRow, ...] = ()

    @property
    def ok(self) -> bool:
        return self.report.ok

    @property
    def backup_manifest(self) -> BackupManifest | None:
        return self.report.backup_manifest

    @property
    def snapshot_manifest(self) -> SnapshotManifest | None:
        return self.report.snapshot_manifest


DISTINCT_KEPT = 200_000  # document ids remembered for the distinct counts, all groups together


class _WalTally:
    """Counts per collection and operation. The distinct documents touched are counted exactly
    up to DISTINCT_KEPT ids remembered; past that the counts are lower bounds (memory must not
    follow a WAL of millions of deletes of documents that never existed)."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, str], list[int]] = {}  # records, bytes, first, last
        self.touched: dict[tuple[str, str], set[str]] = {}
        self.all_touched: set[tuple[str, str]] = set()
        self.remembered = 0
        self.exact = True

    def add(self, record: WalRecord, collection: str, document_id: str | None) -> None:
        key = (collection, record.type.name.lower())
        tally = self.groups.get(key)
        if tally is None:
            self.groups[key] = [1, record.length, record.sequence, record.sequence]
            self.touched[key] = set()
        else:
            tally[0] += 1
            tally[1] += record.length
            tally[2] = min(tally[2], record.sequence)
            tally[3] = max(tally[3], record.sequence)
        if document_id is None:
            return
        touched = self.touched[key]
        if document_id in touched:
            return
        if self.remembered >= DISTINCT_KEPT:
            self.exact = False
            return
        touched.add(document_id)
        self.remembered += 1
        if (collection, document_id) not in self.all_touched:
            self.all_touched.add((collection, document_id))
            self.remembered += 1

    def summary(self, report: VerifyReport) -> WalSummary:
        groups = tuple(
            WalGroup(c, op, n, size, len(self.touched[(c, op)]), first, last)
            for (c, op), (n, size, first, last) in sorted(self.groups.items())
        )
        return WalSummary(
            groups=groups,
            records=sum(g.records for g in groups),
            bytes=sum(g.bytes for g in groups),
            documents=len(self.all_touched),
            first_sequence=report.wal_first_sequence,
            last_sequence=report.wal_last_sequence,
            documents_exact=self.exact,
        )


class _StorageTally:
    def __init__(self) -> None:
        self.last: dict[str, tuple[str, bool, int]] = {}  # key -> (schema version, tombstone, body size)
        self.records: dict[tuple[str, str], int] = {}
        self.count = 0

    def add(self, record: StorageRecord) -> None:
        self.count += 1
        group = (record.collection, record.schema_version)
        self.records[group] = self.records.get(group, 0) + 1
        self.last[record.key] = (record.schema_version, record.tombstone, len(record.body))

    def summary(self) -> tuple[StorageGroup, ...]:
        live: dict[tuple[str, str], list[int]] = {group: [0, 0, 0] for group in self.records}
        for key, (version, tombstone, size) in self.last.items():
            tally = live[(key.partition(":")[0], version)]
            if tombstone:
                tally[1] += 1
            else:
                tally[0] += 1
                tally[2] += size
        return tuple(
            StorageGroup(c, v, docs, tombs, self.records[(c, v)], size)
            for (c, v), (docs, tombs, size) in sorted(live.items())
        )


def inspect_archive_stream(
    stream: BinaryIO,
    *,
    name: str,
    sidecar_digest: str | None = None,
    progress: ProgressCallback | None = None,
    total_bytes: int = 0,
    digest: DigestSink | None = None,
    extra_findings: Iterable[Finding] = (),
    decrypt: Decrypt | None = None,
    readahead: Callable[[Readable], LayerReader] | None = None,
) -> InspectResult:
    """Inspect the archive read from ``stream``: one pass, memory bounded by the number of
    documents (a size and CRC each), not by their bytes. The arguments are
    `verify_archive_stream`'s."""
    builder = LogicalStateBuilder()
    wal = _WalTally()
    storage = _StorageTally()

    def on_wal(record: WalRecord) -> None:
        payload = decode_payload(record)  # a FormatError becomes a finding
        if isinstance(payload, DocumentChange):
            wal.add(record, payload.collection, payload.document_id)
            builder.add_wal(record, payload)
            return
        if isinstance(payload, MvccVersion):
            collection, _, document_id = payload.key.partition(":")
            wal.add(record, collection, document_id)
        else:
            wal.add(record, "", None)
        builder.add_wal(record)

    def on_storage(record: StorageRecord) -> None:
        storage.add(record)
        builder.add_storage(record)

    report = verify_archive_stream(
        stream,
        name=name,
        sidecar_digest=sidecar_digest,
        progress=progress,
        total_bytes=total_bytes,
        digest=digest,
        extra_findings=extra_findings,
        wal_sink=on_wal,
        storage_sink=on_storage,
        decrypt=decrypt,
        readahead=readahead,
    )
    return InspectResult(
        archive=name,
        report=report,
        members=tuple(_member_row(m, report) for m in report.members),
        wal=wal.summary(report),
        storage=storage.summary(),
        logical=builder.build(),
        storage_records=storage.count,
        schemas=schema_rows(report),
    )


def schema_rows(report: VerifyReport) -> tuple[SchemaRow, ...]:
    """Each schema file with where it comes from and whose records need it; then each schema
    records need that no file defines (AeroDB's boot of a restore would fail on it)."""
    listed = report.snapshot_manifest.schema_checksum_map if report.snapshot_manifest else {}
    added = report.backup_manifest.added_schema_map if report.backup_manifest else {}
    defined = dict(report.schema_definitions)

    def needed_by(ref: SchemaRef | None) -> tuple[str, ...]:
        return tuple(n for n, refs in (("storage", report.storage_schemas), ("wal", report.wal_schemas)) if ref in refs)

    rows = []
    for member in report.members:
        if not member.name.startswith(SCHEMA_PREFIX) or member.type != "file":
            continue
        name = member.name[len(SCHEMA_PREFIX) :]
        if name in listed:
            source = "snapshot"
        elif name in added:
            source = f"added by the backup: {added[name].reason}"
        else:
            source = "unlisted"
        rows.append(SchemaRow(name, defined.get(name), source, needed_by(defined.get(name))))
    for ref in sorted((report.storage_schemas | report.wal_schemas) - set(defined.values())):
        rows.append(SchemaRow(None, ref, "missing", needed_by(ref)))
    return tuple(rows)


def _member_row(member: MemberInfo, report: VerifyReport) -> MemberRow:
    return MemberRow(
        name=member.name,
        type=member.type,
        size=member.size,
        mode=member.mode,
        mtime=_time(member.mtime),
        checksum_found=None if member.crc32 is None else format_crc_tag(member.crc32),
        checksum_expected=_expected_checksum(member, report.snapshot_manifest),
        status=member_status(member.name, report.findings),
    )


def _expected_checksum(member: MemberInfo, manifest: SnapshotManifest | None) -> str | None:
    if manifest is None or member.type != "file":
        return None
    if member.name == STORAGE:
        return format_crc_tag(manifest.storage_checksum)
    if member.name.startswith(SCHEMA_PREFIX):
        crc = manifest.schema_checksum_map.get(member.name[len(SCHEMA_PREFIX) :])
        return None if crc is None else format_crc_tag(crc)
    return None


def member_status(member_name: str, findings: Iterable[Finding]) -> str:
    """ "ok", or the warnings and errors about a member, by short name ("checksum", "wal_sequence")."""
    labels = sorted(
        {
            f.code.label
            for f in findings
            if f.path == member_name and f.severity in (Severity.WARNING, Severity.ERROR, Severity.FATAL)
        }
    )
    return ", ".join(labels) if labels else "ok"


def _time(seconds: int) -> datetime | None:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None
