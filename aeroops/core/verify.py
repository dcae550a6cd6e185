"""Verify a backup archive in one streaming pass, without extracting anything.

`verify_archive_stream` reads the tar once, in 1 MiB chunks, and keeps nothing but the two
manifests (capped in size), one CRC per member and the WAL's running sequence: memory stays
bounded whatever the archive's size. It reports every finding, not only the first, each with the
member it concerns, its byte offset **in the archive file** and, for the WAL, the sequence
number. The verdict is a value, `VerifyReport`; views (text, JSON, DataFrame) render it.

After damage to the tar layer itself the member boundaries are lost, so verification stops
there (and says what it could not check); after damage inside a member's contents it carries
on with the next member. In the WAL, framing damage (length, checksum, type, torn tail) is
reported once, as no record boundary can be trusted after it, while each sequence gap or
repeat is reported and reading goes on.

Finding codes (from the catalogue, `aeroops.errors.Code`; a test keeps this table in step):

=============================  ========  ==========================================================
code                           severity  meaning
=============================  ========  ==========================================================
AERO_TAR_CHECKSUM              ERROR     a header's checksum does not match its bytes
AERO_TAR_HEADER                ERROR     a header field is malformed, or a lone zero block
AERO_TAR_TRUNCATED             ERROR     the archive ends inside a header, data or end blocks
AERO_TAR_MEMBER_TOO_LARGE      ERROR     a member declares more bytes than allowed
AERO_VERIFY_STOPPED            INFO      what could not be checked after tar damage
AERO_VERIFY_TRAILING_DATA      ERROR     non-zero bytes after the end-of-archive blocks
AERO_VERIFY_UNSAFE_MEMBER      ERROR     absolute name, ``..``, a link of any kind, a device, a
                                         FIFO, an entry type aeroops does not read (pax, sparse…),
                                         or setuid/setgid/sticky mode bits
AERO_VERIFY_UNEXPECTED_MEMBER  ERROR     a name DESIGN.md §3 does not list, or the wrong type
AERO_VERIFY_DUPLICATE_MEMBER   ERROR     a name seen twice (``snapshot`` and ``snapshot/`` are one)
AERO_VERIFY_MISSING_MEMBER     ERROR     a required member, or a schema file the manifest lists
AERO_VERIFY_NO_WAL_DIR         WARNING   no ``wal/`` member: AeroDB's own restore rejects the
                                         archive (AeroDB's backup writes such archives)
AERO_VERIFY_MEMBER_ORDER       WARNING   members out of sorted order (inventory reads only the first)
AERO_VERIFY_MANIFEST           ERROR     a manifest does not parse, is too large, or disagrees
                                         (format_version, backup_id ≠ snapshot_id, snapshot ids,
                                         wal_present against the members, commit_boundary)
AERO_VERIFY_MANIFEST_FORM      WARNING   a manifest means what it should but its bytes are not
                                         what AeroDB writes: it was edited after writing
AERO_VERIFY_CREATED_AT         WARNING   snapshot created_at is not the time its id names, or the
                                         backup claims to be older than its snapshot
AERO_VERIFY_CHECKSUM           ERROR     storage.dat or a schema file differs from its manifest CRC
AERO_VERIFY_SCHEMA_UNLISTED    ERROR     a schema file the snapshot manifest does not list (nor the
                                         backup manifest's ``aeroops_added_schemas``)
AERO_VERIFY_SCHEMA_MISSING     ERROR     live storage records or WAL inserts/updates name a schema no
                                         schema file of the archive defines: a restore fails to boot
                                         (storage), or boots once and then fails (WAL only), with
                                         AeroDB's AERO_RECOVERY_SCHEMA_MISSING
AERO_WAL_LENGTH                ERROR     WAL framing: impossible record length (reading stops)
AERO_WAL_CHECKSUM              ERROR     WAL framing: record CRC mismatch (reading stops)
AERO_WAL_TORN_TAIL             ERROR     WAL framing: the log ends inside a record (reading stops)
AERO_WAL_TYPE                  ERROR     WAL: unknown record type (reading stops)
AERO_WAL_SEQUENCE              ERROR     WAL: first sequence not 1, a gap, or a repeat (per record)
AERO_WAL_PAYLOAD               ERROR     WAL payload does not decode (only when records are decoded,
                                         as `aeroops.core.inspect` does)
AERO_STORAGE_*                 ERROR     storage record damage (only when storage records are
                                         parsed, as `aeroops.core.inspect` does)
AERO_VERIFY_SIDECAR            ERROR     the archive's digest differs from its sidecar (``.b3``:
                                         BLAKE3, ``.sha256``: SHA-256), or the sidecar is malformed
                                         or names another file
AERO_VERIFY_NO_SIDECAR         WARNING   no sidecar beside the archive: changes that keep its meaning
                                         (padding, created_at) go unseen (`verify_archive`)
AERO_VERIFY_TOO_MANY           INFO      findings (past 1000 of a code, 5000 in all) or members (past
                                         10,000) were counted, not listed: how many
AERO_VERIFY_TOO_MANY_MEMBERS   ERROR     more than 10,000 members: later ones are checked alone, not
                                         against the others (duplicates, listed schema files)
AERO_VERIFY_IO                 FATAL     the archive cannot be read at all (`verify_archive`)
AERO_VERIFY_INTERNAL           FATAL     aeroops itself failed on the archive (a bug; logged with its
                                         traceback): `aeroops.executor.audit.verify_archive`'s net
=============================  ========  ==========================================================

What is left to the sidecar: changes that keep the archive's meaning identical (zero padding
after member data, equivalent spellings of a header checksum field, the backup manifest's
``created_at`` when it stays later than the snapshot) are invisible to the checks above; the
sidecar's digest (BLAKE3 or SHA-256, see `aeroops.formats.sidecar`) catches every change.

Storage records are not parsed here by default: the snapshot manifest's CRC of ``storage.dat``
covers every byte, and a per-record Python pass would cost several times the CRC. The WAL has
no whole-file checksum, so it is read record by record.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

from aeroops.core.logical import MissingSchemas
from aeroops.errors import Code, Finding, FormatError, Severity, UsageError
from aeroops.formats.checksum import crc32, format_crc_tag, parse_crc_tag
from aeroops.formats.ids import format_timestamp, parse_snapshot_id
from aeroops.formats.layout import (
    BACKUP_MANIFEST,
    SCHEMA_PREFIX,
    SCHEMAS_DIR,
    SNAPSHOT_DIR,
    SNAPSHOT_MANIFEST,
    STORAGE,
    WAL_DIR,
    WAL_LOG,
)
from aeroops.formats.manifests import (
    BACKUP_FORMAT_VERSION,
    NAME_MAX,
    SNAPSHOT_FORMAT_VERSIONS,
    BackupManifest,
    SnapshotManifest,
    parse_backup_manifest,
    parse_snapshot_manifest,
    render_backup_manifest,
    render_snapshot_manifest,
)
from aeroops.formats.schemas import (
    SCHEMA_FILE_LIMIT,
    SchemaRef,
    StorageSchemaRefs,
    add_wal_schema_refs,
    parse_schema_ref,
)
from aeroops.formats.sidecar import DISPLAY_NAMES, check_algorithm, format_digest, split_digest
from aeroops.formats.storage import StorageRecord, iter_storage
from aeroops.formats.tar import EntryType, TarEntry, TarReader
from aeroops.formats.wal import WalRecord, iter_wal_batches
from aeroops.hashing import BackgroundDigest
from aeroops.progress import Progress, ProgressCallback

CHUNK = 1 << 20
# DESIGN.md §3, as (normalised name, entry type); schema files come on top.
LAYOUT: dict[str, EntryType] = {
    BACKUP_MANIFEST: EntryType.FILE,
    SNAPSHOT_DIR: EntryType.DIRECTORY,
    SNAPSHOT_MANIFEST: EntryType.FILE,
    SCHEMAS_DIR: EntryType.DIRECTORY,
    STORAGE: EntryType.FILE,
    WAL_DIR: EntryType.DIRECTORY,
    WAL_LOG: EntryType.FILE,
}
REQUIRED = (BACKUP_MANIFEST, SNAPSHOT_DIR, SNAPSHOT_MANIFEST, SCHEMAS_DIR, STORAGE)
BACKUP_MANIFEST_LIMIT = 64 << 10
SNAPSHOT_MANIFEST_LIMIT = 4 << 20  # thousands of schema files still fit
# Bounded memory whatever the archive: past these, findings and members are counted, not kept,
# and the report says how many were left out (AERO_VERIFY_TOO_MANY).
FINDINGS_PER_CODE = 1000
FINDINGS_KEPT = 5000  # of all codes together
MEMBERS_KEPT = 10_000  # MemberInfo rows in the report
# A backup archive holds 7 members plus one per schema file; past this many distinct names,
# members are checked one by one but no longer against each other (duplicates, listed schema
# files), which is an ERROR (AERO_VERIFY_TOO_MANY_MEMBERS), so the verdict is never ok by omission.
MEMBER_NAMES_KEPT = 10_000
LONGEST_NAME = len(SCHEMA_PREFIX) + NAME_MAX  # no member name of a backup archive is longer
NAME_SHOWN = 100  # characters of a longer name shown in reports

_UNSAFE_TYPES = {
    EntryType.SYMLINK: "a symbolic link",
    EntryType.HARDLINK: "a hard link",
    EntryType.CHAR_DEVICE: "a character device",
    EntryType.BLOCK_DEVICE: "a block device",
    EntryType.FIFO: "a FIFO",
}

WalSink = Callable[[WalRecord], None]
StorageSink = Callable[[StorageRecord], None]
# data_sink(name, size): called for each regular file of the backup layout (name normalised)
# before its data is read; the function it may return then gets every byte of that member's
# data, in order, as verification reads it.
DataSink = Callable[[str, int], Callable[[bytes], None] | None]


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
        }


def manifest_dict(manifest: BackupManifest | SnapshotManifest | None) -> dict[str, Any] | None:
    """A manifest as AeroDB writes it, as a dict (schema checksums sorted by name)."""
    if manifest is None:
        return None
    if isinstance(manifest, BackupManifest):
        return json.loads(render_backup_manifest(manifest))
    return json.loads(render_snapshot_manifest(manifest))


def verify_archive_stream(
    stream: BinaryIO,
    *,
    name: str,
    sidecar_digest: str | None = None,
    progress: ProgressCallback | None = None,
    total_bytes: int = 0,
    compute_digest: str | None = None,
    extra_findings: Iterable[Finding] = (),
    wal_sink: WalSink | None = None,
    storage_sink: StorageSink | None = None,
    data_sink: DataSink | None = None,
) -> VerifyReport:
    """Verify the archive read from ``stream`` (consumed to its end) and return the verdict.

    name: how reports call the archive. sidecar_digest: the tagged digest its sidecar claims
    (``blake3:<hex>`` or ``sha256:<hex>``), if any. total_bytes: the archive's size, for progress.
    compute_digest: the algorithm to hash every byte with (default: the sidecar's, and none
    without a sidecar, as hashing costs more than the CRCs); naming another algorithm than the
    sidecar's raises `UsageError`, as the two digests could not be compared.
    extra_findings: findings the caller made before (an unreadable sidecar), kept in the report.
    wal_sink / storage_sink: called with each WAL record / storage record, for callers that
    summarise contents (inspect); a `FormatError` they raise becomes a finding. Giving a
    storage sink makes verification parse storage records too. data_sink: see `DataSink`
    (restore extracts with it, in the same pass); what it raises ends the verification.
    """
    claimed = None if sidecar_digest is None else split_digest(sidecar_digest)
    if compute_digest is None and claimed is not None:
        compute_digest = claimed[0]
    elif compute_digest is not None and claimed is not None and compute_digest != claimed[0]:
        raise UsageError(f"the sidecar's digest is {claimed[0]}, so it cannot be checked with {compute_digest}")
    hasher = None if compute_digest is None else BackgroundDigest(check_algorithm(compute_digest))
    reader = _CountingReader(stream, name, hasher, progress, total_bytes)
    verification = _Verification(reader, wal_sink, storage_sink, data_sink)
    for finding in extra_findings:
        verification.findings.add(finding)
    try:
        verification.run()
    finally:
        reader.close()  # also when reading fails: the hashing thread must not linger
    digest = reader.tagged_digest()
    if claimed is not None and digest is not None:
        algorithm, found = split_digest(digest)
        if found != claimed[1]:
            verification.findings.add(
                Finding.of(
                    Code.VERIFY_SIDECAR,
                    f"the archive's {DISPLAY_NAMES[algorithm]} digest is {found}, its sidecar says {claimed[1]}",
                )
            )
    reader.report(final=True)
    return VerifyReport(
        archive=name,
        findings=verification.findings.done(verification.members_not_kept),
        members=tuple(verification.members),
        members_not_kept=verification.members_not_kept,
        backup_manifest=verification.backup_manifest,
        snapshot_manifest=verification.snapshot_manifest,
        bytes_read=reader.count,
        wal_record_count=verification.wal_records,
        wal_first_sequence=verification.wal_first,
        wal_last_sequence=verification.wal_last,
        schema_definitions=tuple(sorted(verification.defined_schemas.items())),
        storage_schemas=frozenset(SchemaRef(*ref) for ref in verification.storage_schemas),
        wal_schemas=frozenset(SchemaRef(*ref) for ref in verification.wal_schemas),
        digest=digest,
        sidecar_digest=None if claimed is None else format_digest(*claimed),
    )


# --- readers ----------------------------------------------------------------------------------


class _CountingReader:
    """Passes reads through, counting, hashing (for the sidecar) and reporting progress."""

    def __init__(
        self,
        stream: BinaryIO,
        name: str,
        digest: BackgroundDigest | None,
        progress: ProgressCallback | None,
        total: int,
    ) -> None:
        self._stream = stream
        self._name = name
        self._digest = digest
        self._progress = progress
        self._total = total
        self._reported = 0
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        if self._digest is not None:
            self._digest.update(data)
        self.count += len(data)
        if self._progress is not None and self.count - self._reported >= CHUNK:
            self.report()
        return data

    def drain(self) -> None:
        """Read what is left, so the hash covers the whole file."""
        while self.read(CHUNK):
            pass

    def report(self, *, final: bool = False) -> None:
        if self._progress is not None:
            self._reported = self.count
            total = self._total or (self.count if final else 0)
            self._progress(Progress("verify", f"verify {self._name}", 1, 1, self.count, total))

    def tagged_digest(self) -> str | None:
        return None if self._digest is None else self._digest.tagged_digest()

    def close(self) -> None:
        if self._digest is not None:
            self._digest.close()


class _TarBroken(Exception):
    """Tar damage met while a format reader pulls a member's chunks: kept apart from the
    format reader's own errors, because it ends the whole verification, not one member."""

    def __init__(self, error: FormatError) -> None:
        super().__init__(str(error))
        self.error = error


class _MemberReader:
    """A ``.read()`` over one member's streamed chunks (for iter_wal and iter_storage), taking
    the member's CRC on the way; nothing beyond one chunk is held."""

    def __init__(self, chunks: Iterator[bytes], on_chunk: Callable[[bytes], None] | None = None) -> None:
        self._chunks = chunks
        self._on_chunk = on_chunk
        self._buffer = b""
        self.crc = 0

    def _next_chunk(self) -> bytes:
        try:
            chunk = next(self._chunks, b"")
        except FormatError as error:
            raise _TarBroken(error) from None
        if self._on_chunk is not None:
            self._on_chunk(chunk)
        return chunk

    def read(self, n: int = -1) -> bytes:
        if not self._buffer:
            self._buffer = self._next_chunk()
        if n < 0 or n >= len(self._buffer):
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:n], self._buffer[n:]
        self.crc = crc32(data, self.crc)
        return data

    def drain(self) -> int:
        """Consume the rest of the member; returns the CRC of all of it."""
        while self.read(CHUNK):
            pass
        return self.crc


# --- findings ---------------------------------------------------------------------------------


class _Findings:
    """Collects findings, keeping at most FINDINGS_PER_CODE of each code and FINDINGS_KEPT in all;
    the others are counted."""

    def __init__(self) -> None:
        self._kept: list[Finding] = []
        self._per_code: Counter[Code] = Counter()
        self._not_kept: Counter[Code] = Counter()

    def add(self, finding: Finding) -> None:
        self._per_code[finding.code] += 1
        if self._per_code[finding.code] <= FINDINGS_PER_CODE and len(self._kept) < FINDINGS_KEPT:
            self._kept.append(finding)
        else:
            self._not_kept[finding.code] += 1

    def new(
        self,
        code: Code,
        message: str,
        *,
        path: str | None = None,
        offset: int | None = None,
        sequence: int | None = None,
    ) -> None:
        self.add(Finding.of(code, message, path, offset, sequence))

    def error(self, error: FormatError, *, path: str | None, base: int = 0, sequence: int | None = None) -> None:
        """A format reader's error; its offset is within the member, made an archive offset."""
        offset = None if error.offset is None else base + error.offset
        at = error.sequence if error.sequence is not None else sequence
        self.add(Finding(error.code, error.severity, error.message, path, offset, at))

    def any(self, matches: Callable[[Finding], bool]) -> bool:
        return any(matches(f) for f in self._kept)

    def done(self, members_not_kept: int = 0) -> tuple[Finding, ...]:
        extra = [
            Finding.of(Code.VERIFY_TOO_MANY, f"{n:,} more {code} findings were counted but not listed")
            for code, n in self._not_kept.items()
        ]
        if members_not_kept:
            extra.append(
                Finding.of(
                    Code.VERIFY_TOO_MANY,
                    f"{members_not_kept:,} more members were checked but not listed (the first {MEMBERS_KEPT:,} are)",
                )
            )
        return (*self._kept, *extra)


# --- the pass ---------------------------------------------------------------------------------


def _kind(entry: TarEntry) -> str:
    return entry.type.name.lower()


def _normalised(entry: TarEntry) -> str:
    """Directory names with or without their trailing slash are one name (AeroDB writes none)."""
    if entry.type == EntryType.DIRECTORY and entry.name.endswith("/") and len(entry.name) > 1:
        return entry.name[:-1]
    return entry.name


def _unsafe_reasons(entry: TarEntry) -> list[str]:
    reasons = []
    name = entry.name
    if not name:
        reasons.append("its name is empty")
    if name.startswith("/"):
        reasons.append("its name is absolute")
    if ".." in name.split("/"):
        reasons.append("its name climbs out with '..'")
    if entry.type in _UNSAFE_TYPES:
        target = f" to {entry.linkname!r}" if entry.type in (EntryType.SYMLINK, EntryType.HARDLINK) else ""
        reasons.append(f"it is {_UNSAFE_TYPES[entry.type]}{target}")
    if entry.type == EntryType.OTHER:
        reasons.append(
            f"its entry type {entry.typeflag!r} is one aeroops does not read "
            "(a pax or vendor header can rename or reshape the next member)"
        )
    if entry.mode & 0o7000:
        reasons.append(f"its mode {entry.mode & 0o7777:04o} sets setuid, setgid or sticky bits")
    return reasons


def _schema_file(name: str) -> str | None:
    """The schema file name for ``snapshot/schemas/<file>``, else None."""
    if not name.startswith(SCHEMA_PREFIX):
        return None
    rest = name[len(SCHEMA_PREFIX) :]
    plain = rest and "/" not in rest and rest not in (".", "..")
    return rest if plain and len(rest.encode("utf-8", "surrogateescape")) <= NAME_MAX else None


class _Verification:
    def __init__(
        self,
        reader: _CountingReader,
        wal_sink: WalSink | None,
        storage_sink: StorageSink | None,
        data_sink: DataSink | None,
    ) -> None:
        self.reader = reader
        self.wal_sink = wal_sink
        self.storage_sink = storage_sink
        self.data_sink = data_sink
        self.findings = _Findings()
        self.members: list[MemberInfo] = []
        self.members_not_kept = 0
        self._too_many_names = False
        self.present: set[str] = set()  # normalised names of safe members of the right type
        self.seen: set[str] = set()  # normalised names of every member
        self.file_crcs: list[tuple[str, int, int]] = []  # (name, data offset, CRC) of storage and schemas
        self.schema_files: dict[str, str] = {}  # file name -> member name
        self.backup_manifest: BackupManifest | None = None
        self.snapshot_manifest: SnapshotManifest | None = None
        self.wal_records = 0
        self.wal_first: int | None = None
        self.defined_schemas: dict[str, SchemaRef] = {}  # schema file name -> the schema it defines
        self.storage_schemas: set[tuple[str, str]] = set()  # named by live storage records
        self.wal_schemas: set[tuple[str, str]] = set()  # named by WAL inserts and updates
        self.wal_last: int | None = None
        self._previous_name: str | None = None
        self._reading: str | None = None  # the member whose data is being read

    def run(self) -> None:
        tar = TarReader(self.reader)
        damaged = False
        try:
            for entry in tar:
                self._member(tar, entry)
            trailing = tar.trailing_bytes()
            if trailing < 0:
                self.findings.new(
                    Code.VERIFY_TRAILING_DATA,
                    "non-zero bytes follow the end-of-archive blocks",
                    offset=tar.end_offset,
                )
        except (FormatError, _TarBroken) as raised:
            error = raised.error if isinstance(raised, _TarBroken) else raised
            self.findings.error(error, path=self._reading)
            self.findings.new(
                Code.VERIFY_STOPPED,
                "member boundaries are lost after this damage: later members, and whether required "
                "ones are missing, were not checked",
                offset=error.offset,
            )
            damaged = True
        self.reader.drain()
        self._check_manifests()
        self._check_checksums()
        if not damaged:
            self._check_completeness()
            self._check_schemas()

    # --- one member ---------------------------------------------------------------------------

    def _member(self, tar: TarReader, entry: TarEntry) -> None:
        name_bytes = entry.name_bytes or len(entry.name.encode("utf-8", "surrogateescape"))
        if name_bytes > LONGEST_NAME:  # shown shortened, kept nowhere: it cannot be a name of the layout
            entry = replace(entry, name=f"{entry.name[:NAME_SHOWN]}…[{name_bytes:,} bytes]")
        name = _normalised(entry)
        where: dict[str, Any] = {"path": entry.name, "offset": entry.header_offset}
        if name_bytes > LONGEST_NAME:
            self.findings.new(
                Code.VERIFY_UNEXPECTED_MEMBER,
                f"a member name of {name_bytes:,} bytes: no name in a backup archive is longer than {LONGEST_NAME}",
                **where,
            )
            self._done(entry, self._crc_of(tar, entry))
            return
        if name not in self.seen and name not in LAYOUT and len(self.seen) >= MEMBER_NAMES_KEPT:
            if not self._too_many_names:
                self._too_many_names = True
                self.findings.new(
                    Code.VERIFY_TOO_MANY_MEMBERS,
                    f"the archive has more than {MEMBER_NAMES_KEPT:,} members (a backup archive has 7 and one "
                    "per schema file): from here on each member is checked alone, not against the others",
                    **where,
                )
            self._unsafe_or_unexpected_alone(tar, entry)
            return
        if self._previous_name is not None and entry.name < self._previous_name:
            self.findings.new(
                Code.VERIFY_MEMBER_ORDER,
                f"{entry.name!r} follows {self._previous_name!r} but sorts before it: members are out of order",
                **where,
            )
        self._previous_name = entry.name
        if name in self.seen:
            self.findings.new(
                Code.VERIFY_DUPLICATE_MEMBER,
                f"{name!r} appears more than once; extracting would keep only the last",
                **where,
            )
        self.seen.add(name)

        unsafe = _unsafe_reasons(entry)
        if unsafe:
            self.findings.new(Code.VERIFY_UNSAFE_MEMBER, "; ".join(unsafe), **where)
            self._done(entry, self._crc_of(tar, entry))
            return

        expected_type = LAYOUT.get(name)
        schema = _schema_file(name)
        if schema is not None:
            expected_type = EntryType.FILE
        if expected_type is None:
            self.findings.new(
                Code.VERIFY_UNEXPECTED_MEMBER,
                f"{entry.name!r} is not part of a backup archive (format version 1)",
                **where,
            )
            self._done(entry, self._crc_of(tar, entry))
            return
        if entry.type != expected_type:
            self.findings.new(
                Code.VERIFY_UNEXPECTED_MEMBER,
                f"{entry.name!r} is a {_kind(entry)} entry where a backup archive has a {expected_type.name.lower()}",
                **where,
            )
            self._done(entry, self._crc_of(tar, entry))
            return
        if entry.type == EntryType.DIRECTORY:
            if entry.size:
                self.findings.new(
                    Code.VERIFY_UNEXPECTED_MEMBER,
                    f"directory entry {entry.name!r} carries {entry.size} bytes of data",
                    **where,
                )
            self.present.add(name)
            self._done(entry, None)
            return

        self.present.add(name)
        self._reading = entry.name
        if self.data_sink is not None:
            tar.tee = self.data_sink(name, entry.size)
        try:
            crc = self._file(tar, entry, name, schema)
        finally:
            tar.tee = None
        self._reading = None
        self._done(entry, crc)

    def _file(self, tar: TarReader, entry: TarEntry, name: str, schema: str | None) -> int | None:
        """Read and check one regular file of the layout; its CRC."""
        crc: int | None
        if name == BACKUP_MANIFEST:
            crc = self._backup_manifest(tar, entry)
        elif name == SNAPSHOT_MANIFEST:
            crc = self._snapshot_manifest(tar, entry)
        elif name == WAL_LOG:
            crc = self._wal(tar, entry)
        elif name == STORAGE:
            crc = self._storage(tar, entry)
            self.file_crcs.append((entry.name, entry.data_offset, crc))
        else:
            assert schema is not None
            if entry.size <= SCHEMA_FILE_LIMIT:  # read whole, for the schema it defines
                data = tar.read_all(SCHEMA_FILE_LIMIT)
                crc = crc32(data)
                with contextlib.suppress(FormatError):  # defines none: a restore would not boot, see below
                    self.defined_schemas.setdefault(schema, parse_schema_ref(data, path=entry.name))
            else:
                crc = self._crc_of(tar, entry)
            self.schema_files.setdefault(schema, entry.name)
            if crc is not None:  # a regular file (only those reach here: others are refused first)
                self.file_crcs.append((entry.name, entry.data_offset, crc))
        return crc

    def _unsafe_or_unexpected_alone(self, tar: TarReader, entry: TarEntry) -> None:
        """A member past MEMBER_NAMES_KEPT: what can be judged of it alone, and its CRC."""
        where: dict[str, Any] = {"path": entry.name, "offset": entry.header_offset}
        unsafe = _unsafe_reasons(entry)
        if unsafe:
            self.findings.new(Code.VERIFY_UNSAFE_MEMBER, "; ".join(unsafe), **where)
        elif _normalised(entry) not in LAYOUT and _schema_file(_normalised(entry)) is None:
            self.findings.new(
                Code.VERIFY_UNEXPECTED_MEMBER,
                f"{entry.name!r} is not part of a backup archive (format version 1)",
                **where,
            )
        self._done(entry, self._crc_of(tar, entry))

    def _done(self, entry: TarEntry, crc: int | None) -> None:
        if len(self.members) >= MEMBERS_KEPT:
            self.members_not_kept += 1
            return
        self.members.append(
            MemberInfo(
                name=entry.name,
                type=_kind(entry),
                size=entry.size,
                mode=entry.mode,
                mtime=entry.mtime,
                linkname=entry.linkname,
                header_offset=entry.header_offset,
                data_offset=entry.data_offset,
                crc32=crc,
            )
        )

    def _crc_of(self, tar: TarReader, entry: TarEntry) -> int | None:
        """CRC of a regular file's data (others carry none worth a checksum)."""
        if entry.type not in (EntryType.FILE, EntryType.CONTIGUOUS):
            return None
        self._reading = entry.name
        crc = 0
        for chunk in tar.chunks():
            crc = crc32(chunk, crc)
        self._reading = None
        return crc

    def _read_manifest(self, tar: TarReader, entry: TarEntry, limit: int) -> tuple[bytes | None, int]:
        if entry.size > limit:
            self.findings.new(
                Code.VERIFY_MANIFEST,
                f"{entry.name} is {entry.size} bytes; a manifest is at most {limit}",
                path=entry.name,
                offset=entry.data_offset,
            )
            crc = self._crc_of(tar, entry)
            return None, crc or 0
        data = tar.read_all(limit)
        return data, crc32(data)

    def _manifest_error(self, entry: TarEntry, message: str) -> None:
        self.findings.new(Code.VERIFY_MANIFEST, message, path=entry.name, offset=entry.data_offset)

    def _not_as_written(self, entry: TarEntry, data: bytes, canonical: bytes) -> None:
        if data != canonical:
            at = next((i for i, (a, b) in enumerate(zip(data, canonical, strict=False)) if a != b), None)
            at = min(len(data), len(canonical)) if at is None else at
            self.findings.new(
                Code.VERIFY_MANIFEST_FORM,
                f"{entry.name} means the same but is not byte for byte what AeroDB writes "
                f"(first difference at byte {at} of the file): it was changed after it was written",
                path=entry.name,
                offset=entry.data_offset + at,
            )

    def _backup_manifest(self, tar: TarReader, entry: TarEntry) -> int:
        data, crc = self._read_manifest(tar, entry, BACKUP_MANIFEST_LIMIT)
        if data is None:
            return crc
        try:
            manifest = parse_backup_manifest(data, path=entry.name)
        except FormatError as error:
            self._manifest_error(entry, error.message)
            return crc
        if self.backup_manifest is None:
            self.backup_manifest = manifest
        self._not_as_written(entry, data, render_backup_manifest(manifest))
        if manifest.format_version != BACKUP_FORMAT_VERSION:
            self._manifest_error(
                entry, f"format_version is {manifest.format_version}; aeroops reads {BACKUP_FORMAT_VERSION}"
            )
        if manifest.backup_id != manifest.snapshot_id:
            self._manifest_error(entry, f"backup_id {manifest.backup_id} is not the snapshot_id {manifest.snapshot_id}")
        return crc

    def _snapshot_manifest(self, tar: TarReader, entry: TarEntry) -> int:
        data, crc = self._read_manifest(tar, entry, SNAPSHOT_MANIFEST_LIMIT)
        if data is None:
            return crc
        try:
            manifest = parse_snapshot_manifest(data, path=entry.name)
        except FormatError as error:
            self._manifest_error(entry, error.message)
            return crc
        if self.snapshot_manifest is None:
            self.snapshot_manifest = manifest
        # AeroDB writes schema_checksums in no fixed order: compare in the order found.
        in_file_order = json.loads(data)["schema_checksums"]
        written = tuple((n, parse_crc_tag(c)) for n, c in in_file_order.items())
        self._not_as_written(entry, data, render_snapshot_manifest(replace(manifest, schema_checksums=written)))
        if manifest.format_version not in SNAPSHOT_FORMAT_VERSIONS:
            self._manifest_error(entry, f"format_version is {manifest.format_version}; AeroDB writes 1 or 2")
        elif (manifest.format_version == 2) != (manifest.commit_boundary is not None):
            self._manifest_error(
                entry,
                f"format_version {manifest.format_version} "
                + ("needs a commit_boundary" if manifest.format_version == 2 else "has no commit_boundary"),
            )
        if format_timestamp(manifest.created_at) != format_timestamp(parse_snapshot_id(manifest.snapshot_id)):
            self.findings.new(
                Code.VERIFY_CREATED_AT,
                f"created_at {format_timestamp(manifest.created_at)} is not the time snapshot_id "
                f"{manifest.snapshot_id} names (AeroDB reads the clock twice, so a one-second "
                "difference can happen, rarely; more means the manifest was changed)",
                path=entry.name,
                offset=entry.data_offset,
            )
        return crc

    def _storage(self, tar: TarReader, entry: TarEntry) -> int:
        walk = StorageSchemaRefs()  # which schemas live records name: C, per chunk
        reader = _MemberReader(tar.chunks(), walk.feed)
        self.storage_schemas = walk.refs
        if self.storage_sink is not None:
            try:
                for record in iter_storage(reader, path=entry.name):
                    try:
                        self.storage_sink(record)
                    except FormatError as error:
                        self.findings.error(error, path=entry.name, base=entry.data_offset)
            except FormatError as error:
                self.findings.error(error, path=entry.name, base=entry.data_offset)
        return reader.drain()

    def _wal(self, tar: TarReader, entry: TarEntry) -> int:
        reader = _MemberReader(tar.chunks())

        def gap(record: WalRecord, expected: int) -> None:  # every gap is reported, not just the first
            self.findings.new(
                Code.WAL_SEQUENCE,
                _sequence_problem(record.sequence, expected),
                path=entry.name,
                offset=entry.data_offset + record.offset,
                sequence=record.sequence,
            )

        try:
            for batch in iter_wal_batches(reader, path=entry.name, on_gap=gap):
                self.wal_records += len(batch)
                add_wal_schema_refs(batch, self.wal_schemas)
                if self.wal_first is None:
                    self.wal_first = batch[0].sequence
                self.wal_last = batch[-1].sequence
                if self.wal_sink is not None:
                    for record in batch:
                        try:
                            self.wal_sink(record)
                        except FormatError as error:
                            self.findings.error(
                                error, path=entry.name, base=entry.data_offset, sequence=record.sequence
                            )
        except FormatError as error:
            self.findings.error(error, path=entry.name, base=entry.data_offset)
        return reader.drain()

    # --- after the pass -----------------------------------------------------------------------

    def _check_manifests(self) -> None:
        backup, snapshot = self.backup_manifest, self.snapshot_manifest
        if backup is None or snapshot is None:
            return
        if backup.snapshot_id != snapshot.snapshot_id:
            self.findings.new(
                Code.VERIFY_MANIFEST,
                f"the backup manifest names snapshot {backup.snapshot_id}, the snapshot manifest "
                f"{snapshot.snapshot_id}",
                path=SNAPSHOT_MANIFEST,
            )
        if backup.created_at < snapshot.created_at:
            self.findings.new(
                Code.VERIFY_CREATED_AT,
                f"the backup's created_at {format_timestamp(backup.created_at)} is before its snapshot's "
                f"{format_timestamp(snapshot.created_at)}",
                path=BACKUP_MANIFEST,
            )

    def _check_checksums(self) -> None:
        manifest = self.snapshot_manifest
        if manifest is None:
            return
        listed = manifest.schema_checksum_map
        # Schemas the backup added (created after the snapshot) carry their CRC in its manifest.
        added = self.backup_manifest.added_schema_map if self.backup_manifest is not None else {}
        for member, offset, crc in self.file_crcs:
            if member == STORAGE:
                expected = manifest.storage_checksum
            else:
                schema = member[len(SCHEMA_PREFIX) :]
                schema_checksum = listed.get(schema, added[schema].checksum if schema in added else None)
                if schema_checksum is None:
                    self.findings.new(
                        Code.VERIFY_SCHEMA_UNLISTED,
                        f"{member} is not listed in the snapshot manifest's schema_checksums",
                        path=member,
                        offset=offset,
                    )
                    continue
                expected = schema_checksum
            if crc != expected:
                self.findings.new(
                    Code.VERIFY_CHECKSUM,
                    f"{member} has checksum {format_crc_tag(crc)}; the "
                    f"{'snapshot' if member == STORAGE or schema in listed else 'backup'} manifest says "
                    f"{format_crc_tag(expected)}",
                    path=member,
                    offset=offset,
                )

    def _check_completeness(self) -> None:
        for required in REQUIRED:
            if required not in self.present:
                self.findings.new(
                    Code.VERIFY_MISSING_MEMBER,
                    f"the archive has no {required!r}",
                    path=required,
                )
        if WAL_DIR not in self.present:
            self.findings.new(
                Code.VERIFY_NO_WAL_DIR,
                "the archive has no 'wal' directory: AeroDB's own restore rejects it "
                "(AeroDB's backup leaves it out when there is no WAL; DESIGN.md §3 keeps an empty one)",
                path=WAL_DIR,
            )
        if self.backup_manifest is not None:
            has_log = WAL_LOG in self.present
            if self.backup_manifest.wal_present and not has_log:
                self.findings.new(
                    Code.VERIFY_MANIFEST,
                    "wal_present is true but the archive has no wal/wal.log",
                    path=BACKUP_MANIFEST,
                )
            elif has_log and not self.backup_manifest.wal_present:
                self.findings.new(
                    Code.VERIFY_MANIFEST,
                    "wal_present is false but the archive holds wal/wal.log",
                    path=BACKUP_MANIFEST,
                )
        if self.backup_manifest is not None:
            listed = self.snapshot_manifest.schema_checksum_map if self.snapshot_manifest is not None else {}
            for added in self.backup_manifest.added_schemas:
                if added.name in listed:
                    self.findings.new(
                        Code.VERIFY_MANIFEST,
                        f"the backup manifest adds {added.name}, which the snapshot manifest lists already",
                        path=BACKUP_MANIFEST,
                    )
                elif added.name not in self.schema_files:
                    self.findings.new(
                        Code.VERIFY_MISSING_MEMBER,
                        f"the backup manifest adds {added.name}, which the archive does not hold",
                        path=SCHEMA_PREFIX + added.name,
                    )
        if self.snapshot_manifest is not None:
            for schema, _ in self.snapshot_manifest.schema_checksums:
                if schema not in self.schema_files:
                    self.findings.new(
                        Code.VERIFY_MISSING_MEMBER,
                        f"the snapshot manifest lists {schema}, which the archive does not hold",
                        path=SCHEMA_PREFIX + schema,
                    )

    def _check_schemas(self) -> None:
        """Every schema the archive's records name must be defined by one of its schema files:
        AeroDB's boot of the restored directory checks each live record's (DESIGN.md §8).
        Not checked when a schema file is missing or damaged: that finding says it already."""
        damaged = (Code.VERIFY_MISSING_MEMBER, Code.VERIFY_CHECKSUM)
        if self.findings.any(lambda f: f.code in damaged and (f.path or "").startswith(SCHEMA_PREFIX)):
            return
        defined = set(self.defined_schemas.values())
        storage = {SchemaRef(*ref) for ref in self.storage_schemas} - defined
        wal = {SchemaRef(*ref) for ref in self.wal_schemas} - defined - storage
        missing = MissingSchemas(tuple(sorted(storage)), tuple(sorted(wal)))
        for refs, member in ((missing.first_boot, STORAGE), (missing.later_boots, WAL_LOG)):
            if refs:
                only = MissingSchemas(refs) if member == STORAGE else MissingSchemas(later_boots=refs)
                self.findings.new(Code.VERIFY_SCHEMA_MISSING, only.describe("the archive"), path=member)


def _sequence_problem(sequence: int, expected: int) -> str:
    if expected == 1:
        return f"the log starts at sequence {sequence}, not 1"
    if sequence > expected:
        missing = sequence - expected
        return f"sequence {sequence} follows {expected - 1}: {missing} record{'s' * (missing != 1)} missing"
    return f"sequence {sequence} follows {expected - 1}: sequences must grow by one"


__all__ = [
    "LAYOUT",
    "MemberInfo",
    "VerifyReport",
    "manifest_dict",
    "verify_archive_stream",
]
