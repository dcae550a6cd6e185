"""Layers around the tar: what a file's bytes hold (found by magic bytes, never by its name), the
names aeroops gives layered archives, and `open_layers`, which stacks the readers of
`aeroops.formats.zstd_layer` and the shell's age reader (`aeroops.executor.age_layer`: it runs
on a thread, so the core is handed it) over a stored stream so that the
tar reader reads plain tar and neither knows nor cares.

The only order aeroops writes, and the only one it reads, is tar → zstd → age (compress, then
encrypt: encrypted bytes do not compress). A file holding age inside zstd, or a layer twice, is
AERO_LAYER_ORDER.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aeroops.errors import Code, Finding, FormatError, UsageError
from aeroops.formats.magic import AGE_ARMOR_MAGIC, AGE_MAGIC, ZSTD_MAGIC, ZSTD_SKIPPABLE
from aeroops.formats.readable import Readable

# The layers' modules (libzstd, pyrage, threads) are imported only when a file holds a layer:
# a verify of a plain tar starts without them.


class Layer(enum.StrEnum):
    ZSTD = "zstd"
    AGE = "age"


SUFFIXES = {Layer.ZSTD: ".zst", Layer.AGE: ".age"}
TAR_SUFFIX = ".tar"
# Every name an archive of aeroops' can have, longest first: what inventory looks for.
ARCHIVE_SUFFIXES = (".tar.zst.age", ".tar.zst", ".tar.age", ".tar")
SNIFF_BYTES = 64


def archive_suffix(layers: Sequence[Layer]) -> str:
    """``.tar`` and a suffix per layer, inside out: ``.tar.zst.age``."""
    return TAR_SUFFIX + "".join(SUFFIXES[layer] for layer in layers)


def layers_of_name(name: str) -> tuple[Layer, ...] | None:
    """The layers a file name claims (``x.tar.zst`` → zstd), or None for no archive name."""
    for suffix in ARCHIVE_SUFFIXES:
        if name.endswith(suffix):
            rest = suffix.removeprefix(TAR_SUFFIX)
            return tuple(layer for part in rest.split(".")[1:] for layer in Layer if SUFFIXES[layer] == "." + part)
    return None


def is_archive_name(name: str) -> bool:
    return layers_of_name(name) is not None


def describe(layers: Sequence[str]) -> str:
    """``tar``, ``tar+zstd``, ``tar+zstd+age``: how tables and records name the layers."""
    return "+".join(["tar", *layers])


def sniff(head: bytes) -> Layer | None:
    """The layer whose magic starts ``head``, or None (a tar, or nothing aeroops reads)."""
    if head.startswith(ZSTD_MAGIC):
        return Layer.ZSTD
    if len(head) >= 4 and int.from_bytes(head[:4], "little") in ZSTD_SKIPPABLE:
        return Layer.ZSTD  # a skippable frame first
    if head.startswith((AGE_MAGIC, AGE_ARMOR_MAGIC)):
        return Layer.AGE
    return None


def parse_compress(text: str) -> int:
    """``zstd`` or ``zstd:LEVEL`` → the level; `UsageError` for anything else."""
    from aeroops.formats import zstd_layer

    method, _, level = text.partition(":")
    if method != "zstd":
        raise UsageError(f"unknown compression {text!r}: use zstd or zstd:LEVEL (1-19)")
    if not level:
        return zstd_layer.DEFAULT_LEVEL
    if not level.isdigit() or int(level) not in zstd_layer.LEVELS:
        raise UsageError(f"zstd level {level!r} is not a whole number from 1 to 19")
    return int(level)


class Peeked:
    """A reader whose first bytes were looked at and are handed out again."""

    def __init__(self, stream: Readable, n: int = SNIFF_BYTES) -> None:
        self._stream = stream
        head = b""
        while len(head) < n and (more := stream.read(n - len(head))):
            head += more
        self.head = head
        self._pending = head

    def read(self, n: int = -1) -> bytes:
        if self._pending:
            if n < 0 or n > len(self._pending):
                data, self._pending = self._pending, b""
                return data + self._stream.read(n - len(data) if n > 0 else -1)
            data, self._pending = self._pending[:n], self._pending[n:]
            return data
        return self._stream.read(n)


class LayerReader(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


# The age layer's reader over a stream (and the path reports name), with its identities.
Decrypt = Callable[[Readable, object], LayerReader]


class NeedsIdentity(Exception):
    """The stored stream is age-encrypted and no identity was given: what a caller without the
    identity checks instead is the stored bytes and the archive's record."""


@dataclass
class Opened:
    """The plain tar stream and what was found on the way to it."""

    plain: Readable
    layers: tuple[Layer, ...]  # inside out: (zstd, age) for .tar.zst.age
    findings: tuple[Finding, ...] = ()
    _readers: list[Any] = field(default_factory=list)
    _ahead: LayerReader | None = None  # the read-ahead over the layers, closed first

    def close(self) -> None:
        """Stop every layer's thread; the stored stream is then free to read (idempotent)."""
        if self._ahead is not None:
            self._ahead.close()
        for reader in reversed(self._readers):
            reader.close()


def open_layers(
    stored: Readable,
    *,
    decrypt: Decrypt | None,
    name: str | None = None,
    path: object = None,
    readahead: Callable[[Readable], LayerReader] | None = None,
) -> Opened:
    """Stack a reader per layer over ``stored`` (found by magic bytes) and return the plain tar
    stream. ``decrypt``: the age layer's reader over a stream, holding the identities (None: an
    age file raises `NeedsIdentity`). ``readahead``: given, a layered stream's plain bytes are
    read through it (the shell's `aeroops.executor.readahead.Readahead`: the layers decode on
    a thread of their own while the caller checks what came out); a plain tar is read as it is.
    A name claiming other layers than the bytes hold adds an AERO_LAYER_NAME warning. Damage
    met while looking raises `FormatError` (AERO_ZSTD_*, AERO_AGE_*, AERO_LAYER_ORDER); damage
    further in is raised by the returned stream's reads."""
    readers: list[Any] = []
    layers: list[Layer] = []  # outermost first, as found
    current: Readable = Peeked(stored)
    try:
        while (layer := sniff(current.head)) is not None:  # type: ignore[attr-defined]
            if layers and (layer is Layer.AGE or layer in layers):
                inside = f"{layer} inside {layers[-1]}"
                raise FormatError(
                    f"the archive holds {inside}: aeroops writes and reads only tar inside zstd inside age",
                    path=path,
                    offset=0,
                    code=Code.LAYER_ORDER,
                )
            if layer is Layer.AGE:
                if decrypt is None:
                    raise NeedsIdentity
                reader: Any = decrypt(current, path)
            else:
                from aeroops.formats.zstd_layer import ZstdReader

                reader = ZstdReader(current, path=path)
            readers.append(reader)
            layers.append(layer)
            current = Peeked(reader)
    except BaseException:
        for reader in reversed(readers):
            reader.close()
        raise
    findings: tuple[Finding, ...] = ()
    layers.reverse()  # inside out, as names and records list them
    claimed = layers_of_name(name) if name is not None else None
    if claimed is not None and claimed != tuple(layers):
        findings = (
            Finding.of(
                Code.LAYER_NAME,
                f"the name says {describe(claimed)} but the bytes hold {describe(layers)}: read as {describe(layers)}",
            ),
        )
    if readahead is not None and readers:
        ahead = readahead(current)
        return Opened(ahead, tuple(layers), findings, readers, ahead)
    return Opened(current, tuple(layers), findings, readers)


__all__ = [
    "ARCHIVE_SUFFIXES",
    "Layer",
    "NeedsIdentity",
    "Opened",
    "Peeked",
    "archive_suffix",
    "describe",
    "is_archive_name",
    "layers_of_name",
    "open_layers",
    "parse_compress",
    "sniff",
]
