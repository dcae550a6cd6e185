"""Fleet scale on one machine: ``inventory s3://bucket/ -r`` over 10,000 archives in a local moto
server (many data directories, one prefix each, the archives made by server-side copies), then
each data directory's newest good archive (verifying newest first until one passes, as
``aeroops check`` does). Prints the times README quotes.

    python scripts/s3_fleet.py [--hosts 2000] [--per-host 5] [--workers 8]

Needs the test extra (moto[server], s3fs). Starts its own server on a free port and stops it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=2000)
    parser.add_argument("--per-host", type=int, default=5)
    parser.add_argument("--workers", type=int, default=8, help="archives verified at once")
    args = parser.parse_args()

    from helpers.s3 import moto_server, s3_environment

    from aeroops.demo import DemoSpec, make_demo_datadir
    from aeroops.executor.fileops import REAL

    with moto_server() as server, tempfile.TemporaryDirectory() as scratch:
        os.environ.update(s3_environment(server.endpoint))
        client = server.client()
        client.create_bucket(Bucket="fleet")
        datadir = Path(scratch) / "db"
        make_demo_datadir(datadir, DemoSpec(seed=1, wal_records=50, snapshots=1), ops=REAL)
        started = time.monotonic()
        count = seed(client, datadir, args.hosts, args.per_host)
        print(
            f"seeded {count} archives in {args.hosts} prefixes by server-side copy: {time.monotonic() - started:.1f} s"
        )

        from aeroops.core.newest_good import newest_good
        from aeroops.executor.audit import inventory, verify_archive

        started = time.monotonic()
        found = inventory("s3://fleet/", recursive=True, ops=REAL)
        listed = time.monotonic() - started
        readable = sum(1 for row in found.rows if row.reason is None)
        print(f"inventory s3://fleet/ -r: {len(found.rows)} rows ({readable} with a manifest) in {listed:.1f} s")

        started = time.monotonic()
        hosts: dict[str, list] = {}
        for row in found.rows:
            hosts.setdefault(row.file.split("/")[0], []).append(row)

        def newest_good_of(rows: list) -> object:
            from aeroops.core.inventory import with_verdict

            for row in sorted(rows, key=lambda r: r.created_at, reverse=True):
                checked = with_verdict(row, verify_archive(f"s3://fleet/{row.file}", ops=REAL))
                if checked.ok:
                    return newest_good([checked]).overall
            return None

        with ThreadPoolExecutor(args.workers) as pool:
            best = list(pool.map(newest_good_of, hosts.values()))
        good = sum(1 for b in best if b is not None)
        print(
            f"newest good archive of each of {len(hosts)} data directories ({good} have one): "
            f"{time.monotonic() - started:.1f} s more"
        )
    return 0


def seed(client, datadir: Path, hosts: int, per_host: int) -> int:  # type: ignore[no-untyped-def]
    from aeroops.executor.backup import run_backup
    from aeroops.executor.fileops import REAL

    sources = []
    with tempfile.TemporaryDirectory() as out:
        for day in range(per_host):
            made = run_backup(datadir, out, created_at=datetime(2026, 11, 1 + day, 3, tzinfo=UTC), ops=REAL)
            key = f"_seed/{day}.tar"
            client.put_object(Bucket="fleet", Key=key, Body=Path(made.archive).read_bytes())
            sources.append((key, Path(made.sidecar).read_text().split()[0]))

    def copy(host: int) -> None:
        for day, (key, digest) in enumerate(sources):
            name = f"aerodb-2026-11-{day + 1:02d}.tar"
            target = f"db-{host:05d}/{name}"
            client.copy_object(Bucket="fleet", Key=target, CopySource={"Bucket": "fleet", "Key": key})
            client.put_object(Bucket="fleet", Key=target + ".b3", Body=f"{digest}  {name}\n".encode())

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(copy, range(hosts)))
    for key, _ in sources:
        client.delete_object(Bucket="fleet", Key=key)
    return hosts * per_host


if __name__ == "__main__":
    raise SystemExit(main())
