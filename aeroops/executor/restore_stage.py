"""Restore's staging: one streaming pass over the archive verifies it and writes its files,
with the very bytes it checks, into the temporary folder beside the data directory (`Stager`,
with drop-behind; `verify_and_extract`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from aeroops.core.restore_plan import STAGED_SNAPSHOT
from aeroops.core.verify_report import StorageSink, VerifyReport, WalSink
from aeroops.executor.audit import needs_contents, open_remote, verify_opened_archive
from aeroops.executor.fileops import FileOps, logged_cleanup, open_buffered
from aeroops.executor.keys import Identities
from aeroops.formats.layout import member_targets, new_directories
from aeroops.progress import ProgressCallback

DROP_BEHIND = 64 << 20  # see Stager
FILE_MODE = 0o644  # what the archive's headers say; the umask applies, as for `tar x`
DIR_MODE = 0o755


class Stager:
    """Writes the archive's files into the temporary folder with the very bytes verification
    checks, in the same pass (`DataSink`). Only file names of the backup layout reach it, each
    written once, through a fresh O_EXCL file under folders made here: nothing can land
    outside the folder. Snapshot files go under STAGED_SNAPSHOT until the verified manifest
    names the snapshot. A finished member's files are fsynced on a thread, so the disk writes
    them while the next member streams in.

    Gigabytes go through the page cache that nothing will read soon: every DROP_BEHIND bytes the
    stager advises the kernel to drop what lies one step behind (Linux starts its writeback,
    then drops it once clean), so the cache stays small, the machine's working set is not
    pushed out, and new writes reuse pages instead of claiming fresh ones. It does not fsync as
    it goes: on ext4 each fsync commits the journal. ``observers``: a file's bytes also go to
    its observer as they are written (a point-in-time restore finds where it cuts the WAL)."""

    def __init__(
        self, temp: Path, ops: FileOps, observers: Mapping[str, Callable[[bytes], None]] | None = None
    ) -> None:
        self._temp = temp
        self._ops = ops
        self._observers = observers or {}
        self._observing: list[Callable[[bytes], None]] = []
        self._open: list[BinaryIO] = []
        self._position = 0  # bytes written to each open file
        self._dropped_to = 0  # the drop-behind advice given so far covers this much
        self._fsyncs: list[Future[None]] = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aeroops-fsync")
        self.written: set[str] = set()  # paths in the temporary folder
        ops.mkdir(temp, 0o700)
        for folder in new_directories(STAGED_SNAPSHOT):
            ops.mkdir(temp / folder, DIR_MODE)
        ops.crash_point("temp-created")

    def sink(self, name: str, size: int) -> Callable[[bytes], None] | None:
        self._finish_member()
        targets = member_targets(name, STAGED_SNAPSHOT)
        if not targets or any(t in self.written for t in targets):
            return None  # not restored, or a duplicate (verification refuses the archive)
        for target in targets:  # one at a time: a failure leaves those made in _open, to close
            self._open.append(self._ops.create(self._temp / target, FILE_MODE))
        self._observing = [self._observers[t] for t in targets if t in self._observers]
        self.written.update(targets)
        return self._write

    def _write(self, chunk: bytes) -> None:
        for out in self._open:
            self._ops.write(out, chunk)
        for observe in self._observing:
            observe(chunk)
        self._position += len(chunk)
        if self._position - self._dropped_to >= DROP_BEHIND:
            for out in self._open:
                self._ops.drop_cached(out, self._position - DROP_BEHIND)
            self._dropped_to = self._position

    def _finish_member(self) -> None:
        if not self._open:
            return
        first = not self._fsyncs
        for out in self._open:
            self._fsyncs.append(self._pool.submit(self._fsync_and_close, out))
        self._open, self._position, self._dropped_to, self._observing = [], 0, 0, []
        if first:
            self._ops.crash_point("extract-midway")

    def _fsync_and_close(self, stream: BinaryIO) -> None:
        with stream:
            self._ops.fsync(stream)
            self._ops.drop_cached(stream)  # its pages serve the files still to come

    def finish(self) -> None:
        """Every file written and fsynced; raises the first failure."""
        self._finish_member()
        for fsync in self._fsyncs:
            fsync.result()

    def close(self) -> None:
        """Stop, on success or failure: close what is open, wait for the fsync thread."""
        for out in self._open:
            with logged_cleanup("closing", getattr(out, "name", out)):
                out.close()
        self._open = []
        self._pool.shutdown(wait=True)


def verify_and_extract(
    archive: Path | str,
    size: int,
    temp: Path,
    ops: FileOps,
    progress: ProgressCallback,
    keys: Identities | None = None,
    record_sinks: tuple[WalSink, StorageSink] | None = None,
    observers: Mapping[str, Callable[[bytes], None]] | None = None,
) -> VerifyReport:
    """Step 3: one streaming pass over the archive verifies it and writes its files into the
    temporary folder (what is restored is what was verified, byte for byte: no second read).
    record_sinks: see `aeroops.executor.audit.verify_opened_archive`. ``observers``: see `Stager`."""
    stager = Stager(temp, ops, observers)
    try:
        with open_remote(archive) if isinstance(archive, str) else _local(ops, archive, size) as (stream, size):
            report = verify_opened_archive(
                archive,
                stream,
                size,
                progress=progress,
                data_sink=stager.sink,
                ops=ops,
                keys=keys,
                record_sinks=record_sinks,
            )
        stager.finish()
    finally:
        stager.close()
    return needs_contents(report)


@contextlib.contextmanager
def _local(ops: FileOps, archive: Path, size: int) -> Iterator[tuple[BinaryIO, int]]:
    with open_buffered(ops, archive) as stream:
        yield stream, size
