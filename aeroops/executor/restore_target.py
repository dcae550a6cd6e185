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
from aeroops.executor.fileops import FileOps, read_head, walk
from aeroops.executor.location import local_path
from aeroops.executor.lock import aerodb_serving

JOURNAL_LIMIT = 64 << 10


def restore_paths(data_dir: Path | str) -> RestorePaths:
    """Absolute paths of the data directory and its restore leftovers; relative paths are taken
    from the current folder."""
    local_path(data_dir, "the data directory")
    return RestorePaths.for_data_dir(os.path.abspath(os.fspath(data_dir)))


def find_leftovers(data_dir: Path | str, ops: FileOps) -> Leftovers:
    """What an interrupted restore left beside ``data_dir`` (read-only)."""
    paths = restore_paths(data_dir)
    journal = journal_error = None
    if ops.exists(paths.journal):
        try:
            # A FIFO, a device or a link someone put there must not hang or mislead recovery.
            journal = parse_journal(read_head(ops, Path(paths.journal), JOURNAL_LIMIT, follow_symlinks=False))
        except FormatError as exc:
            journal_error = exc.message
        except OSError as exc:
            not_a_file = exc.errno in (errno.ELOOP, errno.EINVAL, errno.EISDIR)
            reason = "it is not a regular file" if not_a_file else exc.strerror or exc
            journal_error = f"cannot read it: {reason}"
    return Leftovers(
        paths=paths,
        data_dir=ops.exists(paths.data_dir),
        temp=ops.exists(paths.temp),
        old=ops.exists(paths.old),
        journal_tmp=ops.exists(paths.journal_tmp),
        journal=journal,
        journal_error=journal_error,
    )


def describe_target(data_dir: Path | str, ops: FileOps) -> TargetState:
    """The data directory a restore would replace, and what is beside it (read-only)."""
    paths = restore_paths(data_dir)
    try:
        info: os.stat_result | None = ops.lstat(Path(paths.data_dir))
    except FileNotFoundError:
        info = None
    is_symlink = info is not None and stat.S_ISLNK(info.st_mode)
    is_dir = info is not None and stat.S_ISDIR(info.st_mode)
    other_fs = False
    entries: tuple[ExistingEntry, ...] | None = ()
    if is_dir:
        assert info is not None
        entries = _entries(Path(paths.data_dir), ops)
        with contextlib.suppress(OSError):
            other_fs = info.st_dev != ops.stat(Path(paths.parent)).st_dev
    return TargetState(
        paths=paths,
        exists=info is not None,
        is_dir=is_dir,
        is_symlink=is_symlink,
        parent_exists=ops.is_dir(paths.parent),
        other_file_system=other_fs,
        serving=is_dir and aerodb_serving(Path(paths.data_dir), ops),
        entries=entries or (),
        leftovers=find_leftovers(paths.data_dir, ops),
        real_path=ops.realpath(paths.data_dir),
        mode=stat.S_IMODE(info.st_mode) if is_dir and info is not None else None,
        listable=entries is not None,
    )


def _entries(root: Path, ops: FileOps) -> tuple[ExistingEntry, ...] | None:
    """What ``root`` holds, or None when this user cannot list it."""
    found = []
    try:
        entries = ops.scandir(root)
    except OSError as exc:
        log.info("cannot list %s: %s", root, exc)
        return None
    for entry in entries:
        if entry.is_symlink():
            found.append(ExistingEntry(entry.name, "symlink", 0, 0))
        elif entry.is_dir(follow_symlinks=False):
            files = size = 0
            for folder, _, names in walk(ops, root / entry.name, onerror=lambda _: None):
                for name in names:
                    with contextlib.suppress(OSError):
                        size += ops.lstat(folder / name).st_size
                        files += 1
            found.append(ExistingEntry(entry.name, "directory", files, size))
        elif entry.is_file(follow_symlinks=False):
            size = 0
            with contextlib.suppress(OSError):
                size = ops.lstat(root / entry.name).st_size
            found.append(ExistingEntry(entry.name, "file", 1, size))
        else:
            found.append(ExistingEntry(entry.name, "other", 0, 0))
    return tuple(found)
