"""Reading age keys from files: identity files (secret: only a reader of encrypted archives
needs one) and recipients (public: what a backup encrypts to).

No byte of a key, and no line of an identity file, ever reaches a message: errors name the file
and what is wrong with it. An identity file that its group or others can read gets an
AERO_IDENTITY_PERMISSIONS warning, as ssh warns of a private key (and, unlike ssh, still uses it).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aeroops.errors import Code, Finding, UsageError
from aeroops.executor.fileops import FileOps
from aeroops.executor.location import local_path
from aeroops.formats.layers import Decrypt
from aeroops.option_names import option

IDENTITY_ENV = "AEROOPS_IDENTITY_FILE"
KEY_FILE_LIMIT = 1 << 20

IdentityFiles = Sequence[str | os.PathLike[str]]


@dataclass(frozen=True)
class Identities:
    """Parsed identities, and the warnings their files gave (never their contents)."""

    keys: tuple[Any, ...] = ()
    findings: tuple[Finding, ...] = ()

    def __repr__(self) -> str:  # a secret must not reach a log through repr
        return f"Identities({len(self.keys)} keys)"

    def decrypt(self) -> Decrypt | None:
        """The age layer's reader with these identities, for `aeroops.formats.layers.open_layers`
        (None without any: an encrypted archive is then judged by its record)."""
        if not self.keys:
            return None
        from aeroops.executor.age_layer import AgeReader

        keys = self.keys
        return lambda upstream, path: AgeReader(upstream, keys, path=path)


def identity_files(given: IdentityFiles | None) -> tuple[Path, ...]:
    """The files given, else the one ``AEROOPS_IDENTITY_FILE`` names, else none."""
    if given:
        return tuple(local_path(p, "an identity file") for p in given)
    from_env = os.environ.get(IDENTITY_ENV)
    return (local_path(from_env, "an identity file"),) if from_env else ()


def load_identities(given: IdentityFiles | None, ops: FileOps) -> Identities:
    """Every identity in the files (`identity_files`); `UsageError` (AERO_IDENTITY) for a file
    that is missing, a folder, unreadable, empty or holds no identity."""
    keys: list[Any] = []
    findings: list[Finding] = []
    for path in identity_files(given):
        data, mode = _read_key_file(path, "identity file", ops)
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            findings.append(
                Finding.of(
                    Code.IDENTITY_PERMISSIONS,
                    f"the identity file {path} can be read by its group or others (mode {stat.S_IMODE(mode):04o}): "
                    f"chmod 600 {path}",
                )
            )
        from aeroops.executor.age_layer import parse_identities  # pyrage: only with an identity

        keys.extend(parse_identities(data, source=f"the identity file {path}"))
    return Identities(tuple(keys), tuple(findings))


def load_recipients(
    recipients: Iterable[str], recipients_files: Iterable[str | os.PathLike[str]], ops: FileOps
) -> list[Any]:
    """The recipients given as text and those listed in files (one per line, ``#`` comments)."""
    from aeroops.executor.age_layer import parse_recipient, parse_recipients_file

    given = list(recipients)
    named = option("encrypt_to")
    found = [
        parse_recipient(text, where=named if len(given) == 1 else f"{named} number {number}")
        for number, text in enumerate(given, 1)
    ]
    for path in recipients_files:
        data, _ = _read_key_file(local_path(path, "a recipients file"), "recipients file", ops)
        try:
            listed = parse_recipients_file(data.decode("utf-8"), source=f"the recipients file {path}")
        except UnicodeDecodeError:
            raise UsageError(f"the recipients file {path} is not UTF-8 text", code=Code.IDENTITY) from None
        if not listed:
            raise UsageError(f"the recipients file {path} lists no recipient", code=Code.IDENTITY)
        found.extend(listed)
    return found


def _read_key_file(path: Path, what: str, ops: FileOps) -> tuple[bytes, int]:
    if ops.is_dir(path):  # never raises (Path.is_dir does, for a folder the user cannot search)
        raise UsageError(f"the {what} {path} is a folder", code=Code.IDENTITY)
    try:
        with ops.open_read(path) as stream:
            mode = ops.fstat(stream).st_mode
            data = ops.read(stream, KEY_FILE_LIMIT + 1)
    except IsADirectoryError:
        raise UsageError(f"the {what} {path} is a folder", code=Code.IDENTITY) from None
    except OSError as error:
        raise UsageError(f"the {what} {path} cannot be read: {error.strerror or error}", code=Code.IDENTITY) from None
    if not stat.S_ISREG(mode):
        raise UsageError(f"the {what} {path} is not a regular file", code=Code.IDENTITY)
    if not data.strip():
        raise UsageError(f"the {what} {path} is empty", code=Code.IDENTITY)
    if len(data) > KEY_FILE_LIMIT:
        raise UsageError(f"the {what} {path} is over {KEY_FILE_LIMIT} bytes: no key file", code=Code.IDENTITY)
    return data, mode
