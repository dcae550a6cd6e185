"""A folder of demo backups to audit, one of them damaged, and a file that is no archive."""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path

from aeroops.demo.datadir import FILE_MODE, FOLDER_MODE, make_demo_datadir
from aeroops.demo.spec import BACKUP_FOLDER_SPEC, DemoBackupFolder, DemoSpec
from aeroops.errors import UsageError
from aeroops.executor.fileops import FileOps, save_file, write_new_file


def make_demo_backup_folder(
    root: Path | str, spec: DemoSpec = BACKUP_FOLDER_SPEC, *, days: int = 2, ops: FileOps
) -> DemoBackupFolder:
    """A folder of backups to audit: ``root/datadir`` (demo data) and ``root/backups``, holding
    one backup of each snapshot per day for ``days`` days (made at 12:00, 12:01, … of
    2026-01-01, 2026-01-02, …), the newest of them damaged (one byte flipped inside the first
    document of its ``snapshot/storage.dat``), and ``notes.tar``, which is no archive.

    Every byte follows from ``spec``: the archives' creation times are fixed, not the clock's.
    Every effect on the disk goes through ``ops``.
    """
    from aeroops.executor.backup import run_backup  # the executor imports demo-free modules only

    if days < 1:
        raise UsageError(f"days must be at least 1, not {days!r}")
    root = Path(root)
    source = make_demo_datadir(root / "datadir", spec, ops=ops)
    if not source.snapshot_ids:
        raise UsageError("a demo backup folder needs at least one snapshot")
    folder = root / "backups"
    ops.mkdir(folder, FOLDER_MODE)
    start = spec.start if spec.start.tzinfo is not None else spec.start.replace(tzinfo=UTC)
    noon = start.replace(hour=12, minute=0, second=0, microsecond=0)
    archives = []
    for day in range(days):
        for index, snapshot_id in enumerate(source.snapshot_ids):
            made_at = noon + timedelta(days=day, minutes=index)
            result = run_backup(source.data_dir, folder, created_at=made_at, snapshot_id=snapshot_id, ops=ops)
            archives.append(Path(result.archive))
    damaged = archives[-1]
    with ops.open_read(damaged) as stream:
        data = bytearray(ops.read(stream, ops.stat(damaged).st_size))
    data[data.index(b'"_id"')] ^= 0xFF  # the first document of snapshot/storage.dat
    mode = ops.stat(damaged).st_mode & 0o7777
    save_file(ops, damaged, bytes(data), tmp=damaged.with_name(f"{damaged.name}.damaging"), mode=mode)
    not_an_archive = folder / "notes.tar"
    write_new_file(ops, not_an_archive, b"not an archive", FILE_MODE, fsync=False)
    return DemoBackupFolder(folder, source, tuple(archives), damaged, not_an_archive)
