"""How long the command line takes to start, beside the bare interpreter.

    python scripts/startup_time.py [--runs 30] [--archive SMALL.tar]

Runs each command ``--runs`` times (after two warm-up runs, hyperfine-style) with the
interpreter running this script, and prints a table: the median and the spread of wall time,
and the median beyond ``python -c pass``. The budget (issue 15): ``aeroops --help`` and
``aeroops verify`` of a small archive within 40 ms of the bare interpreter. Warm cache;
nothing else should be running. ``python -X importtime -m aeroops --help`` says where the
time goes.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

SMALL_ARCHIVE = Path(__file__).resolve().parent.parent / "tests/fixtures/aerodb-reference/backup-1000.tar"
BUDGET_MS = 40.0


def wall_times(command: list[str], runs: int, warmup: int = 2) -> list[float]:
    """Wall time of ``command`` in milliseconds, ``runs`` times (after ``warmup`` untimed runs)."""
    times = []
    for index in range(warmup + runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if index >= warmup:
            times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs of each command (default: 30)")
    parser.add_argument("--archive", type=Path, default=SMALL_ARCHIVE, help="the small archive verify reads")
    args = parser.parse_args()
    python = sys.executable
    commands = {
        "python -c pass": [python, "-c", "pass"],
        "aeroops --help": [python, "-m", "aeroops", "--help"],
        f"aeroops verify {args.archive.name}": [python, "-m", "aeroops", "verify", str(args.archive)],
    }
    print(f"{'command':<36}{'median ms':>10}{'min':>8}{'max':>8}{'beyond bare':>13}  within {BUDGET_MS:.0f} ms")
    bare = None
    for label, command in commands.items():
        times = wall_times(command, args.runs)
        median = statistics.median(times)
        bare = median if bare is None else bare
        beyond = median - bare
        verdict = "" if label == "python -c pass" else ("yes" if beyond <= BUDGET_MS else "NO")
        print(f"{label:<36}{median:>10.1f}{min(times):>8.1f}{max(times):>8.1f}{beyond:>13.1f}  {verdict}")
    print(f"({args.runs} runs each after 2 warm-up runs; {python})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
