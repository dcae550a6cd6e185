"""Sizes and ages as a person reads them: the one place their units are chosen, for the
terminal and the notebook panels alike. Imports nothing: every view can use it."""

from __future__ import annotations

from datetime import timedelta


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def human_age(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{sign}{days}d {hours}h"
    minutes = rest // 60
    return f"{sign}{hours}h {minutes}m" if hours else f"{sign}{minutes}m"
