"""What verification hands back: `VerifyReport` (the verdict on one archive) and its
`MemberInfo` rows, plus the sinks a caller can hand `verify_archive_stream` to see what it reads.
Plain frozen values; `aeroops.views` renders them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aeroops.errors import Finding, Severity
from aeroops.formats.manifests import BackupManifest, SnapshotManifest
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
