"""The columns of every audit table, defined once: plain records (dicts of Python values) that
`aeroops.views.text` prints and writes as CSV, and `aeroops.views.tables` turns into DataFrames
with the dtypes declared here. No pandas here.

The columns of a result row are its dataclass fields, declared with `aeroops.columns.column`
(dtype, unit, whether it is part of the verdict); tables of values with no row class of their
own declare their `Column` specs here. Each ``*_COLUMNS`` maps a column to its pandas dtype
(see `aeroops.columns`), the verdict first; `DISPLAY` gives each column name its unit for
people (every table uses a name in one sense only).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING

from aeroops.columns import UTC_TIME, Column, Columns, Record, dtypes, record, specs
from aeroops.core.verify_report import VerifyReport
from aeroops.errors import Finding, most_severe_first
from aeroops.formats.checksum import format_crc_tag
from aeroops.formats.manifests import BackupManifest
from aeroops.views.units import BYTES

if TYPE_CHECKING:  # at run time only the column sets below import them, on first use
    from aeroops.core.backup_plan import BackupPlan, BackupRefusal
    from aeroops.core.description import DataDirDescription
    from aeroops.core.inspect import InspectResult
    from aeroops.core.inventory import Inventory
    from aeroops.core.restore_plan import RestorePlan
    from aeroops.core.results import BackupResult, DrillResult
    from aeroops.core.retention import RetentionPlan
    from aeroops.formats.manifests import SnapshotManifest

__all__ = ["Columns", "Record"]

Specs = dict[str, Column]


def _dtypes(table: Specs) -> Columns:
    return {name: spec.dtype for name, spec in table.items()}


_FINDING = specs(Finding)
FINDING_COLUMNS: Columns = {  # the verdict (severity), the archive, then what and where
    **{name: spec.dtype for name, spec in _FINDING.items() if spec.verdict},
    "archive": "string",
    **{name: spec.dtype for name, spec in _FINDING.items() if not spec.verdict},
}

_BACKUP_MANIFEST: Specs = specs(BackupManifest)
BACKUP_MANIFEST_COLUMNS: Columns = _dtypes(_BACKUP_MANIFEST)

_SNAPSHOT_MANIFEST: Specs = {
    "snapshot_id": Column("string"),
    "created_at": Column(UTC_TIME),
    "storage_checksum": Column("string"),
    "schema_files": Column("int64"),  # how many schema_checksums it lists
    "format_version": Column("int64"),
    "commit_boundary": Column("Int64"),  # format 2 (MVCC) only
}
SNAPSHOT_MANIFEST_COLUMNS: Columns = _dtypes(_SNAPSHOT_MANIFEST)

SCHEMA_CHECKSUM_COLUMNS: Columns = {"schema_file": "string", "checksum": "string"}

_DOCUMENT: Specs = {
    "collection": Column("string"),
    "document_id": Column("string"),
    "size": Column("int64", unit=BYTES),  # body bytes
    "crc32": Column("string"),  # crc32:… of the body
}
DOCUMENT_COLUMNS: Columns = _dtypes(_DOCUMENT)

_COLLECTION: Specs = {
    "collection": Column("string"),
    "documents": Column("int64"),
    "bytes": Column("int64", unit=BYTES),
}
COLLECTION_COLUMNS: Columns = _dtypes(_COLLECTION)


# The column sets of inspect's, inventory's and retention's row classes are made on first use:
# `aeroops verify` needs none of those modules and would pay for importing them at every start.
# `records.MEMBER_COLUMNS` reads as a constant all the same (PEP 562).
@functools.cache
def _row_columns() -> dict[str, Columns]:
    from aeroops.core.inspect import MemberRow, StorageGroup, WalGroup
    from aeroops.core.inventory import VERIFY_FIELDS, InventoryRow
    from aeroops.core.retention import DecisionRow

    return {
        "MEMBER_COLUMNS": dtypes(MemberRow),
        "WAL_COLUMNS": dtypes(WalGroup),
        "STORAGE_COLUMNS": dtypes(StorageGroup),
        "INVENTORY_COLUMNS": dtypes(InventoryRow, exclude=VERIFY_FIELDS),
        "INVENTORY_VERIFY_COLUMNS": {name: dtypes(InventoryRow)[name] for name in VERIFY_FIELDS},
        "INVENTORY_ALL_COLUMNS": dtypes(InventoryRow),
        "RETENTION_COLUMNS": dtypes(DecisionRow),
    }


def __getattr__(name: str) -> Columns:
    try:
        return _row_columns()[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


MEMBER_COLUMNS: Columns
WAL_COLUMNS: Columns
STORAGE_COLUMNS: Columns
INVENTORY_COLUMNS: Columns
INVENTORY_VERIFY_COLUMNS: Columns
RETENTION_COLUMNS: Columns


def finding_records(reports: VerifyReport | Iterable[VerifyReport]) -> list[Record]:
    """Every finding of each report, the most severe first (in the order found within a severity)."""
    if isinstance(reports, VerifyReport):
        reports = [reports]
    return [{"archive": report.archive, **record(f)} for report in reports for f in most_severe_first(report.findings)]


def member_records(result: InspectResult) -> list[Record]:
    return [record(m) for m in result.members]


def backup_manifest_records(manifest: BackupManifest | None) -> list[Record]:
    return [] if manifest is None else [record(manifest)]


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


def wal_group_records(result: InspectResult) -> list[Record]:
    return [record(g) for g in result.wal.groups]


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
    return [record(g) for g in result.storage]


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
    """The verdict's columns first, when the inventory was verified."""
    row_columns = _row_columns()
    return dict(row_columns["INVENTORY_ALL_COLUMNS" if inventory.verified else "INVENTORY_COLUMNS"])


def inventory_records(inventory: Inventory) -> list[Record]:
    columns = inventory_columns(inventory)
    return [record(row, columns) for row in inventory.rows]


def retention_records(plan: RetentionPlan) -> list[Record]:
    return [record(d.table_row()) for d in plan.decisions]


# --- the small tables of scans, plans and results (their JSON lists and the panels' tables) ------

SNAPSHOT_COLUMNS = ["snapshot_id", "verdict", "reason", "size", "created_at", "schemas"]


def snapshot_records(description: DataDirDescription) -> list[Record]:
    """The data directory's snapshots, oldest first."""
    return [
        {
            "snapshot_id": s.snapshot_id,
            "verdict": s.verdict,
            "reason": s.reason,
            "size": s.size,
            "created_at": s.manifest.created_at if s.manifest else None,
            "schemas": len(s.schemas),
        }
        for s in description.snapshots
    ]


def skipped_records(plan: BackupPlan | BackupRefusal) -> list[Record]:
    return [{"snapshot_id": s.snapshot_id, "verdict": s.verdict, "reason": s.reason} for s in plan.skipped]


PLAN_MEMBER_COLUMNS = ["name", "kind", "size", "source", "expected_crc32"]


def plan_member_records(plan: BackupPlan) -> list[Record]:
    return [
        {"name": m.name, "kind": m.kind, "size": m.size, "source": m.source, "expected_crc32": _crc(m.expected_crc32)}
        for m in plan.members
    ]


BACKUP_MEMBER_COLUMNS = ["name", "kind", "size", "crc32"]


def backup_member_records(result: BackupResult) -> list[Record]:
    return [{"name": m.name, "kind": m.kind, "size": m.size, "crc32": _crc(m.crc32)} for m in result.members]


REPLACED_COLUMNS = ["name", "kind", "files", "bytes"]


def replaced_records(plan: RestorePlan) -> list[Record]:
    """What a restore replaces in the data directory."""
    return [{"name": e.name, "kind": e.kind, "files": e.files, "bytes": e.bytes} for e in plan.replaced]


RESTORED_FILE_COLUMNS = ["path", "from", "size"]


def restored_file_records(plan: RestorePlan) -> list[Record]:
    """The files a restore writes, and the archive member each comes from."""
    return [{"path": f.path, "from": f.member, "size": f.size} for f in plan.files]


DRILL_COLLECTION_COLUMNS = ["collection", "restored", "archive", "source"]


def drill_collection_records(result: DrillResult) -> list[Record]:
    return [
        {"collection": c.collection, "restored": c.restored, "archive": c.archive, "source": c.source}
        for c in result.collections
    ]


def _crc(value: int | None) -> str | None:
    return None if value is None else format_crc_tag(value)


# Each column name's spec, for people: its unit and how a missing value reads. The tables of
# plans and results the panels show from plain dicts (`aeroops.views.tables.rows_frame`) use
# the same names in the same sense. Made on first use, as the row column sets above are.
@functools.cache
def display_specs() -> Specs:
    from aeroops.core.inspect import MemberRow, StorageGroup, WalGroup
    from aeroops.core.inventory import InventoryRow
    from aeroops.core.retention import DecisionRow

    return {
        **_FINDING,
        **specs(MemberRow),
        **_BACKUP_MANIFEST,
        **_SNAPSHOT_MANIFEST,
        **specs(WalGroup),
        **specs(StorageGroup),
        **_DOCUMENT,
        **_COLLECTION,
        **specs(InventoryRow),
        **specs(DecisionRow),
    }


def display_spec(name: str) -> Column:
    return display_specs().get(name) or Column("object")
