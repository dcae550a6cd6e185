"""``aeroops``: one module per verb (``<verb>_cmd.py``), each adding its own arguments.

Starting is cheap: `VERBS` holds what ``aeroops --help`` lists, and only the verb being run has
its module imported (which imports what it needs when it runs); the error catalogue is imported
when an error needs it. ``scripts/startup_time.py`` measures it; tests/test_cli_startup.py checks
which modules ``--help`` imports.

Every verb returns a result value; `aeroops.views` renders it as text or JSON. An `AeroError`
becomes ``[SEVERITY] CODE: message`` on stderr and a non-zero exit (mistakes on the command
line too: see `aeroops.cli.arguments`), and so does output that cannot be written; nothing else
is caught, so a bug still shows its traceback.

Exit statuses: 0 done (clean); 1 the job ran and what it checked is not clean (or a dry run
would be refused); 2 an ERROR; 3 a FATAL; 130 interrupted; 141 the reader of the output went
away.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import importlib
import io
import os
import sys
from collections.abc import Iterator, Sequence

from aeroops.cli.arguments import UsageParser

# The verbs, in the order `aeroops --help` lists them, with the line it shows for each (also the
# start of `aeroops VERB --help`, unless the verb's module gives a longer description).
VERBS: dict[str, str] = {
    "demo": "make demo data, back it up, verify it, show what was packed",
    "scan": "describe a data directory and what a backup would choose",
    "backup": "back up a data directory into a tar archive",
    "verify": "verify backup archives in one streaming pass, without extracting",
    "inspect": "show an archive's members, manifests, WAL, storage and documents",
    "inventory": "list the backup archives in a folder, optionally verifying each",
    "prune": "remove old archives from a folder by a retention policy (a dry run unless --yes)",
    "check": "is the newest archive that verifies clean younger than --max-age?",
    "restore": "replace a data directory with a backup archive (dry run unless --yes)",
    "drill": "rehearse a restore in a scratch folder and prove the documents survive it",
    "recover": "finish or roll back a restore that was interrupted (dry run unless --yes)",
    "archive-wal": "copy new WAL records into a segment beside the base backups (for point-in-time restore)",
    "export": "write the documents of an archive or data directory to Parquet, JSON Lines or CSV",
    "diff": "compare the documents of two archives or data directories (exit 1 when they differ)",
    "history": "one document in every archive of a folder: when it appeared, changed, was deleted",
}

# The command line's names for the options that messages of the library mention (they say
# ``overwrite=True`` to a Python caller: `aeroops.option_names.option`).
OPTION_NAMES: dict[str, str] = {
    "overwrite": "--overwrite",
    "create": "--create",
    "wal_records": "--records",
    "storage_bytes": "--storage-mib",
    "snapshots": "--snapshots",
    "encrypt_to": "--encrypt-to",
}

# The verbs that take a URL (``s3://bucket/prefix/``) for a folder or an archive: they take
# ``--endpoint-url`` too, for an S3-compatible service.
REMOTE_VERBS = frozenset(
    {"backup", "verify", "inspect", "inventory", "prune", "check", "restore", "drill", "archive-wal"}
)

EXIT_BROKEN_PIPE = 141  # the reader of the output went away


def build_parser(verbs: Sequence[str] = tuple(VERBS), *, only: bool = False) -> argparse.ArgumentParser:
    """The parser, with the arguments of ``verbs`` (default: all); the other verbs are listed
    with their summary but take no arguments, or with ``only`` left out: `main` builds just the
    verb being run (each subparser costs argparse's gettext lookups, a millisecond or more of
    every start), and all of them when there is none to run (for `aeroops --help`, or to name the
    choices a mistyped verb had)."""
    parser = UsageParser(prog="aeroops", description="Back up, verify, audit and restore AeroDB data directories.")
    parser.add_argument("--version", action=_VersionAction, help="show aeroops' version and exit")
    sub = parser.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    for verb, summary in VERBS.items():
        if only and verb not in verbs:
            continue
        sentence = summary[:1].upper() + summary[1:] + ("" if summary.endswith("?") else ".")
        command = sub.add_parser(verb, help=summary, description=sentence)
        if verb in verbs:
            importlib.import_module(f"aeroops.cli.{verb.replace('-', '_')}_cmd").add_arguments(command)
            if verb in REMOTE_VERBS:
                command.add_argument(
                    "--endpoint-url",
                    metavar="URL",
                    help="the S3-compatible service for s3:// URLs (default: AWS_ENDPOINT_URL, else AWS)",
                )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_given = sys.argv[1:] if argv is None else list(argv)
    try:
        with _standard_streams():
            verb = _verb_of(args_given)
            args = build_parser(verb, only=bool(verb)).parse_args(args_given)
            from aeroops.option_names import naming_options  # after parsing: `--help` never needs it

            if getattr(args, "endpoint_url", None):
                os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url  # where boto and aeroops' stores read it

            with naming_options(OPTION_NAMES):
                return int(args.run(args) or 0)
    except KeyboardInterrupt:
        from aeroops.errors import Code, Finding

        print(Finding.of(Code.INTERRUPTED, "interrupted"), file=sys.stderr)
        return Code.INTERRUPTED.exit_status
    except BrokenPipeError:
        # The reader went away (`aeroops inventory DIR | head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as error:
        from aeroops.errors import AeroError  # imported already wherever one was raised

        if not isinstance(error, AeroError):
            raise  # a bug: its traceback
        from aeroops.cli.messages import error_text

        print(error_text(str(error)), file=sys.stderr)
        return error.code.exit_status


def _verb_of(argv: Sequence[str]) -> tuple[str, ...]:
    """The verb ``argv`` runs, as `build_parser` takes it: its first word, when that is a verb
    (``aeroops -h verify`` asks for aeroops' help, which lists every verb), or none."""
    return (argv[0],) if argv and argv[0] in VERBS else ()


@contextlib.contextmanager
def _standard_streams() -> Iterator[None]:
    """Standard streams that cannot hurt. A closed stdin, stdout or stderr is reopened on
    /dev/null first (else the next file aeroops opens would get its number, and a ``print``
    would write into an archive), and a closed stdout is refused before anything is done.
    Output that cannot be written (a full disk) is an `OutputError` when the run ends, and a
    name that is not valid UTF-8 is written as the bytes it was."""
    closed = [fd for fd in (0, 1, 2) if not _is_open(fd)]
    for fd in closed:
        null = os.open(os.devnull, os.O_RDWR)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
    if 1 in closed:
        from aeroops.errors import OutputError

        raise OutputError("cannot write the output: standard output is closed; nothing was done")
    saved = sys.stdout
    if saved is sys.__stdout__ and isinstance(saved, io.TextIOWrapper):
        # Someone else's stdout (a test capturing it) is theirs to guard.
        saved.flush()
        sys.stdout = io.TextIOWrapper(
            io.BufferedWriter(_Output(saved.fileno())),
            encoding="utf-8",
            errors=_ESCAPE,
            line_buffering=saved.line_buffering,
            write_through=saved.write_through,
        )
    try:
        yield
        sys.stdout.flush()  # output that cannot be written fails here, not silently at exit
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()  # after an error: what output there was
        sys.stdout = saved


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


class _Output(io.RawIOBase):
    """Standard output, whose write failures are aeroops errors (`OutputError`), not OSErrors
    that a command would take for a failure of the files it works on."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            return os.write(self._fd, data)
        except BrokenPipeError:
            raise
        except OSError as exc:
            from aeroops.errors import OutputError

            raise OutputError(f"cannot write the output: {exc.strerror or exc}") from None


def _escape(error: UnicodeError) -> tuple[bytes, int]:
    """Encoding error handler for output: a byte of a name that was not UTF-8 (a lone
    surrogate from ``surrogateescape``) is written as that byte; any other unencodable
    character as ``\\uXXXX``."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start : error.end]
    out = b"".join(
        bytes([ord(c) - 0xDC00]) if 0xDC80 <= ord(c) <= 0xDCFF else f"\\u{ord(c):04x}".encode() for c in text
    )
    return out, error.end


_ESCAPE = "aeroops-output"
codecs.register_error(_ESCAPE, _escape)


class _VersionAction(argparse.Action):
    """``--version``, reading the installed version only when asked: importlib.metadata costs
    tens of milliseconds at every start otherwise."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=str(kwargs.get("help")))

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        # On stdout, as argparse's own version action prints: scripts read it from there.
        print(f"aeroops {_version()}", flush=True)
        parser.exit()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aeroops")
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
