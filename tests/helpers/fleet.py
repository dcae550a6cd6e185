"""A fleet's bucket, made fast: one real backup uploaded once, then copied server-side into
every host's prefix (CopyObject: no bytes through this process)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


def seed_fleet(client: Any, bucket: str, datadir: Path, *, hosts: int, per_host: int, damaged_host: int = 3) -> int:
    """``hosts`` prefixes ``host-NNN/`` of ``per_host`` archives each, named by day
    (``aerodb-2026-11-0D.tar``, with sidecars), all copies of one backup of ``datadir`` per day;
    the newest archive of ``damaged_host`` has a byte flipped (a copy of a damaged original).
    Returns the number of archives."""
    import tempfile

    from aeroops.executor.backup import run_backup
    from aeroops.executor.fileops import REAL

    sources = []
    with tempfile.TemporaryDirectory() as scratch:
        for day in range(per_host):
            made = run_backup(
                datadir, scratch, created_at=datetime(2026, 11, 1 + day, 3, tzinfo=UTC) + timedelta(), ops=REAL
            )
            key = f"_seed/aerodb-2026-11-{day + 1:02d}.tar"
            client.put_object(Bucket=bucket, Key=key, Body=Path(made.archive).read_bytes())
            digest = Path(made.sidecar).read_text().split()[0]
            sources.append((key, digest))
            if day == per_host - 1:
                body = bytearray(Path(made.archive).read_bytes())
                body[len(body) // 2] ^= 0xFF
                client.put_object(Bucket=bucket, Key="_seed/damaged.tar", Body=bytes(body))
    for host in range(hosts):
        for day, (key, digest) in enumerate(sources):
            name = f"aerodb-2026-11-{day + 1:02d}.tar"
            target = f"host-{host:03d}/{name}"
            source = "_seed/damaged.tar" if host == damaged_host and day == per_host - 1 else key
            client.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": source})
            client.put_object(Bucket=bucket, Key=target + ".b3", Body=f"{digest}  {name}\n".encode())
    for key in [k for k, _ in sources] + ["_seed/damaged.tar"]:
        client.delete_object(Bucket=bucket, Key=key)
    return hosts * per_host
