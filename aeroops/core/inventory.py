"""One row per archive in a folder: what each is, how old, and (optionally) whether it is good.

Pure: rows are built from what the shell read (file name, size, modification time, the backup
manifest or the reason there is none) and from ``now``, which the caller passes in. The shell is
`aeroops.executor.audit.inventory`.

The backup manifest is the archive's first member (DESIGN.md §3: members in sorted order), so
`read_leading_manifest` needs one header and a few hundred bytes, however large the archive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from aeroops.columns import DURATION, UTC_TIME, column, specs
from aeroops.core.verify_report import VerifyReport
from aeroops.errors import Code, FormatError, Severity, most_severe_first
from aeroops.formats.layers import Decrypt, NeedsIdentity, open_layers
from aeroops.formats.layout import BACKUP_MANIFEST
from aeroops.formats.manifests import BACKUP_MANIFEST_LIMIT, BackupManifest, parse_backup_manifest
from aeroops.formats.readable import Readable
from aeroops.formats.record import ArchiveRecord
from aeroops.formats.tar import EntryType, TarReader

SEVERITY_COLUMNS = {
    Severity.FATAL: "fatal",
    Severity.ERROR: "errors",
    Severity.WARNING: "warnings",
    Severity.INFO: "info",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryRow:
    """One candidate archive. Fields the file could not give are None, and ``reason`` says why.

    The manifest's fields are None without a readable manifest; the verification fields (``ok``
    and the finding counts) are None unless the inventory was taken with verification. Each
    field is a column of the inventory's tables (`aeroops.columns`), the verdict's first.
    """

    ok: bool | None = column("boolean", verdict=True, default=None)  # no ERROR or FATAL finding
    fatal: int | None = column("Int64", verdict=True, default=None)
    errors: int | None = column("Int64", verdict=True, default=None)
    warnings: int | None = column("Int64", verdict=True, default=None)
    info: int | None = column("Int64", verdict=True, default=None)
    file: str = column("string")  # path relative to the inventoried folder
    # Why the archive is not good: no readable manifest (not an archive, unreadable, ...) or,
    # verified, its most severe finding.
    reason: str | None = column("string", default=None)
    size: int | None = column("Int64", unit="bytes", default=None)
    modified: datetime | None = column(UTC_TIME, default=None)  # the file's mtime, UTC
    backup_id: str | None = column("string", default=None)
    snapshot_id: str | None = column("string", default=None)
    created_at: datetime | None = column(UTC_TIME, default=None)  # from the backup manifest
    age: timedelta | None = column(DURATION, unit="age", default=None)  # now - created_at
    wal_present: bool | None = column("boolean", default=None)
    format_version: int | None = column("Int64", default=None)
    source: str | None = column("string", default=None)  # the backup manifest's "source" (backup --source)
    # The kind of sidecar beside it: "b3" (<file>.b3), "sha256" (<file>.sha256), None without one.
    sidecar: str | None = column("string", missing="none", default=None)
    # The layers found around the tar ("tar", "tar+zstd", "tar+zstd+age"), and the plain tar's
    # size where known (``size`` is the file's): from the bytes, or from the cleartext record.
    layers: str | None = column("string", default=None)
    plain_size: int | None = column("Int64", unit="bytes", default=None)


VERIFY_FIELDS = tuple(name for name, spec in specs(InventoryRow).items() if spec.verdict)  # ok, fatal, ...


@dataclass(frozen=True, slots=True)
class Inventory:
    """The backup archives of a folder, one row each, with their ages taken at ``taken_at``."""

    folder: str
    rows: tuple[InventoryRow, ...]
    taken_at: datetime  # the ``now`` ages are measured from
    verified: bool = False
    recursive: bool = False

    @property
    def ok(self) -> bool:
        """Every candidate was readable and, if verified, verified clean."""
        return all(row.reason is None and row.ok is not False for row in self.rows)


def inventory_row(
    file: str,
    size: int | None,
    modified: datetime | None,
    manifest: BackupManifest | str,
    now: datetime,
    *,
    sidecar: str | None = None,
    report: VerifyReport | None = None,
    layers: str | None = None,
    plain_size: int | None = None,
) -> InventoryRow:
    """The row for one file; ``manifest`` is its backup manifest, or the reason there is none.
    ``report``, when given, adds the verdict and the count of findings by severity."""
    verdict = {} if report is None else _verdict(report)
    if isinstance(manifest, str):
        return InventoryRow(
            file=file,
            size=size,
            modified=modified,
            sidecar=sidecar,
            layers=layers,
            plain_size=plain_size,
            **(verdict | {"reason": manifest}),
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
        layers=layers,
        plain_size=plain_size if plain_size is not None else (size if layers == "tar" else None),
        **verdict,
    )


def with_verdict(row: InventoryRow, report: VerifyReport) -> InventoryRow:
    """``row`` with the verdict of ``report`` (verified after the inventory was taken); a reason
    the row has already (its manifest is unreadable) is kept."""
    verdict = _verdict(report)
    if row.reason is not None:
        verdict.pop("reason", None)
    return replace(row, **verdict)


def _verdict(report: VerifyReport) -> dict[str, Any]:
    """The verdict fields of a row; an archive that does not verify clean gets its reason, its
    most severe finding."""
    counts = report.counts()
    verdict: dict[str, Any] = {"ok": report.ok, **{name: counts[str(s)] for s, name in SEVERITY_COLUMNS.items()}}
    if not report.ok:
        worst = most_severe_first(report.findings)[0]
        verdict["reason"] = f"{worst.code}: {worst.message}"
    return verdict


def read_leading_manifest(stream: Readable, *, name: str | None = None) -> BackupManifest:
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


def leading_manifest(
    stored: Readable,
    *,
    file_name: str,
    name: str,
    decrypt: Decrypt | None,
    record: Callable[[], ArchiveRecord],
) -> tuple[BackupManifest, tuple[str, ...], int | None]:
    """The backup manifest of a stored archive (its tar's first member, read through the layers;
    an encrypted archive without an identity: its record's), the layers and the plain size where
    known. ``record`` reads the cleartext record beside the archive, only for a layered one."""
    try:
        opened = open_layers(stored, decrypt=decrypt, name=file_name, path=name)
    except NeedsIdentity:
        opened = None
    if opened is not None:
        try:
            manifest = read_leading_manifest(opened.plain, name=name)
        finally:
            opened.close()
        if not opened.layers:
            return manifest, (), None
    try:
        beside = record()
    except FormatError:
        if opened is None:
            raise
        return manifest, tuple(str(layer) for layer in opened.layers), None
    return (manifest if opened is not None else beside.manifest()), beside.layers, beside.plain_size
