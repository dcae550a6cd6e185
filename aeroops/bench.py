"""``python -m aeroops.bench``: aeroops' speed and memory at real sizes, each figure beside a
baseline measured in the same run (ratios survive a noisy machine; absolute times do not).

Generates once, and caches, a demo data directory with a 1 GiB snapshot and 1,000,000 WAL
records (``--quick``: 64 MiB and 100,000). Each figure is the median of ``--runs`` runs, with a
warm page cache. Backups and restores run in child processes so their peak RSS is their own.
Not part of the test suite's pass/fail.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aeroops.formats.layout import WAL, snapshot_folder

CREATED_AT = "2026-06-01T00:00:00Z"


@dataclass(frozen=True)
class Row:
    """One line of the benchmark's table: a figure, aeroops' and the baseline's, their ratio."""

    figure: str
    ours: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None


def median_time(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def child(argv: list[str]) -> tuple[float, int]:
    """Run a command; its wall time and peak RSS (bytes), from wait4."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{' '.join(argv)} failed with exit status {process.returncode}")
    return elapsed, usage.ru_maxrss * 1024


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def crc_pass(path: Path) -> int:
    crc = 0
    with open(path, "rb", buffering=0) as stream:
        while chunk := stream.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    return crc


def ensure_data(cache: Path, quick: bool) -> Path:
    from aeroops.demo import DemoSpec, make_demo_datadir
    from aeroops.executor.fileops import REAL

    spec = DemoSpec.benchmark(wal_records=100_000, storage_bytes=64 << 20) if quick else DemoSpec.benchmark()
    key = f"datadir-{spec.wal_records}-{spec.storage_bytes}-{spec.seed}"
    data_dir, marker = cache / key, cache / f"{key}.complete"  # the marker stays out of the data dir
    if not marker.exists():
        shutil.rmtree(data_dir, ignore_errors=True)
        print(f"generating {data_dir} (once; cached) ...", file=sys.stderr)
        make_demo_datadir(data_dir, spec, ops=REAL)
        marker.write_text("")
    return data_dir


def bench_backup(data_dir: Path, work: Path, runs: int) -> tuple[list[Row], Path]:
    from aeroops.executor.fileops import REAL
    from aeroops.executor.scan import scan
    from aeroops.formats.sidecar import ALGORITHMS, sidecar_path

    description = scan(data_dir, checksums="none", check_wal=False, ops=REAL)
    newest = max(s.snapshot_id for s in description.snapshots)
    ours, rss, floor = [], [], []
    archive = work / "backup.tar"
    for _ in range(runs + 1):  # the first run warms the cache and is dropped
        for path in (archive, *(sidecar_path(archive, a) for a in ALGORITHMS), work / "tar.tar"):
            path.unlink(missing_ok=True)
        seconds, peak = child(
            [sys.executable, "-m", "aeroops", "backup", str(data_dir), "-o", str(archive), "--created-at", CREATED_AT]
        )
        ours.append(seconds)
        rss.append(peak)
        started = time.perf_counter()
        subprocess.run(
            ["tar", "cf", str(work / "tar.tar"), "-C", str(data_dir), snapshot_folder(newest), WAL], check=True
        )
        fsync_file(work / "tar.tar")
        floor.append(time.perf_counter() - started)
    (work / "tar.tar").unlink()
    t_ours, t_tar = statistics.median(ours[1:]), statistics.median(floor[1:])
    peak = max(rss[1:])
    size = archive.stat().st_size
    return [
        Row(
            "backup wall time",
            f"{t_ours:.2f} s",
            f"tar cf + fsync {t_tar:.2f} s",
            t_ours / t_tar,
            "≤ 2.0",
            t_ours / t_tar <= 2.0,
        ),
        Row(
            f"backup peak RSS ({size / 2**30:.2f} GiB archive)",
            f"{peak / 2**20:.0f} MiB",
            "—",
            None,
            "≤ 64 MiB",
            peak <= 64 << 20,
        ),
    ], archive


def bench_verify(archive: Path, runs: int) -> list[Row]:
    from aeroops.executor.audit import verify_archive
    from aeroops.executor.fileops import REAL
    from aeroops.formats.sidecar import split_digest

    report = verify_archive(archive, ops=REAL)
    if not report.ok:
        raise SystemExit(f"the benchmark archive does not verify: {report.findings}")
    if report.sidecar_digest is None:
        raise SystemExit("the benchmark archive has no sidecar: its check, the costly part, would not be timed")
    algorithm, _ = split_digest(report.sidecar_digest)
    t_ours = median_time(lambda: verify_archive(archive, ops=REAL), runs)
    t_crc = median_time(lambda: crc_pass(archive), runs)
    return [
        Row(
            f"verify wall time ({algorithm} sidecar)",
            f"{t_ours:.2f} s",
            f"raw CRC-32 pass {t_crc:.2f} s",
            t_ours / t_crc,
            "≤ 1.5",
            t_ours / t_crc <= 1.5,
        )
    ]


def bench_wal_scan(data_dir: Path, runs: int) -> list[Row]:
    from aeroops.formats.wal import decode_payload, iter_wal

    wal = data_dir / WAL

    def scan() -> int:
        count = 0
        with open(wal, "rb", buffering=0) as stream:
            for record in iter_wal(stream, path=wal):
                decode_payload(record)
                count += 1
        return count

    records = scan()
    seconds = median_time(scan, runs)
    rate = records / seconds
    return [
        Row(
            f"WAL scan, decode + checksum ({records:,} records)",
            f"{rate:,.0f} records/s",
            "—",
            None,
            "≥ 1,000,000/s",
            rate >= 1_000_000,
        )
    ]


def bench_inventory(archive_source: Path, work: Path, runs: int) -> list[Row]:
    from aeroops.executor.audit import inventory
    from aeroops.executor.fileops import REAL

    folder = work / "inventory"
    folder.mkdir()
    for i in range(1000):
        shutil.copyfile(archive_source, folder / f"backup-{i:04d}.tar")
    now = datetime(2026, 6, 2, tzinfo=UTC)
    found = inventory(folder, now=now, ops=REAL)
    assert len(found.rows) == 1000
    seconds = median_time(lambda: inventory(folder, now=now, ops=REAL), runs)
    shutil.rmtree(folder)
    return [Row("inventory of 1,000 archives (manifests only)", f"{seconds:.2f} s", "—", None, "≤ 2 s", seconds <= 2)]


def bench_restore(archive: Path, work: Path, runs: int) -> list[Row]:
    ours, floor, rss = [], [], []
    script = (
        "import sys; from aeroops.executor.fileops import REAL; from aeroops.executor.restore import restore; "
        "restore(sys.argv[1], sys.argv[2], create=True, ops=REAL)"
    )
    for _ in range(runs + 1):
        target = work / "restored"
        shutil.rmtree(target, ignore_errors=True)
        seconds, peak = child([sys.executable, "-c", script, str(archive), str(target)])
        ours.append(seconds)
        rss.append(peak)
        shutil.rmtree(target)
        extracted = work / "tar-x"
        shutil.rmtree(extracted, ignore_errors=True)
        extracted.mkdir()
        started = time.perf_counter()
        subprocess.run(["tar", "xf", str(archive), "-C", str(extracted)], check=True)
        floor.append(time.perf_counter() - started)
        shutil.rmtree(extracted)
    t_ours, t_tar = statistics.median(ours[1:]), statistics.median(floor[1:])
    return [
        Row(
            "restore wall time",
            f"{t_ours:.2f} s",
            f"tar xf {t_tar:.2f} s",
            t_ours / t_tar,
            "≤ 2.5",
            t_ours / t_tar <= 2.5,
        ),
        Row("restore peak RSS", f"{max(rss[1:]) / 2**20:.0f} MiB", "—", None, "bounded", None),
    ]


def render(rows: list[Row]) -> str:
    header = ("figure", "aeroops", "baseline (same run)", "ratio", "target", "met")
    table = [header] + [
        (
            r.figure,
            r.ours,
            r.baseline,
            "—" if r.ratio is None else f"{r.ratio:.2f}",
            r.target,
            "—" if r.met is None else ("yes" if r.met else "NO"),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |" for row in table]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aeroops.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path(".bench-cache"), help="where the demo data is kept")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the median is reported")
    parser.add_argument("--quick", action="store_true", help="64 MiB and 100,000 records: a smoke run")
    parser.add_argument("--only", nargs="*", default=["backup", "verify", "wal", "inventory", "restore"])
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    data_dir = ensure_data(args.cache, args.quick)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(dir=args.cache, prefix="work-") as scratch:
        work = Path(scratch)
        archive = None
        if "backup" in args.only or {"verify", "restore"} & set(args.only):
            backup_rows, archive = bench_backup(data_dir, work, args.runs)
            if "backup" in args.only:
                rows += backup_rows
        if "verify" in args.only and archive:
            rows += bench_verify(archive, args.runs)
        if "wal" in args.only:
            rows += bench_wal_scan(data_dir, args.runs)
        if "inventory" in args.only:
            small = work / "small.tar"
            from aeroops.demo import DemoSpec, make_demo_datadir
            from aeroops.executor.backup import run_backup
            from aeroops.executor.fileops import REAL

            make_demo_datadir(work / "small", DemoSpec.small(), ops=REAL)
            run_backup(work / "small", small, created_at=datetime(2026, 6, 1, tzinfo=UTC), ops=REAL)
            rows += bench_inventory(small, work, args.runs)
        if "restore" in args.only and archive:
            rows += bench_restore(archive, work, args.runs)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(render(rows))
    print(
        f"\n{os.cpu_count()} cores; median of {args.runs} runs; bench process peak RSS {usage.ru_maxrss / 1024:.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
