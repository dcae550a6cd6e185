"""The columns of every audit table, defined once: plain records (dicts of Python values) that
`aeroops.views.text` prints and writes as CSV, and `aeroops.views.tables` turns into DataFrames
with the dtypes declared here. No pandas here.

Each ``*_COLUMNS`` maps a column to its pandas dtype:
``string`` text (missing is <NA>), ``int64`` integers never missing, ``Int64`` integers that can
be missing, ``bool``/``boolean`` the same for truth values, ``datetime64[ns, UTC]`` times
(missing is NaT), ``timedelta64[ns]`` durations.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from aeroops.core.inspect import InspectResult
from aeroops.core.inventory import Inventory
from aeroops.core.retention import RetentionPlan
from aeroops.core.verify_report import VerifyReport
from aeroops.formats.checksum import format_crc_tag
from aeroops.formats.ids import format_timestamp
from aeroops.formats.manifests import BackupManifest, SnapshotManifest

Columns = dict[str, str]
Record = dict[str, Any]
UTC_TIME = "datetime64[ns, UTC]"

FINDING_COLUMNS: Columns = {
    "archive": "string",
    "severity": "string",  # INFO, WARNING, ERROR, FATAL
    "code": "string",
    "path": "string",  # the member concerned, <NA> for the archive as a whole
    "offset": "Int64",  # byte offset in the archive file
    "sequence": "Int64",  # WAL sequence number, where one applies
    "message": "string",
}

MEMBER_COLUMNS: Columns = {
    "name": "string",
    "type": "string",  # file, directory, symlink, hardlink, char_device, block_device, fifo, contiguous, other
    "size": "int64",
    "mode": "int64",
    "mtime": UTC_TIME,
    "checksum_found": "string",  # crc32:… of the member's data, regular files only
    "checksum_expected": "string",  # from the snapshot manifest: storage.dat and schema files
    "status": "string",  # "ok", or the findings about the member ("checksum", "unsafe_member", ...)
}

BACKUP_MANIFEST_COLUMNS: Columns = {
    "backup_id": "string",
    "created_at": UTC_TIME,
    "snapshot_id": "string",
    "wal_present": "bool",
    "format_version": "int64",
}

SNAPSHOT_MANIFEST_COLUMNS: Columns = {
    "snapshot_id": "string",
    "created_at": UTC_TIME,
    "storage_checksum": "string",
    "schema_files": "int64",  # how many schema_checksums it lists
    "format_version": "int64",
    "commit_boundary": "Int64",  # format 2 (MVCC) only
}

SCHEMA_CHECKSUM_COLUMNS: Columns = {"schema_file": "string", "checksum": "string"}

WAL_COLUMNS: Columns = {
    "collection": "string",  # "" for MVCC commit and GC records
    "operation": "string",  # insert, update, delete, mvcc_commit, mvcc_version, mvcc_gc
    "records": "int64",
    "bytes": "int64",  # whole records, framing included
    "documents": "int64",  # distinct documents touched
    "first_sequence": "int64",
    "last_sequence": "int64",
}

STORAGE_COLUMNS: Columns = {
    "collection": "string",
    "schema_version": "string",  # of each key's last record
    "live_documents": "int64",
    "tombstones": "int64",
    "records": "int64",  # superseded records included
    "live_bytes": "int64",  # body bytes of the live documents
}

DOCUMENT_COLUMNS: Columns = {
    "collection": "string",
    "document_id": "string",
    "size": "int64",  # body bytes
    "crc32": "string",  # crc32:… of the body
}

COLLECTION_COLUMNS: Columns = {"collection": "string", "documents": "int64", "bytes": "int64"}

INVENTORY_COLUMNS: Columns = {
    "file": "string",  # relative to the inventoried folder
    "size": "Int64",
    "modified": UTC_TIME,  # the file's mtime
    "backup_id": "string",
    "snapshot_id": "string",
    "created_at": UTC_TIME,  # from the backup manifest
    "age": "timedelta64[ns]",  # inventory time - created_at
    "wal_present": "boolean",
    "format_version": "Int64",
    "source": "string",  # the backup manifest's "source" (backup --source), <NA> without one
    "sidecar": "bool",  # a <file>.b3 or <file>.sha256 sits beside it
    "reason": "string",  # why there is no manifest (<NA> when there is one)
}
INVENTORY_VERIFY_COLUMNS: Columns = {
    "ok": "boolean",  # the verdict: no ERROR or FATAL finding
    "info": "Int64",
    "warnings": "Int64",
    "errors": "Int64",
    "fatal": "Int64",
}


def finding_records(reports: VerifyReport | Iterable[VerifyReport]) -> list[Record]:
    if isinstance(reports, VerifyReport):
        reports = [reports]
    return [
        {
            "archive": report.archive,
            "severity": str(f.severity),
            "code": f.code,
            "path": f.path,
            "offset": f.offset,
            "sequence": f.sequence,
            "message": f.message,
        }
        for report in reports
        for f in report.findings
    ]


def member_records(result: InspectResult) -> list[Record]:
    return [
        {
            "name": m.name,
            "type": m.type,
            "size": m.size,
            "mode": m.mode,
            "mtime": m.mtime,
            "checksum_found": m.checksum_found,
            "checksum_expected": m.checksum_expected,
            "status": m.status,
        }
        for m in result.members
    ]


def backup_manifest_records(manifest: BackupManifest | None) -> list[Record]:
    if manifest is None:
        return []
    return [
        {
            "backup_id": manifest.backup_id,
            "created_at": manifest.created_at,
            "snapshot_id": manifest.snapshot_id,
            "wal_present": manifest.wal_present,
            "format_version": manifest.format_version,
        }
    ]


def snapshot_manifest_records(manifest: SnapshotManifest | None) -> list[Record]:
    if manifest is None:
        return []
    return [
        {
            "snapshot_id": manifest.snapshot_id,
            "created_at": manifest.created_at,
            "storage_checksum": format_crc_tag(manifest.storage_checksum),
            "schema_files": len(manifest.schema_checksums),
            "format_version": manifest.format_version,
            "commit_boundary": manifest.commit_boundary,
        }
    ]


def schema_checksum_records(manifest: SnapshotManifest | None) -> list[Record]:
    if manifest is None:
        return []
    return [{"schema_file": name, "checksum": format_crc_tag(crc)} for name, crc in manifest.schema_checksums]


def wal_records(result: InspectResult) -> list[Record]:
    return [
        {
            "collection": g.collection,
            "operation": g.operation,
            "records": g.records,
            "bytes": g.bytes,
            "documents": g.documents,
            "first_sequence": g.first_sequence,
            "last_sequence": g.last_sequence,
        }
        for g in result.wal.groups
    ]


SCHEMA_COLUMNS: Columns = {
    "file": "string",  # under snapshot/schemas/; empty: no file defines the schema
    "schema": "string",  # what it defines, "<id> <version>"
    "source": "string",  # snapshot, added by the backup (and why), unlisted, missing
    "needed_by": "string",  # whose records name it: storage, wal
}


def schema_records(result: InspectResult) -> list[Record]:
    return [
        {
            "file": row.file,
            "schema": None if row.schema is None else f"{row.schema.schema_id} {row.schema.schema_version}",
            "source": row.source,
            "needed_by": ", ".join(row.needed_by),
        }
        for row in result.schemas
    ]


def storage_records(result: InspectResult) -> list[Record]:
    return [
        {
            "collection": g.collection,
            "schema_version": g.schema_version,
            "live_documents": g.live_documents,
            "tombstones": g.tombstones,
            "records": g.records,
            "live_bytes": g.live_bytes,
        }
        for g in result.storage
    ]


def document_records(result: InspectResult) -> list[Record]:
    return [
        {"collection": c, "document_id": d, "size": doc.size, "crc32": format_crc_tag(doc.crc32)}
        for c, d, doc in result.logical.iter_documents()
    ]


def collection_records(result: InspectResult) -> list[Record]:
    return [
        {
            "collection": c,
            "documents": len(result.logical.documents[c]),
            "bytes": sum(doc.size for doc in result.logical.documents[c].values()),
        }
        for c in result.logical.collections
    ]


def inventory_columns(inventory: Inventory) -> Columns:
    return {**INVENTORY_COLUMNS, **INVENTORY_VERIFY_COLUMNS} if inventory.verified else dict(INVENTORY_COLUMNS)


def inventory_records(inventory: Inventory) -> list[Record]:
    columns = inventory_columns(inventory)
    return [{name: getattr(row, name) for name in columns} for row in inventory.rows]


RETENTION_COLUMNS: Columns = {
    "file": "string",
    "action": "string",  # keep or remove
    "why": "string",  # the rules that keep it ("daily 2026-01-05, newest good"), else why not
    "status": "string",  # clean, unverified, damaged, unreadable
    "source": "string",  # the backup manifest's "source" (each is planned apart)
    "snapshot_id": "string",
    "created_at": UTC_TIME,
    "size": "Int64",
}


def retention_records(plan: RetentionPlan) -> list[Record]:
    return [
        {
            "file": d.file,
            "action": d.action,
            "why": d.why,
            "status": str(d.status),
            "source": d.row.source,
            "snapshot_id": d.row.snapshot_id,
            "created_at": d.row.created_at,
            "size": d.row.size,
        }
        for d in plan.decisions
    ]


def plain(value: Any) -> Any:
    """A record value as text-friendly JSON/CSV: times in AeroDB's notation, durations in seconds."""
    if isinstance(value, datetime):
        return format_timestamp(value)
    if hasattr(value, "total_seconds"):
        return int(value.total_seconds())
    return value
