"""A folder of nightly demo backups of one database as it grows: what changed between them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta
from pathlib import Path

from aeroops.demo.datadir import FOLDER_MODE, make_demo_datadir
from aeroops.demo.spec import DemoSpec
from aeroops.errors import UsageError
from aeroops.executor.fileops import FileOps

NIGHTLY_SPEC = DemoSpec(wal_records=600, snapshots=1)


def make_demo_nightly_folder(
    root: Path | str, spec: DemoSpec = NIGHTLY_SPEC, *, nights: int = 3, growth: int = 300, ops: FileOps
) -> tuple[Path, tuple[Path, ...]]:
    """``root/backups``: one backup a night for ``nights`` nights (made at 03:00 of 2026-01-02,
    2026-01-03, …) of a demo database that ran ``growth`` more operations each day (inserts,
    updates and deletes). A night's data is ``spec`` with ``wal_records`` grown, whose first
    operations and documents are the night before's: the same database, later. Returns the
    folder and its archives, oldest first."""
    from aeroops.executor.backup import run_backup  # the executor imports demo-free modules only

    if nights < 1 or growth < 0:
        raise UsageError(f"nights must be at least 1 and growth not negative, not {nights!r} and {growth!r}")
    root = Path(root)
    folder = root / "backups"
    ops.mkdir(folder, FOLDER_MODE)
    start = spec.start if spec.start.tzinfo is not None else spec.start.replace(tzinfo=UTC)
    archives = []
    for night in range(nights):
        source = root / "database"
        records = spec.wal_records + night * growth
        # The demo spreads its operations over (snapshots + 1) hours: a night with as many more
        # hours as operations keeps every operation's time, and so its documents, the same.
        hours, left = divmod((spec.snapshots + 1) * records, max(1, spec.wal_records))
        if left or hours < 1:
            raise UsageError(f"growth {growth} must keep the demo's hours whole ({spec.wal_records} records a night)")
        night_spec = replace(spec, wal_records=records, snapshots=hours - 1)
        make_demo_datadir(source, night_spec, ops=ops)
        made_at = start.replace(hour=3, minute=0, second=0, microsecond=0) + timedelta(days=night + 1)
        name = folder / f"nightly-{made_at:%Y%m%d}.tar"
        archives.append(Path(run_backup(source, name, created_at=made_at, ops=ops).archive))
        ops.remove_tree(source)
    return folder, tuple(archives)
