"""How long the command line takes to start, beside the bare interpreter.

    python scripts/startup_time.py [--runs 30] [--archive SMALL.tar] [--inherit-env]

Runs each command ``--runs`` times, taking turns (after two warm-up runs, hyperfine-style),
with the interpreter running this script, and prints a table: the median and the spread of wall
time, and the median beyond ``python -c pass`` (CPU time too: steadier on a busy machine).

By default the commands run as an installed aeroops does: with a bytecode cache (kept under a
temporary ``PYTHONPYCACHEPREFIX``, filled by the warm-up runs; the worktree is not written).
``--inherit-env`` runs them in this environment as it is: where ``PYTHONDONTWRITEBYTECODE`` is
set and no ``__pycache__`` was written, every start compiles aeroops' modules from source.

The budget: ``aeroops verify`` of a small archive within 100 ms (``--help``: 40 ms)
of the bare interpreter. Warm cache; nothing else should be running.
``python -X importtime -m aeroops --help`` says where the
time goes.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SMALL_ARCHIVE = Path(__file__).resolve().parent.parent / "tests/fixtures/aerodb-reference/backup-1000.tar"
BUDGET_MS = {"aeroops --help": 40.0, "aeroops verify": 100.0}  # beyond the bare interpreter


def run_once(command: list[str], env: dict[str, str] | None) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of ``command``, in milliseconds. CPU time
    is steadier than wall time on a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall * 1000, (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000


def run_times(
    commands: dict[str, list[str]], runs: int, env: dict[str, str] | None, warmup: int = 2
) -> dict[str, tuple[list[float], list[float]]]:
    """Each command ``runs`` times, after ``warmup`` untimed runs, taking turns (run 1 of each,
    then run 2 of each, ...): a machine whose load changes meanwhile weighs on all alike."""
    times: dict[str, tuple[list[float], list[float]]] = {label: ([], []) for label in commands}
    for index in range(warmup + runs):
        for label, command in commands.items():
            wall, cpu = run_once(command, env)
            if index >= warmup:
                times[label][0].append(wall)
                times[label][1].append(cpu)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs of each command (default: 30)")
    parser.add_argument("--archive", type=Path, default=SMALL_ARCHIVE, help="the small archive verify reads")
    parser.add_argument("--inherit-env", action="store_true", help="no bytecode cache of our own: this environment")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aeroops-startup-pycache-") as cache:  # gone when measured
        env = None
        if not args.inherit_env:
            env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            env["PYTHONPYCACHEPREFIX"] = cache
        return measure(args, env)


def measure(args: argparse.Namespace, env: dict[str, str] | None) -> int:
    python = sys.executable
    commands = {
        "python -c pass": [python, "-c", "pass"],
        "aeroops --help": [python, "-m", "aeroops", "--help"],
        f"aeroops verify {args.archive.name}": [python, "-m", "aeroops", "verify", str(args.archive)],
    }
    print(
        f"{'command':<34}{'wall ms':>9}{'min':>7}{'max':>7}{'beyond bare':>13}{'cpu ms':>8}{'beyond':>8}  within budget"
    )
    bare_wall = bare_cpu = None
    for label, (walls, cpus) in run_times(commands, args.runs, env).items():
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        bare_wall = wall if bare_wall is None else bare_wall
        bare_cpu = cpu if bare_cpu is None else bare_cpu
        beyond = wall - bare_wall
        budget = next((ms for name, ms in BUDGET_MS.items() if label.startswith(name)), None)
        verdict = "" if budget is None else f"{'yes' if beyond <= budget else 'NO'} ({budget:.0f} ms)"
        print(
            f"{label:<34}{wall:>9.1f}{min(walls):>7.1f}{max(walls):>7.1f}{beyond:>13.1f}{cpu:>8.1f}"
            f"{cpu - bare_cpu:>8.1f}  {verdict}"
        )
    cache = "as this environment is" if args.inherit_env else "with a bytecode cache"
    print(f"(medians of {args.runs} runs each after 2 warm-up runs, {cache}; {python}; load average {_load()})")
    return 0


def _load() -> str:
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
