"""One row per archive in a folder: what each is, how old, and (optionally) whether it is good.

Pure: rows are built from what the shell read (file name, size, modification time, the backup
manifest or the reason there is none) and from ``now``, which the caller passes in. The shell is
`aeroops.executor.audit.inventory`.

The backup manifest is the archive's first member (DESIGN.md §3: members in sorted order), so
`read_leading_manifest` needs one header and a few hundred bytes, however large the archive.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from aeroops.core.verify_report import VerifyReport
from aeroops.errors import Code, FormatError, Severity
from aeroops.formats.ids import format_timestamp
from aeroops.formats.layout import BACKUP_MANIFEST
from aeroops.formats.manifests import BACKUP_MANIFEST_LIMIT, BackupManifest, parse_backup_manifest
from aeroops.formats.tar import EntryType, TarReader

VERIFY_FIELDS = ("ok", "info", "warnings", "errors", "fatal")
SEVERITY_COLUMNS = {
    Severity.INFO: "info",
    Severity.WARNING: "warnings",
    Severity.ERROR: "errors",
    Severity.FATAL: "fatal",
}


@dataclass(frozen=True, slots=True)
class InventoryRow:
    """One candidate archive. Fields the file could not give are None, and ``reason`` says why.

    The verification fields (``ok`` and the finding counts) are None unless the inventory was
    taken with verification.
    """

    file: str  # path relative to the inventoried folder
    size: int | None
    modified: datetime | None  # the file's mtime, UTC
    backup_id: str | None
    snapshot_id: str | None
    created_at: datetime | None  # from the backup manifest
    age: timedelta | None  # now - created_at
    wal_present: bool | None
    format_version: int | None
    sidecar: bool  # a <file>.b3 or <file>.sha256 sits beside it
    reason: str | None = None  # why there is no manifest: not an archive, unreadable, ...
    ok: bool | None = None
    info: int | None = None
    warnings: int | None = None
    errors: int | None = None
    fatal: int | None = None
    source: str | None = None  # the backup manifest's "source", where the backup was given one

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ``YYYY-MM-DDTHH:MM:SSZ``, ``age`` in whole seconds."""
        return {
            "file": self.file,
            "size": self.size,
            "modified": None if self.modified is None else format_timestamp(self.modified),
            "backup_id": self.backup_id,
            "snapshot_id": self.snapshot_id,
            "created_at": None if self.created_at is None else format_timestamp(self.created_at),
            "age": None if self.age is None else int(self.age.total_seconds()),
            "wal_present": self.wal_present,
            "format_version": self.format_version,
            "source": self.source,
            "sidecar": self.sidecar,
            "reason": self.reason,
            "ok": self.ok,
            "info": self.info,
            "warnings": self.warnings,
            "errors": self.errors,
            "fatal": self.fatal,
        }


@dataclass(frozen=True, slots=True)
class Inventory:
    folder: str
    rows: tuple[InventoryRow, ...]
    taken_at: datetime  # the ``now`` ages are measured from
    verified: bool = False
    recursive: bool = False

    @property
    def ok(self) -> bool:
        """Every candidate was readable and, if verified, verified clean."""
        return all(row.reason is None and row.ok is not False for row in self.rows)

    def to_list(self) -> list[dict[str, Any]]:
        """The JSON view: one object per row; the verification fields only when verified."""
        rows = [row.to_dict() for row in self.rows]
        if not self.verified:
            for row in rows:
                for key in VERIFY_FIELDS:
                    del row[key]
        return rows


def inventory_row(
    file: str,
    size: int | None,
    modified: datetime | None,
    manifest: BackupManifest | str,
    now: datetime,
    *,
    sidecar: bool = False,
    report: VerifyReport | None = None,
) -> InventoryRow:
    """The row for one file; ``manifest`` is its backup manifest, or the reason there is none.
    ``report``, when given, adds the verdict and the count of findings by severity."""
    verdict = {} if report is None else _verdict(report)
    if isinstance(manifest, str):
        return InventoryRow(
            file, size, modified, None, None, None, None, None, None, sidecar, reason=manifest, **verdict
        )
    return InventoryRow(
        file=file,
        size=size,
        modified=modified,
        backup_id=manifest.backup_id,
        snapshot_id=manifest.snapshot_id,
        created_at=manifest.created_at,
        age=now - manifest.created_at,
        wal_present=manifest.wal_present,
        format_version=manifest.format_version,
        sidecar=sidecar,
        source=manifest.source,
        **verdict,
    )


def with_verdict(row: InventoryRow, report: VerifyReport) -> InventoryRow:
    """``row`` with the verdict of ``report`` (verified after the inventory was taken)."""
    return replace(row, **_verdict(report))


def _verdict(report: VerifyReport) -> dict[str, Any]:
    counts = report.counts()
    return {"ok": report.ok, **{column: counts[str(s)] for s, column in SEVERITY_COLUMNS.items()}}


def read_leading_manifest(stream: BinaryIO, *, name: str | None = None) -> BackupManifest:
    """The backup manifest from the archive's first member, reading nothing past it.

    Raises `FormatError` when the stream is not a tar, or its first member is not a readable
    ``backup_manifest.json``.
    """
    tar = TarReader(stream, path=name)
    first = next(iter(tar), None)
    if first is None:
        raise FormatError("the archive is empty", path=name, code=Code.VERIFY_MISSING_MEMBER)
    if first.name != BACKUP_MANIFEST or first.type != EntryType.FILE:
        raise FormatError(
            f"the first member is {first.name!r}, not {BACKUP_MANIFEST}", path=name, code=Code.VERIFY_MEMBER_ORDER
        )
    if first.size > BACKUP_MANIFEST_LIMIT:
        raise FormatError(f"{BACKUP_MANIFEST} is {first.size} bytes", path=name, code=Code.VERIFY_MANIFEST)
    return parse_backup_manifest(tar.read_all(BACKUP_MANIFEST_LIMIT), path=name)
