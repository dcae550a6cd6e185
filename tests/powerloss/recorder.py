"""A FileOps that records every effect it has on a watched folder, as the durability model's
`Op` values, in the order they happened (the fsync thread of a restore included).

Every public method of FileOps not listed in `NO_EFFECT` (it only reads, or only advises the
kernel) is recorded here: `tests/powerloss/test_model.py` fails when FileOps gains a method this
class does not override, so no new effect escapes the model unnoticed.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from helpers.faults import OPERATIONS

from aeroops.executor.fileops import FileOps
from powerloss.model import (
    Chmod,
    Chown,
    Create,
    Fsync,
    FsyncDir,
    Link,
    Mkdir,
    Op,
    Rename,
    Rmdir,
    Tree,
    Truncate,
    Unlink,
    Write,
    read_tree,
)

READS = {"open_read", "read", "readinto", "stat", "lstat", "fstat", "pread", "scandir", "exists", "is_dir", "is_file"}
# open_update opens an existing file: its writes and truncations are recorded as they happen.
NO_EFFECT = frozenset(READS | {"realpath", "access", "drop_cached", "crash_point", "flock", "unlock", "open_update"})


RECORDED = frozenset(OPERATIONS) - NO_EFFECT  # each overridden below (test_model checks it)


class RecordingOps(FileOps):
    """Records what the run does under ``root``; an effect anywhere else fails the run (the
    model would not see it). ``initial`` is the tree before the run."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.abspath(root))
        self.initial: Tree
        self.initial, self._inodes = read_tree(self.root)  # real inode → the model's
        self.ops: list[Op] = []
        # (effect, real path[, real target]) for each effect: what test_strace compares with the
        # system calls seen from outside.
        self.seen: set[tuple[str, ...]] = set()
        self._next_inode = itertools.count(len(self._inodes))
        self._path_of: dict[int, str] = {}
        self._lock = threading.Lock()
        self._depth = threading.local()  # FileOps methods calling one another record once

    # --- bookkeeping ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _outermost(self) -> Iterator[bool]:
        depth = getattr(self._depth, "value", 0)
        self._depth.value = depth + 1
        try:
            yield depth == 0
        finally:
            self._depth.value = depth

    def _relative(self, path: Path | str) -> str:
        absolute = os.path.abspath(path)
        relative = os.path.relpath(absolute, self.root)
        if relative == "." or relative.startswith(".."):
            raise AssertionError(f"an effect outside the watched folder {self.root}: {absolute}")
        return Path(relative).as_posix()

    def _new_inode(self, real: int) -> int:
        with self._lock:
            self._inodes[real] = inode = next(self._next_inode)  # a reused real inode is a new file
        return inode

    def _inode(self, real: int) -> int:
        if real not in self._inodes:
            raise AssertionError(f"an effect on a file or folder outside the watched folder {self.root}")
        return self._inodes[real]

    def _record(self, *ops: Op) -> None:
        with self._lock:
            self.ops.extend(ops)
            for op in ops:
                self.seen.add(self._seen(op))

    def _seen(self, op: Op) -> tuple[str, ...]:
        if isinstance(op, Link | Rename):
            return (type(op).__name__, self._real(op.source), self._real(op.target))
        if isinstance(op, Create | Mkdir | Unlink | Rmdir):
            return (type(op).__name__, self._real(op.path))
        return (type(op).__name__, self._path_of[op.inode])  # type: ignore[union-attr]

    def _real(self, relative: str) -> str:
        return os.path.realpath(self.root / relative)

    def _inode_of_path(self, path: Path) -> int:
        inode = self._inode(os.lstat(path).st_ino)
        self._note_path(inode, path=path)
        return inode

    def _note_path(self, inode: int, fd: int | None = None, path: Path | None = None) -> None:
        """Where a file or folder is now (as strace will name it), for `seen`."""
        self._path_of[inode] = os.readlink(f"/proc/self/fd/{fd}") if fd is not None else os.path.realpath(path)

    # --- the effects ------------------------------------------------------------------------

    def create(self, path: Path, mode: int = 0o600) -> BinaryIO:
        with self._outermost() as outer:
            stream = super().create(path, mode)
            if outer:
                info = os.fstat(stream.fileno())
                self._record(Create(self._relative(path), self._new_inode(info.st_ino), info.st_mode))
            return stream

    def write(self, stream: BinaryIO, data: bytes | memoryview) -> None:
        with self._outermost() as outer:
            offset = os.lseek(stream.fileno(), 0, os.SEEK_CUR)
            super().write(stream, data)
            if outer:
                inode = self._inode(os.fstat(stream.fileno()).st_ino)
                self._note_path(inode, fd=stream.fileno())
                self._record(Write(inode, offset, bytes(data)))

    def copy_range(self, source: BinaryIO, target: BinaryIO, size: int) -> int:
        with self._outermost() as outer:
            offset = os.lseek(target.fileno(), 0, os.SEEK_CUR)
            read_from = os.lseek(source.fileno(), 0, os.SEEK_CUR)
            copied = super().copy_range(source, target, size)
            if outer and copied:
                data = os.pread(source.fileno(), copied, read_from)  # the target is write-only
                inode = self._inode(os.fstat(target.fileno()).st_ino)
                self._note_path(inode, fd=target.fileno())
                self._record(Write(inode, offset, data))
            return copied

    def fsync(self, stream: BinaryIO) -> None:
        with self._outermost() as outer:
            super().fsync(stream)
            if outer:
                op = self._fsync_of(os.fstat(stream.fileno()))
                self._note_path(op.inode, fd=stream.fileno())
                self._record(op)

    def fsync_path(self, path: Path) -> None:
        with self._outermost() as outer:
            super().fsync_path(path)
            if outer:
                op = self._fsync_of(os.lstat(path))
                self._note_path(op.inode, path=path)
                self._record(op)

    def _fsync_of(self, info: os.stat_result) -> Fsync | FsyncDir:
        inode = self._inode(info.st_ino)
        return FsyncDir(inode) if stat.S_ISDIR(info.st_mode) else Fsync(inode)

    def mkdir(self, path: Path, mode: int = 0o700) -> None:
        with self._outermost() as outer:
            super().mkdir(path, mode)
            if outer:
                info = os.lstat(path)
                self._record(Mkdir(self._relative(path), self._new_inode(info.st_ino), info.st_mode))

    def link(self, source: Path, target: Path) -> None:
        with self._outermost() as outer:
            super().link(source, target)
            if outer:
                self._record(Link(self._relative(source), self._relative(target)))

    def rename(self, source: Path, target: Path) -> None:
        with self._outermost() as outer:
            super().rename(source, target)
            if outer:
                self._record(Rename(self._relative(source), self._relative(target)))

    def rename_noreplace(self, source: Path, target: Path) -> None:
        with self._outermost() as outer:
            super().rename_noreplace(source, target)
            if outer:
                self._record(Rename(self._relative(source), self._relative(target)))

    def remove(self, path: Path) -> None:
        with self._outermost() as outer:
            super().remove(path)
            if outer:
                self._record(Unlink(self._relative(path)))

    def truncate(self, stream: BinaryIO, size: int) -> None:
        with self._outermost() as outer:
            super().truncate(stream, size)  # type: ignore[misc]
            if outer:
                inode = self._inode(os.fstat(stream.fileno()).st_ino)
                self._note_path(inode, fd=stream.fileno())
                self._record(Truncate(inode, size))

    def make_temp_dir(self, parent: Path | None, prefix: str) -> Path:
        with self._outermost() as outer:
            path: Path = super().make_temp_dir(parent, prefix)  # type: ignore[misc]
            if outer:
                info = os.lstat(path)
                self._record(Mkdir(self._relative(path), self._new_inode(info.st_ino), info.st_mode))
            return path

    def rmdir(self, path: Path) -> None:
        with self._outermost() as outer:
            super().rmdir(path)  # type: ignore[misc]
            if outer:
                self._record(Rmdir(self._relative(path)))

    def chmod(self, path: Path, mode: int) -> None:
        with self._outermost() as outer:
            super().chmod(path, mode)  # type: ignore[misc]
            if outer:
                self._record(Chmod(self._inode_of_path(path), os.lstat(path).st_mode))

    def lchown(self, path: Path, uid: int, gid: int) -> None:
        with self._outermost() as outer:
            super().lchown(path, uid, gid)  # type: ignore[misc]
            if outer:
                self._record(Chown(self._inode_of_path(path)))

    def open_lock(self, path: Path, *, create: bool = False, directory: bool = False) -> int:
        """A lock file beside a data directory is a file like any other: its creation and the
        holder's name written in it are recorded (and strace sees them)."""
        with self._outermost() as outer:
            new = create and not os.path.lexists(path)
            fd: int = super().open_lock(path, create=create, directory=directory)  # type: ignore[misc]
            if outer and new:
                info = os.fstat(fd)
                self._record(Create(self._relative(path), self._new_inode(info.st_ino), info.st_mode))
            return fd

    def remove_tree(self, path: Path) -> None:
        with self._outermost() as outer:
            removals = _removals(Path(path), self._relative) if outer else []
            super().remove_tree(path)
            self._record(*removals)


def _removals(path: Path, relative: Any) -> list[Op]:
    """What removing ``path`` does, one entry at a time, deepest first (as rmtree does)."""
    if not os.path.lexists(path):
        return []
    if not stat.S_ISDIR(os.lstat(path).st_mode):
        return [Unlink(relative(path))]
    found: list[Op] = []
    for entry in sorted(os.scandir(path), key=lambda e: e.name):
        found += _removals(Path(entry.path), relative)
    return [*found, Rmdir(relative(path))]
