"""CRC-32 implementations side by side: isal (ISA-L's bindings), aeroops' C kernel
(PCLMULQDQ folding, `aeroops.formats._speedups`) when it is built, and zlib.

    python scripts/bench_crc32.py [--runs 5]

Large buffers (64 MiB, one call) and 1.4 KiB records (one call each, as a WAL reader checks
them): the best of ``--runs`` runs, in GB/s. Warm cache; nothing else should be running.
"""

from __future__ import annotations

import argparse
import os
import time
import zlib
from collections.abc import Callable

LARGE = 64 << 20
RECORD = 1400
RECORDS = 20_000


def implementations() -> dict[str, Callable[..., int]]:
    found: dict[str, Callable[..., int]] = {"zlib.crc32": zlib.crc32}
    try:
        from isal import isal_zlib

        found["isal.isal_zlib.crc32"] = isal_zlib.crc32
    except ImportError:
        pass
    try:
        from aeroops.formats import _speedups

        if hasattr(_speedups, "crc32"):
            found["_speedups.crc32 (PCLMULQDQ)"] = _speedups.crc32
    except ImportError:
        pass
    return found


def best_seconds(job: Callable[[], object], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        job()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    large = os.urandom(LARGE)
    blob = os.urandom(RECORD * RECORDS)
    records = [memoryview(blob)[i * RECORD : (i + 1) * RECORD] for i in range(RECORDS)]
    expected_large, expected_records = zlib.crc32(large), [zlib.crc32(r) for r in records]
    print(f"| implementation | 64 MiB buffer, GB/s | {RECORD}-byte records, GB/s | records/s |")
    print("|---|---|---|---|")
    for name, crc32 in implementations().items():
        assert crc32(large) == expected_large and [crc32(r) for r in records] == expected_records, name
        big = best_seconds(lambda crc32=crc32: crc32(large), args.runs)
        small = best_seconds(lambda crc32=crc32: [crc32(r) for r in records], args.runs)
        print(f"| {name} | {LARGE / big / 1e9:.1f} | {RECORD * RECORDS / small / 1e9:.2f} | {RECORDS / small:,.0f} |")


if __name__ == "__main__":
    main()
