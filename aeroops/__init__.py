"""aeroops: operations toolkit for AeroDB backups.

Layers, each importing only those before it (tests/test_layers.py checks): the base modules
(`errors`, `columns`, `progress`, ...), `aeroops.formats` (bytes ⇄ values), `aeroops.core` (pure:
descriptions, plans, verdicts, reports), `aeroops.executor` (effects: scan, backup, restore,
locks), `aeroops.views` (text, JSON, pandas tables, HTML, charts), and the front ends
`aeroops.panels` (notebook widgets) and `aeroops.cli`.

This package's root is the top layer, a facade for notebooks and scripts (README: Looking inside
backups): ``aeroops.documents(source)``, ``aeroops.diff(a, b)``, ``aeroops.history(folder,
key)``, ``aeroops.export``, ``aeroops.point_in_time``. Each name is imported on first use (the
module ``__getattr__``), so ``import aeroops`` and the command line's start stay light.
"""

from __future__ import annotations

__version__ = "0.1.0"

TYPE_CHECKING = False  # not typing's: importing typing costs every start of the command line
if TYPE_CHECKING:
    from typing import Any

    from aeroops.executor.documents import PointInTime, point_in_time

# name → (module, function); a function taking ``ops`` is given the real file system by default
_FACADE = {
    "documents": ("aeroops.views.documents", "documents"),
    "document_chunks": ("aeroops.views.documents", "document_chunks"),
    "iter_documents": ("aeroops.executor.documents", "iter_documents"),
    "diff": ("aeroops.executor.documents", "diff"),
    "history": ("aeroops.executor.documents", "history"),
    "export": ("aeroops.executor.documents", "export"),
    "point_in_time": ("aeroops.executor.documents", "point_in_time"),
    "PointInTime": ("aeroops.executor.documents", "PointInTime"),
}
_TAKES_OPS = frozenset({"documents", "document_chunks", "iter_documents", "diff", "history", "export"})


def __getattr__(name: str) -> Any:
    if name not in _FACADE:
        raise AttributeError(f"module 'aeroops' has no attribute {name!r}")
    import functools
    import importlib

    module, attribute = _FACADE[name]
    found = getattr(importlib.import_module(module), attribute)
    if name in _TAKES_OPS:
        real = importlib.import_module("aeroops.executor.fileops").REAL
        inner = found

        @functools.wraps(inner)
        def found(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("ops", real)
            return inner(*args, **kwargs)

    globals()[name] = found  # the next use finds it without this function
    return found


def __dir__() -> list[str]:
    return sorted([*globals(), *_FACADE])


__all__ = ["PointInTime", "__version__", "point_in_time", *sorted(_FACADE.keys() - {"PointInTime", "point_in_time"})]
