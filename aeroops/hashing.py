"""SHA-256 on the second core. hashlib releases the GIL while it hashes a large buffer, so
hashing an archive's bytes in a thread overlaps with reading, CRC-32 and writing them: the
archive's digest comes at almost no cost in wall time. Used by backup (for the sidecar) and
verify (to check it)."""

from __future__ import annotations

import hashlib
import queue
import threading
from types import TracebackType


class BackgroundSha256:
    """SHA-256 of the archive, computed beside the main pass: hashlib releases the GIL while it
    hashes a large buffer, so on a second core the hash overlaps the CRC and WAL work instead of
    adding to it. Updates keep their order; the queue bounds how far the reader runs ahead."""

    _BATCH = 64 << 10  # small reads (tar headers) are batched: one queue hop per 64 KiB

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=2)  # 2 MiB ahead at most
        self._small = bytearray()
        self._thread = threading.Thread(target=self._run, name="aeroops-sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            self._hash.update(data)

    def update(self, data: bytes) -> None:
        if len(data) < self._BATCH:
            self._small += data
            if len(self._small) < self._BATCH:
                return
            data, self._small = bytes(self._small), bytearray()
        elif self._small:
            self._queue.put(bytes(self._small))
            self._small = bytearray()
        self._queue.put(data)

    def close(self) -> None:
        if self._thread.is_alive():
            if self._small:
                self._queue.put(bytes(self._small))
                self._small = bytearray()
            self._queue.put(None)
            self._thread.join()

    def hexdigest(self) -> str:
        self.close()
        return self._hash.hexdigest()

    def __enter__(self) -> BackgroundSha256:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()  # stops the thread whatever happened
