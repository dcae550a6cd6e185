"""The target of a restore, as values: where a restore of a data directory keeps its work
(`RestorePaths`), the swap journal it writes (`RestoreJournal`, rendered and parsed here), what
an interrupted restore left beside it (`Leftovers`) and what the executor saw there
(`TargetState`). Pure: the executor gathers the facts (`aeroops.executor.restore_target`).
"""

from __future__ import annotations

import enum
import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aeroops.errors import Code, FormatError, UsageError

TEMP_SUFFIX = ".aeroops-restore-tmp"
JOURNAL_SUFFIX = ".aeroops-restore-journal"
OLD_SUFFIX = ".old"
JOURNAL_VERSION = 1


# --- paths ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RestorePaths:
    """Where a restore of ``data_dir`` keeps its work: all beside it, on its file system."""

    data_dir: str  # absolute
    temp: str
    journal: str
    old: str

    @classmethod
    def for_data_dir(cls, data_dir: str) -> RestorePaths:
        """``data_dir`` must be absolute (the executor makes it so): a bare relative name has no
        parent to put the temporary folder in (AeroDB's own restore trips on exactly that)."""
        if not posixpath.isabs(data_dir):
            raise ValueError(f"not an absolute path: {data_dir!r}")
        path = posixpath.normpath(data_dir)
        parent, name = posixpath.split(path)
        if not name:
            raise UsageError("the file system root cannot be restored into: name a data directory below it")
        return cls(
            data_dir=path,
            temp=posixpath.join(parent, f".{name}{TEMP_SUFFIX}"),
            journal=posixpath.join(parent, f".{name}{JOURNAL_SUFFIX}"),
            old=posixpath.join(parent, f"{name}{OLD_SUFFIX}"),
        )

    @property
    def parent(self) -> str:
        return posixpath.dirname(self.data_dir)

    @property
    def journal_tmp(self) -> str:
        return self.journal + ".tmp"


# --- the journal ------------------------------------------------------------------------------


class RestoreMode(enum.StrEnum):
    REPLACE = "replace"  # an existing data directory is replaced (AeroDB's restore)
    CREATE = "create"  # the data directory did not exist: asked for explicitly (drills)


@dataclass(frozen=True, slots=True)
class RestoreJournal:
    """The journal a restore leaves beside the data directory while it runs (what `recover` reads)."""

    data_dir: str
    mode: RestoreMode
    backup_id: str
    archive: str
    pid: int


def render_journal(journal: RestoreJournal) -> bytes:
    return json.dumps(
        {
            "aeroops_restore_journal": JOURNAL_VERSION,
            "data_dir": journal.data_dir,
            "mode": str(journal.mode),
            "backup_id": journal.backup_id,
            "archive": journal.archive,
            "pid": journal.pid,
        },
        indent=2,
    ).encode()


def parse_journal(data: bytes) -> RestoreJournal:
    """The journal a restore wrote; `FormatError` (AERO_RESTORE_JOURNAL) saying what is wrong
    with anything else. A damaged journal must not crash recovery: deep nesting, huge numbers
    and bytes that are not UTF-8 included."""
    try:
        obj = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _journal_error(f"not UTF-8 at byte {exc.start}") from None
    except ValueError as exc:  # JSONDecodeError; a number of too many digits
        raise _journal_error(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise _journal_error("not valid JSON: nested too deeply") from None
    if not isinstance(obj, dict) or obj.get("aeroops_restore_journal") != JOURNAL_VERSION:
        raise _journal_error(f"not an aeroops restore journal (version {JOURNAL_VERSION})")
    mode = _str(obj, "mode")
    if mode not in set(RestoreMode):
        raise _journal_error(f"field 'mode' is {mode[:40]!r}, not one of {', '.join(RestoreMode)}")
    pid = obj.get("pid")
    if isinstance(pid, bool) or not isinstance(pid, int) or pid < 0:
        raise _journal_error("field 'pid' is missing or not a process id")
    return RestoreJournal(
        data_dir=_str(obj, "data_dir"),
        mode=RestoreMode(mode),
        backup_id=_str(obj, "backup_id"),
        archive=_str(obj, "archive"),
        pid=pid,
    )


def _journal_error(reason: str) -> FormatError:
    return FormatError(f"the restore journal does not parse: {reason}", code=Code.RESTORE_JOURNAL)


def _str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise _journal_error(f"field {key!r} is missing or not a string")
    return value


# --- what is at the target --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Leftovers:
    """What an interrupted restore may have left beside the data directory."""

    paths: RestorePaths
    data_dir: bool  # the data directory exists
    temp: bool
    old: bool
    journal_tmp: bool
    journal: RestoreJournal | None = None
    journal_error: str | None = None  # the journal exists but does not parse

    @property
    def has_journal(self) -> bool:
        return self.journal is not None or self.journal_error is not None

    @property
    def any(self) -> bool:
        return self.temp or self.old or self.journal_tmp or self.has_journal

    def present(self) -> tuple[str, ...]:
        """The leftover paths, for messages."""
        found = [
            (self.temp, self.paths.temp),
            (self.journal_tmp, self.paths.journal_tmp),
            (self.has_journal, self.paths.journal),
            (self.old, self.paths.old),
        ]
        return tuple(path for there, path in found if there)


@dataclass(frozen=True, slots=True)
class ExistingEntry:
    """One top-level entry of the data directory a restore would replace."""

    name: str
    kind: str  # "file", "directory", "symlink", "other"
    files: int
    bytes: int


@dataclass(frozen=True, slots=True)
class TargetState:
    """The target of a restore, as the executor saw it (under the lock)."""

    paths: RestorePaths
    exists: bool
    is_dir: bool
    is_symlink: bool
    parent_exists: bool
    other_file_system: bool  # a mount point: the swap's renames cannot cross file systems
    serving: bool  # AeroDB's .lock is present
    entries: tuple[ExistingEntry, ...]
    leftovers: Leftovers
    real_path: str  # symlinks resolved: to tell whether the archive lies inside
    mode: int | None = None  # permission bits of the existing directory, kept by the restore
    listable: bool = True  # this user can list the directory (else it cannot tell what it holds)
