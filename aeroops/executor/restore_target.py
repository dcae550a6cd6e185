"""The target of a restore, described (read-only): the data directory's paths, what is in it,
what an interrupted restore left beside it. The values
and the journal's format are `aeroops.core.restore_target`'s."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from aeroops.core.restore_target import (
    ExistingEntry,
    Leftovers,
    RestorePaths,
    TargetState,
    parse_journal,
)
from aeroops.errors import (
    FormatError,
)
from aeroops.executor import log
from aeroops.executor.fileops import REAL
from aeroops.executor.lock import aerodb_serving

JOURNAL_LIMIT = 64 << 10


def restore_paths(data_dir: Path | str) -> RestorePaths:
    """Absolute paths of the data directory and its restore leftovers; relative paths are taken
    from the current folder."""
    return RestorePaths.for_data_dir(os.path.abspath(os.fspath(data_dir)))


def find_leftovers(data_dir: Path | str) -> Leftovers:
    """What an interrupted restore left beside ``data_dir`` (read-only)."""
    paths = restore_paths(data_dir)
    journal = journal_error = None
    if os.path.lexists(paths.journal):
        try:
            # A FIFO, a device or a link someone put there must not hang or mislead recovery.
            with REAL.open_read(Path(paths.journal), follow_symlinks=False) as stream:
                journal = parse_journal(stream.read(JOURNAL_LIMIT))
        except FormatError as exc:
            journal_error = exc.message
        except OSError as exc:
            not_a_file = exc.errno in (errno.ELOOP, errno.EINVAL, errno.EISDIR)
            reason = "it is not a regular file" if not_a_file else exc.strerror or exc
            journal_error = f"cannot read it: {reason}"
    return Leftovers(
        paths=paths,
        data_dir=os.path.lexists(paths.data_dir),
        temp=os.path.lexists(paths.temp),
        old=os.path.lexists(paths.old),
        journal_tmp=os.path.lexists(paths.journal_tmp),
        journal=journal,
        journal_error=journal_error,
    )


def describe_target(data_dir: Path | str) -> TargetState:
    """The data directory a restore would replace, and what is beside it (read-only)."""
    paths = restore_paths(data_dir)
    try:
        info: os.stat_result | None = os.lstat(paths.data_dir)
    except FileNotFoundError:
        info = None
    is_symlink = info is not None and stat.S_ISLNK(info.st_mode)
    is_dir = info is not None and stat.S_ISDIR(info.st_mode)
    other_fs = False
    entries: tuple[ExistingEntry, ...] | None = ()
    if is_dir:
        assert info is not None
        entries = _entries(Path(paths.data_dir))
        with contextlib.suppress(OSError):
            other_fs = info.st_dev != os.stat(paths.parent).st_dev
    return TargetState(
        paths=paths,
        exists=info is not None,
        is_dir=is_dir,
        is_symlink=is_symlink,
        parent_exists=os.path.isdir(paths.parent),
        other_file_system=other_fs,
        serving=is_dir and aerodb_serving(Path(paths.data_dir)),
        entries=entries or (),
        leftovers=find_leftovers(paths.data_dir),
        real_path=os.path.realpath(paths.data_dir),
        mode=stat.S_IMODE(info.st_mode) if is_dir and info is not None else None,
        listable=entries is not None,
    )


def _entries(root: Path) -> tuple[ExistingEntry, ...] | None:
    """What ``root`` holds, or None when this user cannot list it."""
    found = []
    try:
        listing = os.scandir(root)
    except OSError as exc:
        log.info("cannot list %s: %s", root, exc)
        return None
    with listing as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.is_symlink():
                found.append(ExistingEntry(entry.name, "symlink", 0, 0))
            elif entry.is_dir(follow_symlinks=False):
                files = size = 0
                for folder, _, names in os.walk(entry.path):
                    for name in names:
                        with contextlib.suppress(OSError):
                            size += os.lstat(os.path.join(folder, name)).st_size
                            files += 1
                found.append(ExistingEntry(entry.name, "directory", files, size))
            elif entry.is_file(follow_symlinks=False):
                found.append(ExistingEntry(entry.name, "file", 1, entry.stat(follow_symlinks=False).st_size))
            else:
                found.append(ExistingEntry(entry.name, "other", 0, 0))
    return tuple(found)
