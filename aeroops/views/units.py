"""How people read a value: sizes in B/KiB/MiB/GiB/TiB, ages in days and hours ("2 d 20 h"),
modes in octal ("0644"), times in AeroDB's notation. The one module the terminal tables and the
notebook panels both format with; the data underneath (records, DataFrames, JSON, CSV) keeps
the raw numbers. A column's unit is declared on its field (`aeroops.columns`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aeroops.formats.ids import format_timestamp

BYTES, AGE, MODE = "bytes", "age", "mode"


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def human_age(age: timedelta) -> str:
    """``2 d 20 h``, ``3 h 12 m``, ``5 m``: the two largest units, whole."""
    seconds = int(age.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{sign}{days} d {hours} h"
    minutes = rest // 60
    return f"{sign}{hours} h {minutes} m" if hours else f"{sign}{minutes} m"


def octal_mode(mode: int) -> str:
    """The permission bits as ``chmod`` takes them: ``0644``, ``0755``."""
    return f"{int(mode) & 0o7777:04o}"


def display(value: Any, unit: str = "", missing: str = "") -> str:
    """A value as a table cell for people. None reads as ``missing``; callers holding pandas
    values turn its missing markers (NA, NaT) into None first."""
    if value is None:
        return missing
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, timedelta):
        return human_age(value)
    if unit == BYTES:
        return human_bytes(value)
    if unit == MODE:
        return octal_mode(value)
    if unit == AGE:
        return human_age(timedelta(seconds=int(value)))
    return str(value)
