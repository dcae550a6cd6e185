"""SHA-256 on the second core. hashlib releases the GIL while it hashes a large buffer, so
hashing an archive's bytes in a thread overlaps with reading, CRC-32 and writing them: the
archive's digest comes at almost no cost in wall time."""

from __future__ import annotations

import hashlib
import queue
import threading
from types import TracebackType


class BackgroundSha256:
    """Feed it immutable chunks (bytes) in order; `hexdigest()` waits for the last one.
    At most ``depth`` chunks wait in the queue, which bounds the memory it holds."""

    def __init__(self, depth: int = 8) -> None:
        self._sha = hashlib.sha256()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._run, name="aeroops-sha256", daemon=True)
        self._thread.start()
        self._digest: str | None = None

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._sha.update(chunk)

    def update(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def hexdigest(self) -> str:
        if self._digest is None:
            self._queue.put(None)
            self._thread.join()
            self._digest = self._sha.hexdigest()
        return self._digest

    def __enter__(self) -> BackgroundSha256:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.hexdigest()  # stops the thread whatever happened
