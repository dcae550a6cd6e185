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

from aeroops.columns import UTC_TIME, column, specs
from aeroops.errors import Code, FormatError, UsageError
from aeroops.formats.checksum import format_crc_tag, parse_crc_tag
from aeroops.formats.ids import format_timestamp, parse_snapshot_id, parse_timestamp

BACKUP_FORMAT_VERSION = 1
NAME_MAX = 255  # bytes in one file name (Linux, and tar's long names are capped to fit it)
SNAPSHOT_FORMAT_VERSIONS = frozenset({1, 2})  # 2 adds commit_boundary (MVCC snapshots)
# The most of a manifest aeroops reads from an archive; past these it is damage.
BACKUP_MANIFEST_LIMIT = 64 << 10
SNAPSHOT_MANIFEST_LIMIT = 4 << 20  # thousands of schema files still fit
_CODE = Code.MANIFEST_INVALID
# The fields of AeroDB's structs (SnapshotManifest, BackupManifest, CheckpointMarker).
SNAPSHOT_FIELDS = (
    "snapshot_id",
    "created_at",
    "storage_checksum",
    "schema_checksums",
    "format_version",
    "commit_boundary",
)
CHECKPOINT_FIELDS = ("snapshot_id", "created_at", "wal_truncated", "format_version")


@dataclass(frozen=True, slots=True)
class SnapshotManifest:
    """A snapshot's ``manifest.json``."""

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
class AddedSchema:
    """A schema file an archive carries in ``snapshot/schemas/`` beyond the snapshot's own."""

    name: str  # the file name, e.g. "schema_events_v1.json"
    checksum: int  # CRC-32 of its bytes
    reason: str


# The backup manifest key listing added schema files. AeroDB's restore ignores keys it does
# not know (measured), and installs every file of snapshot/schemas/ into metadata/schemas/.
ADDED_SCHEMAS_KEY = "aeroops_added_schemas"


@dataclass(frozen=True, slots=True)
class BackupManifest:
    """An archive's ``backup_manifest.json``."""

    # AeroDB's fields (its struct's, in its order), declared as the columns of the manifest's table.
    backup_id: str = column("string")
    created_at: datetime = column(UTC_TIME)
    snapshot_id: str = column("string")
    wal_present: bool = column("bool")
    format_version: int = column("int64", default=BACKUP_FORMAT_VERSION)
    added_schemas: tuple[AddedSchema, ...] = ()  # sorted by name; written only when there are some
    # aeroops' own extra key, written only when the backup was given one: which data directory
    # this is a backup of, so retention plans each source's archives apart. AeroDB's restore
    # ignores keys it does not know; without a source the manifest is byte for byte AeroDB's.
    source: str | None = column("string", default=None)

    @property
    def added_schema_map(self) -> dict[str, AddedSchema]:
        return {a.name: a for a in self.added_schemas}


BACKUP_FIELDS = tuple(name for name in specs(BackupManifest) if name != "source")  # AeroDB's struct's


SOURCE_MAX = 255  # bytes of a source name: a name, like a file's, not a document


def check_source_name(name: str) -> str:
    """``name`` if a backup manifest can record it as the source, else `UsageError`: it must be
    printable UTF-8 (it is shown in one table cell and one line), without spaces around it (two
    sources that look the same must be the same), and short (the manifest must stay within
    `BACKUP_MANIFEST_LIMIT`, or the archive would fail its own verify)."""
    if not name or name != name.strip():
        why = "it is empty or has spaces around it"
    elif not name.isprintable():  # line breaks, U+2028, a byte that was not UTF-8 (a lone surrogate)
        why = "it holds a line break, a control character or bytes that are not UTF-8"
    elif len(name.encode()) > SOURCE_MAX:
        why = f"it is longer than {SOURCE_MAX} bytes"
    else:
        return name
    raise UsageError(f"the source name {name[:60]!r} cannot be recorded: {why} (--source)")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """``checkpoint.json``: the WAL was truncated right after this snapshot."""

    snapshot_id: str
    created_at: datetime
    wal_truncated: bool = True
    format_version: int = 1
    extra: Mapping[str, Any] = field(default_factory=dict)


class _Object(dict[str, Any]):
    """A JSON object as parsed, remembering the keys it held more than once."""

    duplicates: frozenset[str] = frozenset()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)  # as serde_json fills a HashMap: the last of repeated keys wins
    if len(obj) != len(pairs):
        seen: set[str] = set()
        obj.duplicates = frozenset(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
    return obj


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_aerodb_object(
    data: bytes | str, path: object, fields: tuple[str, ...], *, code: Code = _CODE
) -> dict[str, Any]:
    """Parse as AeroDB does (``serde_json::from_str`` into a struct with ``fields``): whatever
    it refuses is refused here too. Python's `json` alone is more lenient in six ways: it skips
    a UTF-8 byte order mark, guesses UTF-16 and UTF-32, lets encoded surrogates through,
    accepts NaN and Infinity, lets a repeated field win silently, and keeps lone surrogates
    (``"\\ud800"``) in strings; serde_json refuses each of these (a repeated field is
    "duplicate field"; a lone surrogate in a string field or map key is "lone leading
    surrogate in hex escape"). Unknown fields are ignored, as serde does."""
    if isinstance(data, bytes):
        if data.startswith(b"\xef\xbb\xbf"):
            raise FormatError(
                "not valid JSON: it starts with a UTF-8 byte order mark, which AeroDB's parser refuses "
                "(expected value at line 1 column 1)",
                path=path,
                code=code,
            )
        try:
            data = data.decode("utf-8")  # strict: no BOM skipping, no UTF-16/32 guess, no surrogates
        except UnicodeDecodeError as exc:
            raise FormatError(f"not valid JSON: not UTF-8 at byte {exc.start}", path=path, code=code) from None
    try:
        value = json.loads(data, object_pairs_hook=_object, parse_constant=_refuse_constant)
    except ValueError as exc:  # JSONDecodeError included
        raise FormatError(f"not valid JSON: {exc}", path=path, code=code) from None
    except RecursionError:  # e.g. 60,000 '[': json's parser recurses once per level
        raise FormatError("not valid JSON: nested too deeply", path=path, code=code) from None
    if not isinstance(value, dict):
        raise FormatError(f"expected a JSON object, found {type(value).__name__}", path=path, code=code)
    repeated = sorted(value.duplicates & set(fields)) if isinstance(value, _Object) else []
    if repeated:
        raise FormatError(f"field {repeated[0]!r} appears more than once", path=path, code=code)
    for key in fields:
        if key in value and _has_lone_surrogate(value[key]):
            raise FormatError(
                f"field {key!r} holds a lone UTF-16 surrogate, which AeroDB's parser refuses", path=path, code=code
            )
    return value


def _has_lone_surrogate(value: object) -> bool:
    """Strings that cannot be UTF-8: json decodes ``\\ud800`` without its pair to a lone surrogate."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def _get(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], path: object) -> Any:
    if key not in obj:
        raise FormatError(f"field {key!r} is missing", path=path, code=_CODE)
    value = obj[key]
    # bool is an int in Python; JSON keeps them apart, and so do we.
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        raise FormatError(f"field {key!r} has the wrong type ({json.dumps(value)[:40]})", path=path, code=_CODE)
    return value


def _unsigned(obj: Mapping[str, Any], key: str, bits: int, path: object) -> int:
    value: int = _get(obj, key, int, path)
    if not 0 <= value < 1 << bits:
        raise FormatError(f"field {key!r} is out of range for a u{bits} ({str(value)[:40]})", path=path, code=_CODE)
    return value


def _format_version(obj: Mapping[str, Any], path: object) -> int:
    return _unsigned(obj, "format_version", 8, path)  # a u8 in each of AeroDB's three structs


def _snapshot_id(obj: Mapping[str, Any], key: str, path: object) -> str:
    value: str = _get(obj, key, str, path)
    parse_snapshot_id(value, path=path)
    return value


def _render(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, indent=2, ensure_ascii=False).encode()


# --- snapshot manifest ----------------------------------------------------------------------


def parse_snapshot_manifest(data: bytes | str, *, path: object = None) -> SnapshotManifest:
    obj = load_aerodb_object(data, path, SNAPSHOT_FIELDS)
    # Fields are checked in the order AeroDB writes them, so the first complaint is the first field.
    snapshot_id = _snapshot_id(obj, "snapshot_id", path)
    created_at = parse_timestamp(_get(obj, "created_at", str, path), path=path)
    storage_checksum = parse_crc_tag(_get(obj, "storage_checksum", str, path), path=path)
    checksums = _get(obj, "schema_checksums", dict, path)
    for name in checksums:
        if not name or "/" in name or "\x00" in name or name in (".", "..") or len(name.encode()) > NAME_MAX:
            raise FormatError(f"schema file name {name[:80]!r} is not a plain file name", path=path, code=_CODE)
    return SnapshotManifest(
        snapshot_id=snapshot_id,
        created_at=created_at,
        storage_checksum=storage_checksum,
        schema_checksums=tuple(sorted((n, parse_crc_tag(c, path=path)) for n, c in checksums.items())),
        format_version=_format_version(obj, path),
        # Option<u64> with #[serde(default)]: absent and null both mean none.
        commit_boundary=None if obj.get("commit_boundary") is None else _unsigned(obj, "commit_boundary", 64, path),
    )


def render_snapshot_manifest(manifest: SnapshotManifest) -> bytes:
    return _render(snapshot_manifest_object(manifest))


def snapshot_manifest_object(manifest: SnapshotManifest) -> dict[str, Any]:
    """The manifest as the JSON object AeroDB writes (schema checksums sorted by name)."""
    obj: dict[str, Any] = {
        "snapshot_id": manifest.snapshot_id,
        "created_at": format_timestamp(manifest.created_at),
        "storage_checksum": format_crc_tag(manifest.storage_checksum),
        "schema_checksums": {n: format_crc_tag(c) for n, c in manifest.schema_checksums},
        "format_version": manifest.format_version,
    }
    if manifest.commit_boundary is not None:
        obj["commit_boundary"] = manifest.commit_boundary
    return obj


# --- backup manifest ------------------------------------------------------------------------


def parse_backup_manifest(data: bytes | str, *, path: object = None) -> BackupManifest:
    obj = load_aerodb_object(data, path, BACKUP_FIELDS)
    return BackupManifest(
        backup_id=_snapshot_id(obj, "backup_id", path),
        created_at=parse_timestamp(_get(obj, "created_at", str, path), path=path),
        snapshot_id=_snapshot_id(obj, "snapshot_id", path),
        wal_present=_get(obj, "wal_present", bool, path),
        format_version=_format_version(obj, path),
        added_schemas=_added_schemas(obj, path) if ADDED_SCHEMAS_KEY in obj else (),
        source=_get(obj, "source", str, path) if "source" in obj else None,
    )


def _added_schemas(obj: Mapping[str, Any], path: object) -> tuple[AddedSchema, ...]:
    added = []
    listing = _get(obj, ADDED_SCHEMAS_KEY, dict, path)
    if _has_lone_surrogate(listing):
        raise FormatError(f"{ADDED_SCHEMAS_KEY} holds a lone UTF-16 surrogate", path=path, code=_CODE)
    for name, entry in listing.items():
        if not name or "/" in name or name in (".", ".."):
            raise FormatError(f"added schema name {name!r} is not a plain file name", path=path, code=_CODE)
        if not isinstance(entry, dict):
            raise FormatError(f"added schema {name!r} is not an object", path=path, code=_CODE)
        checksum = parse_crc_tag(_get(entry, "checksum", str, path), path=path)
        added.append(AddedSchema(name, checksum, _get(entry, "reason", str, path)))
    return tuple(sorted(added, key=lambda a: a.name))


def render_backup_manifest(manifest: BackupManifest) -> bytes:
    return _render(backup_manifest_object(manifest))


def backup_manifest_object(manifest: BackupManifest) -> dict[str, Any]:
    """The manifest as the JSON object it is written as: AeroDB's fields, then aeroops' own."""
    obj: dict[str, Any] = {name: getattr(manifest, name) for name in BACKUP_FIELDS}
    obj["created_at"] = format_timestamp(manifest.created_at)
    if manifest.added_schemas:
        obj[ADDED_SCHEMAS_KEY] = {
            a.name: {"checksum": format_crc_tag(a.checksum), "reason": a.reason} for a in manifest.added_schemas
        }
    if manifest.source is not None:
        obj["source"] = manifest.source
    return obj


# --- checkpoint.json ------------------------------------------------------------------------


def parse_checkpoint(data: bytes | str, *, path: object = None) -> Checkpoint:
    obj = load_aerodb_object(data, path, CHECKPOINT_FIELDS)
    known = set(CHECKPOINT_FIELDS)
    return Checkpoint(
        snapshot_id=_snapshot_id(obj, "snapshot_id", path),
        created_at=parse_timestamp(_get(obj, "created_at", str, path), path=path),
        wal_truncated=_get(obj, "wal_truncated", bool, path),
        format_version=_format_version(obj, path),
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
