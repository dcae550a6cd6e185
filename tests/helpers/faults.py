"""Shared fault-injection helpers: FileOps subclasses that fail, short-change, or kill the
process at a chosen call, and real file-system faults (a small tmpfs, a read-only bind mount).

Faults go through `aeroops.executor.fileops.FileOps`, the executor's seam for every effect on a
disk: `HookedOps` calls ``before(operation)`` ahead of each of its operations, so a subclass
overrides one method to fail, count or stop at any call.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import itertools
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from aeroops.executor.backup import STAGING_PREFIX
from aeroops.executor.fileops import FileOps


def seam_operations() -> tuple[str, ...]:
    """Every operation of the seam: FileOps's public methods, in the order it defines them. A
    method added to FileOps is hooked, counted, failed and killed at without a change here."""
    return tuple(name for name, value in vars(FileOps).items() if not name.startswith("_") and callable(value))


OPERATIONS = seam_operations()


class HookedOps(FileOps):
    """A FileOps whose every operation first calls ``self.before(operation)``."""

    def before(self, operation: str) -> None:
        pass


def _hooked(name: str) -> Callable[..., Any]:
    original = getattr(FileOps, name)

    @functools.wraps(original)
    def method(self: HookedOps, *args: Any, **kwargs: Any) -> Any:
        self.before(name)
        return original(self, *args, **kwargs)

    return method


for _name in OPERATIONS:
    setattr(HookedOps, _name, _hooked(_name))


class FailingOps(HookedOps):
    """Fails the n-th call of one operation with an errno."""

    def __init__(self, operation: str, err: int, nth: int = 1) -> None:
        assert operation in OPERATIONS, operation
        self.operation, self.err, self.nth, self.calls = operation, err, nth, 0

    def before(self, operation: str) -> None:
        if operation == self.operation:
            self.calls += 1
            if self.calls == self.nth:
                raise OSError(self.err, os.strerror(self.err))


class CountingOps(HookedOps):
    """Records every operation called, in order (thread-safe)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def before(self, operation: str) -> None:
        with self._lock:
            self.calls.append(operation)


class KillingOps(HookedOps):
    """SIGKILLs this process just before its n-th operation (of any kind, crash points
    included), or at the crash point named ``point``: no ``finally`` clause, atexit handler or
    cleanup runs, as when a machine loses power or the OOM killer strikes."""

    def __init__(self, nth: int = 0, *, point: str = "") -> None:
        self.nth, self.point = nth, point
        self._count = itertools.count(1)  # next() is atomic in CPython: the WAL check runs on a thread

    def before(self, operation: str) -> None:
        if next(self._count) == self.nth:
            os.kill(os.getpid(), signal.SIGKILL)

    def crash_point(self, name: str) -> None:
        super().crash_point(name)
        if name == self.point:
            os.kill(os.getpid(), signal.SIGKILL)


class Saboteur(FileOps):
    """Changes a real file at a precise moment of a run, as another process might: ``action`` runs
    on the file whose path ends with ``suffix`` just before the run's first ``moment`` on it:

    - "link": hard-linking it into the staging folder; "linked": right after (the staged link
      and the source are then one file);
    - "open": opening it for reading; "copy": the kernel copy from it (it is open by then);
    - "pack": the main thread's second opening of it (the first is the fsync of step 2): where
      the packer opens the WAL, read from the data directory.

    ``copy=True`` refuses hard links from the data directory (EXDEV, as across file systems), so
    files are staged by copying. The test puts the file back afterwards (`put_back`)."""

    def __init__(self, moment: str, suffix: str, action: Callable[[Path], None], *, copy: bool = False) -> None:
        assert moment in ("link", "linked", "open", "copy", "pack"), moment
        self.moment, self.suffix, self.action, self.copy = moment, suffix, action, copy
        self.done = False
        self._opened_here = 0  # openings of the file on the main thread

    def _source(self, path: object) -> bool:
        name = str(path)
        return name.endswith(self.suffix) and STAGING_PREFIX not in name

    def _maybe(self, moment: str, path: object) -> None:
        if moment == self.moment and not self.done and self._source(path):
            self.done = True
            self.action(Path(str(path)))

    def link(self, source: Path, target: Path) -> None:
        if self.copy and STAGING_PREFIX not in str(source):
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), str(source))
        self._maybe("link", source)
        super().link(source, target)
        self._maybe("linked", source)

    def open_read(self, path: Path, *, follow_symlinks: bool = True) -> BinaryIO:
        self._maybe("open", path)
        if self._source(path) and threading.current_thread() is threading.main_thread():
            self._opened_here += 1
            if self._opened_here == 2:
                self._maybe("pack", path)
        return super().open_read(path, follow_symlinks=follow_symlinks)

    def copy_range(self, source: BinaryIO, target: BinaryIO, size: int) -> int:
        self._maybe("copy", getattr(source, "name", ""))
        return super().copy_range(source, target, size)


def vanish(path: Path) -> None:
    path.unlink()


def shrink(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def grow(path: Path) -> None:
    with path.open("ab") as stream:
        stream.write(b"appended")


@contextlib.contextmanager
def put_back(*paths: Path) -> Iterator[None]:
    """Restore each file (bytes, mode, times) and its folder's times afterwards: what a test's
    `Saboteur` did is undone, so what is left to compare is what the code under test did."""
    saved = [(p, p.read_bytes(), p.stat(), p.parent.stat()) for p in paths]
    try:
        yield
    finally:
        for path, data, info, parent in saved:
            path.write_bytes(data)
            os.chmod(path, stat.S_IMODE(info.st_mode))
            os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
            os.utime(path.parent, ns=(parent.st_atime_ns, parent.st_mtime_ns))


class FaultyStream(io.RawIOBase):
    """A file open for reading that, once ``after`` bytes were read, fails with ``err`` (or,
    with ``err=None``, ends: the file was cut short). ``chunk``: no read returns more than
    that many bytes (short reads, as a pipe, a network file system or a signal give)."""

    def __init__(self, raw: BinaryIO, after: int, err: int | None, chunk: int | None = None) -> None:
        super().__init__()
        self._raw, self._left, self._err, self._chunk = raw, after, err, chunk
        self.name = getattr(raw, "name", "")

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._raw.fileno()

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            if self._err is None:
                return 0
            raise OSError(self._err, os.strerror(self._err), self.name)
        view = memoryview(buffer)[: min(self._left, self._chunk or self._left)]
        n = self._raw.readinto(view) or 0  # type: ignore[attr-defined]
        self._left -= n
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


class FaultyReadOps(FileOps):
    """Files whose path ends with ``suffix`` fail (or end) after ``after`` bytes when read."""

    def __init__(self, suffix: str, after: int, err: int | None) -> None:
        self.suffix, self.after, self.err = suffix, after, err
        self.opened = 0

    def open_read(self, path: Path, *, follow_symlinks: bool = True) -> BinaryIO:
        stream = super().open_read(path, follow_symlinks=follow_symlinks)
        if str(path).endswith(self.suffix):
            self.opened += 1
            return FaultyStream(stream, self.after, self.err)  # type: ignore[return-value]
        return stream


class ShortReadOps(FileOps):
    """Files whose path ends with ``suffix`` return at most ``chunk`` bytes per read, to the end:
    every reader must keep reading until a read returns nothing."""

    def __init__(self, suffix: str, chunk: int) -> None:
        self.suffix, self.chunk = suffix, chunk
        self.opened = 0

    def open_read(self, path: Path, *, follow_symlinks: bool = True) -> BinaryIO:
        stream = super().open_read(path, follow_symlinks=follow_symlinks)
        if str(path).endswith(self.suffix):
            self.opened += 1
            return FaultyStream(stream, 1 << 62, None, chunk=self.chunk)  # type: ignore[return-value]
        return stream


# --- real file systems --------------------------------------------------------------------------


def _mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"mount {' '.join(args)} is not permitted here: {result.stderr.strip()}")


def _umount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


@contextlib.contextmanager
def tmpfs(target: Path, size: str) -> Iterator[Path]:
    """A fresh tmpfs of ``size`` (e.g. "2m") mounted at ``target``, unmounted afterwards. Skips
    the test, with the reason, where mounting is not permitted (not root, no CAP_SYS_ADMIN)."""
    target.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(target))
    try:
        yield target
    finally:
        _umount(target)


@contextlib.contextmanager
def read_only_bind(source: Path, target: Path) -> Iterator[Path]:
    """``source`` seen read-only at ``target`` (a bind mount remounted ro): writes there fail
    with EROFS even for root."""
    target.mkdir(parents=True, exist_ok=True)
    _mount("--bind", str(source), str(target))
    try:
        result = subprocess.run(
            ["mount", "-o", "remount,bind,ro", str(target)], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            pytest.skip(f"remounting a bind mount read-only is not permitted: {result.stderr.strip()}")
        yield target
    finally:
        _umount(target)


def listing(folder: Path) -> list[str]:
    """Every path under ``folder``, relative, sorted (hidden entries included)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


NOBODY = 65534
CAN_RUN_AS_NOBODY = os.geteuid() == 0 and shutil.which("setpriv") is not None


def need_nobody() -> None:
    """Skip the test, with the reason, where `as_nobody` cannot work."""
    if not CAN_RUN_AS_NOBODY:
        pytest.skip("running as nobody needs root and setpriv")


def as_nobody(*argv: str) -> list[str]:
    """A command line run as the unprivileged user nobody: permissions then apply for real,
    which they do not to root."""
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv]


@contextlib.contextmanager
def world_readable_folder(prefix: str) -> Iterator[Path]:
    """A fresh folder under /tmp that nobody can reach (pytest's own tmp_path is private)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
