"""How the command line writes an error or a warning to stderr: one line, wrapped for a person
on a terminal. Its own module, below the dispatcher (`aeroops.cli.main`) and the verbs that
print warnings of their own."""

from __future__ import annotations

import sys


def error_text(text: str, *, terminal: bool | None = None) -> str:
    """An error or warning (``[SEVERITY] CODE: message``) as stderr shows it: `one_line`, and on
    a terminal (``terminal`` None: is stderr one?) wrapped to 100 columns between words for the
    person reading it, its following lines indented two spaces. Anywhere else (a log, a pipe, a
    script reading it) it stays one line: one error, one line to grep."""
    line = one_line(text)
    if not (_stderr_is_terminal() if terminal is None else terminal):
        return line
    from aeroops.views.text import wrap_line  # only when there is an error to print

    return wrap_line(line)


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # no stderr, or a closed one
        return False


def one_line(text: str) -> str:
    """``text`` on one line: a line break or other control character (in a path someone typed)
    is written as its escape: off a terminal an error is always one line (`error_text`)."""
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text)
