"""Memory stays bounded whatever the archive.

Hostile archives of two sizes, built in a temporary folder: thousands of members with 64 KiB
GNU long names, a tar bomb of tiny members, and a WAL of deletes of documents that never
existed. ``verify``, ``inspect`` and ``restore`` each run in a child process whose peak RSS
(``ru_maxrss`` from ``os.wait4``, the child's own ``getrusage``) is compared: the larger archive
may cost at most a little more than the smaller (the bound does not grow with the input), and
neither more than a fixed cap. Before the caps, the long-name archive of 64 MiB took verify to
several hundred MiB.

Measured (this machine, `pytest -s tests/test_bounded_memory.py`, archives 1x / 4x): see the
lines the test prints; the README's Reliability section quotes them.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pytest
from helpers.archives import fixture_bytes, read_members
from helpers.data import copy_fixture

from aeroops.formats.tar import END_OF_ARCHIVE, member_header, padding
from aeroops.formats.wal import DocumentChange, WalType, encode_document_change, encode_wal_record

MIB = 1 << 20
MEMBERS = read_members(fixture_bytes("backup-1000.tar"))
GROWTH_LIMIT = 16 * MIB  # the larger archive (4x the smaller) may cost this much more, at most
CAP = 128 * MIB  # and no run more than this (the interpreter, the imports, 1 MiB chunks, caps)

CHILD = {
    "verify": (
        "from aeroops.executor.fileops import REAL\n"
        "from aeroops.executor.audit import verify_archive as run\nrun(sys.argv[1], ops=REAL)"
    ),
    "inspect": (
        "from aeroops.executor.fileops import REAL\n"
        "from aeroops.executor.audit import inspect_archive as run\nrun(sys.argv[1], ops=REAL)"
    ),
    "restore": (
        "from aeroops.errors import RestoreError\nfrom aeroops.executor.fileops import REAL\n"
        "from aeroops.executor.restore import restore\n"
        "try:\n    restore(sys.argv[1], sys.argv[2], ops=REAL)\nexcept RestoreError:\n    pass"
    ),
}


def _write_members(out: BinaryIO, before: str | None = None) -> None:
    for name, data in MEMBERS:
        if before is not None and name >= before:
            return
        out.write(member_header(name, directory=True) if data is None else member_header(name, len(data)))
        if data is not None:
            out.write(data + padding(len(data)))


def _rest(out: BinaryIO, after: str) -> None:
    for name, data in MEMBERS:
        if name < after:
            continue
        out.write(member_header(name, directory=True) if data is None else member_header(name, len(data)))
        if data is not None:
            out.write(data + padding(len(data)))
    out.write(END_OF_ARCHIVE)


def long_names(out: BinaryIO, scale: int) -> None:
    """AeroDB's archive with ``scale`` x 150 extra schema files whose names are 64 KiB long."""
    _write_members(out, before="snapshot/schemas/~")
    for i in range(150 * scale):
        name = f"snapshot/schemas/{i:06d}" + "n" * ((64 << 10) - 100)  # the most a GNU long name could hold
        out.write(member_header(name, 1) + b"x" + padding(1))
    _rest(out, after="snapshot/schemas/~")


def tar_bomb(out: BinaryIO, scale: int) -> None:
    """AeroDB's archive with ``scale`` x 15,000 extra one-byte members (each a header and a block)."""
    _write_members(out, before="snapshot/schemas/~")
    for i in range(15_000 * scale):
        out.write(member_header(f"snapshot/schemas/bomb-{i:08d}.json", 1) + b"x" + padding(1))
    _rest(out, after="snapshot/schemas/~")


def deletes(out: BinaryIO, scale: int) -> None:
    """AeroDB's archive whose WAL is ``scale`` x 150,000 deletes of documents that never existed."""
    _write_members(out, before="wal/wal.log")
    records = bytearray()
    for sequence in range(1, 150_000 * scale + 1):
        change = DocumentChange("ghosts", f"never-{sequence:09d}", "ghosts", "v1", b"")
        records += encode_wal_record(WalType.DELETE, sequence, encode_document_change(change))
    out.write(member_header("wal/wal.log", len(records)) + records + padding(len(records)))
    out.write(END_OF_ARCHIVE)


HOSTILE: dict[str, Callable[[BinaryIO, int], None]] = {
    "long names": long_names,
    "tar bomb": tar_bomb,
    "deletes": deletes,
}


# The measuring parent: a fresh, small process whose only child runs the job. (Measuring the
# job as a child of pytest itself would not do: Linux carries the peak RSS of a forking process
# over into its child, across exec.)
MEASURE = (
    "import resource, subprocess, sys\n"
    "subprocess.run([sys.executable, '-c', 'import sys\\n' + sys.argv[1], *sys.argv[2:]], check=True)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def peak_rss(command: str, *args: Path) -> int:
    """Bytes: the peak resident set of a child process running ``command``."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, command, *map(str, args)], check=True, capture_output=True, text=True
    )
    return int(done.stdout) * 1024  # kilobytes on Linux


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], Path]:
    root = tmp_path_factory.mktemp("hostile")
    built = {}
    for label, write in HOSTILE.items():
        for scale in (1, 4):
            path = root / f"{label.replace(' ', '-')}-{scale}.tar"
            with open(path, "wb") as out:
                write(out, scale)
            built[(label, scale)] = path
    return built


@pytest.mark.slow
@pytest.mark.parametrize("job", CHILD)
@pytest.mark.parametrize("label", HOSTILE)
def test_peak_memory_does_not_grow_with_the_archive(
    archives: dict[tuple[str, int], Path], label: str, job: str, tmp_path: Path
) -> None:
    peaks = []
    sizes = []
    for scale in (1, 4):
        archive = archives[(label, scale)]
        target = copy_fixture("datadir-nowal", tmp_path / f"target-{scale}")
        peaks.append(peak_rss(CHILD[job], archive, target))
        sizes.append(archive.stat().st_size)
    print(
        f"\n{label:10} {job:8} archives {sizes[0] / MIB:6.1f} / {sizes[1] / MIB:6.1f} MiB: "
        f"peak RSS {peaks[0] / MIB:6.1f} / {peaks[1] / MIB:6.1f} MiB"
    )
    assert sizes[1] > 3 * sizes[0]
    assert peaks[1] <= peaks[0] + GROWTH_LIMIT, f"{peaks[0] / MIB:.1f} MiB -> {peaks[1] / MIB:.1f} MiB"
    assert max(peaks) <= CAP, f"{max(peaks) / MIB:.1f} MiB"
