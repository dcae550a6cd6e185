"""The command line starts light: which modules ``aeroops --help`` and ``aeroops verify`` import.

No timing here (tests assert no times; ``scripts/startup_time.py`` measures): the modules that
cost the start its time are named, and must stay out.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli import run_cli

SMALL_ARCHIVE = Path(__file__).parent / "fixtures" / "aerodb-reference" / "backup-1000.tar"

# Heavy for a start: third-party libraries, and the parts of aeroops `--help` needs none of.
NEVER_AT_START = ("pandas", "numpy", "isal", "blake3", "ipywidgets", "matplotlib", "typing", "dataclasses")


def imported_modules(*args: str) -> set[str]:
    """The modules a run of ``python -m aeroops ARGS`` has imported when it ends (`sys.modules`
    at exit: ``-X importtime`` misses what `importlib.import_module` imports)."""
    code = (
        "import atexit, sys, runpy\n"
        "atexit.register(lambda: print('MODULES', *sorted(sys.modules), file=sys.stderr))\n"
        f"sys.argv = ['aeroops', *{list(args)!r}]\n"
        "runpy.run_module('aeroops', run_name='__main__')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    line = next(line for line in done.stderr.splitlines() if line.startswith("MODULES "))
    return set(line.split()[1:])


@pytest.mark.parametrize("args", [("--help",), ("verify", "--help")])
def test_help_imports_nothing_heavy(args: tuple[str, ...]) -> None:
    modules = imported_modules(*args)
    assert "aeroops.cli.main" in modules  # the check sees aeroops' own imports
    heavy = sorted(m for m in modules if m.split(".")[0] in NEVER_AT_START)
    assert heavy == []
    aeroops_modules = sorted(m for m in modules if m.startswith("aeroops."))
    # No verb module, no error catalogue, no formats or core: only the parser.
    expected = {"aeroops.cli", "aeroops.cli.main", "aeroops.cli.arguments", "aeroops.terminal"}
    if args[0] == "verify":
        expected.add("aeroops.cli.verify_cmd")
    assert set(aeroops_modules) == expected


def test_verify_imports_only_what_verifying_needs() -> None:
    modules = imported_modules("verify", str(SMALL_ARCHIVE))
    assert "aeroops.cli.verify_cmd" in modules
    assert {"pandas", "numpy", "ipywidgets", "matplotlib"} & modules == set()
    other_verbs = sorted(m for m in modules if m.endswith("_cmd") and m != "aeroops.cli.verify_cmd")
    assert other_verbs == []
    # Parsing a manifest's times by hand, not strptime (which imports _strptime, calendar, locale);
    # SHA-256 (OpenSSL) for .sha256 sidecars only; ctypes and tempfile for restores only.
    assert {"_strptime", "calendar", "hashlib", "ctypes", "tempfile"} & modules == set()
    # Nothing logged, nothing to hash (no sidecar), no lock taken, no tree removed, no CSV: the
    # modules for those are imported when they are used (each costs milliseconds of every start).
    assert {"logging", "blake3", "queue", "fcntl", "shutil", "csv"} & modules == set()
    # The row classes of the other audits (a dozen dataclasses) stay out of a verify.
    others = {"aeroops.core.inspect", "aeroops.core.inventory", "aeroops.core.retention", "aeroops.core.newest_good"}
    assert others & modules == set()


def test_a_run_builds_only_its_verb_and_help_still_lists_every_verb() -> None:
    """`main` builds only the subparser of the verb being run (each costs the start argparse's
    gettext lookups); aeroops' own help, even with a verb after it, still lists them all."""
    from aeroops.cli.main import VERBS, build_parser

    run_only = build_parser(("verify",), only=True)
    assert set(_choices(run_only)) == {"verify"}
    assert set(_choices(build_parser())) == set(VERBS)
    for args in (("--help",), ("-h", "verify")):
        done = run_cli(*args)
        assert done.returncode == 0
        assert all(verb in done.stdout for verb in VERBS), done.stdout


def _choices(parser: argparse.ArgumentParser) -> list[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)
