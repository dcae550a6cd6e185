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
from typing import TYPE_CHECKING

from aeroops.formats.layout import DOCUMENTS, WAL, snapshot_folder

if TYPE_CHECKING:
    from aeroops.demo import DemoSpec

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


GNU_TIME = "/usr/bin/time"  # Debian's ``time``: the peak RSS of the command alone


def child(argv: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, int]:
    """Run a command (its exit status one of ``ok``); its wall time and peak RSS (bytes).

    The RSS comes from GNU time, which forks the command from its own small process: a child
    forked from this one starts with this process's resident pages counted in its peak (Linux
    keeps the high-water mark across exec), so wait4 here would report this process's size for
    any command (a 300 MiB bench process measured ``true`` at 317 MiB). Without GNU time, wait4.
    """
    started = time.perf_counter()
    if os.path.exists(GNU_TIME):
        with tempfile.NamedTemporaryFile("r", prefix="aeroops-bench-rss-") as report:
            process = subprocess.run([GNU_TIME, "-f", "%M", "-o", report.name, *argv], stdout=subprocess.DEVNULL)
            elapsed = time.perf_counter() - started
            if process.returncode not in ok:
                raise SystemExit(f"{' '.join(argv)} failed with exit status {process.returncode}")
            return elapsed, int(report.read().split()[-1]) * 1024
    popen = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(popen.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in ok:
        raise SystemExit(f"{' '.join(argv)} failed with exit status {os.waitstatus_to_exitcode(status)}")
    return elapsed, usage.ru_maxrss * 1024


def aeroops_command(*args: str) -> list[str]:
    """The command line of ``aeroops ARGS`` in a child process: what an operator runs."""
    return [sys.executable, "-m", "aeroops", *args]


def restore_command(source: Path | str, target: Path, *args: str) -> list[str]:
    """``aeroops restore SOURCE TARGET --create --yes`` (a new data directory, no dry run)."""
    return aeroops_command("restore", str(source), str(target), *args, "--create", "--yes", "--no-progress")


def paired_median_times(ours: Callable[[], object], baseline: Callable[[], object], runs: int) -> tuple[float, float]:
    """The median wall times of ``ours`` and ``baseline``, run in turns (after one warm-up run
    of each): a slow spell of the machine falls on both, not on one side's runs."""
    ours(), baseline()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for action, measured in ((ours, times[0]), (baseline, times[1])):
            started = time.perf_counter()
            action()
            measured.append(time.perf_counter() - started)
    return statistics.median(times[0]), statistics.median(times[1])


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
    from aeroops.demo import DemoSpec

    spec = DemoSpec.benchmark(wal_records=100_000, storage_bytes=64 << 20) if quick else DemoSpec.benchmark()
    return cached_datadir(cache, spec)


def cached_datadir(cache: Path, spec: DemoSpec) -> Path:
    """The demo data directory of ``spec`` in ``cache``, generated the first time."""
    from aeroops.demo import make_demo_datadir
    from aeroops.demo.documents import GENERATION
    from aeroops.executor.fileops import REAL

    key = f"datadir-{spec.wal_records}-{spec.storage_bytes}-{spec.seed}-g{GENERATION}"
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
        seconds, peak = child(aeroops_command("backup", str(data_dir), "-o", str(archive), "--created-at", CREATED_AT))
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
            "≤ 1.15",
            t_ours / t_tar <= 1.15,
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


def bench_verify(archive: Path, runs: int, figure: str = "verify wall time", limit: float = 1.2) -> list[Row]:
    from aeroops.executor.audit import verify_archive
    from aeroops.executor.fileops import REAL
    from aeroops.formats.sidecar import split_digest

    report = verify_archive(archive, ops=REAL)
    if not report.ok:
        raise SystemExit(f"the benchmark archive does not verify: {report.findings}")
    if report.sidecar_digest is None:
        raise SystemExit("the benchmark archive has no sidecar: its check, the costly part, would not be timed")
    algorithm, _ = split_digest(report.sidecar_digest)
    # The archive was just written: its gigabytes would still be in writeback while the first
    # figure is timed. Both sides start from clean pages, and take turns.
    os.sync()
    t_ours, t_crc = paired_median_times(lambda: verify_archive(archive, ops=REAL), lambda: crc_pass(archive), runs)
    return [
        Row(
            f"{figure} ({algorithm} sidecar)",
            f"{t_ours:.2f} s",
            f"raw CRC-32 pass {t_crc:.2f} s",
            t_ours / t_crc,
            f"≤ {limit}",
            t_ours / t_crc <= limit,
        )
    ]


def bench_verify_medium(cache: Path, work: Path, runs: int) -> list[Row]:
    """verify of a mid-sized archive (about 290 MB: 300,000 WAL records, a 120 MiB snapshot),
    where what verify does once per archive shows, against a raw CRC-32 pass over it."""
    from aeroops.demo import DemoSpec
    from aeroops.executor.backup import run_backup
    from aeroops.executor.fileops import REAL

    data_dir = cached_datadir(cache, DemoSpec.benchmark(wal_records=300_000, storage_bytes=120 << 20))
    archive = work / "medium.tar"
    run_backup(data_dir, archive, created_at=datetime(2026, 6, 1, tzinfo=UTC), ops=REAL)
    return bench_verify(archive, runs, f"verify of a {archive.stat().st_size / 1e6:,.0f} MB archive", 1.5)


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
            f"WAL scan, decode + checksum ({records:,} records; CRC-32: {crc_path()})",
            f"{rate:,.0f} records/s",
            "—",
            None,
            "≥ 1,500,000/s",
            rate >= 1_500_000,
        )
    ]


def crc_path() -> str:
    """Which CRC-32 the WAL reader checks records with, in this install."""
    from aeroops.formats.wal import load_speedups

    speedups = load_speedups()
    if speedups is None:
        return "isal.isal_zlib.crc32 per record (pure-Python readers: the C extension is not built)"
    return str(getattr(speedups, "crc_path", "unknown (an extension built before crc_path)"))


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
    for _ in range(runs + 1):
        target = work / "restored"
        shutil.rmtree(target, ignore_errors=True)
        seconds, peak = child(restore_command(archive, target))
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


def ensure_checkpointed(cache: Path, quick: bool) -> Path:
    """A data directory whose WAL (1,000,000 records; ``--quick``: 100,000) follows a checkpoint:
    the base of point-in-time figures."""
    from aeroops.demo import DemoSpec, make_demo_datadir
    from aeroops.executor.fileops import REAL

    records = 100_000 if quick else 1_000_000
    spec = DemoSpec.benchmark(wal_records=2 * records, snapshots=1, checkpoint=True, storage_bytes=0)
    key = f"checkpointed-{spec.wal_records}-{spec.seed}"
    data_dir, marker = cache / key, cache / f"{key}.complete"
    if not marker.exists():
        shutil.rmtree(data_dir, ignore_errors=True)
        print(f"generating {data_dir} (once; cached) ...", file=sys.stderr)
        make_demo_datadir(data_dir, spec, ops=REAL)
        marker.write_text("")
    return data_dir


def bench_pitr(data_dir: Path, work: Path, runs: int) -> list[Row]:
    """archive-wal of the whole WAL against the WAL scan's rate; a pass with nothing new; a
    restore to the middle of the archived records against a full restore of the same base."""
    from aeroops.executor.archive_wal import archive_wal
    from aeroops.executor.backup import run_backup
    from aeroops.executor.fileops import REAL

    folder = work / "pitr"
    rates, rss, scans, copies = [], [], [], []
    records = 0
    for _ in range(runs + 1):
        # the rate in this process, as the WAL scan's is measured; the peak RSS in a child's
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        started = time.perf_counter()
        records = archive_wal(data_dir, folder, ops=REAL).records
        rates.append(records / (time.perf_counter() - started))
        shutil.rmtree(folder)
        folder.mkdir()
        rss.append(child(aeroops_command("archive-wal", str(data_dir), "-o", str(folder)))[1])
        scans.append(_scan_rate(data_dir / WAL))
        copies.append(records / _copy_seconds(data_dir / WAL, work / "copy.wal"))
    rate, scan_rate, peak = statistics.median(rates[1:]), statistics.median(scans[1:]), max(rss[1:])
    copy_rate = statistics.median(copies[1:])
    nothing = median_time(lambda: archive_wal(data_dir, folder, ops=REAL), max(runs, 5))
    run_backup(data_dir, folder / "base.tar", created_at=datetime(2026, 6, 1, tzinfo=UTC), ops=REAL)
    middle = records // 2
    ours, full = [], []
    for _ in range(runs + 1):
        target = work / "restored"
        shutil.rmtree(target, ignore_errors=True)
        ours.append(child(restore_command(folder, target, "--to-sequence", str(middle)))[0])
        shutil.rmtree(target)
        full.append(child(restore_command(folder / "base.tar", target))[0])
        shutil.rmtree(target)
    t_ours, t_full = statistics.median(ours[1:]), statistics.median(full[1:])
    shutil.rmtree(folder)
    return [
        Row(
            f"archive-wal of {records:,} new records",
            f"{rate:,.0f} records/s, {peak / 2**20:.0f} MiB",
            f"WAL scan {scan_rate:,.0f} records/s",
            rate / scan_rate,
            "≥ 1.0, ≤ 64 MiB",
            rate >= scan_rate and peak <= 64 << 20,
        ),
        Row(  # what any archiver that keeps its promise pays at least: the bytes copied and on disk
            "  a kernel copy + fsync of the same WAL (no check, no digest)",
            f"{copy_rate:,.0f} records/s",
            f"WAL scan {scan_rate:,.0f} records/s",
            copy_rate / scan_rate,
            "reported",
            None,
        ),
        Row("archive-wal pass with nothing new", f"{nothing * 1000:.1f} ms", "—", None, "≤ 50 ms", nothing <= 0.05),
        Row(
            f"restore to sequence {middle:,} of {records:,} archived",
            f"{t_ours:.2f} s",
            f"full restore of the base {t_full:.2f} s",
            t_ours / t_full,
            "≤ 1.2",
            t_ours / t_full <= 1.2,
        ),
    ]


def _copy_seconds(wal: Path, copy: Path) -> float:
    """Wall time of copying the WAL in the kernel (sendfile, as shutil.copyfile does) and fsyncing it."""
    started = time.perf_counter()
    shutil.copyfile(wal, copy)
    fsync_file(copy)
    seconds = time.perf_counter() - started
    copy.unlink()
    return seconds


def _scan_rate(wal: Path) -> float:
    from aeroops.formats.wal import decode_payload, iter_wal

    started = time.perf_counter()
    count = 0
    with open(wal, "rb", buffering=0) as stream:
        for record in iter_wal(stream, path=wal):
            decode_payload(record)
            count += 1
    return count / (time.perf_counter() - started)


# --- compression and encryption (issue 22): aeroops' layers beside Debian's zstd and age --------

NOT_AVAILABLE = "not available"  # aeroops' side of a figure whose feature this build lacks
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "aerodb-reference"


def layers_available() -> bool:
    """Whether this build has the compression and encryption layers (``backup --compress``)."""
    import importlib.util

    return importlib.util.find_spec("aeroops.formats.zstd_layer") is not None


def shell(command: str) -> tuple[float, int]:
    """Run a shell pipeline; its wall time and the peak RSS of its largest process."""
    return child(["sh", "-c", f"set -e; {command}"])


def pipe_crc(command: str) -> tuple[float, int]:
    """A pipeline's output into a raw CRC-32 pass in this process: the wall time and the CRC."""
    started = time.perf_counter()
    process = subprocess.Popen(["sh", "-c", command], stdout=subprocess.PIPE)
    assert process.stdout is not None
    crc = 0
    while chunk := process.stdout.read(1 << 20):
        crc = zlib.crc32(chunk, crc)
    if process.wait():
        raise SystemExit(f"{command} failed with exit status {process.returncode}")
    return time.perf_counter() - started, crc


def fsync_tree(root: Path) -> None:
    """An fsync of every file under ``root``, as aeroops' restore makes its files durable."""
    for folder, _, files in os.walk(root):
        for name in files:
            fsync_file(Path(folder) / name)


def age_key(work: Path) -> tuple[Path, str]:
    """A fresh age identity file (``age-keygen``) and its recipient."""
    key = work / "bench-identity.txt"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    made = subprocess.run(["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True)
    return key, made.stdout.strip()


def _mib(peak: int) -> str:
    return f"{peak / 2**20:.0f} MiB"


def _ratio_row(figure: str, ours: list[float] | None, floor: list[float], baseline: str, limit: float) -> Row:
    t_floor = statistics.median(floor)
    if ours is None:
        return Row(figure, NOT_AVAILABLE, f"{baseline} {t_floor:.2f} s", None, f"≤ {limit}", None)
    t_ours = statistics.median(ours)
    return Row(
        figure,
        f"{t_ours:.2f} s",
        f"{baseline} {t_floor:.2f} s",
        t_ours / t_floor,
        f"≤ {limit}",
        t_ours / t_floor <= limit,
    )


def _rss_row(figure: str, peaks: list[int] | None, baseline: list[int] | None) -> Row:
    theirs = "—" if not baseline else _mib(max(baseline))
    if peaks is None:
        return Row(f"peak RSS, {figure}", NOT_AVAILABLE, theirs, None, "≤ 96 MiB", None)
    return Row(f"peak RSS, {figure}", _mib(max(peaks)), theirs, None, "≤ 96 MiB", max(peaks) <= 96 << 20)


@dataclass(frozen=True)
class Layered:
    """The archives the layered backups made (None where this build cannot make them) and the
    baseline's files, for the readers' figures."""

    zstd: Path | None
    zstd_age: Path | None
    baseline_zstd: Path
    baseline_zstd_age: Path


def bench_layered_backup(data_dir: Path, work: Path, runs: int, key: Path, recipient: str) -> tuple[list[Row], Layered]:
    """``backup --compress zstd`` (and ``--encrypt-to R``) beside ``tar cf - … | zstd -T0 -3
    [| age -r R] > f && sync f``."""
    from aeroops.executor.fileops import REAL
    from aeroops.executor.scan import scan

    newest = max(s.snapshot_id for s in scan(data_dir, checksums="none", check_wal=False, ops=REAL).snapshots)
    members = f"-C {data_dir} {snapshot_folder(newest)} {WAL}"
    available = layers_available()
    rows: list[Row] = []
    made: dict[str, Path | None] = {}
    baseline_files: dict[str, Path] = {}
    variants = (
        ("zstd", "backup.tar.zst", ["--compress", "zstd"], "zstd -q -T0 -3", "tar | zstd -T0 -3 + sync"),
        (
            "zstd+age",
            "backup.tar.zst.age",
            ["--compress", "zstd", "--encrypt-to", recipient],
            f"zstd -q -T0 -3 | age -r {recipient}",
            "tar | zstd -T0 -3 | age -r R + sync",
        ),
    )
    for label, name, options, filters, baseline in variants:
        folder = work / f"layered-{label}"
        folder.mkdir()
        floor_file = work / f"baseline.{name.removeprefix('backup.')}"
        ours: list[float] = []
        rss: list[int] = []
        floor: list[float] = []
        floor_rss: list[int] = []
        for _ in range(runs + 1):  # the first run warms the cache and is dropped
            for old in folder.iterdir():
                old.unlink()
            floor_file.unlink(missing_ok=True)
            if available:
                argv = aeroops_command("backup", str(data_dir), "-o", str(folder / name))
                seconds, peak = child([*argv, *options, "--created-at", CREATED_AT, "--no-progress"])
                ours.append(seconds)
                rss.append(peak)
            seconds, peak = shell(f"tar cf - {members} | {filters} > {floor_file} && sync {floor_file}")
            floor.append(seconds)
            floor_rss.append(peak)
        made[label] = folder / name if available else None
        baseline_files[label] = floor_file
        figure = "backup --compress zstd" + (" --encrypt-to R" if "age" in label else "")
        rows.append(_ratio_row(figure, ours[1:] if available else None, floor[1:], baseline, 1.1))
        rows.append(_rss_row(figure, rss[1:] if available else None, floor_rss[1:]))
    layered = Layered(made["zstd"], made["zstd+age"], baseline_files["zstd"], baseline_files["zstd+age"])
    return rows, layered


def bench_layered_verify(layered: Layered, runs: int, key: Path) -> list[Row]:
    """``verify`` of each layered archive beside ``[age -d … |] zstd -dc f`` into a raw CRC-32 pass."""
    rows: list[Row] = []
    for archive, floor_file, decrypt, figure in (
        (layered.zstd, layered.baseline_zstd, "", "verify of the compressed archive"),
        (layered.zstd_age, layered.baseline_zstd_age, f"age -d -i {key} ", "verify, compressed and encrypted"),
    ):
        source = archive or floor_file  # the same bytes for both sides where aeroops made them
        pipeline = f"age -d -i {key} {source} | zstd -dc" if decrypt else f"zstd -dc {source}"
        ours: list[float] = []
        rss: list[int] = []
        floor: list[float] = []
        for _ in range(runs + 1):
            if archive is not None:
                argv = aeroops_command("verify", str(archive), "--no-progress")
                seconds, peak = child(argv + (["--identity", str(key)] if decrypt else []))
                ours.append(seconds)
                rss.append(peak)
            floor.append(pipe_crc(pipeline)[0])
        baseline = ("age -d | " if decrypt else "") + "zstd -dc → raw CRC-32 pass"
        rows.append(_ratio_row(figure, ours[1:] if archive else None, floor[1:], baseline, 1.2))
        rows.append(_rss_row(figure, rss[1:] if archive else None, None))
    return rows


def bench_layered_restore(layered: Layered, work: Path, runs: int) -> list[Row]:
    """``restore`` from the compressed archive beside ``zstd -dc f | tar xf -`` and an fsync of
    each file."""
    source = layered.zstd or layered.baseline_zstd
    ours: list[float] = []
    rss: list[int] = []
    floor: list[float] = []
    floor_rss: list[int] = []
    for _ in range(runs + 1):
        target = work / "restored-zstd"
        if layered.zstd is not None:
            shutil.rmtree(target, ignore_errors=True)
            seconds, peak = child(restore_command(layered.zstd, target))
            ours.append(seconds)
            rss.append(peak)
            shutil.rmtree(target)
        extracted = work / "zstd-tar-x"
        shutil.rmtree(extracted, ignore_errors=True)
        extracted.mkdir()
        started = time.perf_counter()
        _, peak = shell(f"zstd -dc {source} | tar xf - -C {extracted}")
        fsync_tree(extracted)
        floor.append(time.perf_counter() - started)
        floor_rss.append(peak)
        shutil.rmtree(extracted)
    available = layered.zstd is not None
    figure = "restore from the compressed archive"
    return [
        _ratio_row(figure, ours[1:] if available else None, floor[1:], "zstd -dc | tar xf + fsync", 1.2),
        _rss_row(figure, rss[1:] if available else None, floor_rss[1:]),
    ]


def _zstd_cli_size(path: Path) -> int:
    out = subprocess.run(f"zstd -q -T0 -3 -c {path} | wc -c", shell=True, check=True, capture_output=True, text=True)
    return int(out.stdout)


def bench_sizes(plain: Path | None, layered: Layered | None, work: Path) -> list[Row]:
    """Compressed size / plain size: of the benchmark's archive, and of aeroops' archive of each
    AeroDB fixture; beside what Debian's ``zstd -3`` makes of the same plain archive."""
    from aeroops.executor.backup import run_backup
    from aeroops.executor.fileops import REAL

    created = datetime(2026, 6, 1, tzinfo=UTC)
    pairs: list[tuple[str, Path, Path | None]] = []
    if plain is not None:
        pairs.append(("demo (benchmark data)", plain, layered.zstd if layered else None))
    for data_dir in sorted(FIXTURES.glob("datadir-*")):
        copy = work / "fixtures" / data_dir.name
        shutil.copytree(data_dir, copy)
        out = work / "fixtures" / f"{data_dir.name}-out"
        out.mkdir()
        fixture_plain = Path(run_backup(copy, out / "plain.tar", created_at=created, ops=REAL).archive)
        compressed = None
        if layers_available():
            made = run_backup(copy, out / "plain.tar.zst", created_at=created, compress="zstd", ops=REAL)
            compressed = Path(made.archive)
        pairs.append((f"AeroDB fixture {data_dir.name}", fixture_plain, compressed))
    rows = []
    for label, plain_archive, compressed in pairs:
        size = plain_archive.stat().st_size
        cli = _zstd_cli_size(plain_archive)
        theirs = f"zstd -3: {cli / size:.3f} ({size / cli:.1f}×)"
        if compressed is None:
            rows.append(Row(f"compressed / plain size, {label}", NOT_AVAILABLE, theirs, None, "in the table", None))
            continue
        stored = compressed.stat().st_size
        ours = f"{stored:,} / {size:,} B = {stored / size:.3f} ({size / stored:.1f}×)"
        rows.append(Row(f"compressed / plain size, {label}", ours, theirs, stored / cli, "in the table", None))
    return rows


# --- object storage (issue 25): against a local moto server, beside s3fs in the same run ---------

S3_BUCKET = "bench"


def _moto(work: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """moto's S3 server on a free port, and the environment that points aeroops and s3fs at it."""
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(work)},  # moto spools large objects to its temporary folder
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).read()
            break
        except OSError:
            time.sleep(0.1)
    env = {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }
    return server, env


S3FS_PUT = (
    "import os, sys, s3fs; fs = s3fs.S3FileSystem(endpoint_url=os.environ['AWS_ENDPOINT_URL']); "
    "fs.put_file(sys.argv[1], sys.argv[2])"
)
S3FS_GET = (
    "import os, sys, s3fs; fs = s3fs.S3FileSystem(endpoint_url=os.environ['AWS_ENDPOINT_URL']); "
    "fs.get_file(sys.argv[1], sys.argv[2])"
)


def bench_s3(data_dir: Path, archive: Path, work: Path, runs: int) -> list[Row]:
    """Backup into a bucket against s3fs' put of the same archive; restore from it against
    s3fs' get then ``tar xf``; an inventory of 1,000 archives in the bucket; verify of 200 with
    --dask on a 2-worker LocalCluster against without; peak RSS of backup and restore."""
    server, env = _moto(work)
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        import boto3

        client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"])
        client.create_bucket(Bucket=S3_BUCKET)
        ours, theirs, rss = [], [], []
        for run in range(runs + 1):
            url = f"s3://{S3_BUCKET}/backup/{run}.tar"
            seconds, peak = child(aeroops_command("backup", str(data_dir), "-o", url, "--created-at", CREATED_AT))
            ours.append(seconds)
            rss.append(peak)
            theirs.append(child([sys.executable, "-c", S3FS_PUT, str(archive), f"{S3_BUCKET}/put/{run}.tar"])[0])
        rows = [
            _s3_ratio("backup into the bucket", ours[1:], theirs[1:], "s3fs put", 1.2),
            _s3_rss("backup into the bucket", rss[1:]),
        ]
        url = f"s3://{S3_BUCKET}/backup/0.tar"
        ours, theirs, rss = [], [], []
        for _ in range(runs + 1):
            target = work / "s3-restored"
            shutil.rmtree(target, ignore_errors=True)
            seconds, peak = child(restore_command(url, target))
            ours.append(seconds)
            rss.append(peak)
            shutil.rmtree(target)
            fetched, extracted = work / "s3-get.tar", work / "s3-tar-x"
            shutil.rmtree(extracted, ignore_errors=True)
            extracted.mkdir()
            started = time.perf_counter()
            child([sys.executable, "-c", S3FS_GET, url, str(fetched)])
            subprocess.run(["tar", "xf", str(fetched), "-C", str(extracted)], check=True)
            theirs.append(time.perf_counter() - started)
            fetched.unlink()
            shutil.rmtree(extracted)
        rows += [
            _s3_ratio("restore from the bucket", ours[1:], theirs[1:], "s3fs get + tar xf", 1.2),
            _s3_rss("restore from the bucket", rss[1:]),
        ]
        rows += _bench_s3_fleet(client, work, runs)
        return rows
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.terminate()
        server.wait()


def _s3_rss(figure: str, peaks: list[int]) -> Row:
    return Row(f"peak RSS, {figure}", _mib(max(peaks)), "—", None, "≤ 128 MiB", max(peaks) <= 128 << 20)


def _s3_ratio(figure: str, ours: list[float], theirs: list[float], baseline: str, limit: float) -> Row:
    t_ours, t_theirs = statistics.median(ours), statistics.median(theirs)
    ratio = t_ours / t_theirs
    return Row(figure, f"{t_ours:.2f} s", f"{baseline} {t_theirs:.2f} s", ratio, f"≤ {limit}", ratio <= limit)


def _bench_s3_fleet(client: object, work: Path, runs: int) -> list[Row]:
    """1,000 small archives by server-side copy: the inventory's time; then 200 verified alone
    and on a 2-worker Dask LocalCluster."""
    from concurrent.futures import ThreadPoolExecutor

    from aeroops.demo import DemoSpec, make_demo_datadir
    from aeroops.executor import objectstore
    from aeroops.executor.audit import inventory
    from aeroops.executor.backup import run_backup
    from aeroops.executor.fileops import REAL

    objectstore.reset_stores()
    make_demo_datadir(work / "s3-small", DemoSpec.small(), ops=REAL)
    made = run_backup(
        work / "s3-small", f"s3://{S3_BUCKET}/seed/a.tar", created_at=datetime(2026, 6, 1, tzinfo=UTC), ops=REAL
    )
    digest_line = client.get_object(Bucket=S3_BUCKET, Key="seed/a.tar.b3")["Body"].read()  # type: ignore[attr-defined]

    def copy(index: int) -> None:
        top = "fleet" if index < 1000 else "verify"  # 1,000 to list, 200 more to verify
        key = f"{top}/db-{index // 5:03d}/{index % 5}.tar"
        source = {"Bucket": S3_BUCKET, "Key": "seed/a.tar"}
        client.copy_object(Bucket=S3_BUCKET, Key=key, CopySource=source)  # type: ignore[attr-defined]
        sidecar = digest_line.replace(b"a.tar", f"{index % 5}.tar".encode())
        client.put_object(Bucket=S3_BUCKET, Key=key + ".b3", Body=sidecar)  # type: ignore[attr-defined]

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(copy, range(1200)))
    del made
    seconds = median_time(lambda: inventory(f"s3://{S3_BUCKET}/fleet/", recursive=True, ops=REAL), runs)
    rows = [Row("inventory of 1,000 archives in the bucket", f"{seconds:.2f} s", "—", None, "≤ 5 s", seconds <= 5)]
    folder = f"s3://{S3_BUCKET}/verify/"
    assert len(inventory(folder, recursive=True, ops=REAL).rows) == 200
    alone = median_time(lambda: inventory(folder, recursive=True, verify=True, ops=REAL), 1)
    import dask
    from distributed import LocalCluster

    # Dask keeps lock files in its temporary directory (the system's by default): the bench's own.
    with (
        tempfile.TemporaryDirectory(prefix="aeroops-bench-dask-") as scratch,
        dask.config.set({"temporary-directory": scratch}),
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
    ):
        spread = median_time(
            lambda: inventory(folder, recursive=True, verify=True, dask=cluster.scheduler_address, ops=REAL), 1
        )
    figure = "verify of 200 archives, --dask on 2 workers"
    rows.append(Row(figure, f"{spread:.2f} s", f"without {alone:.2f} s", spread / alone, "reported", None))
    return rows


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


# --- documents (issue 24) ------------------------------------------------------------------------

DIFF_SHARE = 100  # one document in this many is changed in the diff's second backup


def raw_read(path: Path) -> int:
    """Every byte of ``path``, read and dropped: the floor of any pass over it."""
    done = 0
    with open(path, "rb", buffering=0) as stream:
        while chunk := stream.read(1 << 20):
            done += len(chunk)
    return done


def bench_documents(archive: Path, work: Path, runs: int) -> list[Row]:
    from aeroops.executor.documents import iter_documents
    from aeroops.executor.fileops import REAL
    from aeroops.views.documents import documents

    def handed() -> int:
        return sum(1 for _ in iter_documents(archive, ops=REAL))

    def frame() -> int:
        return len(documents(archive, ops=REAL))

    count = handed()
    t_raw = median_time(lambda: raw_read(archive), runs)
    t_docs = median_time(handed, runs)
    t_frame = median_time(frame, runs)
    rows = [
        Row(
            f"documents() of the archive, a DataFrame ({count:,} rows)",
            f"{t_frame:.2f} s",
            f"raw read {t_raw:.2f} s",
            t_frame / t_raw,
            "≤ 3",
            t_frame / t_raw <= 3,
        ),
        Row(
            "  iter_documents: the documents, no DataFrame",
            f"{t_docs:.2f} s",
            f"raw read {t_raw:.2f} s",
            t_docs / t_raw,
            "—",
            None,
        ),
    ]
    output = work / "documents.parquet"
    seconds, peak = child(aeroops_command("export", str(archive), "-o", str(output), "--no-progress"))
    size = output.stat().st_size
    output.unlink()
    rows.append(
        Row(
            f"export --format parquet ({size / 2**20:,.0f} MiB), peak RSS",
            f"{peak / 2**20:.0f} MiB",
            f"{seconds:.1f} s",
            None,
            "≤ 256 MiB",
            peak <= 256 << 20,
        )
    )
    return rows


def changed_copy(data_dir: Path, target: Path) -> int:
    from aeroops.executor.fileops import REAL

    """``target``: ``data_dir`` with one live document in `DIFF_SHARE` updated (appended to a copy
    of its WAL; every other file hard-linked). Returns how many were changed."""
    from aeroops.executor.documents import iter_documents
    from aeroops.formats.wal import DocumentChange, WalType, encode_document_change, encode_wal_record, iter_wal

    shutil.copytree(data_dir, target, copy_function=os.link)
    wal = target / WAL
    wal.unlink()
    shutil.copyfile(data_dir / WAL, wal)
    with open(wal, "rb") as stream:
        last = 0
        for record in iter_wal(stream):
            last = record.sequence
    changed = 0
    with open(wal, "ab") as stream:
        for index, document in enumerate(iter_documents(data_dir, ops=REAL)):
            if index % DIFF_SHARE:
                continue
            changed += 1
            body = document.body[:-1] + b',"bench_changed":true}' if document.body.endswith(b"}") else b"{}"
            change = DocumentChange(document.collection, document.key, document.schema, document.version, body)
            stream.write(encode_wal_record(WalType.UPDATE, last + changed, encode_document_change(change)))
    return changed


def bench_diff(data_dir: Path, work: Path) -> list[Row]:
    other = work / "changed-datadir"
    started = time.perf_counter()
    changed = changed_copy(data_dir, other)
    print(f"  made the diff's second data directory in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    seconds, peak = child(
        aeroops_command("diff", str(data_dir), str(other), "--format", "csv", "--no-progress"),
        ok=(0, 1),
    )
    shutil.rmtree(other)
    documents = (data_dir / DOCUMENTS).stat().st_size
    return [
        Row(
            f"diff of two data directories, {changed:,} documents changed ({documents / 2**30:.1f} GiB storage)",
            f"{seconds:.1f} s, {peak / 2**20:.0f} MiB",
            "—",
            None,
            "≤ 30 s, ≤ 512 MiB",
            seconds <= 30 and peak <= 512 << 20,
        )
    ]


def bench_documents_pitr(data_dir: Path, work: Path, runs: int) -> list[Row]:
    """iter_documents of a point in time (a base backup and the segment of its WAL that
    archive-wal made) at the newest record and at the middle one, against the same base archive
    read directly: what the segment costs beside it (both the fast way, C)."""
    from aeroops.executor.archive_wal import archive_wal
    from aeroops.executor.backup import run_backup
    from aeroops.executor.documents import iter_documents, point_in_time
    from aeroops.executor.fileops import REAL

    folder = work / "pitr-documents"
    folder.mkdir()
    records = archive_wal(data_dir, folder, ops=REAL).records
    base = Path(
        run_backup(data_dir, folder / "base.tar", created_at=datetime(2026, 6, 1, tzinfo=UTC), ops=REAL).archive
    )
    t_base = median_time(lambda: sum(1 for _ in iter_documents(base, ops=REAL)), runs)
    rows = []
    for label, point in (
        (f"latest, record {records:,}", point_in_time(folder, latest=True)),
        (f"record {records // 2:,}", point_in_time(folder, to_sequence=records // 2)),
    ):
        t_point = median_time(lambda: sum(1 for _ in iter_documents(point, ops=REAL)), runs)  # noqa: B023
        rows.append(
            Row(
                f"iter_documents of a point in time ({label})",
                f"{t_point:.2f} s",
                f"the base archive {t_base:.2f} s",
                t_point / t_base,
                "reported",
                None,
            )
        )
    shutil.rmtree(folder)
    return rows


def million_datadirs(work: Path, documents: int = 1_000_000) -> tuple[Path, Path, int]:
    """Two data directories of ``documents`` documents (storage only; the second's WAL updates
    one in `DIFF_SHARE`): what ``diff`` reads of two backups, without the tar around them."""
    from aeroops.formats.storage import StorageRecord, encode_storage_record
    from aeroops.formats.wal import DocumentChange, WalType, encode_document_change, encode_wal_record

    a, b = work / "million-a", work / "million-b"
    for folder in (a, b):
        (folder / "data").mkdir(parents=True)
        (folder / "wal").mkdir()
    collections = ("users", "orders", "products")
    with open(a / DOCUMENTS, "wb", buffering=1 << 20) as storage, open(b / WAL, "wb", buffering=1 << 20) as wal:
        changed = 0
        for n in range(documents):
            collection = collections[n % 3]
            key = f"{collection}-{n:07d}"
            body = b'{"_id":"%s","active":true,"name":"%s-%d","rev":1,"value":%d}' % (
                key.encode(),
                collection.encode(),
                n * 7919 % 10_000,
                n * 31,
            )
            storage.write(encode_storage_record(StorageRecord(f"{collection}:{key}", collection, "v1", False, body)))
            if n % DIFF_SHARE == 0:
                changed += 1
                change = DocumentChange(collection, key, collection, "v1", body.replace(b'"rev":1', b'"rev":2'))
                wal.write(encode_wal_record(WalType.UPDATE, changed, encode_document_change(change)))
    os.link(a / DOCUMENTS, b / DOCUMENTS)
    return a, b, changed


def bench_diff_million(work: Path) -> list[Row]:
    started = time.perf_counter()
    a, b, changed = million_datadirs(work)
    print(f"  made two 1,000,000-document data directories in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    seconds, peak = child(aeroops_command("diff", str(a), str(b), "--format", "csv", "--no-progress"), ok=(1,))
    size = (a / DOCUMENTS).stat().st_size
    shutil.rmtree(a)
    shutil.rmtree(b)
    return [
        Row(
            f"diff of two 1,000,000-document data directories, {changed:,} changed ({size / 2**20:,.0f} MiB each)",
            f"{seconds:.1f} s, {peak / 2**20:.0f} MiB",
            "—",
            None,
            "≤ 30 s, ≤ 512 MiB",
            seconds <= 30 and peak <= 512 << 20,
        )
    ]


def bench_history(work: Path, nights: int = 30) -> list[Row]:
    from aeroops.demo import DemoSpec, make_demo_nightly_folder
    from aeroops.executor.documents import history
    from aeroops.executor.fileops import REAL

    spec = DemoSpec(wal_records=10_000, snapshots=1)
    (work / "nightly").mkdir()
    folder, archives = make_demo_nightly_folder(work / "nightly", spec, nights=nights, growth=5_000, ops=REAL)
    total = sum(a.stat().st_size for a in archives)
    started = time.perf_counter()
    entries = history(folder, "orders:orders-000010", ops=REAL)
    seconds = time.perf_counter() - started
    shutil.rmtree(work / "nightly")
    return [
        Row(
            f"history of one key over {len(entries)} archives ({total / 2**20:,.0f} MiB in all)",
            f"{seconds:.1f} s",
            "—",
            None,
            "≤ 10 s",
            seconds <= 10,
        )
    ]


def bench_all(data_dir: Path, archive: Path, work: Path, runs: int) -> list[Row]:
    rows = bench_documents(archive, work, runs)
    rows += bench_diff(data_dir, work)
    rows += bench_history(work)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aeroops.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path(".bench-cache"), help="where the demo data is kept")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the median is reported")
    parser.add_argument("--quick", action="store_true", help="64 MiB and 100,000 records: a smoke run")
    parser.add_argument(
        "--only",
        nargs="*",
        default=["backup", "verify", "wal", "inventory", "restore", "layers", "sizes", "pitr", "s3", "documents"],
        help="figures to measure: backup verify (the benchmark archive, and one of about 290 MB) wal inventory "
        "restore (plain archives), "
        "layers (compressed and encrypted: backup, verify, restore), sizes (compressed / plain), "
        "pitr (archive-wal and a restore to a sequence), "
        "s3 (a bucket in a local moto server: backup, restore, inventory, --dask), "
        "documents (read, export, diff, history, a point in time)",
    )
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    data_dir = ensure_data(args.cache, args.quick) if set(args.only) - {"pitr"} else args.cache
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(dir=args.cache, prefix="work-") as scratch:
        work = Path(scratch)
        archive = None
        if "backup" in args.only or {"verify", "restore", "sizes", "s3", "documents"} & set(args.only):
            backup_rows, archive = bench_backup(data_dir, work, args.runs)
            if "backup" in args.only:
                rows += backup_rows
        if "verify" in args.only and archive:
            rows += bench_verify(archive, args.runs)
            rows += bench_verify_medium(args.cache, work, args.runs)
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
        layered = None
        if "layers" in args.only:
            key, recipient = age_key(work)
            layer_rows, layered = bench_layered_backup(data_dir, work, args.runs, key, recipient)
            rows += layer_rows
            rows += bench_layered_verify(layered, args.runs, key)
            rows += bench_layered_restore(layered, work, args.runs)
        if "sizes" in args.only:
            rows += bench_sizes(archive, layered, work)
        if "s3" in args.only and archive:
            rows += bench_s3(data_dir, archive, work, args.runs)
        if "pitr" in args.only:
            rows += bench_pitr(ensure_checkpointed(args.cache, args.quick), work, args.runs)
        if "documents" in args.only and archive:
            rows += bench_documents(archive, work, args.runs)
            rows += bench_diff(data_dir, work)
            rows += bench_diff_million(work)
            rows += bench_history(work)
            rows += bench_documents_pitr(ensure_checkpointed(args.cache, args.quick), work, args.runs)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(render(rows))
    print(
        f"\n{os.cpu_count()} cores; median of {args.runs} runs; bench process peak RSS {usage.ru_maxrss / 1024:.0f} MiB"
    )
    print(f"CRC-32 of the WAL records: {crc_path()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
