"""The command line's parser and its value types, speaking aeroops' language: a mistake on the
command line is one ``[ERROR] AERO_USAGE: ...`` line and exit 2, like every other error, in the
user's words (an option's name and the value typed, never argparse's usage dump or the name of
a function that parses the value).

Imported by every start of the command line (``aeroops --help`` included): it imports nothing
beyond the standard library's light modules; what a value type needs, it imports when called."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

from aeroops.terminal import TEXT_WIDTH, terminal_columns

TYPE_CHECKING = False  # as `typing.TYPE_CHECKING`, without importing typing at every start
if TYPE_CHECKING:
    from datetime import datetime
    from typing import NoReturn


class UsageParser(argparse.ArgumentParser):
    """argparse, with its errors raised as `UsageError` (the CLI prints them as every other
    error) instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        from aeroops.errors import UsageError

        raise UsageError(f"{explain(message)} (see `{self.prog} --help`)")

    def _get_value(self, action: argparse.Action, arg_string: str) -> object:
        # argparse turns a ValueError from a value type into "invalid <function name> value":
        # an aeroops parser's own message says what is wrong in the user's words, so it is kept.
        try:
            return super()._get_value(action, arg_string)
        except argparse.ArgumentError as error:
            from aeroops.errors import AeroError  # a value was refused: errors are imported by now

            if isinstance(error.__context__, AeroError):
                raise argparse.ArgumentError(action, error.__context__.message) from None
            raise

    def _get_formatter(self) -> argparse.HelpFormatter:
        # argparse makes a formatter for every argument it adds (to check its metavar), and each
        # would import shutil to ask the terminal's width: sized here as shutil sizes it, less 2.
        width = min(terminal_columns(), TEXT_WIDTH) - 2  # help reads as the rest does: 100 columns at most
        return self.formatter_class(prog=self.prog, width=width)  # type: ignore[call-arg]


_TYPE_WORDS = {"int": "a whole number", "float": "a number"}  # a bare Python type's value refused

# argparse's messages (3.11 to 3.13), and how a person would say the same. Patterns, compiled (and
# cached by `re`) when an error is explained: compiling them costs every start a millisecond.
_REWRITES: tuple[tuple[str, Callable[[re.Match[str]], str]], ...] = (
    (
        r"argument (?P<option>[^:]+): invalid choice: (?P<value>.*?) \(choose from (?P<choices>.*)\)",
        lambda m: f"{_option(m)} {m['value']} is not one of: {m['choices'].replace(chr(39), '')}",
    ),
    (r"argument (?P<option>[^:]+): expected one argument", lambda m: f"{_option(m)} needs a value"),
    (
        r"argument (?P<option>[^:]+): invalid (?P<type>\w+) value: (?P<value>.*)",
        lambda m: f"{_option(m)}: {m['value']} is not {_TYPE_WORDS.get(m['type'], 'a value it takes')}",
    ),
    (r"argument (?P<option>[^:]+): (?P<reason>.*)", lambda m: f"{_option(m)}: {m['reason']}"),
    (r"the following arguments are required: (?P<names>.*)", lambda m: f"missing {m['names']}"),
    (r"unrecognized arguments: (?P<words>.*)", lambda m: f"unknown arguments: {m['words']}"),
)


def explain(message: str) -> str:
    """argparse's error ``message`` in plain words (unchanged when it is not one we know)."""
    for pattern, rewrite in _REWRITES:
        match = re.fullmatch(pattern, message)
        if match:
            return rewrite(match)
    return message


def _option(match: re.Match[str]) -> str:
    return match["option"].split("/")[0]  # "--output/-o" → "--output"


# --- value types: each raises ArgumentTypeError, whose text argparse shows as it is --------------


def creation_time(text: str) -> datetime:
    """``--created-at``: ISO 8601, within what AeroDB's timestamps carry."""
    from aeroops.errors import UsageError
    from aeroops.formats.ids import parse_user_time

    try:
        return parse_user_time(text)
    except UsageError as error:
        raise argparse.ArgumentTypeError(error.message) from None


def whole_number(text: str) -> int:
    """A count or a seed: a whole number, 0 or more."""
    if re.fullmatch(r"[0-9]{19,}", text):  # a whole number, but not one any count here reaches
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is too large (at most 18 digits)")
    if not re.fullmatch(r"[0-9]{1,18}", text):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number (0 or more)")
    return int(text)


# --- options several commands share, declared once (as borg's common parser) ---------------------

FORMATS = ("table", "json", "csv")


def add_folder_arguments(parser: argparse.ArgumentParser) -> None:
    """FOLDER and --recursive, for the commands that read a folder of archives."""
    parser.add_argument(
        "folder", metavar="FOLDER", help="the folder of backup archives (*.tar, *.tar.zst, *.tar.age, *.tar.zst.age)"
    )
    parser.add_argument("--recursive", "-r", action="store_true", help="look in subfolders too")


def add_identity_arguments(parser: argparse.ArgumentParser) -> None:
    """--identity FILE, for the commands that read archives (encrypted ones need it)."""
    parser.add_argument(
        "--identity",
        "-i",
        dest="identities",
        action="append",
        metavar="FILE",
        help="an age identity file (age-keygen's, or an OpenSSH ed25519 key) that opens encrypted archives; "
        "repeatable (default: the file AEROOPS_IDENTITY_FILE names)",
    )


def add_output_arguments(
    parser: argparse.ArgumentParser,
    *,
    formats: bool = False,
    format_help: str = "output format (default: table)",
    progress: bool = True,
) -> None:
    """How a command prints: ``--json`` (else text), or with ``formats`` ``--format
    table|json|csv``; and ``--no-progress`` where it shows progress on stderr."""
    if formats:
        parser.add_argument("--format", choices=FORMATS, default="table", help=format_help)
    else:
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    if progress:
        parser.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
