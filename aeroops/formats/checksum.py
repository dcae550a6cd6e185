"""CRC-32: the one function aeroops checksums with, and the tags AeroDB writes
(``crc32:`` + 8 lowercase hex digits)."""

from __future__ import annotations

import re

from isal import isal_zlib

from aeroops.errors import Code, FormatError

_TAG = re.compile(r"crc32:([0-9a-fA-F]{8})")


def format_crc_tag(crc: int) -> str:
    return f"crc32:{crc & 0xFFFFFFFF:08x}"


def parse_crc_tag(text: object, *, path: object = None) -> int:
    """Parse ``crc32:deadbeef`` (upper-case hex accepted, as AeroDB's readers do)."""
    if not isinstance(text, str) or not (match := _TAG.fullmatch(text)):
        raise FormatError(
            f"checksum {text!r} is not of the form crc32:<8 hex digits>",
            path=path,
            code=Code.MANIFEST_INVALID,
        )
    return int(match.group(1), 16)


# crc32(data, value=0): what zlib.crc32 computes, by ISA-L (maintained, and faster than zlib and
# than the PCLMULQDQ kernel aeroops' C extension had, on large buffers and on 1.4 KiB records:
# scripts/bench_crc32.py).
crc32 = isal_zlib.crc32

try:  # the C extension's: the same CRC (ISA-L where found), holding the interpreter's lock
    from aeroops.formats._speedups import crc32 as _held
except ImportError:  # not built: the pure-Python readers' install
    _held = crc32
crc32_held = _held

__all__ = ["crc32", "crc32_held", "format_crc_tag", "parse_crc_tag"]
