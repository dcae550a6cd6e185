"""Advisory locks: no two aeroops runs touch one data directory at once.

AeroDB's own execution lock lives inside its process; aeroops cannot take it. Instead it
holds an ``flock`` on a lock file beside the data directory (never inside: a backup writes
nothing there), which survives a restore's swap of the directory, and one on the directory
itself. The kernel drops the locks when their holder dies, so a killed run never leaves a stale
lock behind.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Literal

from aeroops.errors import AeroError
from aeroops.executor import log
from aeroops.executor.fileops import FileOps


def aerodb_serving(data_dir: Path, ops: FileOps) -> bool:
    """AeroDB serves ``data_dir``: its ``.lock`` is there (DESIGN.md §1)."""
    return ops.exists(data_dir / ".lock")


def lock_path_for(data_dir: Path) -> Path:
    data_dir = Path(os.path.abspath(data_dir))
    return data_dir.parent / f".{data_dir.name}.aeroops-lock"


class DirectoryLock:
    """Exclusive, non-blocking. ``error`` builds the exception for a refusal, so a backup says
    AERO_BACKUP_FAILED and a restore AERO_RESTORE_FAILED.

    Two flocks: the lock file beside the data directory (it survives a restore's swap, and names
    its holder), and the data directory itself. A run that cannot use the lock file (a
    read-only parent; another user, for whom root's 0600 lock file does not open) still takes
    the second, so it and a run that holds both exclude each other."""

    def __init__(self, data_dir: Path, error: Callable[..., AeroError], purpose: str, ops: FileOps) -> None:
        self.data_dir = Path(data_dir)
        self._ops = ops
        self.path = lock_path_for(data_dir)
        self._error = error
        self._purpose = purpose
        self._fds: list[int] = []
        self._lock_file_error: OSError | None = None

    def acquire(self) -> None:
        fds: list[int] = []
        file_fd = None
        try:
            file_fd = self._lock_file()
            if file_fd is not None:
                fds.append(file_fd)
            dir_fd = self._open_data_dir(required=file_fd is None)
            if dir_fd is not None:
                fds.append(dir_fd)
                self._exclusive(dir_fd, names_holder=False)  # its holder may not have written the lock file
            if file_fd is not None:
                self._name_holder(file_fd)
        except BaseException:
            if file_fd is not None:
                self._remove_lock_file()  # ours: its flock is held
            for fd in fds:
                self._ops.unlock(fd)
            raise
        self._fds = fds

    def _name_holder(self, fd: int) -> None:
        try:
            with open(fd, "r+b", buffering=0, closefd=False) as holder:
                self._ops.truncate(holder, 0)
                self._ops.write(holder, f"{os.getpid()} {self._purpose}\n".encode())
        except OSError as exc:
            raise self._error(f"cannot write the lock file: {exc.strerror or exc}", path=self.path) from exc

    def _lock_file(self) -> int | None:
        """The lock file, opened and flock-ed (None where it cannot be used). It is removed when
        the lock is released, so a run that opened it just before may lock a file no longer in
        place: the flock counts only while the name still points at the file locked."""
        for _ in range(100):
            fd = self._open_lock_file()
            if fd is None:
                return None
            try:
                self._exclusive(fd, names_holder=True)
                if _same_file(fd, self.path, self._ops):
                    return fd
            except BaseException:
                self._ops.unlock(fd)
                raise
            self._ops.unlock(fd)  # removed (and perhaps made anew) by the run that held it: try again
        raise self._error("the lock file keeps being replaced; is another program removing it?", path=self.path)

    def _open_lock_file(self) -> int | None:
        try:
            # Never through a link, never a FIFO or a device: what someone put in its place is
            # refused rather than truncated, written or waited on.
            return self._ops.open_lock(self.path, create=True)
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                self._lock_file_error = exc
                return None  # a read-only parent, or another user's lock file: the folder's lock serves
            reason = exc.strerror
            if exc.errno in (errno.ELOOP, errno.EINVAL, errno.EISDIR):
                reason = "it is not a regular file (a link, a FIFO or a device is there); remove it"
            elif exc.errno == errno.ENOENT:
                reason = "the folder that holds the data directory does not exist"
            raise self._error(f"cannot create the lock file: {reason}", path=self.path) from None

    def _remove_lock_file(self) -> None:
        """Remove the lock file, while its flock is still held (see `_lock_file`)."""
        try:
            self._ops.remove(self.path)
        except FileNotFoundError:
            pass
        except OSError as exc:  # the lock is released all the same; the file is only left over
            log.warning("could not remove the lock file %s: %s", self.path, exc.strerror)

    def _open_data_dir(self, *, required: bool) -> int | None:
        try:
            return self._ops.open_lock(self.data_dir, directory=True)
        except OSError as exc:
            if not required:
                return None  # e.g. a restore that creates the data directory
            if exc.errno == errno.ENOENT and self._lock_file_error is not None:
                # Nothing to lock yet (a restore creating it), and the parent refused the lock file:
                # that refusal (permission denied, read-only) is the reason, not "no such file".
                reason = self._lock_file_error.strerror
                raise self._error(f"cannot create the lock file: {reason}", path=self.path) from exc
            raise self._error(f"cannot lock the data directory: {exc.strerror}", path=self.data_dir) from exc

    def _exclusive(self, fd: int, *, names_holder: bool) -> None:
        try:
            self._ops.flock(fd)
        except OSError as exc:
            if _held(exc):
                holder = _read_holder(fd, self._ops) if names_holder else ""
                raise self._error(
                    f"another aeroops run holds this data directory{holder}; wait for it to finish",
                    path=self.path,
                ) from None
            raise

    def release(self) -> None:
        if self._fds and _same_file(self._fds[0], self.path, self._ops):
            self._remove_lock_file()
        for fd in reversed(self._fds):
            self._ops.unlock(fd)
        self._fds = []

    def __enter__(self) -> DirectoryLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


class FolderLock:
    """An flock on a backup folder itself: shared while a backup writes into it, exclusive while
    a prune removes from it. Backups into one folder run side by side; a prune waits for none of
    them and is refused while any runs, and refuses them while it runs."""

    def __init__(self, folder: Path, error: Callable[..., AeroError], *, exclusive: bool, ops: FileOps) -> None:
        self.folder = Path(folder)
        self._ops = ops
        self._error = error
        self._exclusive = exclusive
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = self._ops.open_lock(self.folder, directory=True)
        except OSError as exc:
            raise self._error(f"cannot lock the folder: {exc.strerror}", path=self.folder) from exc
        try:
            self._ops.flock(fd, shared=not self._exclusive)
        except OSError as exc:
            self._ops.unlock(fd)
            if _held(exc):
                busy = (
                    "a backup or a prune is at work in this folder" if self._exclusive else "a prune holds this folder"
                )
                raise self._error(f"{busy}; wait for it to finish", path=self.folder) from None
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            self._ops.unlock(self._fd)
            self._fd = None

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def held_by_another(path: Path, ops: FileOps) -> bool:
    """Someone holds a flock on ``path`` right now (False where it cannot be opened to tell)."""
    probe = _flock(path, ops)
    if isinstance(probe, int):
        ops.unlock(probe)
        return False
    return probe == "held"


def data_dir_busy(data_dir: Path, ops: FileOps) -> bool:
    """Another aeroops run holds ``data_dir`` right now: a flock on the lock file beside it, or
    on the directory itself (a run that cannot use the lock file, as another user or under a
    read-only parent, takes only that one; see `DirectoryLock`). What a dry run asks."""
    return any(held_by_another(path, ops) for path in (lock_path_for(data_dir), Path(data_dir)))


def writable_folder(folder: Path | str, ops: FileOps) -> bool:
    """This process may create and rename entries in ``folder`` (what a dry run asks of the
    folder a real run would write in)."""
    return ops.access(folder, os.W_OK | os.X_OK)


def try_flock(path: Path, ops: FileOps) -> int | None:
    """An exclusive lock on ``path`` if free right now (the fd, for `FileOps.unlock`), else None."""
    probe = _flock(path, ops)
    return probe if isinstance(probe, int) else None


def _flock(path: Path, ops: FileOps) -> int | Literal["held", "unopenable"]:
    try:
        # Not blocking on a FIFO someone put there; a data directory is a folder.
        fd = ops.open_lock(path)
    except OSError:
        return "unopenable"
    try:
        ops.flock(fd)
    except OSError as error:
        ops.unlock(fd)
        return "held" if _held(error) else "unopenable"
    return fd


def _same_file(fd: int, path: Path, ops: FileOps) -> bool:
    """``path`` still names the file open as ``fd``."""
    try:
        named = ops.lstat(path)
    except OSError:
        return False
    opened = ops.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _held(error: OSError) -> bool:
    """A non-blocking flock failed because someone else holds the lock."""
    return error.errno in (errno.EWOULDBLOCK, errno.EACCES)


def _read_holder(fd: int, ops: FileOps) -> str:
    """Who holds the lock, as its holder wrote it in the lock file (read from the file already
    open: the path may name something else by now)."""
    try:
        text = ops.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return f" (pid {text})" if text else ""
