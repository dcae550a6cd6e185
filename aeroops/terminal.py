"""The terminal's width, as `shutil.get_terminal_size` gives it ($COLUMNS, else the terminal
standard output is on, else 80), without importing shutil: shutil imports bz2, lzma and zlib,
and argparse asks the width once for every argument it adds, so the command line would pay that
at every start."""

from __future__ import annotations

import os
import sys

FALLBACK_COLUMNS = 80
TEXT_WIDTH = 100  # the widest line aeroops prints for people, even on a wider terminal: lines stay readable


def terminal_columns() -> int:
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else FALLBACK_COLUMNS
