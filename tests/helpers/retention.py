"""Builders for the retention tests: inventory rows by hand (`row`), and folders of real daily
backups of a demo data directory (`make_folder`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from aeroops.core.inventory import InventoryRow, inventory_row
from aeroops.executor.backup import run_backup
from aeroops.executor.fileops import REAL

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)  # the planning time `row`'s ages count from
DAYS = (1, 2, 3, 10, 17, 18, 19)  # `make_folder`'s: November, 03:00 UTC


def row(
    file: str,
    created_at: datetime | None,
    *,
    ok: bool | None = True,
    source: str | None = None,
    snapshot: str = "20260101T000000Z",
    reason: str | None = None,
) -> InventoryRow:
    """An inventory row of an archive made at ``created_at`` (None: a file that is no archive)."""
    if created_at is None:
        return inventory_row(file, 10, None, reason or "not an archive", NOW)
    return InventoryRow(
        file=file,
        size=100,
        modified=created_at,
        backup_id=snapshot,
        snapshot_id=snapshot,
        created_at=created_at,
        age=NOW - created_at,
        wal_present=True,
        format_version=1,
        sidecar="b3",
        ok=ok,
        errors=None if ok is None else int(not ok),
        source=source,
    )


def make_folder(demo: tuple[Path, tuple[str, ...]], folder: Path, days: tuple[int, ...] = DAYS) -> list[Path]:
    """One backup per day, of the newest snapshot; the first day's of the oldest snapshot too.
    ``demo``: the `small_demo` fixture (a data directory and its snapshot ids)."""
    data_dir, snapshots = demo
    folder.mkdir(exist_ok=True)
    made = []
    for day in days:
        taken = datetime(2026, 11, day, 3, tzinfo=UTC)
        made.append(Path(run_backup(data_dir, folder, created_at=taken, snapshot_id=snapshots[-1], ops=REAL).archive))
    old = run_backup(
        data_dir, folder, created_at=datetime(2026, 11, 1, 2, tzinfo=UTC), snapshot_id=snapshots[0], ops=REAL
    )
    return [Path(old.archive), *made]
