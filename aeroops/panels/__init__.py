"""Notebook panels (ipywidgets): thin layers over the plain functions of `aeroops.executor`.

- `BackupPanel`: scan, plan, run a backup, see the result.
- `AuditPanel`: a backup folder's inventory, one archive's contents, verification.
- `RetentionPanel`: a retention policy's plan for a backup folder (table and timeline), and
  removal after an explicit confirmation.
- `RestorePanel`: drill, preview, and restore (or recover) after an explicit confirmation.
- `PitrPanel` (`aeroops.panels.pitr_panel`): a folder's restorable coverage, a point-in-time
  plan, drill and restore after an explicit confirmation.
- `ExplorePanel`: the documents of a folder's archives, what changed between two, a key's history.
- `WidgetProgress`: the progress callback drawn as bars, for any long job.

Every panel can be driven from code: its methods do what its buttons do.
"""

from __future__ import annotations

from aeroops.panels.audit_panel import AuditPanel
from aeroops.panels.backup_panel import BackupPanel
from aeroops.panels.common import PagedTable, Panel, WidgetProgress
from aeroops.panels.explore_panel import ExplorePanel
from aeroops.panels.restore_panel import RestorePanel
from aeroops.panels.retention_panel import RetentionPanel

__all__ = [
    "AuditPanel",
    "BackupPanel",
    "ExplorePanel",
    "PagedTable",
    "Panel",
    "RestorePanel",
    "RetentionPanel",
    "WidgetProgress",
]
