"""CRC-32 tags as AeroDB writes them: ``crc32:`` + 8 lowercase hex digits."""

from __future__ import annotations

import re
import zlib

from aeroops.errors import FormatError

_TAG = re.compile(r"crc32:([0-9a-fA-F]{8})")


def format_crc_tag(crc: int) -> str:
    return f"crc32:{crc & 0xFFFFFFFF:08x}"


def parse_crc_tag(text: object, *, path: object = None) -> int:
    """Parse ``crc32:deadbeef`` (upper-case hex accepted, as AeroDB's readers do)."""
    if not isinstance(text, str) or not (match := _TAG.fullmatch(text)):
        raise FormatError(
            f"checksum {text!r} is not of the form crc32:<8 hex digits>",
            path=path,
            code="AERO_MANIFEST_INVALID",
        )
    return int(match.group(1), 16)


def crc32(data: bytes | bytearray | memoryview, value: int = 0) -> int:
    return zlib.crc32(data, value)
