"""The command line starts light: which modules ``aeroops --help`` and ``aeroops verify`` import.

No timing here (tests assert no times; ``scripts/startup_time.py`` measures): the modules that
cost the start its time are named, and must stay out.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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
    expected = {"aeroops.cli", "aeroops.cli.main", "aeroops.cli.arguments"}
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
