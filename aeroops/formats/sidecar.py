"""The digest sidecar beside an archive, and the tagged digests aeroops carries around.

Two algorithms, each with the suffix and the line format of its standard checking tool:

* ``blake3`` (the default): ``<archive>.b3``, as ``b3sum`` writes it and ``b3sum -c`` checks it;
* ``sha256``: ``<archive>.sha256``, as ``sha256sum`` writes it and ``sha256sum -c`` checks it.

Both files hold the same text, ``<64 lowercase hex>  <archive file name>\\n``; reading also
accepts ``<hex> *<name>`` (binary mode) and upper-case hex. A name with a newline or a
backslash (sha256sum: a carriage return too) is escaped as each tool escapes it: the line
starts with a backslash, and the name has ``\\\\``, ``\\n`` (``\\r``) for those. Digests travel
through the code as tagged strings, ``blake3:<hex>`` / ``sha256:<hex>``, like AeroDB's
``crc32:deadbeef``.
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
_LINE = re.compile(r"([0-9a-fA-F]{64}) [ *](.+)", re.DOTALL)


def check_algorithm(name: str) -> Algorithm:
    """``name`` if it is a sidecar algorithm; raises `UsageError` otherwise."""
    if name not in ALGORITHMS:
        raise UsageError(f"unknown digest algorithm {name!r}: choose {' or '.join(ALGORITHMS)}")
    return name


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


# Characters each tool escapes in a file name (the line then starts with a backslash, and the
# name has ``\\\\`` for a backslash, ``\\n`` for a newline): GNU sha256sum escapes carriage
# returns too, b3sum does not (and reads a raw one back as part of the name).
_ESCAPED: dict[Algorithm, dict[str, str]] = {
    "blake3": {"\\": "\\\\", "\n": "\\n"},
    "sha256": {"\\": "\\\\", "\n": "\\n", "\r": "\\r"},
}
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)
_UNESCAPED = {"\\": "\\", "n": "\n", "r": "\r"}


def check_archive_name(name: str) -> str:
    """``name`` if its sidecar line can name it so that both tools find the archive again;
    `UsageError` otherwise (before anything is written). Every character has an escape or
    stands for itself except bytes that are not UTF-8: ``b3sum -c`` refuses those."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(
            f"the archive name {name!r} is not valid UTF-8: its sidecar could not name it "
            "(b3sum -c refuses such names); choose another name"
        ) from None
    return name


def render_sidecar(tagged: str, *, archive_name: str) -> str:
    """The sidecar's text for an archive with digest ``tagged``: one ``b3sum``/``sha256sum``
    line, escaped as that tool escapes the name (a leading backslash) where it must be."""
    algorithm, hexdigest = split_digest(tagged)
    escapes = _ESCAPED[algorithm]
    if not any(char in archive_name for char in escapes):
        return f"{hexdigest}  {check_archive_name(archive_name)}\n"
    escaped = "".join(escapes.get(char, char) for char in check_archive_name(archive_name))
    return f"\\{hexdigest}  {escaped}\n"


def parse_sidecar(text: str, *, archive_name: str, algorithm: Algorithm) -> str:
    """The tagged digest an ``algorithm`` sidecar gives for ``archive_name``.

    One line per file, ``<64 hex>  <name>`` or ``<64 hex> *<name>``, after a backslash when
    the name is escaped; lines end at a newline only (a name may hold any other line break).
    The line whose name's last component is ``archive_name`` counts (a CRLF line's carriage
    return is taken off when the name does not end in one). The text cannot tell the two
    algorithms apart (both digests are 64 hex digits): the sidecar's suffix does. Raises
    `FormatError` (AERO_VERIFY_SIDECAR) when no line parses or none names the archive.
    """
    names: dict[str, None] = {}
    for line in text.split("\n"):
        for candidate in dict.fromkeys((line, line.removesuffix("\r"))):
            parsed = _parse_line(candidate)
            if parsed is None:
                continue
            hexdigest, listed = parsed
            if listed.rsplit("/", 1)[-1] == archive_name:
                return format_digest(algorithm, hexdigest)
            names[listed] = None
    if names:
        message = f"the sidecar lists {', '.join(repr(n) for n in list(names)[:3])}, not {archive_name!r}"
    else:
        message = f"the sidecar is not {TOOLS[algorithm]} output (<64 hex digits>  <file name>)"
    raise FormatError(message, code=Code.VERIFY_SIDECAR)


def _parse_line(line: str) -> tuple[str, str] | None:
    """(hex digest, file name) of one sidecar line, its name unescaped; None if it is not one."""
    escaped = line.startswith("\\")
    match = _LINE.fullmatch(line[1:] if escaped else line)
    if not match:
        return None
    name = match.group(2)
    if escaped:
        name = _UNESCAPE.sub(lambda m: _UNESCAPED.get(m.group(1), m.group(0)), name)
    return match.group(1), name


__all__ = [
    "ALGORITHMS",
    "DEFAULT",
    "DISPLAY_NAMES",
    "SUFFIXES",
    "TOOLS",
    "Algorithm",
    "check_algorithm",
    "check_archive_name",
    "format_digest",
    "parse_sidecar",
    "render_sidecar",
    "sidecar_path",
    "split_digest",
]
