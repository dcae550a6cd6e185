"""aeroops: operations toolkit for AeroDB backups.

Layers, each importing only those before it (tests/test_layers.py checks): the base modules
(`errors`, `columns`, `progress`, ...), `aeroops.formats` (bytes ⇄ values), `aeroops.core` (pure:
descriptions, plans, verdicts, reports), `aeroops.executor` (effects: scan, backup, restore,
locks), `aeroops.views` (text, JSON, pandas tables, HTML, charts), and the front ends
`aeroops.panels` (notebook widgets) and `aeroops.cli`. Importing this package imports none of
them, so the command line stays light.
"""

__version__ = "0.1.0"
