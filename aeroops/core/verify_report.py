"""What verification hands back: `VerifyReport` (the verdict on one archive) and its
`MemberInfo` rows, plus the sinks a caller can hand `verify_archive_stream` to see what it reads.
Plain frozen values; `aeroops.views` renders them."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aeroops.errors import Finding, Severity
from aeroops.formats.checksum import format_crc_tag
from aeroops.formats.manifests import (
    BackupManifest,
    SnapshotManifest,
    render_backup_manifest,
    render_snapshot_manifest,
)
from aeroops.formats.schemas import SchemaRef
from aeroops.formats.storage import StorageRecord
from aeroops.formats.wal import WalRecord

WalSink = Callable[[WalRecord], None]
StorageSink = Callable[[StorageRecord], None]
# data_sink(name, size): called for each regular file of the backup layout (name normalised)
# before its data is read; the function it may return then gets every byte of that member's
# data, in order, as verification reads it.
DataSink = Callable[[str, int], Callable[[bytes], None] | None]


class DigestSink(Protocol):
    """Gets every byte of the archive, in order, and gives back their digest for the sidecar
    check. The caller (the executor) makes it, and owns whatever it runs on: verification itself
    starts no thread (`aeroops.hashing.BackgroundDigest` hashes on the second core)."""

    @property
    def algorithm(self) -> str:
        """``blake3`` or ``sha256``."""
        ...

    def update(self, data: bytes, /) -> None: ...

    def tagged_digest(self) -> str:
        """``<algorithm>:<hex>`` of everything given to `update`."""
        ...


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """One tar entry as read; ``crc32`` is of its data (regular files only)."""

    name: str  # as written in the archive (a directory may end in "/")
    type: str  # "file", "directory", "symlink", "hardlink", "char_device", "block_device", "fifo", ...
    size: int
    mode: int
    mtime: int  # seconds since the epoch, as in the header
    linkname: str
    header_offset: int
    data_offset: int
    crc32: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "type": self.type,
            "size": self.size,
            "mode": self.mode,
            "mtime": self.mtime,
            "linkname": self.linkname,
            "header_offset": self.header_offset,
            "data_offset": self.data_offset,
            "checksum": None if self.crc32 is None else format_crc_tag(self.crc32),
        }


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The verdict on one archive. ``ok``: no finding of severity ERROR or FATAL."""

    archive: str
    findings: tuple[Finding, ...]
    members: tuple[MemberInfo, ...] = ()
    backup_manifest: BackupManifest | None = None
    snapshot_manifest: SnapshotManifest | None = None
    bytes_read: int = 0
    wal_record_count: int = 0
    wal_first_sequence: int | None = None
    wal_last_sequence: int | None = None
    members_not_kept: int = 0  # members past MEMBERS_KEPT: checked and counted, not listed
    digest: str | None = None  # of every byte of the archive, when computed: "blake3:<hex>" or "sha256:<hex>"
    # schema file name -> the schema it defines (files that define none are left out)
    schema_definitions: tuple[tuple[str, SchemaRef], ...] = ()
    storage_schemas: frozenset[SchemaRef] = frozenset()  # named by live storage records
    wal_schemas: frozenset[SchemaRef] = frozenset()  # named by WAL inserts and updates
    sidecar_digest: str | None = None  # what the sidecar claims, tagged the same way, when there is one
    layers: tuple[str, ...] = ()  # found by magic bytes, inside out: ("zstd", "age") for .tar.zst.age
    opened: bool = True  # False: encrypted and no identity given, only stored bytes and record checked
    plain_bytes: int | None = None  # bytes of the plain tar, when read through layers

    @property
    def ok(self) -> bool:
        return not any(f.severity in (Severity.ERROR, Severity.FATAL) for f in self.findings)

    @property
    def member_count(self) -> int:
        return len(self.members) + self.members_not_kept

    def counts(self) -> dict[str, int]:
        """Findings per severity, every severity present (0 where none)."""
        counted = Counter(str(f.severity) for f in self.findings)
        return {str(s): counted.get(str(s), 0) for s in Severity}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: manifests in AeroDB's own field names and notation."""
        return {
            "archive": self.archive,
            "ok": self.ok,
            "counts": self.counts(),
            "findings": [f.to_dict() for f in self.findings],
            "member_count": self.member_count,
            "members": [m.to_dict() for m in self.members],
            "members_not_kept": self.members_not_kept,
            "backup_manifest": manifest_dict(self.backup_manifest),
            "snapshot_manifest": manifest_dict(self.snapshot_manifest),
            "bytes_read": self.bytes_read,
            "wal_record_count": self.wal_record_count,
            "wal_first_sequence": self.wal_first_sequence,
            "wal_last_sequence": self.wal_last_sequence,
            "digest": self.digest,
            "sidecar_digest": self.sidecar_digest,
            "layers": list(self.layers),
            "opened": self.opened,
            "plain_bytes": self.plain_bytes,
        }


def manifest_dict(manifest: BackupManifest | SnapshotManifest | None) -> dict[str, Any] | None:
    """A manifest as AeroDB writes it, as a dict (schema checksums sorted by name)."""
    if manifest is None:
        return None
    if isinstance(manifest, BackupManifest):
        return json.loads(render_backup_manifest(manifest))
    return json.loads(render_snapshot_manifest(manifest))
