"""Read-ahead on a thread: the layers' decoding (libzstd, which releases the GIL while it
decompresses; age's loop) runs on one core while verification, restore's writes and the
digest use the other, as ``zstd -dc f | tar xf -`` runs its two processes side by side.

`Readahead` is a ``read(n)`` object over an upstream reader (the outermost layer's plain
output, in `aeroops.formats.layers.open_layers`): a thread pulls ``CHUNK`` bytes at a time and
keeps at most ``DEPTH`` chunks ahead, so memory stays bounded. What the upstream raises (a
layer's damage, with its code and offset) is raised by the `read` that reaches that point.
"""

from __future__ import annotations

import contextlib
import queue
import threading

from aeroops.formats.readable import Readable

CHUNK = 1 << 20
DEPTH = 4  # chunks in flight: 4 MiB ahead at most


class _Stop(Exception):
    """The reader was closed before the upstream ended."""


class Readahead:
    """``read(n)`` the bytes of ``upstream``, read ahead on a thread of its own."""

    def __init__(self, upstream: Readable, *, chunk: int = CHUNK, depth: int = DEPTH) -> None:
        self._up = upstream
        self._chunk = chunk
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(depth)
        self._stopped = threading.Event()
        self._buffer = b""
        self._at = 0
        self._ended = False
        self._thread = threading.Thread(target=self._run, name="aeroops-readahead", daemon=True)
        self._thread.start()

    def _put(self, item: bytes | BaseException) -> None:
        while True:
            if self._stopped.is_set():
                raise _Stop
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        try:
            while True:
                data = self._up.read(self._chunk)
                self._put(data)
                if not data:
                    return
        except _Stop:
            return
        except BaseException as error:  # raised again in the reading thread, where it belongs
            with contextlib.suppress(_Stop):
                self._put(error)

    def _next(self) -> bytes:
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._ended = True
            raise item
        if not item:
            self._ended = True
        return item

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes, fewer only at the end (as a file's read)."""
        available = len(self._buffer) - self._at
        if n >= 0 and available >= n:
            if self._at == 0 and n == len(self._buffer):
                data, self._buffer = self._buffer, b""
            else:
                data = self._buffer[self._at : self._at + n]
                self._at += n
            return data
        # (chunk, start, end) pieces, joined through views: one copy for a read across chunks (a
        # tar member's data starts anywhere in one), none for a whole chunk.
        pieces = [(self._buffer, self._at, len(self._buffer))] if available else []
        got = available
        self._buffer, self._at = b"", 0
        while (n < 0 or got < n) and not self._ended:
            item = self._next()
            if n >= 0 and got + len(item) > n:
                cut = n - got
                pieces.append((item, 0, cut))
                self._buffer, self._at = item, cut
                got = n
                break
            pieces.append((item, 0, len(item)))
            got += len(item)
        if len(pieces) == 1 and pieces[0][1] == 0 and pieces[0][2] == len(pieces[0][0]):
            return pieces[0][0]
        return b"".join(memoryview(chunk)[start:end] for chunk, start, end in pieces)

    def close(self) -> None:
        """Stop the thread (reading ended early, or finished); no-op when done already."""
        self._stopped.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)
        self._thread.join()


__all__ = ["Readahead"]
