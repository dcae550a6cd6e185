"""The zstd layer: a streaming writer and a strict streaming reader, each a small object around
the next stream (as `gzip.GzipFile` wraps a file), through the `zstandard` package (libzstd).

Writing is multi-threaded (``threads`` ≥ 1 puts libzstd in its multi-threaded mode, whose frame
is cut into jobs by size, never by the number of workers): the bytes depend on the input, the
level and libzstd's version only. Single-threaded mode (threads=0) writes other bytes, so it is
never used.

Reading walks the frame and block headers itself (three bytes per block of up to 128 KiB) and
hands libzstd exactly one frame at a time: libzstd's stream reader returns a silent end of file
for a truncated frame and cannot tell trailing garbage from a damaged next frame, and each of
those is damage with its own code here. Memory stays bounded: the window is capped
(`WINDOW_LIMIT`) and output is handed out ``n`` bytes at a time.
"""

from __future__ import annotations

import os
from typing import IO, cast

import zstandard

from aeroops.errors import Code, FormatError
from aeroops.formats.magic import ZSTD_MAGIC, ZSTD_SKIPPABLE
from aeroops.formats.readable import Readable, Writable

MAGIC = ZSTD_MAGIC
DEFAULT_LEVEL = 3
LEVELS = range(1, 20)  # 20-22 ("ultra") need windows past WINDOW_LIMIT
# zstd -19 uses an 8 MiB window; a frame asking for more than 32 MiB (zstd --long) is refused,
# so a hostile header cannot make a reader allocate past the memory target.
WINDOW_LIMIT = 1 << 25
# A decompression bomb: past BOMB_FLOOR bytes out, more than BOMB_RATIO bytes out per byte in.
# Realistic JSON stores compress 3-10x, the old demo data 28x; a run of zeros reaches ~30,000x.
BOMB_RATIO = 1024
BOMB_FLOOR = 64 << 20
_MAX_BLOCK = 128 << 10
# Upstream reads: 1 MiB, so the stored bytes reach the digest thread in few, large handovers
# (64 KiB reads cost a queue hop and a GIL handover each: 17 % of a verify in one profile).
_READ = 1 << 20


def writer_threads() -> int:
    """Worker threads for compression: the machine's cores (at least one: see the module doc)."""
    return max(1, os.cpu_count() or 1)


class ZstdWriter:
    """``write()`` plain bytes; compressed bytes go to ``downstream.write``; ``close()`` ends the
    frame (and does not close ``downstream``)."""

    def __init__(self, downstream: Writable, *, level: int = DEFAULT_LEVEL, threads: int | None = None) -> None:
        compressor = zstandard.ZstdCompressor(level=level, threads=threads or writer_threads(), write_checksum=True)
        self._writer = compressor.stream_writer(cast(IO[bytes], downstream), closefd=False, write_return_read=True)
        self.bytes_in = 0

    def write(self, data: bytes) -> int:
        self.bytes_in += len(data)
        return int(self._writer.write(data))

    def close(self) -> None:
        self._writer.close()  # type: ignore[no-untyped-call]  # zstandard's stub leaves close untyped


class _FrameSource:
    """A ``read()`` over the upstream that ends at the end of the current frame, found by walking
    its header and block headers; raises AERO_ZSTD_* for what libzstd would not say."""

    def __init__(self, upstream: Readable, path: object) -> None:
        self._up = upstream
        self._path = path
        self._look = b""  # bytes read from upstream; those from _at on not handed out yet
        self._at = 0
        self.consumed = 0  # upstream bytes handed out or skipped
        self._ready = b""  # parsed header bytes to hand out
        self._body = 0  # block bytes to pass through
        self._state = "between"  # between, blocks, checksum, end
        self._checksum = False
        self.frame_start = 0
        self.declared: int | None = None  # the current frame's content size, if its header says

    def _fail(self, code: Code, message: str, offset: int | None = None) -> FormatError:
        return FormatError(message, path=self._path, offset=self.consumed if offset is None else offset, code=code)

    def _fill(self, n: int) -> bytes:
        while len(self._look) - self._at < n:
            more = self._up.read(max(n - len(self._look) + self._at, _READ))
            if not more:
                break
            rest = self._look[self._at :] if self._at < len(self._look) else b""
            self._look, self._at = (rest + more if rest else more), 0
        return self._look[self._at : self._at + n]

    def _take(self, n: int, what: str) -> bytes:
        data = self._fill(n)
        if len(data) < n:
            raise self._fail(Code.ZSTD_TRUNCATED, f"the zstd stream ends inside {what}", self.consumed + len(data))
        self._at += n
        self.consumed += n
        return data

    def next_frame(self) -> bool:
        """Move to the next frame; False at a clean end of the stream (skippable frames skipped)."""
        while True:
            head = self._fill(4)
            if not head:
                return False
            magic = int.from_bytes(head.ljust(4, b"\0"), "little")
            if len(head) == 4 and magic in ZSTD_SKIPPABLE:
                size = int.from_bytes(self._take(8, "a skippable frame's header")[4:], "little")
                while size:
                    size -= len(self._take(min(size, 1 << 16), "a skippable frame"))
                continue
            if head != MAGIC:
                if self.frame_start == 0 and self.consumed == 0:
                    raise self._fail(Code.ZSTD_CORRUPT, "not a zstd frame: its first bytes are no zstd magic")
                raise self._fail(
                    Code.ZSTD_TRAILING,
                    f"{'bytes' if len(head) == 4 else f'{len(head)} bytes'} after the last zstd frame are no zstd "
                    "frame (trailing garbage)",
                )
            self.frame_start = self.consumed
            self._ready = self._header()
            self._state = "blocks"
            return True

    def _header(self) -> bytes:
        fixed = self._take(5, "a frame header")
        descriptor = fixed[4]
        if descriptor & 0x08:
            raise self._fail(Code.ZSTD_CORRUPT, "a zstd frame header sets its reserved bit", self.consumed - 1)
        single = bool(descriptor & 0x20)
        dict_bytes = (0, 1, 2, 4)[descriptor & 0x03]
        size_flag = descriptor >> 6
        size_bytes = (1 if single else 0, 2, 4, 8)[size_flag]
        rest = self._take((0 if single else 1) + dict_bytes + size_bytes, "a frame header")
        self._checksum = bool(descriptor & 0x04)
        if size_bytes:
            value = int.from_bytes(rest[len(rest) - size_bytes :], "little")
            self.declared = value + 256 if size_bytes == 2 else value
        else:
            self.declared = None
        return fixed + rest

    @property
    def ended(self) -> bool:
        """Every byte of the current frame was handed out."""
        return self._state == "end" and not self._ready and not self._body

    def read(self, n: int = -1) -> bytes:
        if self._ready:
            data, self._ready = self._ready, b""
            return data
        if self._body:
            want = self._body if n < 0 else min(n, self._body)
            if self._at < len(self._look):
                data = self._look[self._at : self._at + want]
                self._at += len(data)
            else:
                data = self._up.read(want)
            if not data:
                raise self._fail(Code.ZSTD_TRUNCATED, "the zstd stream ends inside a block")
            self._body -= len(data)
            self.consumed += len(data)
            return data
        if self._state == "blocks":
            header = self._take(3, "a block header")
            value = int.from_bytes(header, "little")
            last, kind, size = value & 1, (value >> 1) & 3, value >> 3
            if kind == 3 or size > _MAX_BLOCK:
                raise self._fail(Code.ZSTD_CORRUPT, "a zstd block header is invalid", self.consumed - 3)
            self._body = 1 if kind == 1 else size
            if last:
                self._state = "checksum" if self._checksum else "end"
            return header
        if self._state == "checksum":
            self._state = "end"
            return self._take(4, "a frame checksum")
        return b""


class ZstdReader:
    """``read(n)`` the plain bytes of every frame of a zstd stream, in order; each kind of damage
    raises `FormatError` with its AERO_ZSTD_* code and the offset in the compressed stream."""

    def __init__(
        self,
        upstream: Readable,
        *,
        path: object = None,
        bomb_ratio: int = BOMB_RATIO,
        bomb_floor: int = BOMB_FLOOR,
    ) -> None:
        self._source = _FrameSource(upstream, path)
        self._path = path
        self._dctx = zstandard.ZstdDecompressor(max_window_size=WINDOW_LIMIT)
        self._frame: zstandard.ZstdDecompressionReader | None = None
        self._frame_out = 0
        self.bytes_out = 0
        self._ratio = bomb_ratio
        self._floor = bomb_floor
        self._done = False

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes, fewer only at the end (as a file's read)."""
        first = self._read_some(n)
        if len(first) == n or not first:
            return first
        parts = [first]
        got = len(first)
        while (n < 0 or got < n) and (more := self._read_some(n - got if n > 0 else -1)):
            parts.append(more)
            got += len(more)
        return b"".join(parts)

    def _read_some(self, n: int) -> bytes:
        want = n if n > 0 else 1 << 20
        while not self._done:
            if self._frame is None:
                if not self._source.next_frame():
                    self._done = True
                    break
                source = cast(IO[bytes], self._source)
                self._frame = self._dctx.stream_reader(source, read_size=1 << 17, read_across_frames=False)
                self._frame_out = 0
            try:
                data = self._frame.read(want)
            except zstandard.ZstdError as error:
                raise self._damage(str(error)) from None
            if data:
                self._count(len(data))
                return data
            self._end_of_frame()
        return b""

    def _count(self, size: int) -> None:
        self._frame_out += size
        self.bytes_out += size
        declared = self._source.declared
        if declared is not None and self._frame_out > declared:
            raise self._fail(
                Code.ZSTD_SIZE, f"a zstd frame declares {declared} bytes but decodes to more", self._source.frame_start
            )
        if self.bytes_out > self._floor and self.bytes_out > self._ratio * max(self._source.consumed, 1):
            raise self._fail(
                Code.ZSTD_LIMIT,
                f"refused as a decompression bomb: {self._source.consumed} compressed bytes expand to over "
                f"{self.bytes_out} (more than {self._ratio} to 1)",
                self._source.consumed,
            )

    def _end_of_frame(self) -> None:
        source = self._source
        if source.read(1):  # libzstd ended the frame before its last block: the blocks disagree
            raise self._fail(Code.ZSTD_CORRUPT, "a zstd frame ends before its last block", source.consumed)
        if source.declared is not None and self._frame_out != source.declared:
            raise self._fail(
                Code.ZSTD_SIZE,
                f"a zstd frame declares {source.declared} bytes but decodes to {self._frame_out}",
                source.frame_start,
            )
        self._frame = None

    def _damage(self, message: str) -> FormatError:
        text = message.removeprefix("zstd decompress error: ")
        declared = self._source.declared
        # libzstd sizes a single-segment frame's buffer by the declared size: more data overflows
        # it; less is found once the whole frame was read.
        if declared is not None and ("too small" in text or (self._source.ended and self._frame_out < declared)):
            return self._fail(
                Code.ZSTD_SIZE,
                f"a zstd frame declares {declared} bytes but decodes to "
                f"{'more' if 'too small' in text else f'{self._frame_out}'}",
                self._source.frame_start,
            )
        if "window" in text.lower() or "memory" in text.lower():
            return self._fail(Code.ZSTD_LIMIT, f"refused: the frame needs a window over {WINDOW_LIMIT >> 20} MiB")
        return self._fail(Code.ZSTD_CORRUPT, f"a zstd frame does not decode: {text}")

    def _fail(self, code: Code, message: str, offset: int | None = None) -> FormatError:
        where = self._source.consumed if offset is None else offset
        return FormatError(message, path=self._path, offset=where, code=code)

    def close(self) -> None:
        self._frame = None


__all__ = ["DEFAULT_LEVEL", "LEVELS", "MAGIC", "ZstdReader", "ZstdWriter", "writer_threads"]
