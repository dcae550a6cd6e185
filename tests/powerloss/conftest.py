"""Prints how many power-loss states the session checked (the figure README quotes)."""

from __future__ import annotations

from typing import Any

from powerloss.checks import CHECKED, FULL


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not CHECKED:
        return
    scope = "every distinct state" if FULL else "a fixed sample (AEROOPS_POWERLOSS_FULL=1: every state)"
    detail = ", ".join(f"{job} {model} {count}" for (job, model), count in sorted(CHECKED.items()))
    terminalreporter.write_line(f"power loss: {sum(CHECKED.values())} states checked, {scope}: {detail}")
