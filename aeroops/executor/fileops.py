"""The executor's file operations, in one place: the seam where tests inject faults
(ENOSPC, EIO, failing fsync, vanishing files) and crashes, without patching the standard
library.

Every effect aeroops has on a disk goes through a `FileOps`: each public method is one
operation (a system call, or a few that only make sense together, such as opening and locking),
so a subclass that wraps them all sees every effect. Subclass it and override a method to make
that operation fail, count it, record it or stop the process before it. `crash_point` is no
effect at all: a named moment of a run where crash tests' FileOps kill the process.

Below the class, built only from its operations: `write_new_file` (a new file, written and
fsynced), `save_file` (borg's SaveFile: the one way to make a file appear whole, written under a
temporary name, fsynced, renamed, its folder fsynced) and `open_buffered`.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

from aeroops.executor import log
from aeroops.formats.checksum import crc32

if TYPE_CHECKING:
    import ctypes

COPY_CHUNK = 1 << 20
RENAME_NOREPLACE = 1  # <linux/fs.h>
AT_FDCWD = -100


class FileOps:
    def crash_point(self, name: str) -> None:
        """A named moment of a run (restore's are `aeroops.executor.restore.KILL_POINTS`): does
        nothing here; crash tests' FileOps SIGKILL the process at the one they were given."""

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

    def fstat(self, stream: BinaryIO | int) -> os.stat_result:
        """The stat of a file already open (a stream, or a descriptor)."""
        return os.fstat(stream if isinstance(stream, int) else stream.fileno())

    def pread(self, fd: int, size: int, offset: int) -> bytes:
        return os.pread(fd, size, offset)

    def scandir(self, path: Path) -> list[os.DirEntry[str]]:
        """A folder's entries, sorted by name (whether each is a file, a folder or a link is
        known from the listing itself: `os.DirEntry` asks no more of the disk for that)."""
        with os.scandir(path) as entries:
            return sorted(entries, key=lambda e: e.name)

    def exists(self, path: Path | str) -> bool:
        """An entry of that name is there (a symbolic link counts, even a dangling one)."""
        return os.path.lexists(path)

    def is_dir(self, path: Path | str) -> bool:
        """A folder is there (a link to one counts); False for nothing, or anything else."""
        return os.path.isdir(path)

    def is_file(self, path: Path | str) -> bool:
        """A regular file is there (a link to one counts)."""
        return os.path.isfile(path)

    def realpath(self, path: Path | str) -> str:
        """The path with every symbolic link resolved (readlink, as often as it takes)."""
        return os.path.realpath(path)

    def access(self, path: Path | str, mode: int) -> bool:
        """This process may use ``path`` as ``mode`` says (`os.W_OK` …), by its effective ids."""
        return os.access(path, mode, effective_ids=os.access in os.supports_effective_ids)

    # --- writing ----------------------------------------------------------------------------
    def create(self, path: Path, mode: int = 0o600) -> BinaryIO:
        """A new file, never an existing one (O_EXCL), with ``mode`` from the start."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        return open(fd, "wb", buffering=0)

    def open_update(self, path: Path) -> BinaryIO:
        """An existing regular file, opened to read and write in place (never created, never
        truncated by the open, never through a symbolic link): a restore cuts or extends the WAL
        it extracted. Its writes and truncations are the effects, each through this seam."""

        def opener(name: str, _flags: int) -> int:
            return open_regular(name, os.O_RDWR, follow_symlinks=False)

        return open(path, "r+b", buffering=0, opener=opener)

    def make_temp_dir(self, parent: Path | None, prefix: str) -> Path:
        """A new private folder (0700) with a unique name under ``parent`` (None: the system's
        temporary folder)."""
        import tempfile  # here: `aeroops verify` makes no folder, and starts without it

        return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))

    def write(self, stream: BinaryIO, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            written = stream.write(view)
            if not written:
                raise OSError(errno.EIO, "write returned 0 bytes")
            view = view[written:]

    def truncate(self, stream: BinaryIO, size: int) -> None:
        os.ftruncate(stream.fileno(), size)

    def fsync(self, stream: BinaryIO) -> None:
        os.fsync(stream.fileno())

    def drop_cached(self, stream: BinaryIO, length: int = 0) -> None:
        """Advise the kernel to drop the file's first ``length`` bytes (0: all) from the page
        cache (advice only: ignored where unsupported). Linux starts writing back the dirty part
        and drops what is clean, so calling it behind a stream of writes keeps the cache small."""
        try:
            os.posix_fadvise(stream.fileno(), 0, length, os.POSIX_FADV_DONTNEED)
        except (OSError, AttributeError) as exc:
            log.debug("page cache advice ignored for %s: %s", getattr(stream, "name", stream), exc)

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

    def rmdir(self, path: Path) -> None:
        os.rmdir(path)

    def chmod(self, path: Path, mode: int) -> None:
        os.chmod(path, mode)

    def lchown(self, path: Path, uid: int, gid: int) -> None:
        os.lchown(path, uid, gid)

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
        """Rename, failing with FileExistsError rather than replacing ``target``, atomically:
        renameat2(RENAME_NOREPLACE). Where the file system or the C library lacks it, a file is
        linked to its new name and then unlinked from the old (link() never replaces either); a
        folder can only be checked, then renamed (rename() would replace nothing but an empty
        folder in the gap)."""
        try:
            _renameat2_noreplace(source, target)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
        if not stat.S_ISDIR(os.lstat(source).st_mode):
            os.link(source, target, follow_symlinks=False)
            os.unlink(source)
            return
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))
        os.rename(source, target)

    def remove(self, path: Path) -> None:
        os.unlink(path)

    def remove_tree(self, path: Path) -> None:
        """Remove a file, or a folder and everything below it (symlinks are removed, never
        followed); a missing path is not an error."""
        if os.path.lexists(path):
            if stat.S_ISDIR(os.lstat(path).st_mode):
                import shutil  # here: at the top it (with bz2 and lzma) would slow every start

                shutil.rmtree(path)
            else:
                os.unlink(path)

    # --- locks --------------------------------------------------------------------------------
    def open_lock(self, path: Path, *, create: bool = False, directory: bool = False) -> int:
        """A descriptor to hold an flock on (close it with `unlock`): a lock file, created (0600,
        open for writing its holder's name) when ``create``; with ``directory`` a folder; else
        either (a probe of someone else's lock). Never a FIFO or a device (`open_regular`), and
        a lock file to create is never opened through a link (a lock file linked to a WAL must
        not be truncated)."""
        if directory:
            return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        if create:
            return open_regular(path, os.O_RDWR | os.O_CREAT, 0o600, follow_symlinks=False)
        return open_regular(path, os.O_RDONLY, directory=True)

    def flock(self, fd: int, *, shared: bool = False) -> None:
        """An flock, exclusive (or ``shared``), now or never: EWOULDBLOCK (or EACCES) when
        another holds it in a conflicting way."""
        import fcntl  # only locks need it: not `aeroops verify`, whose start it would slow

        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)

    def unlock(self, fd: int) -> None:
        """Release the flock (if held) and close the descriptor."""
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


@contextlib.contextmanager
def logged_cleanup(what: str, path: object) -> Iterator[None]:
    """A clean-up that must not fail what it cleans up after (the error being handled, or a run
    that is done): an OSError is logged on the "aeroops" logger (WARNING) and goes no further."""
    try:
        yield
    except OSError as exc:
        log.warning("%s %s failed: %s", what, path, exc.strerror or exc)


def open_buffered(ops: FileOps, path: Path) -> BinaryIO:
    """A buffered reader over a regular file (`FileOps.open_read`: a FIFO or a device is refused
    with EINVAL instead of blocking forever). A test's FileOps may hand back a stream of its
    own, used as it is."""
    raw = ops.open_read(path)
    if isinstance(raw, io.RawIOBase):
        return cast(BinaryIO, io.BufferedReader(raw, COPY_CHUNK))
    return raw


def read_head(ops: FileOps, path: Path, limit: int, *, follow_symlinks: bool = True) -> bytes:
    """The first ``limit`` bytes of a regular file (all of a small one: a manifest, a sidecar, a
    journal); read to ``limit`` or the end, however short the reads the system returns."""
    with ops.open_read(path, follow_symlinks=follow_symlinks) as stream:
        return ops.read(stream, limit)


def walk(
    ops: FileOps, root: Path, *, onerror: Callable[[OSError], None] | None = None
) -> Iterator[tuple[Path, list[str], list[str]]]:
    """`os.walk` through the seam: (folder, subfolder names, other names) top down, names
    sorted; as there, a link to a folder is listed among the subfolders but never followed. A
    caller may prune the subfolder list in place. A folder that cannot be listed goes to
    ``onerror`` (by default the error propagates), its ``filename`` set."""
    try:
        entries = ops.scandir(root)
    except OSError as exc:
        if exc.filename is None:
            exc.filename = str(root)
        if onerror is None:
            raise
        onerror(exc)
        return
    folders = [e.name for e in entries if e.is_dir()]
    others = [e.name for e in entries if not e.is_dir()]
    links = {e.name for e in entries if e.is_symlink()}
    yield root, folders, others
    for name in folders:
        if name not in links:
            yield from walk(ops, root / name, onerror=onerror)


def write_new_file(ops: FileOps, path: Path, data: bytes, mode: int = 0o600, *, fsync: bool = True) -> None:
    """A new file (never an existing one) holding ``data``, fsynced (unless not ``fsync``, for
    scratch data): durable once its folder is."""
    with ops.create(path, mode) as stream:
        ops.write(stream, data)
        if fsync:
            ops.fsync(stream)


def save_file(ops: FileOps, path: Path, data: bytes, *, tmp: Path, mode: int = 0o600, written: str = "") -> None:
    """Make ``path`` hold ``data`` whole or not at all, durably (borg's SaveFile): written to
    ``tmp`` (a new file beside it), fsynced, renamed over ``path``, the folder fsynced.
    ``written`` names the crash point between the fsync and the rename. A failure leaves
    ``tmp`` for the caller's clean-up."""
    write_new_file(ops, tmp, data, mode)
    if written:
        ops.crash_point(written)
    ops.rename(tmp, path)
    ops.fsync_path(path.parent)


_libc: ctypes.CDLL | None = None


def _renameat2_noreplace(source: Path, target: Path) -> None:
    import ctypes  # here: only a restore's swap calls the C library, and `aeroops verify` starts without it

    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(_libc, "renameat2", None)
    if renameat2 is None:  # a C library before glibc 2.28, or not Linux
        raise OSError(errno.ENOSYS, "renameat2 is not available")
    if renameat2(AT_FDCWD, os.fsencode(source), AT_FDCWD, os.fsencode(target), RENAME_NOREPLACE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(source), None, str(target))


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
    bytes read so far (None without). ``counted`` is called with each read's size (progress)."""

    def __init__(
        self, stream: BinaryIO, limit: int, *, checksum: bool = False, counted: Callable[[int], None] | None = None
    ) -> None:
        self._stream = stream
        self._left = limit
        self._counted = counted
        self.crc: int | None = 0 if checksum else None

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        n = self._left if n < 0 else min(n, self._left)
        data = self._stream.read(n)
        self._left -= len(data)
        if self.crc is not None:
            self.crc = crc32(data, self.crc)
        if self._counted is not None:
            self._counted(len(data))
        return data


def is_within(path: Path | str, folder: Path | str, ops: FileOps) -> bool:
    """``path`` is ``folder`` or lies below it, once every symbolic link is resolved (``path``
    need not exist yet)."""
    inner, outer = Path(ops.realpath(path)), Path(ops.realpath(folder))
    return inner == outer or outer in inner.parents


def not_a_folder(path: Path | str, ops: FileOps) -> str:
    """Why a folder named by the user cannot be used, in words that say which it is: it "does
    not exist", or it "is not a folder" (a file, FIFO or device is there)."""
    # normpath: "file/" or "file/." names no entry at all (ENOTDIR), yet the file is there.
    return "is not a folder" if ops.exists(os.path.normpath(path)) else "does not exist"


def not_a_file(path: Path | str, ops: FileOps) -> str | None:
    """Why an output file named by the user may not be replaced, or None (nothing there, or a
    regular file): a FIFO, device, socket or folder there (a link followed). Outputs are
    renamed over their path, which would replace the node itself: as root, ``-o /dev/null``
    would leave a regular file where the device was."""
    try:
        mode = ops.stat(Path(path)).st_mode
    except FileNotFoundError:
        return None
    except OSError as error:
        return f"cannot be looked at ({error.strerror or error})"
    if stat.S_ISREG(mode):
        return None
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))
    kind = next((name for test, name in kinds if test(mode)), "a device")
    return f"is {kind}: name a file"


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
