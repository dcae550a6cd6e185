"""Errors and findings: one shape for everything that can go wrong.

A `Finding` is a value (verification reports are lists of them); an `AeroError` is an
exception that carries one. Codes follow AeroDB's ERRORS.md; severities say how bad it is.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(enum.StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    FATAL = "FATAL"


@dataclass(frozen=True, slots=True)
class Finding:
    """Something noticed, with where it is: a file or member, a byte offset, a WAL sequence."""

    code: str
    severity: Severity
    message: str
    path: str | None = None
    offset: int | None = None
    sequence: int | None = None

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

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
            "path": self.path,
            "offset": self.offset,
            "sequence": self.sequence,
        }


class AeroError(Exception):
    """Base of every error aeroops raises on purpose. Subclasses fix code and severity."""

    code: str = "AERO_ERROR"
    severity: Severity = Severity.ERROR

    def __init__(
        self,
        message: str,
        *,
        path: object | None = None,
        offset: int | None = None,
        sequence: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = None if path is None else str(path)
        self.offset = offset
        self.sequence = sequence
        if code is not None:
            self.code = code

    @property
    def finding(self) -> Finding:
        return Finding(self.code, self.severity, self.message, self.path, self.offset, self.sequence)

    def __str__(self) -> str:
        return str(self.finding)


# --- backup (ERROR: a failed backup harms nothing) -------------------------------------------


class BackupError(AeroError):
    code = "AERO_BACKUP_FAILED"
    severity = Severity.ERROR


class BackupIOError(BackupError):
    code = "AERO_BACKUP_IO"


class BackupManifestError(BackupError):
    code = "AERO_BACKUP_MANIFEST"


# --- restore (FATAL, as in AeroDB) --------------------------------------------------------------


class RestoreError(AeroError):
    code = "AERO_RESTORE_FAILED"
    severity = Severity.FATAL


class RestoreIOError(RestoreError):
    code = "AERO_RESTORE_IO"


class RestoreCorruptionError(RestoreError):
    code = "AERO_RESTORE_CORRUPTION"


class InvalidBackupError(RestoreError):
    code = "AERO_RESTORE_INVALID_BACKUP"


# --- formats: damage found while reading AeroDB's bytes -----------------------------------------


class FormatError(AeroError, ValueError):
    """Bytes that do not follow an AeroDB format. The code names the format and the damage,
    e.g. AERO_WAL_CHECKSUM, AERO_STORAGE_TORN_TAIL, AERO_MANIFEST_INVALID."""

    code = "AERO_FORMAT_INVALID"
    severity = Severity.ERROR


class UsageError(AeroError, ValueError):
    """The caller asked for something that cannot be done (bad path, bad option value)."""

    code = "AERO_USAGE"
    severity = Severity.ERROR


class OutputError(AeroError):
    """The command's own output cannot be written (standard output closed, a full disk)."""

    code = "AERO_OUTPUT"
    severity = Severity.ERROR


class ScanError(AeroError):
    """A data directory cannot be looked at (missing, not a folder, unreadable)."""

    code = "AERO_SCAN_FAILED"
    severity = Severity.ERROR
