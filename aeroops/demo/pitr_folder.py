"""A folder for point-in-time restore: a base backup taken right after a checkpoint, then the
WAL archived in three passes, ten minutes apart, as ``archive-wal --every 10m`` would have."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aeroops.demo.datadir import FOLDER_MODE, make_demo_datadir
from aeroops.demo.spec import DemoSpec
from aeroops.executor.fileops import FileOps, save_file
from aeroops.formats.layout import WAL
from aeroops.formats.wal import iter_wal

PITR_SPEC = DemoSpec.small(checkpoint=True, wal_records=600, snapshots=1)


@dataclass(frozen=True)
class DemoPitrFolder:
    data_dir: Path
    backup_dir: Path
    timeline: str
    passes: tuple[tuple[datetime, int], ...]  # (when, last sequence archived) per pass


def make_demo_pitr_folder(root: Path | str, spec: DemoSpec = PITR_SPEC, *, ops: FileOps) -> DemoPitrFolder:
    """``root/datadir`` (demo data whose newest snapshot is a checkpoint) and ``root/backups``:
    a base backup made when the WAL held its first third, then three archive-wal passes, each
    ten minutes after the one before, archiving up to one, two and three thirds. Fixed times,
    every effect through ``ops``."""
    from aeroops.executor.archive_wal import archive_wal
    from aeroops.executor.backup import run_backup

    root = Path(root)
    made = make_demo_datadir(root / "datadir", spec, ops=ops)
    data_dir = root / "datadir"
    wal = data_dir / WAL
    with ops.open_read(wal) as stream:
        full = stream.read()
    with ops.open_read(wal) as stream:
        ends = [record.offset + record.length for record in iter_wal(stream)]
    folder = root / "backups"
    ops.mkdir(folder, FOLDER_MODE)
    start = spec.start if spec.start.tzinfo is not None else spec.start.replace(tzinfo=UTC)
    base_at = start + timedelta(hours=2)
    thirds = [len(ends) * k // 3 for k in (1, 2, 3)]
    save_file(ops, wal, full[: ends[thirds[0] - 1]], tmp=wal.with_name("wal.log.demo"), mode=0o644)
    run_backup(data_dir, folder, created_at=base_at, ops=ops)
    passes = []
    for index, count in enumerate(thirds, start=1):
        save_file(ops, wal, full[: ends[count - 1]], tmp=wal.with_name("wal.log.demo"), mode=0o644)
        moment = base_at + timedelta(minutes=10 * index)
        archive_wal(data_dir, folder, now=moment, ops=ops)
        passes.append((moment, count))
    return DemoPitrFolder(data_dir, folder, made.snapshot_ids[-1], tuple(passes))
