"""The functional core (aeroops/core, aeroops/formats) has no effects of its own: it starts no
thread and reads neither the clock nor the environment. The shell (executor, front ends) does,
and hands the core values and sinks: verification's digest sink, a backup's creation time."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import aeroops

PACKAGE = Path(aeroops.__file__).parent
CORE_FILES = sorted([*PACKAGE.glob("core/*.py"), *PACKAGE.glob("formats/*.py")])
STARTS_THREADS = {"threading", "_thread", "concurrent", "multiprocessing", "aeroops.hashing"}
# (module, attribute): reading the clock or the environment
EFFECTS = {
    ("os", "environ"),
    ("os", "getenv"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
}


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(), filename=str(path))


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_core_imports_nothing_that_starts_a_thread(path: Path) -> None:
    tree = _tree(path)
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not {m for m in imported if m in STARTS_THREADS or m.split(".")[0] in STARTS_THREADS}


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_core_reads_neither_the_clock_nor_the_environment(path: Path) -> None:
    used = {
        (n.value.id, n.attr)
        for n in ast.walk(_tree(path))
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
    }
    assert not used & EFFECTS
