"""Errors and findings: one shape for everything that can go wrong.

`Code` is the one catalogue of codes: each with its severity, category and exit status (codes
follow AeroDB's ERRORS.md). A `Finding` is a value (verification reports are lists of them); an
`AeroError` is an exception that carries one.
"""

from __future__ import annotations

import enum
import errno
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from aeroops.columns import column

E = TypeVar("E", bound="AeroError")


class Severity(enum.StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    FATAL = "FATAL"


class Category(enum.StrEnum):
    """Which part of aeroops reports a code."""

    RUN = "run"  # any command: usage, interruption, the demo
    BACKUP = "backup"
    RESTORE = "restore"
    PRUNE = "prune"
    VERIFY = "verify"  # the archive's layout, manifests, checksums and sidecar
    WAL = "wal"
    STORAGE = "storage"
    MANIFEST = "manifest"
    TAR = "tar"
    LAYER = "layer"  # the zstd and age layers around the tar
    WAL_ARCHIVE = "wal-archive"  # archive-wal, WAL segments, point-in-time restore


# The CLI's exit statuses. A check that finds problems (verify not clean, drill differences)
# exits EXIT_FINDINGS; an error that ends a command exits with its code's `exit_status`.
EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_FATAL = 3
EXIT_INTERRUPTED = 130
_EXIT_BY_SEVERITY = {
    Severity.INFO: EXIT_OK,
    Severity.WARNING: EXIT_OK,
    Severity.ERROR: EXIT_ERROR,
    Severity.FATAL: EXIT_FATAL,
}


# AeroDB's own error when its boot meets a live record whose schema it did not load. Not an
# aeroops code: aeroops names it when saying what AeroDB would do.
AERODB_SCHEMA_MISSING = "AERO_RECOVERY_SCHEMA_MISSING"


class Code(enum.StrEnum):
    """Every code aeroops reports, with its severity, category and exit status: the one
    catalogue (README's table and verify's documentation are checked against it by a test).

    A code is its string ("AERO_WAL_CHECKSUM"), so JSON output and comparisons with text are
    unchanged. ``damage``: the bytes differ from what was written (a restore refusing over one
    says the archive is corrupt, not merely an invalid backup)."""

    severity: Severity
    category: Category
    summary: str
    damage: bool
    _exit_status: int | None

    def __new__(
        cls,
        value: str,
        severity: Severity,
        category: Category,
        summary: str,
        damage: bool = False,
        exit_status: int | None = None,
    ) -> Code:
        member = str.__new__(cls, value)
        member._value_ = value
        member.severity = severity
        member.category = category
        member.summary = summary
        member.damage = damage
        member._exit_status = exit_status
        return member

    @property
    def exit_status(self) -> int:
        """The CLI's exit status when an error with this code ends a command (a warning or
        note never ends one: 0)."""
        return self._exit_status if self._exit_status is not None else _EXIT_BY_SEVERITY[self.severity]

    @property
    def label(self) -> str:
        """A short name for tables: "checksum" for AERO_VERIFY_CHECKSUM, "wal_sequence"."""
        return self.name.removeprefix("VERIFY_").lower()

    # --- any command --------------------------------------------------------------------------
    ERROR = "AERO_ERROR", Severity.ERROR, Category.RUN, "an error without a more specific code"
    USAGE = "AERO_USAGE", Severity.ERROR, Category.RUN, "a bad path, option value or time"
    INTERRUPTED = ("AERO_INTERRUPTED", Severity.ERROR, Category.RUN, "interrupted (Ctrl-C)", False, EXIT_INTERRUPTED)
    OUTPUT = "AERO_OUTPUT", Severity.ERROR, Category.RUN, "the command's own output cannot be written (closed, full)"
    SCAN_FAILED = "AERO_SCAN_FAILED", Severity.ERROR, Category.RUN, "a data directory cannot be scanned"
    DEMO_FAILED = "AERO_DEMO_FAILED", Severity.ERROR, Category.RUN, "the demo could not write its data"
    FORMAT_INVALID = "AERO_FORMAT_INVALID", Severity.ERROR, Category.RUN, "bytes that follow no AeroDB format"
    FILE_GREW = (
        "AERO_FILE_GREW",
        Severity.ERROR,
        Category.RUN,
        "a file grew while it was read: something is writing to it (not damage)",
    )
    # --- object storage (a URL such as s3://bucket/prefix/ in place of a folder or an archive) ---
    REMOTE_FAILED = (
        "AERO_REMOTE_FAILED",
        Severity.ERROR,
        Category.RUN,
        "object storage refused a request for good (access denied, no such bucket or key, no credentials)",
    )
    REMOTE_UNAVAILABLE = (
        "AERO_REMOTE_UNAVAILABLE",
        Severity.ERROR,
        Category.RUN,
        "object storage kept failing with transient errors (5xx, 429, SlowDown, resets, timeouts) past every retry",
    )
    # --- backup (ERROR: a failed backup harms nothing) ----------------------------------------
    BACKUP_FAILED = "AERO_BACKUP_FAILED", Severity.ERROR, Category.BACKUP, "a backup was refused or failed"
    BACKUP_IO = "AERO_BACKUP_IO", Severity.ERROR, Category.BACKUP, "a file operation failed during a backup"
    # --- prune (ERROR: a prune that stops has removed only whole archives) ---------------------
    PRUNE_FAILED = (
        "AERO_PRUNE_FAILED",
        Severity.ERROR,
        Category.PRUNE,
        "a prune was refused (folder busy, plan changed)",
    )
    PRUNE_IO = "AERO_PRUNE_IO", Severity.ERROR, Category.PRUNE, "removing an archive or its sidecar failed"
    PRUNE_LAST_COPY = (
        "AERO_PRUNE_LAST_COPY",
        Severity.WARNING,
        Category.PRUNE,
        "a dry run would remove the last good copy of a snapshot (prune exits 1)",
    )
    # --- restore (FATAL, as in AeroDB) --------------------------------------------------------
    RESTORE_FAILED = "AERO_RESTORE_FAILED", Severity.FATAL, Category.RESTORE, "a restore was refused or failed"
    RESTORE_IO = "AERO_RESTORE_IO", Severity.FATAL, Category.RESTORE, "a file operation failed during a restore"
    RESTORE_CORRUPTION = (
        "AERO_RESTORE_CORRUPTION",
        Severity.FATAL,
        Category.RESTORE,
        "the archive's bytes are damaged",
    )
    RESTORE_INVALID_BACKUP = (
        "AERO_RESTORE_INVALID_BACKUP",
        Severity.FATAL,
        Category.RESTORE,
        "the archive is not a valid backup",
    )
    RESTORE_JOURNAL = (
        "AERO_RESTORE_JOURNAL",
        Severity.ERROR,
        Category.RESTORE,
        "an interrupted restore's journal does not parse",
    )
    RESTORE_CLEANUP = (
        "AERO_RESTORE_CLEANUP",
        Severity.WARNING,
        Category.RESTORE,
        "the restore succeeded; removing the old tree did not",
    )
    # --- verify: the archive as a backup ------------------------------------------------------
    VERIFY_IO = "AERO_VERIFY_IO", Severity.FATAL, Category.VERIFY, "the archive cannot be read at all"
    VERIFY_INTERNAL = (
        "AERO_VERIFY_INTERNAL",
        Severity.FATAL,
        Category.VERIFY,
        "aeroops itself failed on the archive (a bug, logged with its traceback); not a verdict on it",
    )
    VERIFY_STOPPED = "AERO_VERIFY_STOPPED", Severity.INFO, Category.VERIFY, "what could not be checked after tar damage"
    VERIFY_TRAILING_DATA = (
        "AERO_VERIFY_TRAILING_DATA",
        Severity.ERROR,
        Category.VERIFY,
        "non-zero bytes after the end-of-archive blocks",
    )
    VERIFY_UNSAFE_MEMBER = (
        "AERO_VERIFY_UNSAFE_MEMBER",
        Severity.ERROR,
        Category.VERIFY,
        "absolute name, ``..``, a link of any kind, a device, a FIFO, or an empty name",
    )
    VERIFY_UNEXPECTED_MEMBER = (
        "AERO_VERIFY_UNEXPECTED_MEMBER",
        Severity.ERROR,
        Category.VERIFY,
        "a name DESIGN.md §3 does not list, or the wrong type",
    )
    VERIFY_DUPLICATE_MEMBER = (
        "AERO_VERIFY_DUPLICATE_MEMBER",
        Severity.ERROR,
        Category.VERIFY,
        "a name seen twice (``snapshot`` and ``snapshot/`` are one)",
    )
    VERIFY_MISSING_MEMBER = (
        "AERO_VERIFY_MISSING_MEMBER",
        Severity.ERROR,
        Category.VERIFY,
        "a required member, or a schema file the manifest lists",
    )
    VERIFY_NO_WAL_DIR = (
        "AERO_VERIFY_NO_WAL_DIR",
        Severity.WARNING,
        Category.VERIFY,
        "no ``wal/`` member: AeroDB's own restore rejects the archive",
    )
    VERIFY_MEMBER_ORDER = (
        "AERO_VERIFY_MEMBER_ORDER",
        Severity.WARNING,
        Category.VERIFY,
        "members out of sorted order (inventory reads only the first)",
    )
    VERIFY_MANIFEST = (
        "AERO_VERIFY_MANIFEST",
        Severity.ERROR,
        Category.VERIFY,
        "a manifest does not parse, is too large, or disagrees with the archive or the other manifest",
    )
    VERIFY_MANIFEST_FORM = (
        "AERO_VERIFY_MANIFEST_FORM",
        Severity.WARNING,
        Category.VERIFY,
        "a manifest means what it should but its bytes are not the canonical form",
    )
    VERIFY_CREATED_AT = (
        "AERO_VERIFY_CREATED_AT",
        Severity.WARNING,
        Category.VERIFY,
        "snapshot created_at is not the time its id names, or the backup is older than its snapshot",
    )
    VERIFY_CHECKSUM = (
        "AERO_VERIFY_CHECKSUM",
        Severity.ERROR,
        Category.VERIFY,
        "storage.dat or a schema file differs from its manifest CRC",
        True,
    )
    VERIFY_SCHEMA_UNLISTED = (
        "AERO_VERIFY_SCHEMA_UNLISTED",
        Severity.ERROR,
        Category.VERIFY,
        "a schema file the snapshot manifest does not list",
    )
    VERIFY_SCHEMA_MISSING = (
        "AERO_VERIFY_SCHEMA_MISSING",
        Severity.ERROR,
        Category.VERIFY,
        "WAL or storage records name a schema the archive lacks: a restore boots once, or never",
    )
    VERIFY_SIDECAR = (
        "AERO_VERIFY_SIDECAR",
        Severity.ERROR,
        Category.VERIFY,
        "the archive's digest differs from its sidecar, or the sidecar does not parse",
        True,
    )
    VERIFY_NO_SIDECAR = (
        "AERO_VERIFY_NO_SIDECAR",
        Severity.WARNING,
        Category.VERIFY,
        "no sidecar beside the archive: changes that keep its meaning (padding, created_at) go unseen",
    )
    VERIFY_TOO_MANY = (
        "AERO_VERIFY_TOO_MANY",
        Severity.INFO,
        Category.VERIFY,
        "findings (past 1000 of a code, 5000 in all) or members (past 10,000) were counted, not listed",
    )
    VERIFY_TOO_MANY_MEMBERS = (
        "AERO_VERIFY_TOO_MANY_MEMBERS",
        Severity.ERROR,
        Category.VERIFY,
        "more than 10,000 members: later ones are checked alone, not against the others",
    )
    # --- AeroDB's formats: damage found while reading its bytes -------------------------------
    WAL_LENGTH = "AERO_WAL_LENGTH", Severity.ERROR, Category.WAL, "impossible record length (reading stops)", True
    WAL_CHECKSUM = "AERO_WAL_CHECKSUM", Severity.ERROR, Category.WAL, "record CRC mismatch (reading stops)", True
    WAL_TORN_TAIL = (
        "AERO_WAL_TORN_TAIL",
        Severity.ERROR,
        Category.WAL,
        "the log ends inside a record (reading stops)",
        True,
    )
    WAL_TYPE = "AERO_WAL_TYPE", Severity.ERROR, Category.WAL, "unknown record type (reading stops)", True
    WAL_SEQUENCE = (
        "AERO_WAL_SEQUENCE",
        Severity.ERROR,
        Category.WAL,
        "first sequence not 1, a gap, or a repeat (per record)",
        True,
    )
    WAL_PAYLOAD = (
        "AERO_WAL_PAYLOAD",
        Severity.ERROR,
        Category.WAL,
        "a payload does not decode (when records are decoded)",
        True,
    )
    WAL_IO = "AERO_WAL_IO", Severity.ERROR, Category.WAL, "the WAL cannot be read", True
    STORAGE_LENGTH = (
        "AERO_STORAGE_LENGTH",
        Severity.ERROR,
        Category.STORAGE,
        "impossible record length (reading stops)",
        True,
    )
    STORAGE_CHECKSUM = (
        "AERO_STORAGE_CHECKSUM",
        Severity.ERROR,
        Category.STORAGE,
        "record CRC mismatch (reading stops)",
        True,
    )
    STORAGE_TORN_TAIL = (
        "AERO_STORAGE_TORN_TAIL",
        Severity.ERROR,
        Category.STORAGE,
        "the file ends inside a record (reading stops)",
        True,
    )
    STORAGE_PAYLOAD = (
        "AERO_STORAGE_PAYLOAD",
        Severity.ERROR,
        Category.STORAGE,
        "a record's fields do not decode (when records are decoded)",
        True,
    )
    MANIFEST_INVALID = (
        "AERO_MANIFEST_INVALID",
        Severity.ERROR,
        Category.MANIFEST,
        "a manifest, snapshot id, timestamp or CRC tag does not parse",
    )
    SCHEMA_INVALID = (
        "AERO_SCHEMA_INVALID",
        Severity.ERROR,
        Category.MANIFEST,
        "a schema file does not parse, or lacks its schema_id and schema_version",
    )
    TAR_HEADER = (
        "AERO_TAR_HEADER",
        Severity.ERROR,
        Category.TAR,
        "a header field is malformed, or a lone zero block",
        True,
    )
    TAR_CHECKSUM = (
        "AERO_TAR_CHECKSUM",
        Severity.ERROR,
        Category.TAR,
        "a header's checksum does not match its bytes",
        True,
    )
    TAR_TRUNCATED = (
        "AERO_TAR_TRUNCATED",
        Severity.ERROR,
        Category.TAR,
        "the archive ends inside a header, data or end blocks",
        True,
    )
    TAR_MEMBER_TOO_LARGE = (
        "AERO_TAR_MEMBER_TOO_LARGE",
        Severity.ERROR,
        Category.TAR,
        "a member declares more bytes than allowed",
        True,
    )
    # --- WAL archiving and point-in-time restore ------------------------------------------------
    WAL_ARCHIVE_FAILED = (
        "AERO_WAL_ARCHIVE_FAILED",
        Severity.ERROR,
        Category.WAL_ARCHIVE,
        "an archive-wal pass was refused or failed (busy, a checkpoint under way, damaged WAL)",
    )
    WAL_ARCHIVE_IO = (
        "AERO_WAL_ARCHIVE_IO",
        Severity.ERROR,
        Category.WAL_ARCHIVE,
        "a file operation failed during an archive-wal pass",
    )
    WAL_ARCHIVE_DIVERGED = (
        "AERO_WAL_ARCHIVE_DIVERGED",
        Severity.ERROR,
        Category.WAL_ARCHIVE,
        "the WAL no longer begins with what was archived (rewritten, truncated or replaced without a checkpoint)",
    )
    WAL_ARCHIVE_CLOCK = (
        "AERO_WAL_ARCHIVE_CLOCK",
        Severity.ERROR,
        Category.WAL_ARCHIVE,
        "the clock reads earlier than the newest segment's archive time",
    )
    SEGMENT_DAMAGED = (
        "AERO_SEGMENT_DAMAGED",
        Severity.ERROR,
        Category.WAL_ARCHIVE,
        "a WAL segment differs from its sidecar, or its records from what its name says",
        True,
    )
    SEGMENT_NO_SIDECAR = (
        "AERO_SEGMENT_NO_SIDECAR",
        Severity.ERROR,
        Category.WAL_ARCHIVE,
        "a WAL segment has no digest sidecar: it cannot be proven whole",
    )
    SEGMENT_GAP = (
        "AERO_SEGMENT_GAP",
        Severity.ERROR,
        Category.WAL_ARCHIVE,
        "sequences missing between two WAL segments of a timeline",
    )
    SEGMENT_OVERLAP = (
        "AERO_SEGMENT_OVERLAP",
        Severity.ERROR,
        Category.WAL_ARCHIVE,
        "two WAL segments hold the same sequences of a timeline",
    )
    SEGMENT_LINK = (
        "AERO_SEGMENT_LINK",
        Severity.ERROR,
        Category.WAL_ARCHIVE,
        "a WAL segment does not continue the one before it (another data directory, or a rewritten WAL)",
    )
    PITR_UNREACHABLE = (
        "AERO_PITR_UNREACHABLE",
        Severity.FATAL,
        Category.RESTORE,
        "no base backup and WAL segments in the folder provably reach the restore target",
    )

    # --- layers around the tar: zstd compression, age encryption --------------------------------
    ZSTD_CORRUPT = (
        "AERO_ZSTD_CORRUPT",
        Severity.ERROR,
        Category.LAYER,
        "a zstd frame does not decode (damaged bytes)",
        True,
    )
    ZSTD_TRUNCATED = (
        "AERO_ZSTD_TRUNCATED",
        Severity.ERROR,
        Category.LAYER,
        "the zstd stream ends inside a frame",
        True,
    )
    ZSTD_TRAILING = (
        "AERO_ZSTD_TRAILING",
        Severity.ERROR,
        Category.LAYER,
        "bytes after the last zstd frame that are no zstd frame",
        True,
    )
    ZSTD_SIZE = (
        "AERO_ZSTD_SIZE",
        Severity.ERROR,
        Category.LAYER,
        "a zstd frame decodes to another size than its header declares",
        True,
    )
    ZSTD_LIMIT = (
        "AERO_ZSTD_LIMIT",
        Severity.ERROR,
        Category.LAYER,
        "a zstd stream refused unread: it expands past the bomb limit or needs too large a window",
        True,
    )
    AGE_HEADER = "AERO_AGE_HEADER", Severity.ERROR, Category.LAYER, "the age header is damaged or not age's", True
    AGE_MAC = (
        "AERO_AGE_MAC",
        Severity.ERROR,
        Category.LAYER,
        "an age payload chunk fails authentication (damaged bytes)",
        True,
    )
    AGE_TRUNCATED = (
        "AERO_AGE_TRUNCATED",
        Severity.ERROR,
        Category.LAYER,
        "the age stream ends before its final chunk, or inside its last chunk",
        True,
    )
    AGE_NO_IDENTITY = (
        "AERO_AGE_NO_IDENTITY",
        Severity.ERROR,
        Category.LAYER,
        "no identity given opens the encrypted archive",
    )
    LAYER_ORDER = (
        "AERO_LAYER_ORDER",
        Severity.ERROR,
        Category.LAYER,
        "layers in an order aeroops never writes (age inside zstd), or an unknown one inside",
        True,
    )
    LAYER_NAME = (
        "AERO_LAYER_NAME",
        Severity.WARNING,
        Category.LAYER,
        "the file name says other layers than its bytes hold (the bytes decide)",
    )
    LAYER_RECORD = (
        "AERO_LAYER_RECORD",
        Severity.ERROR,
        Category.LAYER,
        "the cleartext record beside a layered archive is missing, does not parse or disagrees",
    )
    LAYER_UNOPENED = (
        "AERO_LAYER_UNOPENED",
        Severity.WARNING,
        Category.LAYER,
        "encrypted, no identity given: only the stored bytes and the creation record were checked",
    )
    IDENTITY = (
        "AERO_IDENTITY",
        Severity.ERROR,
        Category.RUN,
        "an identity or recipients file cannot be used (missing, a folder, empty, unreadable, no key in it)",
    )
    IDENTITY_PERMISSIONS = (
        "AERO_IDENTITY_PERMISSIONS",
        Severity.WARNING,
        Category.RUN,
        "an identity file others can read (as ssh warns of a private key)",
    )


@dataclass(frozen=True, slots=True)
class Finding:
    """Something noticed, with where it is: a file or member, a byte offset, a WAL sequence."""

    code: Code = column("string")
    severity: Severity = column("string", verdict=True)  # INFO, WARNING, ERROR, FATAL
    message: str = column("string")
    path: str | None = column("string", default=None)  # the member concerned, None for the archive as a whole
    offset: int | None = column("Int64", default=None)  # byte offset in the archive file
    sequence: int | None = column("Int64", default=None)  # WAL sequence number, where one applies

    @classmethod
    def of(
        cls, code: Code, message: str, path: str | None = None, offset: int | None = None, sequence: int | None = None
    ) -> Finding:
        """A finding with its code's severity."""
        return cls(code, code.severity, message, path, offset, sequence)

    def where(self) -> str:
        parts = []
        if self.path is not None:
            parts.append(self.path)
        if self.offset is not None:
            parts.append(f"offset {self.offset}")
        if self.sequence is not None:
            parts.append(f"sequence {self.sequence}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"[{self.severity}] {self.code}: {self.message}" + (f" ({where})" if where else "")


def most_severe_first(findings: Iterable[Finding]) -> list[Finding]:
    """FATAL, then ERROR, WARNING, INFO; in the order found within a severity. How reports and
    tables list findings: the verdict first."""
    order = list(Severity)
    return sorted(findings, key=lambda f: -order.index(f.severity))


class AeroError(Exception):
    """Base of every error aeroops raises on purpose. Subclasses fix the code; the code fixes
    the severity. ``operation``: for an I/O error, the file operation that failed ("fsync",
    "create"), so the message says what was being done, not only errno and path."""

    code: Code = Code.ERROR

    def __init__(
        self,
        message: str,
        *,
        path: object | None = None,
        offset: int | None = None,
        sequence: int | None = None,
        code: Code | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = None if path is None else str(path)
        self.offset = offset
        self.sequence = sequence
        self.operation = operation
        if code is not None:
            self.code = code

    @property
    def severity(self) -> Severity:
        return self.code.severity

    @property
    def finding(self) -> Finding:
        return Finding(self.code, self.severity, self.message, self.path, self.offset, self.sequence)

    def __str__(self) -> str:
        return str(self.finding)


# --- backup -------------------------------------------------------------------------------------


class BackupError(AeroError):
    code = Code.BACKUP_FAILED


class BackupIOError(BackupError):
    code = Code.BACKUP_IO


# --- restore ------------------------------------------------------------------------------------


class RestoreError(AeroError):
    code = Code.RESTORE_FAILED


class RestoreIOError(RestoreError):
    code = Code.RESTORE_IO


class RestoreCorruptionError(RestoreError):
    code = Code.RESTORE_CORRUPTION


class InvalidBackupError(RestoreError):
    code = Code.RESTORE_INVALID_BACKUP


# --- prune --------------------------------------------------------------------------------------


class PruneError(AeroError):
    code = Code.PRUNE_FAILED


class PruneIOError(PruneError):
    code = Code.PRUNE_IO


# --- formats: damage found while reading AeroDB's bytes -----------------------------------------


class FormatError(AeroError, ValueError):
    """Bytes that do not follow an AeroDB format. The code names the format and the damage,
    e.g. Code.WAL_CHECKSUM, Code.STORAGE_TORN_TAIL, Code.MANIFEST_INVALID."""

    code = Code.FORMAT_INVALID


class UsageError(AeroError, ValueError):
    """The caller asked for something that cannot be done (bad path, bad option value)."""

    code = Code.USAGE


class OutputError(AeroError):
    """The command's own output cannot be written (standard output closed, a full disk)."""

    code = Code.OUTPUT


class WalArchiveError(AeroError):
    """An archive-wal pass refused or failed; nothing was published."""

    code = Code.WAL_ARCHIVE_FAILED


class WalArchiveIOError(WalArchiveError):
    code = Code.WAL_ARCHIVE_IO


class ScanError(AeroError):
    """A data directory cannot be looked at (missing, not a folder, unreadable)."""

    code = Code.SCAN_FAILED


class RemoteError(AeroError, OSError):
    """Object storage refused a request for good; an OSError too, so every path that turns a
    failed read into a finding (verify's AERO_VERIFY_IO) or an I/O error does so for a URL."""

    code = Code.REMOTE_FAILED

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)  # the message names the URL: a finding's path is a member's
        self.strerror = message
        self.filename = url


class RemoteUnavailableError(RemoteError):
    """Object storage kept failing with transient errors past every retry."""

    code = Code.REMOTE_UNAVAILABLE


def io_error(error_type: type[E], exc: OSError, operation: str | None = None) -> E:
    """``error_type`` for a failed file operation: the reason (ENOSPC said plainly), the path,
    and the operation that failed, as borg's ``backup_io("stat")`` keeps it."""
    reason = "no space left on the device" if exc.errno == errno.ENOSPC else exc.strerror or str(exc)
    during = f", during {operation}" if operation else ""
    return error_type(f"I/O failure: {reason}{during}", path=exc.filename, operation=operation)
