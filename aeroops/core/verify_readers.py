"""The reader adapters verification reads through: one over the whole archive (counting,
handing every byte to the digest sink, reporting progress) and one over a member's streamed
chunks (for the WAL and storage readers, taking the member's CRC on the way)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from aeroops.core.verify_report import DigestSink
from aeroops.errors import FormatError

# A verify's digest runs on a thread: a CRC that let go of the lock would wait to get it back.
from aeroops.formats.checksum import crc32_held as crc32
from aeroops.formats.readable import Readable
from aeroops.progress import Progress, ProgressCallback

CHUNK = 1 << 20


class CountingReader:
    """Passes reads through, counting, handing them to the digest sink (for the sidecar) and
    reporting progress."""

    def __init__(
        self,
        stream: Readable,
        name: str,
        digest: DigestSink | None,
        progress: ProgressCallback | None,
        total: int,
    ) -> None:
        self._stream = stream
        self._name = name
        self._digest = digest
        self._progress = progress
        self._total = total
        self._reported = 0
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        # All of ``n`` unless the stream ends (an unbuffered file may return less).
        while 0 < len(data) < n and (more := self._stream.read(n - len(data))):
            data += more
        if self._digest is not None:
            self._digest.update(data)
        self.count += len(data)
        if self._progress is not None and self.count - self._reported >= CHUNK:
            self.report()
        return data

    def drain(self) -> None:
        """Read what is left, so the digest covers the whole file."""
        while self.read(CHUNK):
            pass

    def report(self, *, final: bool = False) -> None:
        if self._progress is not None:
            self._reported = self.count
            total = self._total or (self.count if final else 0)
            self._progress(Progress("verify", f"verify {self._name}", 1, 1, self.count, total))

    def tagged_digest(self) -> str | None:
        return None if self._digest is None else self._digest.tagged_digest()


class TarBroken(Exception):
    """Tar damage met while a format reader pulls a member's chunks: kept apart from the
    format reader's own errors, because it ends the whole verification, not one member."""

    def __init__(self, error: FormatError) -> None:
        super().__init__(str(error))
        self.error = error


class MemberReader:
    """A ``.read()`` over one member's streamed chunks (for iter_wal and iter_storage), taking
    the member's CRC on the way; nothing beyond one chunk is held."""

    def __init__(self, chunks: Iterator[bytes], on_chunk: Callable[[bytes], None] | None = None) -> None:
        self._chunks = chunks
        self._on_chunk = on_chunk
        self._buffer = b""
        self.crc = 0

    def _next_chunk(self) -> bytes:
        try:
            chunk = next(self._chunks, b"")
        except FormatError as error:
            raise TarBroken(error) from None
        if self._on_chunk is not None:
            self._on_chunk(chunk)
        return chunk

    def read(self, n: int = -1) -> bytes:
        if not self._buffer:
            self._buffer = self._next_chunk()
        if n < 0 or n >= len(self._buffer):
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:n], self._buffer[n:]
        self.crc = crc32(data, self.crc)
        return data

    def drain(self) -> int:
        """Consume the rest of the member; returns the CRC of all of it."""
        while self.read(CHUNK):
            pass
        return self.crc
