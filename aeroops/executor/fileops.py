"""The executor's file operations, in one place: the seam where tests inject faults
(ENOSPC, EIO, failing fsync, vanishing files) without patching the standard library.

Every effect a backup or restore has on a disk goes through a `FileOps`. Subclass it and
override a method to make that operation fail.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from pathlib import Path
from typing import BinaryIO

from aeroops.formats.checksum import crc32

COPY_CHUNK = 1 << 20


class FileOps:
    # --- reading ----------------------------------------------------------------------------
    def open_read(self, path: Path, *, follow_symlinks: bool = True) -> BinaryIO:
        """A regular file, opened for reading. Anything else is refused (EINVAL, "not a regular
        file"): a FIFO would block the open until some writer came, a device never ends.
        ``follow_symlinks=False`` for a path someone else may have made (a journal, a lock
        file): a symbolic link there is refused (ELOOP)."""
        def opener(name: str, _flags: int) -> int:
            return open_regular(name, os.O_RDONLY, follow_symlinks=follow_symlinks)

        return open(path, "rb", buffering=0, opener=opener)

    def read(self, stream: BinaryIO, size: int) -> bytes:
        """Up to ``size`` bytes; fewer only at the end of the file."""
        data = stream.read(size)
        while data and len(data) < size and (more := stream.read(size - len(data))):
            data += more
        return data

    def readinto(self, stream: BinaryIO, buffer: memoryview) -> int:
        return stream.readinto(buffer) or 0  # type: ignore[attr-defined]

    def stat(self, path: Path) -> os.stat_result:
        return os.stat(path)

    def lstat(self, path: Path) -> os.stat_result:
        return os.lstat(path)

    def scandir(self, path: Path) -> list[os.DirEntry[str]]:
        with os.scandir(path) as entries:
            return sorted(entries, key=lambda e: e.name)

    # --- writing ----------------------------------------------------------------------------
    def create(self, path: Path, mode: int = 0o600) -> BinaryIO:
        """A new file, never an existing one (O_EXCL), with ``mode`` from the start."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        return open(fd, "wb", buffering=0)

    def write(self, stream: BinaryIO, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            written = stream.write(view)
            if not written:
                raise OSError(errno.EIO, "write returned 0 bytes")
            view = view[written:]

    def fsync(self, stream: BinaryIO) -> None:
        os.fsync(stream.fileno())

    def drop_cached(self, stream: BinaryIO, length: int = 0) -> None:
        """Advise the kernel to drop the file's first ``length`` bytes (0: all) from the page
        cache (advice only: ignored where unsupported). Linux starts writing back the dirty part
        and drops what is clean, so calling it behind a stream of writes keeps the cache small."""
        with contextlib.suppress(OSError, AttributeError):
            os.posix_fadvise(stream.fileno(), 0, length, os.POSIX_FADV_DONTNEED)

    def fsync_path(self, path: Path) -> None:
        """fsync a file or a folder by path (a folder's fsync makes its entries durable)."""
        flags = os.O_RDONLY | os.O_CLOEXEC | (os.O_DIRECTORY if os.path.isdir(path) else 0)
        fd = os.open(path, flags)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def mkdir(self, path: Path, mode: int = 0o700) -> None:
        os.mkdir(path, mode)

    def link(self, source: Path, target: Path) -> None:
        os.link(source, target, follow_symlinks=False)

    def copy_range(self, source: BinaryIO, target: BinaryIO, size: int) -> int:
        """Copy ``size`` bytes from the current offsets, in the kernel where it can
        (copy_file_range, then sendfile), else through a buffer. Returns bytes copied:
        fewer than ``size`` only when the source ended early."""
        done = 0
        src, dst = source.fileno(), target.fileno()
        kernel = hasattr(os, "copy_file_range")
        while done < size:
            step = min(size - done, 1 << 30)
            try:
                n = os.copy_file_range(src, dst, step) if kernel else 0
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                    raise
                kernel, n = False, 0
            if not kernel:
                data = source.read(min(size - done, COPY_CHUNK))
                n = len(data)
                if n:
                    self.write(target, data)
            if n == 0:
                break
            done += n
        return done

    def rename(self, source: Path, target: Path) -> None:
        os.rename(source, target)

    def rename_noreplace(self, source: Path, target: Path) -> None:
        """Rename, failing with FileExistsError rather than replacing ``target``."""
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "exists", str(target))
        os.rename(source, target)

    def remove(self, path: Path) -> None:
        os.unlink(path)

    def remove_tree(self, path: Path) -> None:
        if os.path.lexists(path):
            if stat.S_ISDIR(os.lstat(path).st_mode):
                shutil.rmtree(path)
            else:
                os.unlink(path)


def open_regular(
    path: Path | str, flags: int, mode: int = 0o600, *, follow_symlinks: bool = True, directory: bool = False
) -> int:
    """A file descriptor of ``path`` opened with ``flags``, only if it is a regular file (or,
    with ``directory``, a folder): whatever else someone put there is refused with EINVAL
    before it can do harm. The open itself never blocks (O_NONBLOCK: a FIFO would wait for a
    writer; the flag is cleared after the check) and, without ``follow_symlinks``, never
    follows a symbolic link (O_NOFOLLOW: a lock file linked to a WAL must not truncate it)."""
    extra = os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow_symlinks else os.O_NOFOLLOW)
    fd = os.open(path, flags | extra, mode)
    try:
        kind = os.fstat(fd).st_mode
        if not (stat.S_ISREG(kind) or (directory and stat.S_ISDIR(kind))):
            if stat.S_ISDIR(kind):
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


REAL = FileOps()


class LimitedReader:
    """A reader that stops at ``limit`` bytes: a WAL is read up to the size seen when it was
    looked at, even if it grows meanwhile. With ``checksum``, ``crc`` is the CRC-32 of the
    bytes read so far (None without)."""

    def __init__(self, stream: BinaryIO, limit: int, *, checksum: bool = False) -> None:
        self._stream = stream
        self._left = limit
        self.crc: int | None = 0 if checksum else None

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        n = self._left if n < 0 else min(n, self._left)
        data = self._stream.read(n)
        self._left -= len(data)
        if self.crc is not None:
            self.crc = crc32(data, self.crc)
        return data


def failed_operation(exc: BaseException) -> str | None:
    """The `FileOps` operation an error came out of (the one the executor called), or None:
    what an I/O error names, as borg's ``backup_io("stat")`` does, without wrapping each call."""
    frame = exc.__traceback__
    while frame is not None:
        name = frame.tb_frame.f_code.co_name
        if isinstance(frame.tb_frame.f_locals.get("self"), FileOps) and not name.startswith("_"):
            return name if hasattr(FileOps, name) else None
        frame = frame.tb_next
    return None
