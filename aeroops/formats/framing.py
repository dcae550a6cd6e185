"""The framing AeroDB's WAL and storage files share: records back to back, each starting with
its own length (u32 LE, the whole record) and ending with a CRC-32 (u32 LE) of every byte
before it. One streaming reader serves both formats.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple, TypedDict

from aeroops.errors import Code, FormatError
from aeroops.formats.checksum import crc32
from aeroops.formats.readable import Readable

U32 = struct.Struct("<I")
U64 = struct.Struct("<Q")
READ_CHUNK = 1 << 20
# A record longer than this is taken as a damaged length field: it bounds the reader's memory.
MAX_RECORD_LENGTH = 256 << 20
# CRC-32 of any bytes followed by their own CRC-32, little-endian.
CRC_RESIDUE = 0x2144DF1C


class Where(TypedDict):
    """Where a record's damage is, as the field readers and `FormatError` take it."""

    path: object
    offset: int
    code: Code


class Framing(NamedTuple):
    """How one record format frames its records (length bounds, what its errors are called). Two
    constants: a tuple, as a dataclass would cost every start of the command line to define."""

    name: str  # "WAL" or "STORAGE"
    min_length: int
    length_code: Code  # an impossible record length
    checksum_code: Code  # a record whose CRC does not match
    torn_tail_code: Code  # the file ends inside a record


def iter_frames(
    stream: Readable, framing: Framing, *, path: object = None, start_offset: int = 0
) -> Iterator[tuple[int, bytes | bytearray, int, int]]:
    """Yield ``(file_offset, buffer, start, end)`` for each checksummed record.

    The record is ``buffer[start:end]``; parsers unpack from the buffer in place, no copy.
    Raises `FormatError` at the first damage, with the framing's length, checksum or torn-tail code.
    """
    min_length = framing.min_length
    unpack_u32 = U32.unpack_from  # a local: this loop runs once per record
    buffers = Buffers(stream, framing, path, start_offset)
    buf, pos, base = buffers.first()  # base: file offset of buf[0]
    while True:
        view, size = memoryview(buf), len(buf)
        # Every whole record in the buffer. A record followed by its own CRC (little-endian)
        # always has the CRC-32 residue: one call checks it.
        while pos + 4 <= size:
            (length,) = unpack_u32(buf, pos)
            end = pos + length
            if end > size or length < min_length:
                break
            if crc32(view[pos:end]) != CRC_RESIDUE:
                raise checksum_error(buf, pos, end, framing, path, base)
            yield base + pos, buf, pos, end
            pos = end
        view.release()
        following = buffers.after(buf, pos, base)
        if following is None:
            return
        buf, pos, base = following


class Buffers:
    """The buffers a frame reader walks. Chunks are walked where they were read; only a record
    that straddles two chunks is copied, alone, into a buffer of its own, with the rest of the
    next chunk parked to be walked in place after it. (Joining each chunk's tail onto the next
    copied every byte a second time: a third of verify's time.) Shared by the Python and the C
    readers, so both report damage alike."""

    def __init__(self, stream: Readable, framing: Framing, path: object, start_offset: int = 0) -> None:
        self._stream = stream
        self._framing = framing
        self._path = path
        self._start = start_offset
        self._parked: tuple[bytes | bytearray, int, int] | None = None  # (chunk, pos, base) after a spliced record

    def first(self) -> tuple[bytes | bytearray, int, int]:
        return self._stream.read(READ_CHUNK), 0, self._start

    def after(self, buf: bytes | bytearray, pos: int, base: int) -> tuple[bytes | bytearray, int, int] | None:
        """After the whole records of ``buf`` up to ``pos``: the next buffer, position in it and
        its file offset; None where the stream ends cleanly. Raises for an impossible length or
        a torn tail."""
        avail = len(buf) - pos
        if not avail and self._parked is not None:
            parked, self._parked = self._parked, None
            return parked
        framing = self._framing
        length = 0
        need = READ_CHUNK
        if avail >= 4:
            (length,) = U32.unpack_from(buf, pos)
            if length < framing.min_length or length > MAX_RECORD_LENGTH:
                raise FormatError(
                    f"record length {length} is impossible (at least {framing.min_length}, "
                    f"at most {MAX_RECORD_LENGTH})",
                    path=self._path,
                    offset=base + pos,
                    code=framing.length_code,
                )
            need = max(READ_CHUNK, length - avail)
        more = _read_at_most(self._stream, need)
        if not more:
            if not avail:
                return None
            message = (
                f"record declares {length} bytes but only {avail} remain (torn tail, or a damaged length)"
                if avail >= 4
                else f"{avail} trailing bytes are too few for a record length (torn tail)"
            )
            raise FormatError(message, path=self._path, offset=base + pos, code=framing.torn_tail_code)
        if not avail:
            return more, 0, base + pos
        rest = length - avail  # bytes of `more` that finish the straddling record (<= 0: unknown)
        if 0 < rest < len(more):
            self._parked = (more, rest, base + len(buf))
            return buf[pos:] + more[:rest], 0, base + pos
        return buf[pos:] + more, 0, base + pos


def _read_at_most(stream: Readable, n: int) -> bytes | bytearray:
    """Up to ``n`` bytes (fewer only at the end), asked for a chunk at a time: a damaged length
    field declaring a huge record costs memory only for the bytes really there (a file's
    read(n) allocates n bytes before it knows how many it will get)."""
    if n <= READ_CHUNK:
        return stream.read(n)
    data = bytearray()
    while len(data) < n and (part := stream.read(min(n - len(data), READ_CHUNK))):
        data += part
    return data


def checksum_error(
    buf: bytes | bytearray, start: int, end: int, framing: Framing, path: object, base: int
) -> FormatError:
    (stored,) = U32.unpack_from(buf, end - 4)
    computed = crc32(memoryview(buf)[start : end - 4])
    return FormatError(
        f"record checksum is {stored:08x}, its bytes give {computed:08x}",
        path=path,
        offset=base + start,
        code=framing.checksum_code,
    )


def seal(body: bytes) -> bytes:
    """Frame ``body`` (everything after the length field): prepend length, append CRC."""
    head = U32.pack(len(body) + 8)
    return head + body + U32.pack(crc32(body, crc32(head)))


def read_lp_fields(
    buf: bytes | bytearray, pos: int, end: int, count: int, *, what: str, path: object, offset: int, code: Code
) -> tuple[list[bytes], int]:
    """Read ``count`` u32-length-prefixed byte strings from ``buf[pos:end]``."""
    fields = []
    for _ in range(count):
        if pos + 4 > end:
            raise FormatError(f"{what}: field length runs past the record", path=path, offset=offset, code=code)
        (n,) = U32.unpack_from(buf, pos)
        pos += 4
        if pos + n > end:
            raise FormatError(f"{what}: a {n}-byte field runs past the record", path=path, offset=offset, code=code)
        fields.append(bytes(buf[pos : pos + n]))
        pos += n
    return fields, pos


def lp(data: bytes) -> bytes:
    """u32-length-prefixed bytes."""
    return U32.pack(len(data)) + data


def utf8(raw: bytes, *, what: str, path: object, offset: int, code: Code, sequence: int | None = None) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(
            f"{what} is not valid UTF-8 ({exc.reason} at byte {exc.start})",
            path=path,
            offset=offset,
            sequence=sequence,
            code=code,
        ) from None
