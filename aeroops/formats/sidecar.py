"""The digest sidecar beside an archive, and the tagged digests aeroops carries around.

Two algorithms, each with the suffix and the line format of its standard checking tool:

* ``blake3`` (the default): ``<archive>.b3``, as ``b3sum`` writes it and ``b3sum -c`` checks it;
* ``sha256``: ``<archive>.sha256``, as ``sha256sum`` writes it and ``sha256sum -c`` checks it.

Both files hold the same text, ``<64 lowercase hex>  <archive file name>\\n``; reading also
accepts ``<hex> *<name>`` (binary mode) and upper-case hex. Digests travel through the code as
tagged strings, ``blake3:<hex>`` / ``sha256:<hex>``, like AeroDB's ``crc32:deadbeef``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, cast

from aeroops.errors import Code, FormatError, UsageError

Algorithm = Literal["blake3", "sha256"]
ALGORITHMS: tuple[Algorithm, ...] = ("blake3", "sha256")  # also the order verify looks for sidecars in
DEFAULT: Algorithm = "blake3"
SUFFIXES: dict[Algorithm, str] = {"blake3": ".b3", "sha256": ".sha256"}
TOOLS: dict[Algorithm, str] = {"blake3": "b3sum", "sha256": "sha256sum"}  # each writes and checks its format
DISPLAY_NAMES: dict[Algorithm, str] = {"blake3": "BLAKE3", "sha256": "SHA-256"}

_TAGGED = re.compile(r"(blake3|sha256):([0-9a-fA-F]{64})")
_LINE = re.compile(r"([0-9a-fA-F]{64}) [ *](.+)")


def check_algorithm(name: str) -> Algorithm:
    """``name`` if it is a sidecar algorithm; raises `UsageError` otherwise."""
    if name not in ALGORITHMS:
        raise UsageError(f"unknown digest algorithm {name!r}: choose {' or '.join(ALGORITHMS)}")
    return cast(Algorithm, name)


def sidecar_path(archive: Path, algorithm: Algorithm) -> Path:
    """Where the ``algorithm`` sidecar of ``archive`` sits: beside it, named ``<archive><suffix>``."""
    return archive.with_name(archive.name + SUFFIXES[algorithm])


def format_digest(algorithm: Algorithm, hexdigest: str) -> str:
    """The tagged digest, e.g. ``blake3:…`` (hex in lower case)."""
    return f"{algorithm}:{hexdigest.lower()}"


def split_digest(tagged: str) -> tuple[Algorithm, str]:
    """``(algorithm, lowercase hex)`` of a tagged digest; raises `FormatError` when it is not one."""
    match = _TAGGED.fullmatch(tagged)
    if not match:
        raise FormatError(
            f"digest {tagged!r} is not of the form blake3:<64 hex digits> or sha256:<64 hex digits>",
            code=Code.VERIFY_SIDECAR,
        )
    return cast(Algorithm, match.group(1)), match.group(2).lower()


def render_sidecar(tagged: str, *, archive_name: str) -> str:
    """The sidecar's text for an archive with digest ``tagged``: one ``b3sum``/``sha256sum`` line."""
    _, hexdigest = split_digest(tagged)
    return f"{hexdigest}  {archive_name}\n"


def parse_sidecar(text: str, *, archive_name: str, algorithm: Algorithm) -> str:
    """The tagged digest an ``algorithm`` sidecar gives for ``archive_name``.

    One line per file, ``<64 hex>  <name>`` or ``<64 hex> *<name>``; the line whose name's last
    component is ``archive_name`` counts. The text cannot tell the two algorithms apart (both
    digests are 64 hex digits): the sidecar's suffix does. Raises `FormatError`
    (AERO_VERIFY_SIDECAR) when no line parses or none names the archive.
    """
    names = []
    for line in text.splitlines():
        match = _LINE.fullmatch(line.strip("\r"))
        if match:
            listed = match.group(2)
            if listed.rsplit("/", 1)[-1] == archive_name:
                return format_digest(algorithm, match.group(1))
            names.append(listed)
    if names:
        message = f"the sidecar lists {', '.join(names[:3])}, not {archive_name}"
    else:
        message = f"the sidecar is not {TOOLS[algorithm]} output (<64 hex digits>  <file name>)"
    raise FormatError(message, code=Code.VERIFY_SIDECAR)


__all__ = [
    "ALGORITHMS",
    "DEFAULT",
    "DISPLAY_NAMES",
    "SUFFIXES",
    "TOOLS",
    "Algorithm",
    "check_algorithm",
    "format_digest",
    "parse_sidecar",
    "render_sidecar",
    "sidecar_path",
    "split_digest",
]
