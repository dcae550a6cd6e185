"""Shared fault-injection helpers: FileOps subclasses that fail, short-change, or kill the
process at a chosen call, and real file-system faults (a small tmpfs, a read-only bind mount).

Faults go through `aeroops.executor.fileops.FileOps`, the executor's seam for every effect on a
disk: `HookedOps` calls ``before(operation)`` ahead of each of its operations, so a subclass
overrides one method to fail, count or stop at any call.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from aeroops.executor.backup import STAGING_PREFIX
from aeroops.executor.fileops import FileOps

TESTS = Path(__file__).parent

# Every operation of the seam, in the order FileOps defines them.
OPERATIONS = (
    "open_read",
    "read",
    "readinto",
    "stat",
    "lstat",
    "scandir",
    "create",
    "write",
    "fsync",
    "fsync_path",
    "mkdir",
    "link",
    "copy_range",
    "rename",
    "rename_noreplace",
    "remove",
    "remove_tree",
)


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
    """SIGKILLs this process just before its n-th operation (of any kind): no ``finally``
    clause, atexit handler or cleanup runs, as when a machine loses power or the OOM killer
    strikes."""

    def __init__(self, nth: int) -> None:
        self.nth = nth
        self._count = itertools.count(1)  # next() is atomic in CPython: the WAL check runs on a thread

    def before(self, operation: str) -> None:
        if next(self._count) == self.nth:
            os.kill(os.getpid(), signal.SIGKILL)


def _named(stream: BinaryIO, suffix: str) -> bool:
    return str(getattr(stream, "name", "")).endswith(suffix)


class ShrinkingOps(FileOps):
    """The source file ``suffix`` ends early while copied or packed: the kernel copy, or a read,
    returns fewer bytes than the size seen (as when the file is truncated mid-copy). The real
    file is not touched."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix
        self.hits = 0

    def copy_range(self, source: BinaryIO, target: BinaryIO, size: int) -> int:
        if _named(source, self.suffix):
            self.hits += 1
            return super().copy_range(source, target, size // 2)
        return super().copy_range(source, target, size)

    def read(self, stream: BinaryIO, size: int) -> bytes:
        if _named(stream, self.suffix):
            self.hits += 1
            return b""
        return super().read(stream, size)


class GrowingOps(FileOps):
    """The source file ``suffix`` has more bytes than the size seen, as if appended to while
    copied or packed (the probe for one more byte finds one)."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix
        self.hits = 0

    def copy_range(self, source: BinaryIO, target: BinaryIO, size: int) -> int:
        done = super().copy_range(source, target, size)
        if _named(source, self.suffix):
            self.hits += 1
            source.seek(-1, os.SEEK_CUR)  # the next read finds one more byte
        return done

    def read(self, stream: BinaryIO, size: int) -> bytes:
        data = super().read(stream, size)
        if size == 1 and not data and _named(stream, self.suffix):
            self.hits += 1
            return b"\x00"
        return data


class VanishingOps(FileOps):
    """The source file ``suffix`` is gone by the time it is staged (deleted after the scan):
    link and open fail with ENOENT. The real file is not touched."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix
        self.hits = 0

    def _gone(self, path: Path) -> None:
        if str(path).endswith(self.suffix) and STAGING_PREFIX not in str(path):
            self.hits += 1
            raise FileNotFoundError(2, "No such file or directory", str(path))

    def link(self, source: Path, target: Path) -> None:
        self._gone(source)
        super().link(source, target)

    def open_read(self, path: Path) -> BinaryIO:
        self._gone(path)
        return super().open_read(path)


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
