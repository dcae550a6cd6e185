"""The cleartext record beside a layered archive: ``<archive>.json``, written at creation and
listed in the archive's sidecar (so ``b3sum -c`` checks it too).

It lets a host that holds no identity (the backup host, which knows only the recipients' public
keys) list, check and prune encrypted archives: it names what the backup manifest inside names
(ids, created_at, wal_present, source), the layers and their sizes, and what the backup checked
while packing. It holds nothing secret: no key, no recipient, no document.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aeroops.errors import Code, FormatError
from aeroops.formats.ids import format_timestamp, parse_timestamp
from aeroops.formats.manifests import BackupManifest

SUFFIX = ".json"
KIND = "aeroops archive record"
VERSION = 1
LIMIT = 64 << 10
# What a backup checks while it packs, and so what "verified_at_creation": "ok" stands for.
CREATION_CHECKS = (
    "every snapshot file's CRC-32 against the snapshot manifest, every WAL record (length, type, CRC, "
    "sequence), as the bytes went into the tar"
)


@dataclass(frozen=True, slots=True)
class ArchiveRecord:
    archive: str  # the archive's file name
    backup_id: str
    snapshot_id: str
    created_at: datetime
    wal_present: bool
    format_version: int
    source: str | None
    layers: tuple[str, ...]  # inside out: ("zstd", "age")
    zstd_level: int | None
    plain_size: int  # bytes of the plain tar
    stored_size: int  # bytes of the file
    verified_at_creation: str  # "ok": the checks of CREATION_CHECKS passed while packing

    def manifest(self) -> BackupManifest:
        """The backup manifest the archive holds, as the record names it."""
        return BackupManifest(
            backup_id=self.backup_id,
            created_at=self.created_at,
            snapshot_id=self.snapshot_id,
            wal_present=self.wal_present,
            format_version=self.format_version,
            source=self.source,
        )


def record_path(archive: Path) -> Path:
    return archive.with_name(archive.name + SUFFIX)


def render_record(record: ArchiveRecord) -> bytes:
    fields: dict[str, Any] = {"kind": KIND, "version": VERSION} | asdict(record)
    fields["created_at"] = format_timestamp(record.created_at)
    fields["layers"] = list(record.layers)
    fields["creation_checks"] = CREATION_CHECKS
    return (json.dumps(fields, indent=2, ensure_ascii=False) + "\n").encode()


def parse_record(data: bytes, *, path: object = None) -> ArchiveRecord:
    """The record in ``data``; `FormatError` (AERO_LAYER_RECORD) for anything else."""

    def bad(why: str) -> FormatError:
        return FormatError(f"the archive's record {why}", path=path, code=Code.LAYER_RECORD)

    try:
        fields = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise bad("is not JSON") from None
    if not isinstance(fields, dict) or fields.get("kind") != KIND or fields.get("version") != VERSION:
        raise bad(f"is not an {KIND}, version {VERSION}")
    try:
        record = ArchiveRecord(
            archive=_typed(fields, "archive", str),
            backup_id=_typed(fields, "backup_id", str),
            snapshot_id=_typed(fields, "snapshot_id", str),
            created_at=parse_timestamp(_typed(fields, "created_at", str)),
            wal_present=_typed(fields, "wal_present", bool),
            format_version=_typed(fields, "format_version", int),
            source=None if fields.get("source") is None else _typed(fields, "source", str),
            layers=tuple(_typed(fields, "layers", list)),
            zstd_level=None if fields.get("zstd_level") is None else _typed(fields, "zstd_level", int),
            plain_size=_typed(fields, "plain_size", int),
            stored_size=_typed(fields, "stored_size", int),
            verified_at_creation=_typed(fields, "verified_at_creation", str),
        )
    except (KeyError, TypeError, FormatError) as error:
        raise bad(f"has a missing or malformed field ({error})") from None
    if not all(layer in ("zstd", "age") for layer in record.layers):
        raise bad("names an unknown layer")
    return record


def _typed(fields: dict[str, Any], key: str, kind: type) -> Any:
    value = fields[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"{key} is not {kind.__name__}")
    return value


__all__ = ["ArchiveRecord", "parse_record", "record_path", "render_record"]
