"""``aeroops``: one module per verb (``<verb>_cmd.py``), each adding its own subparser.

Every verb returns a result value; `aeroops.views` renders it as text or JSON. An `AeroError`
becomes ``[SEVERITY] CODE: message`` on stderr and a non-zero exit; nothing else is caught,
so a bug still shows its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from aeroops.errors import AeroError, Code, Finding

# Verb modules, in the order `aeroops --help` lists them.
VERBS = (
    "demo",
    "scan",
    "backup",
    "verify",
    "inspect",
    "inventory",
    "prune",
    "check",
    "restore",
    "drill",
    "recover",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aeroops", description="Back up, verify, audit and restore AeroDB data directories."
    )
    parser.add_argument("--version", action=_VersionAction, help="show aeroops' version and exit")
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    for verb in VERBS:
        importlib.import_module(f"aeroops.cli.{verb}_cmd").add_parser(sub)
    for choice in sub._choices_actions:  # `aeroops VERB --help` starts with what the list says
        command = sub.choices[choice.dest]
        summary = choice.help or ""
        command.description = command.description or f"{summary[:1].upper()}{summary[1:]}."
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except AeroError as error:
        print(str(error), file=sys.stderr)
        return error.code.exit_status
    except KeyboardInterrupt:
        print(Finding.of(Code.INTERRUPTED, "interrupted"), file=sys.stderr)
        return Code.INTERRUPTED.exit_status
    except BrokenPipeError:
        # The reader went away (`aeroops inventory DIR | head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


class _VersionAction(argparse.Action):
    """``--version``, reading the installed version only when asked: importlib.metadata costs
    tens of milliseconds at every start otherwise."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=str(kwargs.get("help")))

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        parser.exit(message=f"aeroops {_version()}\n")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aeroops")
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
