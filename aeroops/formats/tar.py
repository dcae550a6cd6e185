"""The tar layer of backup archives: a deterministic GNU header writer and a strict,
streaming reader.

We write headers ourselves rather than through `tarfile` because byte compatibility with
AeroDB's archives needs control of every field (tarfile appends ``/`` to directory names and
fills in owner names), and because the executor streams file bytes into the archive itself,
checksumming them on the way.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from aeroops.errors import Code, FormatError
from aeroops.formats.readable import Readable

BLOCK = 512
END_OF_ARCHIVE = bytes(2 * BLOCK)
FILE_MODE = 0o100644  # AeroDB (tar-rs) writes the file-type bits too; permissions are 0644
DIR_MODE = 0o040755
_GNU_MAGIC = b"ustar  \x00"
_POSIX_MAGIC = b"ustar\x0000"
_LONGLINK = "././@LongLink"
LONG_NAME_LIMIT = 1 << 16  # a GNU long-name record declaring more is damage (AERO_TAR_MEMBER_TOO_LARGE)
NAME_KEPT = 4096  # bytes of a long name kept (PATH_MAX); the rest is counted, not kept


class EntryType(enum.StrEnum):
    FILE = "0"
    HARDLINK = "1"
    SYMLINK = "2"
    CHAR_DEVICE = "3"
    BLOCK_DEVICE = "4"
    DIRECTORY = "5"
    FIFO = "6"
    CONTIGUOUS = "7"
    OTHER = "?"


# --- writing --------------------------------------------------------------------------------


def _octal(value: int, width: int) -> bytes:
    return b"%0*o\x00" % (width - 1, value)


def _number(value: int, width: int) -> bytes:
    if value < 8 ** (width - 1):
        return _octal(value, width)
    # GNU base-256: high bit set on the first byte, big-endian value in the rest.
    return bytes([0x80]) + value.to_bytes(width - 1, "big")


def _header_block(name: bytes, size: int, mode: int, mtime: int, typeflag: bytes, *, devices: bool = True) -> bytes:
    header = bytearray(BLOCK)
    header[0 : len(name)] = name
    header[100:108] = _octal(mode & 0o7777777, 8)
    header[108:116] = _octal(0, 8)
    header[116:124] = _octal(0, 8)
    header[124:136] = _number(size, 12)
    header[136:148] = _number(mtime, 12)
    header[148:156] = b" " * 8
    header[156:157] = typeflag
    header[257:265] = _GNU_MAGIC
    if devices:  # tar-rs leaves a GNU long-name header's device numbers as NUL bytes
        header[329:337] = _octal(0, 8)
        header[337:345] = _octal(0, 8)
    header[148:156] = _octal(sum(header), 8)
    return bytes(header)


def padding(size: int) -> bytes:
    """Zero bytes that fill a member's data up to the next block."""
    return bytes(-size % BLOCK)


def member_header(name: str, size: int = 0, *, directory: bool = False, mtime: int = 0) -> bytes:
    """The header block(s) of one member, as AeroDB's tar-rs writes them (GNU format, uid/gid 0,
    empty owner names), with a GNU long-name record first when the name exceeds 100 bytes."""
    raw = name.encode()
    mode, typeflag = (DIR_MODE, b"5") if directory else (FILE_MODE, b"0")
    if directory:
        size = 0
    if len(raw) <= 100:
        return _header_block(raw, size, mode, mtime, typeflag)
    long_data = raw + b"\x00"
    return (
        _header_block(_LONGLINK.encode(), len(long_data), 0o644, 0, b"L", devices=False)
        + long_data
        + padding(len(long_data))
        + _header_block(raw[:100], size, mode, mtime, typeflag)
    )


def member_span(name: str, size: int) -> int:
    """Bytes a file member occupies in the archive: header(s), data and padding."""
    head = BLOCK if len(name.encode()) <= 100 else 2 * BLOCK + -(-(len(name.encode()) + 1) // BLOCK) * BLOCK
    return head + size + (-size % BLOCK)


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TarEntry:
    """One member of a tar archive, as its header (and long-name record) describe it."""

    name: str
    type: EntryType
    typeflag: str  # the raw flag, for reports on unusual entries
    size: int
    mode: int
    mtime: int
    uid: int
    gid: int
    uname: str
    gname: str
    linkname: str
    header_offset: int  # where its first header block (or long-name record) starts
    data_offset: int
    # Bytes in the full name, when a GNU long name was longer than NAME_KEPT and ``name`` holds
    # only its first NAME_KEPT bytes: a hostile archive's names must not fill memory.
    name_bytes: int | None = None


def _parse_number(field: bytes, what: str, offset: int, path: object) -> int:
    if field and field[0] & 0x80:  # GNU base-256
        if field[0] != 0x80:
            raise FormatError(f"negative or malformed base-256 {what}", path=path, offset=offset, code=Code.TAR_HEADER)
        return int.from_bytes(field[1:], "big")
    text = field.split(b"\x00", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        if any(c not in b"01234567" for c in text):
            raise ValueError
        return int(text, 8)
    except ValueError:
        raise FormatError(
            f"{what} field {_shown(field)} is not octal", path=path, offset=offset, code=Code.TAR_HEADER
        ) from None


def _shown(field: bytes) -> str:
    """Header bytes as a message shows them: quoted, what is not printable ASCII as ``\\xNN``
    (bytes' repr without Python's ``b`` prefix)."""
    return repr(bytes(field))[1:]


def _text(field: bytes) -> str:
    return field.split(b"\x00", 1)[0].decode("utf-8", "surrogateescape")


def _not_a_tar_archive(error: FormatError) -> FormatError:
    """What a file whose first block is no tar header is called (with the reason, and the code
    and offset of the check it failed)."""
    if error.code is Code.TAR_TRUNCATED:
        reason = f"{error.offset} bytes, less than one tar header ({BLOCK} bytes)"
    else:
        reason = f"its first {BLOCK} bytes are no tar header: {error.message}"
    return FormatError(f"not a tar archive: {reason}", path=error.path, offset=error.offset, code=error.code)


class TarReader:
    """Stream a tar archive's entries without extracting: iterate entries, and for each read
    its data with `chunks()` (unread data is skipped). Strict: header checksums, number fields,
    magic, sizes against the end of the stream, and the two zero blocks at the end are checked;
    the first violation raises `FormatError` with code AERO_TAR_* and the byte offset.
    """

    def __init__(self, stream: Readable, *, path: object = None, chunk_size: int = 1 << 20) -> None:
        self._stream = stream
        self._path = path
        self._chunk = chunk_size
        self._offset = 0
        self._pending = 0  # data + padding bytes of the current entry not yet consumed
        self._pending_data = 0
        self.end_offset: int | None = None  # set once the end-of-archive blocks are read
        # Also handed every chunk `chunks()` yields, when set: restore writes a member's files
        # with the very bytes verification checks, in the same pass.
        self.tee: Callable[[bytes], None] | None = None

    @property
    def offset(self) -> int:
        return self._offset

    def _read_exact(self, n: int, what: str) -> bytes:
        data = self._stream.read(n)
        if len(data) != n:
            raise FormatError(
                f"archive ends inside {what} ({len(data)} of {n} bytes)",
                path=self._path,
                offset=self._offset + len(data),
                code=Code.TAR_TRUNCATED,
            )
        self._offset += n
        return data

    def _skip_pending(self) -> None:
        while self._pending:
            step = min(self._pending, self._chunk)
            self._read_exact(step, "member data")
            self._pending -= step
        self._pending_data = 0

    def chunks(self) -> Iterator[bytes]:
        """The current entry's data, in chunks; then its padding is consumed."""
        while self._pending_data:
            step = min(self._pending_data, self._chunk)
            data = self._read_exact(step, "member data")
            self._pending_data -= step
            self._pending -= step
            if self.tee is not None:
                self.tee(data)
            yield data
        self._skip_pending()

    def read_all(self, limit: int) -> bytes:
        """The current entry's data, if at most ``limit`` bytes (manifests, small files)."""
        if self._pending_data > limit:
            raise FormatError(
                f"member is {self._pending_data} bytes, more than the {limit} expected",
                path=self._path,
                offset=self._offset,
                code=Code.TAR_MEMBER_TOO_LARGE,
            )
        return b"".join(self.chunks())

    def _header_block(self, at: int) -> bytes | None:
        """The header block at ``at``, its checksum and magic checked; None for a zero block (the
        end of the archive, whose second zero block the caller reads)."""
        block = self._read_exact(BLOCK, "a header block")
        if block == bytes(BLOCK):
            return None
        stored = _parse_number(block[148:156], "checksum", at, self._path)
        unsigned = sum(block[:148]) + 256 + sum(block[156:])
        signed = (
            sum(b - 256 if b > 127 else b for b in block[:148])
            + 256
            + sum(b - 256 if b > 127 else b for b in block[156:])
        )
        if stored not in (unsigned, signed):
            raise FormatError(
                f"header checksum {stored} does not match its bytes ({unsigned})",
                path=self._path,
                offset=at,
                code=Code.TAR_CHECKSUM,
            )
        if block[257:265] not in (_GNU_MAGIC, _POSIX_MAGIC):
            raise FormatError(
                f"unknown header magic {_shown(block[257:265])}", path=self._path, offset=at, code=Code.TAR_HEADER
            )
        return block

    def __iter__(self) -> Iterator[TarEntry]:
        long_name: str | None = None
        long_link: str | None = None
        name_bytes: int | None = None
        start: int | None = None
        while True:
            self._skip_pending()
            at = self._offset
            try:
                block = self._header_block(at)
            except FormatError as error:
                if at == 0:  # no tar header where every tar archive has one: say what the file is not
                    raise _not_a_tar_archive(error) from None
                raise
            if block is None:
                # POSIX ends an archive with two zero blocks; a lone one is damage, not the end.
                if self._read_exact(BLOCK, "the end-of-archive blocks") != bytes(BLOCK):
                    raise FormatError(
                        "a zero block followed by a non-zero one",
                        path=self._path,
                        offset=at + BLOCK,
                        code=Code.TAR_HEADER,
                    )
                self.end_offset = self._offset
                if long_name is not None or long_link is not None:
                    raise FormatError(
                        "long-name record without its entry", path=self._path, offset=at, code=Code.TAR_HEADER
                    )
                return
            size = _parse_number(block[124:136], "size", at, self._path)
            flag = chr(block[156]) if block[156] else "0"
            if start is None:
                start = at
            if flag in ("L", "K"):
                self._pending_data = size
                self._pending = size + (-size % BLOCK)
                data, full = self._long_name()
                if flag == "L":
                    long_name, name_bytes = data, full
                else:
                    long_link = data
                continue
            name = long_name if long_name is not None else _tar_name(block)
            try:
                kind = EntryType(flag)
            except ValueError:
                kind = EntryType.OTHER
            if kind in (
                EntryType.DIRECTORY,
                EntryType.SYMLINK,
                EntryType.HARDLINK,
                EntryType.CHAR_DEVICE,
                EntryType.BLOCK_DEVICE,
                EntryType.FIFO,
            ):
                data_size = 0 if kind != EntryType.DIRECTORY else size
            else:
                data_size = size
            entry = TarEntry(
                name=name,
                type=kind,
                typeflag=flag,
                size=size,
                mode=_parse_number(block[100:108], "mode", at, self._path),
                mtime=_parse_number(block[136:148], "mtime", at, self._path),
                uid=_parse_number(block[108:116], "uid", at, self._path),
                gid=_parse_number(block[116:124], "gid", at, self._path),
                uname=_text(block[265:297]),
                gname=_text(block[297:329]),
                linkname=long_link if long_link is not None else _text(block[157:257]),
                header_offset=start,
                data_offset=self._offset,
                name_bytes=name_bytes,
            )
            long_name = long_link = start = name_bytes = None
            self._pending_data = data_size
            self._pending = data_size + (-data_size % BLOCK)
            yield entry

    def _long_name(self) -> tuple[str, int | None]:
        """A GNU long-name record's name, streamed: its first NAME_KEPT bytes, and its full
        length in bytes when that is more (else None)."""
        if self._pending_data > LONG_NAME_LIMIT:
            self.read_all(LONG_NAME_LIMIT)  # raises AERO_TAR_MEMBER_TOO_LARGE
        kept = bytearray()
        length = 0
        ended = False
        for chunk in self.chunks():
            if not ended:
                cut = chunk.find(b"\x00")
                part = chunk if cut < 0 else chunk[:cut]
                ended = cut >= 0
                length += len(part)
                kept += part[: max(0, NAME_KEPT - len(kept))]
        text = bytes(kept).decode("utf-8", "surrogateescape")
        return text, (length if length > NAME_KEPT else None)

    def trailing_bytes(self) -> int:
        """After iteration: how many bytes follow the end-of-archive blocks, and whether any is
        non-zero (-1). GNU tar pads to a record with zeros; anything else is foreign data."""
        rest = 0
        while data := self._stream.read(self._chunk):
            if data.strip(b"\x00"):
                return -1
            rest += len(data)
        return rest


def _tar_name(block: bytes) -> str:
    name = _text(block[0:100])
    if block[257:263] == b"ustar\x00":  # POSIX: prefix field holds the leading part
        prefix = _text(block[345:500])
        if prefix:
            name = f"{prefix}/{name}"
    return name
