"""DataFrame views of audit results, for notebooks: the one module that builds DataFrames (the
panels' renderer, `aeroops.panels.common`, only reads them).

Every frame has fixed columns in a fixed order with fixed dtypes, declared (and documented,
column by column) in `aeroops.views.records`; an empty result gives an empty frame with the same
columns and dtypes. Times are ``datetime64[ns, UTC]``, sizes and counts ``int64`` (``Int64``
where a value can be missing), truth values ``bool`` (``boolean`` where one can be missing),
text ``string``.

- `findings_frame(report or reports)`: FINDING_COLUMNS, one row per finding.
- `members_frame(result)`: MEMBER_COLUMNS, one row per archive member.
- `backup_manifest_frame(result)`, `snapshot_manifest_frame(result)`: one row each (none when
  the manifest is missing or broken); `schema_checksums_frame(result)`: one row per listed file.
- `wal_frame(result)`: WAL_COLUMNS, per collection × operation.
- `storage_frame(result)`: STORAGE_COLUMNS, per collection × schema version.
- `documents_frame(result)`: DOCUMENT_COLUMNS, the logical state, one row per document;
  `collections_frame(result)`: COLLECTION_COLUMNS, its documents per collection.
- `inventory_frame(inventory)`: INVENTORY_COLUMNS, plus INVENTORY_VERIFY_COLUMNS when verified.
- `retention_frame(plan)`: RETENTION_COLUMNS, one row per file of a retention plan.
- `inspect_frames(result)`: all of the inspect frames above, by name.
- `rows_frame(rows, columns)`: the panels' small tables, from the plain dict views of plans and
  results (what the CLI's ``--format json`` prints); dtypes as pandas infers them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from aeroops.core.inspect import InspectResult
from aeroops.core.inventory import Inventory
from aeroops.core.retention import RetentionPlan
from aeroops.core.verify_report import VerifyReport
from aeroops.views import records as rec


def frame(records: list[rec.Record], columns: rec.Columns) -> pd.DataFrame:
    """Records as a DataFrame with exactly ``columns``, in order, of the declared dtypes."""
    data = {
        name: pd.Series([r.get(name) for r in records], dtype=object).astype(dtype) for name, dtype in columns.items()
    }
    return pd.DataFrame(data, columns=list(columns))


def rows_frame(rows: Iterable[Mapping[str, object]], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(rows), columns=list(columns))


def findings_frame(reports: VerifyReport | Iterable[VerifyReport]) -> pd.DataFrame:
    return frame(rec.finding_records(reports), rec.FINDING_COLUMNS)


def members_frame(result: InspectResult) -> pd.DataFrame:
    return frame(rec.member_records(result), rec.MEMBER_COLUMNS)


def backup_manifest_frame(result: InspectResult) -> pd.DataFrame:
    return frame(rec.backup_manifest_records(result.backup_manifest), rec.BACKUP_MANIFEST_COLUMNS)


def snapshot_manifest_frame(result: InspectResult) -> pd.DataFrame:
    return frame(rec.snapshot_manifest_records(result.snapshot_manifest), rec.SNAPSHOT_MANIFEST_COLUMNS)


def schema_checksums_frame(result: InspectResult) -> pd.DataFrame:
    return frame(rec.schema_checksum_records(result.snapshot_manifest), rec.SCHEMA_CHECKSUM_COLUMNS)


def wal_frame(result: InspectResult) -> pd.DataFrame:
    return frame(rec.wal_records(result), rec.WAL_COLUMNS)


def storage_frame(result: InspectResult) -> pd.DataFrame:
    return frame(rec.storage_records(result), rec.STORAGE_COLUMNS)


def documents_frame(result: InspectResult) -> pd.DataFrame:
    return frame(rec.document_records(result), rec.DOCUMENT_COLUMNS)


def collections_frame(result: InspectResult) -> pd.DataFrame:
    return frame(rec.collection_records(result), rec.COLLECTION_COLUMNS)


def inspect_frames(result: InspectResult) -> dict[str, pd.DataFrame]:
    return {
        "members": members_frame(result),
        "backup_manifest": backup_manifest_frame(result),
        "snapshot_manifest": snapshot_manifest_frame(result),
        "schema_checksums": schema_checksums_frame(result),
        "wal": wal_frame(result),
        "storage": storage_frame(result),
        "collections": collections_frame(result),
        "documents": documents_frame(result),
        "findings": findings_frame(result.report),
    }


def inventory_frame(inventory: Inventory) -> pd.DataFrame:
    return frame(rec.inventory_records(inventory), rec.inventory_columns(inventory))


def retention_frame(plan: RetentionPlan) -> pd.DataFrame:
    return frame(rec.retention_records(plan), rec.RETENTION_COLUMNS)
