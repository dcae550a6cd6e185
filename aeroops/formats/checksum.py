"""CRC-32: the one function aeroops checksums with, and the tags AeroDB writes
(``crc32:`` + 8 lowercase hex digits)."""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable

from aeroops.errors import Code, FormatError

try:  # the C twin folds with carry-less multiplication: 3-4x zlib's speed on x86-64
    from aeroops.formats._speedups import crc32 as _fast_crc32
except ImportError:  # pragma: no cover - depends on the build
    _fast_crc32 = None

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


# crc32(data, value=0): what zlib.crc32 computes, the fastest way this build has.
crc32: Callable[..., int] = zlib.crc32 if _fast_crc32 is None else _fast_crc32
