"""aeroops: operations toolkit for AeroDB backups.

Layers, in the direction data flows: `aeroops.formats` (bytes ⇄ values), `aeroops.core`
(pure: descriptions, plans, verdicts, reports), `aeroops.executor` (effects: scan, backup,
restore, locks), `aeroops.views` (text, dicts, pandas tables, notebook widgets), `aeroops.cli`.
Importing this package imports none of them, so the command line stays light.
"""

__version__ = "0.1.0"


# The plain functions of "Looking inside backups" (README), loaded when first used.
_EXPLORE = ("documents", "document_chunks", "export", "diff", "history")


def __getattr__(name: str) -> object:
    if name in _EXPLORE:
        from aeroops import explore

        return getattr(explore, name)
    raise AttributeError(f"module 'aeroops' has no attribute {name!r}")
