"""The read-ahead a layered archive's plain bytes go through (`aeroops.executor.readahead`):
the same bytes as reading the upstream directly, whatever the read sizes; an upstream error
raised at the read that reaches it, not before; a reader closed early stops its thread."""

from __future__ import annotations

import io
import threading

import pytest

from aeroops.errors import Code, FormatError
from aeroops.executor.readahead import Readahead


def _reads(reader: Readahead, sizes: list[int]) -> list[bytes]:
    out = []
    for size in sizes:
        out.append(reader.read(size))
    return out


@pytest.mark.parametrize("chunk", [1, 7, 512, 4096])
def test_the_same_bytes_whatever_the_read_sizes(chunk: int) -> None:
    data = bytes(range(256)) * 97
    sizes = [512, 1, 0, 3000, 17, 8192, 511, 1 << 20]
    direct = io.BytesIO(data)
    expected = [direct.read(size) for size in sizes]
    ahead = Readahead(io.BytesIO(data), chunk=chunk, depth=2)
    try:
        assert _reads(ahead, sizes) == expected
        assert ahead.read(10) == b""
        assert ahead.read() == b""
    finally:
        ahead.close()


def test_read_all_with_no_size() -> None:
    ahead = Readahead(io.BytesIO(b"x" * 10_000), chunk=333)
    try:
        assert ahead.read(5) == b"xxxxx"
        assert ahead.read() == b"x" * 9_995
    finally:
        ahead.close()


class _Breaks:
    """``good`` bytes, then a layer's damage."""

    def __init__(self, good: int) -> None:
        self._left = good

    def read(self, n: int = -1) -> bytes:
        if not self._left:
            raise FormatError("damaged", offset=42, code=Code.ZSTD_CORRUPT)
        step = min(n, self._left)
        self._left -= step
        return b"a" * step


def test_damage_is_raised_at_the_read_that_reaches_it() -> None:
    ahead = Readahead(_Breaks(1000), chunk=100, depth=2)
    try:
        assert ahead.read(1000) == b"a" * 1000  # everything before the damage arrives first
        with pytest.raises(FormatError) as raised:
            ahead.read(1)
        assert raised.value.code is Code.ZSTD_CORRUPT and raised.value.offset == 42
        assert ahead.read(1) == b""
    finally:
        ahead.close()


class _Endless:
    def read(self, n: int = -1) -> bytes:
        return b"z" * n


def test_closing_early_stops_the_thread() -> None:
    before = threading.active_count()
    ahead = Readahead(_Endless(), chunk=4096, depth=2)
    assert ahead.read(10) == b"z" * 10
    ahead.close()
    ahead.close()  # twice: no harm
    assert threading.active_count() == before
