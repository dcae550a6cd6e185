"""The command line, as the tests run it: in this process (`run_main`, output through pytest's
capsys) or in a fresh interpreter (`run_cli`), as a user would."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from aeroops.cli.main import main
from helpers.faults import as_nobody


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``aeroops ARGV`` in this process: exit status, stdout, stderr."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_cli(*args: str, env: dict[str, str] | None = None, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """``python -m aeroops ARGS`` in a fresh interpreter, text captured; ``env`` adds to this
    process's environment, ``kwargs`` override subprocess.run's (a full stdout, a timeout)."""
    options: dict[str, object] = {"capture_output": True, "text": True, "check": False, "timeout": 120, **kwargs}
    return subprocess.run([sys.executable, "-m", "aeroops", *args], env={**os.environ, **(env or {})}, **options)  # type: ignore[call-overload]


def run_cli_as_nobody(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m aeroops ARGS`` as the unprivileged user nobody (see `helpers.faults.need_nobody`),
    from /tmp, text captured."""
    command = as_nobody(sys.executable, "-m", "aeroops", *args)
    return subprocess.run(command, capture_output=True, text=True, check=False, cwd="/tmp", timeout=timeout)


def unwrapped(text: str) -> str:
    """Text as one line, its whitespace runs as one space: what a check of a phrase reads, however
    the output wrapped it to fit 100 columns."""
    return " ".join(text.split())


def one_error_line(stderr: str, prefix: str) -> str:
    """The single line on stderr, which must start with ``prefix`` (off a terminal an error is
    one line, however long: `aeroops.cli.messages.error_text`)."""
    assert "Traceback" not in stderr and "usage:" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), stderr
    return lines[0]
