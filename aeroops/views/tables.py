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
- `newest_good_frame(found)`: NEWEST_GOOD_COLUMNS, the archive to restore from, per snapshot.
- `inspect_frames(result)`: all of the inspect frames above, by name.
- `rows_frame(rows, columns)`: the panels' small tables, from the plain dict views of plans and
  results (what the CLI's ``--format json`` prints); dtypes as pandas infers them.

And the copy of a frame that people read (`aeroops.views.html` makes it HTML):

- `display_frame(frame)`: every value as text in its column's unit (sizes in KiB/MiB, ages in
  days and hours, modes as 0644).
- `shown_frame(frame, leave_out=...)`: that, without the columns a table leaves out to fit (and
  those of `OPTIONAL_COLUMNS` with no value; those of `SAID_ONCE_COLUMNS` with one value for every
  row are said once under it), archive paths relative to their common folder, and notes saying
  so. The frame itself keeps every column and every raw value.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from aeroops.columns import record
from aeroops.core.inspect import InspectResult
from aeroops.core.inventory import Inventory
from aeroops.core.newest_good import NewestGood
from aeroops.core.retention import RetentionPlan
from aeroops.core.verify_report import VerifyReport
from aeroops.views import records as rec
from aeroops.views.units import display

# Columns only some folders fill (backup --source; format 2 snapshots): left out of a shown
# table where no row has a value.
# (A finding's place, an inventory row's reason: blank in every row when nothing is wrong, or
# for findings of the whole archive, they would only take room from the message.)
OPTIONAL_COLUMNS = ("source", "commit_boundary", "reason", "path", "offset", "sequence")
# Columns a shown table says once, under it, when every row has the same value (a tar member's
# mtime: one fixed time in every archive aeroops writes; the archive of one archive's findings).
SAID_ONCE_COLUMNS = ("mtime", "archive")
# Columns that name an archive by its path: shown relative to the folder the rows share.
PATH_COLUMNS = ("archive",)
# What the inventory's shown table leaves out to fit a notebook (about 970 px): the manifest's
# identifiers and format details, which the file name, the history chart and the Manifests tab
# show.
INVENTORY_LEFT_OUT = ("snapshot_id", "backup_id", "modified", "wal_present", "format_version")
# The verdict's counts by severity (an inventory's), shown as one column: "2 errors, 1 warning".
SEVERITY_COUNTS = {"fatal": "fatal", "errors": "error", "warnings": "warning", "info": "info"}


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
    return frame(rec.wal_group_records(result), rec.WAL_COLUMNS)


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


# The inventory's columns that say which archive to restore from, and how old and big it is.
NEWEST_GOOD_COLUMNS: rec.Columns = {
    name: rec.INVENTORY_COLUMNS[name] for name in ("snapshot_id", "file", "created_at", "age", "size", "sidecar")
}


def newest_good_frame(found: NewestGood) -> pd.DataFrame:
    """The newest archive that verifies clean of each snapshot, by snapshot id (a snapshot
    without one has no row: see ``found.without_good``)."""
    return frame([record(row, NEWEST_GOOD_COLUMNS) for row in found.per_snapshot], NEWEST_GOOD_COLUMNS)


# --- the copy people read -------------------------------------------------------------------


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` as people read it, as text: sizes in KiB/MiB/GiB, ages in days and
    hours, modes as 0644, times in AeroDB's notation (`aeroops.views.units`, the terminal's
    units too), missing values blank (or as the column says, "none"). ``frame`` keeps the raw
    values."""
    return pd.DataFrame(
        {name: [_cell(value, name) for value in frame[name].astype(object)] for name in frame.columns},
        columns=frame.columns,
        index=frame.index,
    )


def _cell(value: object, column: str) -> str:
    spec = rec.display_spec(column)
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return spec.missing
    return display(value, spec.unit, spec.missing)


@dataclass(frozen=True)
class ShownFrame:
    """The text a table shows: ``frame`` (every cell a str), which of its columns hold text
    that may wrap (the others hold values kept on one line), and notes for under the table."""

    frame: pd.DataFrame
    text_columns: frozenset[str]
    notes: tuple[str, ...]


def shown_frame(frame: pd.DataFrame, *, max_rows: int | None = None, leave_out: Iterable[str] = ()) -> ShownFrame:
    """The copy of ``frame`` a notebook shows (see the module's description): its first
    ``max_rows`` rows, without the ``leave_out`` columns and the empty `OPTIONAL_COLUMNS`, each
    value as text in its unit."""
    left_out = [name for name in leave_out if name in frame.columns]
    if len(frame):
        left_out += [name for name in OPTIONAL_COLUMNS if name in frame.columns and _blank(frame[name])]
    said_once = [
        name for name in SAID_ONCE_COLUMNS if name in frame.columns and len(frame) > 1 and frame[name].nunique() == 1
    ]
    if said_once:
        said = display_frame(frame[said_once].head(1))
    columns = [name for name in frame.columns if name not in left_out and name not in said_once]
    rows = frame[columns] if max_rows is None else frame[columns].head(max_rows)
    shown = display_frame(rows)
    if set(SEVERITY_COUNTS) <= set(columns):
        shown = _findings_column(shown, rows)
    notes: list[str] = [f"{name}: {said[name].iloc[0]} for every row" for name in said_once]
    for name in PATH_COLUMNS:
        if name in shown.columns:
            folder = _common_folder(frame[name])
            if folder:
                shown[name] = [os.path.relpath(path, folder) if path else path for path in shown[name]]
                notes.append(f"{name}: in {folder}")
    if len(rows) < len(frame):
        notes.append(f"first {len(rows)} of {len(frame)} rows")
    if left_out:
        notes.append(f"not shown here: {', '.join(left_out)} (the DataFrame has every column)")
    text_columns = frozenset(name for name in columns if _is_text(frame[name])) | {"findings"}
    return ShownFrame(shown, text_columns, tuple(notes))


def _blank(column: pd.Series) -> bool:
    """No value in any row: missing, or an empty string (a snapshot's reason when it is valid)."""
    return bool((column.isna() | (column.astype(object) == "")).all())


def _findings_column(shown: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """The four counts by severity as one column, "findings", where the first of them was:
    "2 errors, 1 warning"; "none" for none, blank where nothing was verified."""
    findings = []
    for _, row in rows[list(SEVERITY_COUNTS)].iterrows():
        if row.isna().all():
            findings.append("")
            continue
        counted = [(int(row[name]), label) for name, label in SEVERITY_COUNTS.items() if not pd.isna(row[name])]
        said = [f"{n} {label}{'s' if n != 1 and label not in ('info', 'fatal') else ''}" for n, label in counted if n]
        findings.append(", ".join(said) or "none")
    at = list(shown.columns).index(next(iter(SEVERITY_COUNTS)))
    shown = shown.drop(columns=list(SEVERITY_COUNTS))
    shown.insert(at, "findings", findings)
    return shown


def _is_text(series: pd.Series) -> bool:
    """Text that may wrap: a column of strings in no unit (not a size, a time or a count)."""
    spec = rec.display_spec(str(series.name))
    textual = pd.api.types.is_string_dtype(series) or series.dtype == object
    return textual and not spec.unit and spec.dtype in ("string", "object")


def _common_folder(paths: pd.Series) -> str:
    """The folder every path of ``paths`` is in, if they are absolute paths ("" otherwise)."""
    present = [str(path) for path in paths.dropna() if str(path)]
    if not present or not all(os.path.isabs(path) for path in present):
        return ""
    return os.path.commonpath([os.path.dirname(path) for path in present])
