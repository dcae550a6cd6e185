"""Advisory locks: no two aeroops runs touch one data directory at once.

AeroDB's own execution lock lives inside its process; aeroops cannot take it. Instead it
holds an ``flock`` on a lock file beside the data directory (never inside: a backup writes
nothing there), which survives a restore's swap of the directory. The kernel drops the lock
when its holder dies, so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from aeroops.errors import AeroError


def lock_path_for(data_dir: Path) -> Path:
    data_dir = Path(os.path.abspath(data_dir))
    return data_dir.parent / f".{data_dir.name}.aeroops-lock"


class DirectoryLock:
    """Exclusive, non-blocking. ``error`` builds the exception for a refusal, so a backup says
    AERO_BACKUP_FAILED and a restore AERO_RESTORE_FAILED."""

    def __init__(self, data_dir: Path, error: Callable[..., AeroError], purpose: str) -> None:
        self.data_dir = Path(data_dir)
        self.path = lock_path_for(data_dir)
        self._error = error
        self._purpose = purpose
        self._fd: int | None = None

    def acquire(self) -> None:
        holder_note = True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise self._error(f"cannot create the lock file: {exc.strerror}", path=self.path) from exc
            # A read-only parent (a backup of a read-only mount): lock the folder itself.
            try:
                fd = os.open(self.data_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError as inner:
                raise self._error(f"cannot lock the data directory: {inner.strerror}", path=self.data_dir) from inner
            holder_note = False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EACCES):
                holder = _read_holder(self.path)
                raise self._error(
                    f"another aeroops run holds this data directory{holder}; wait for it to finish",
                    path=self.path,
                ) from None
            raise
        if holder_note:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {self._purpose}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DirectoryLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def try_flock(path: Path) -> int | None:
    """An exclusive lock on ``path`` if free right now (the fd, to close), else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _read_holder(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        return ""
    return f" (pid {text})" if text else ""
