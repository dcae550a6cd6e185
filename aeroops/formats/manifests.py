"""The JSON files: a snapshot's ``manifest.json``, ``backup_manifest.json``, ``checkpoint.json``.

Parsers are strict (every field present, of its type) and say which field is wrong; renderers
write what AeroDB writes: 2-space indent, keys in AeroDB's order, no trailing newline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aeroops.errors import Code, FormatError
from aeroops.formats.checksum import format_crc_tag, parse_crc_tag
from aeroops.formats.ids import format_timestamp, parse_snapshot_id, parse_timestamp

BACKUP_FORMAT_VERSION = 1
SNAPSHOT_FORMAT_VERSIONS = frozenset({1, 2})  # 2 adds commit_boundary (MVCC snapshots)
_CODE = Code.MANIFEST_INVALID


@dataclass(frozen=True, slots=True)
class SnapshotManifest:
    snapshot_id: str
    created_at: datetime
    storage_checksum: int
    schema_checksums: tuple[tuple[str, int], ...]  # sorted by file name
    format_version: int = 1
    commit_boundary: int | None = None

    @property
    def schema_checksum_map(self) -> dict[str, int]:
        return dict(self.schema_checksums)


@dataclass(frozen=True, slots=True)
class BackupManifest:
    backup_id: str
    created_at: datetime
    snapshot_id: str
    wal_present: bool
    format_version: int = BACKUP_FORMAT_VERSION


@dataclass(frozen=True, slots=True)
class Checkpoint:
    snapshot_id: str
    created_at: datetime
    wal_truncated: bool = True
    format_version: int = 1
    extra: Mapping[str, Any] = field(default_factory=dict)


def _load_object(data: bytes | str, path: object) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormatError(f"not valid JSON: {exc}", path=path, code=_CODE) from None
    except RecursionError:  # e.g. 60,000 '[': json's parser recurses once per level
        raise FormatError("not valid JSON: nested too deeply", path=path, code=_CODE) from None
    if not isinstance(value, dict):
        raise FormatError(f"expected a JSON object, found {type(value).__name__}", path=path, code=_CODE)
    return value


def _get(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], path: object) -> Any:
    if key not in obj:
        raise FormatError(f"field {key!r} is missing", path=path, code=_CODE)
    value = obj[key]
    # bool is an int in Python; JSON keeps them apart, and so do we.
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        raise FormatError(f"field {key!r} has the wrong type ({json.dumps(value)[:40]})", path=path, code=_CODE)
    return value


def _u64(obj: Mapping[str, Any], key: str, path: object) -> int:
    value = _get(obj, key, int, path)
    if not 0 <= value < 1 << 64:
        raise FormatError(f"field {key!r} is out of range ({value})", path=path, code=_CODE)
    return value


def _snapshot_id(obj: Mapping[str, Any], key: str, path: object) -> str:
    value = _get(obj, key, str, path)
    parse_snapshot_id(value, path=path)
    return value


def _render(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, indent=2, ensure_ascii=False).encode()


# --- snapshot manifest ----------------------------------------------------------------------


def parse_snapshot_manifest(data: bytes | str, *, path: object = None) -> SnapshotManifest:
    obj = _load_object(data, path)
    # Fields are checked in the order AeroDB writes them, so the first complaint is the first field.
    snapshot_id = _snapshot_id(obj, "snapshot_id", path)
    created_at = parse_timestamp(_get(obj, "created_at", str, path), path=path)
    storage_checksum = parse_crc_tag(_get(obj, "storage_checksum", str, path), path=path)
    checksums = _get(obj, "schema_checksums", dict, path)
    for name in checksums:
        if not name or "/" in name or name in (".", ".."):
            raise FormatError(f"schema file name {name!r} is not a plain file name", path=path, code=_CODE)
    return SnapshotManifest(
        snapshot_id=snapshot_id,
        created_at=created_at,
        storage_checksum=storage_checksum,
        schema_checksums=tuple(sorted((n, parse_crc_tag(c, path=path)) for n, c in checksums.items())),
        format_version=_u64(obj, "format_version", path),
        commit_boundary=_u64(obj, "commit_boundary", path) if "commit_boundary" in obj else None,
    )


def render_snapshot_manifest(manifest: SnapshotManifest) -> bytes:
    obj: dict[str, Any] = {
        "snapshot_id": manifest.snapshot_id,
        "created_at": format_timestamp(manifest.created_at),
        "storage_checksum": format_crc_tag(manifest.storage_checksum),
        "schema_checksums": {n: format_crc_tag(c) for n, c in manifest.schema_checksums},
        "format_version": manifest.format_version,
    }
    if manifest.commit_boundary is not None:
        obj["commit_boundary"] = manifest.commit_boundary
    return _render(obj)


# --- backup manifest ------------------------------------------------------------------------


def parse_backup_manifest(data: bytes | str, *, path: object = None) -> BackupManifest:
    obj = _load_object(data, path)
    return BackupManifest(
        backup_id=_snapshot_id(obj, "backup_id", path),
        created_at=parse_timestamp(_get(obj, "created_at", str, path), path=path),
        snapshot_id=_snapshot_id(obj, "snapshot_id", path),
        wal_present=_get(obj, "wal_present", bool, path),
        format_version=_u64(obj, "format_version", path),
    )


def render_backup_manifest(manifest: BackupManifest) -> bytes:
    return _render(
        {
            "backup_id": manifest.backup_id,
            "created_at": format_timestamp(manifest.created_at),
            "snapshot_id": manifest.snapshot_id,
            "wal_present": manifest.wal_present,
            "format_version": manifest.format_version,
        }
    )


# --- checkpoint.json ------------------------------------------------------------------------


def parse_checkpoint(data: bytes | str, *, path: object = None) -> Checkpoint:
    obj = _load_object(data, path)
    known = {"snapshot_id", "created_at", "wal_truncated", "format_version"}
    return Checkpoint(
        snapshot_id=_snapshot_id(obj, "snapshot_id", path),
        created_at=parse_timestamp(_get(obj, "created_at", str, path), path=path),
        wal_truncated=_get(obj, "wal_truncated", bool, path),
        format_version=_u64(obj, "format_version", path),
        extra={k: v for k, v in obj.items() if k not in known},
    )


def render_checkpoint(checkpoint: Checkpoint) -> bytes:
    return _render(
        {
            "snapshot_id": checkpoint.snapshot_id,
            "created_at": format_timestamp(checkpoint.created_at),
            "wal_truncated": checkpoint.wal_truncated,
            "format_version": checkpoint.format_version,
            **checkpoint.extra,
        }
    )
