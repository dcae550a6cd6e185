"""What aeroops' readers read from: anything with ``read(n)``. A file, a `LimitedReader`, a tar
member's reader in verify: the readers never seek, tell or readinto, so they take this protocol
rather than `typing.BinaryIO`, which would force the adapters to pretend to be files."""

from __future__ import annotations

from typing import Protocol


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes:
        """Up to ``n`` bytes (all that is left when n < 0); empty at the end."""
        ...


class Writable(Protocol):
    """What the archive layers write to: anything with ``write(data)`` (a file, the next layer)."""

    def write(self, data: bytes, /) -> object: ...
