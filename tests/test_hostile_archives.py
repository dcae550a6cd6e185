"""Hostile archives handed to restore: path traversal, absolute names, links, devices, FIFOs,
setuid bits, pax headers, duplicate names, huge declared sizes, a tar bomb of members, a sparse
member. Each is refused with its code (AERO_RESTORE_INVALID_BACKUP for what verification flags
unsafe or wrong, AERO_RESTORE_CORRUPTION for a broken tar layer) and nothing is written
anywhere: the whole folder around the data directory is compared before and after, lock file
aside. The same archives handed over with the report of a good archive (`verified=`, skipping
verification) are refused by extraction itself: it writes only the names the plan holds.

test_verify.py checks that verify flags each of these; test_restore.py covers truncation and
a file that is not a tar at all.
"""

from __future__ import annotations

import functools
import tracemalloc
from pathlib import Path

import pytest
from helpers.archives import build, file_entry, fixture_bytes, header, read_members
from helpers.data import copy_fixture, tree_state

from aeroops.errors import InvalidBackupError, RestoreCorruptionError, RestoreError, Severity
from aeroops.executor.audit import verify_archive
from aeroops.executor.fileops import REAL
from aeroops.executor.restore import restore
from aeroops.executor.restore_target import find_leftovers
from aeroops.formats.tar import BLOCK, member_header, padding

MEMBERS = read_members(fixture_bytes("backup-1000.tar"))
EVIL = b"owned\n"
ESCAPE = "escaped.txt"  # what a traversal would create, beside the scratch folder or above it
PAX = b"26 path=../../escaped.txt\n"  # a pax record: its length, then key=value
_WAL = dict(MEMBERS)["wal/wal.log"] or b""
FIRST_WAL_RECORD = _WAL[: int.from_bytes(_WAL[:4], "little")]  # a valid WAL of one record
BOMB_MEMBERS = 5_000


def inserted(hostile: bytes, at: int = 3) -> bytes:
    """backup-1000.tar with ``hostile`` (raw tar bytes) among its members."""
    return build([*MEMBERS[:at], hostile, *MEMBERS[at:]])


def patched_header(block: bytes, **fields: bytes) -> bytes:
    data = bytearray(block)
    offsets = {"size": (124, 12), "typeflag": (156, 1), "name": (0, 100)}
    for name, value in fields.items():
        start, width = offsets[name]
        data[start : start + width] = value.ljust(width, b"\x00")
    data[148:156] = b" " * 8
    data[148:156] = b"%06o\x00 " % sum(data[:BLOCK])
    return bytes(data)


def long_name(name: str, data: bytes) -> bytes:
    raw = name.encode() + b"\x00"
    record = patched_header(member_header("././@LongLink", len(raw)), typeflag=b"L") + raw + padding(len(raw))
    return record + file_entry("x" * 20, data)


@functools.cache
def tar_bomb() -> bytes:
    """backup-1000.tar with thousands of extra members (one byte each)."""
    return build(
        [*MEMBERS[:3], *(file_entry(f"snapshot/bomb/{i:05d}", b"x") for i in range(BOMB_MEMBERS)), *MEMBERS[3:]]
    )


def hostile_archives(root: Path) -> dict[str, tuple[bytes, type[RestoreError]]]:
    """label → (archive bytes, the error restore must raise)."""
    absolute = str(root / ESCAPE)
    storage = dict(MEMBERS)["snapshot/storage.dat"]
    assert storage is not None
    index = [n for n, _ in MEMBERS].index("snapshot/storage.dat")
    huge = patched_header(member_header("snapshot/storage.dat", 0), size=b"\x80" + (1 << 40).to_bytes(11, "big"))
    invalid, corrupt = InvalidBackupError, RestoreCorruptionError
    return {
        "dot-dot": (inserted(file_entry(f"../{ESCAPE}", EVIL)), invalid),
        "dot-dot twice": (inserted(file_entry(f"snapshot/../../{ESCAPE}", EVIL)), invalid),
        "absolute name": (inserted(file_entry(absolute, EVIL)), invalid),
        "long name climbing out": (inserted(long_name(f"../../{ESCAPE}", EVIL)), invalid),
        "symlink to /etc/passwd": (
            inserted(header("snapshot/schemas/l.json", typeflag=b"2", linkname="/etc/passwd")),
            invalid,
        ),
        "symlink out, then a file through it": (
            inserted(
                header("snapshot/schemas/out", typeflag=b"2", linkname=str(root))
                + file_entry(f"snapshot/schemas/out/{ESCAPE}", EVIL)
            ),
            invalid,
        ),
        "hard link to /etc/passwd": (inserted(header("snapshot/hard", typeflag=b"1", linkname="/etc/passwd")), invalid),
        "storage as a symlink": (
            build(
                [
                    *MEMBERS[:index],
                    header("snapshot/storage.dat", typeflag=b"2", linkname="/dev/zero"),
                    *MEMBERS[index + 1 :],
                ]
            ),
            invalid,
        ),
        "character device": (inserted(header("snapshot/null", typeflag=b"3")), invalid),
        "block device": (inserted(header("snapshot/sda", typeflag=b"4")), invalid),
        "FIFO": (inserted(header("snapshot/fifo", typeflag=b"6")), invalid),
        "setuid file": (inserted(header("snapshot/schemas/s.json", 2, mode=0o104755) + b"{}" + padding(2)), invalid),
        "pax header renaming the next member": (
            inserted(header("pax", len(PAX), typeflag=b"x") + PAX + padding(len(PAX))),
            invalid,
        ),
        "GNU sparse member": (inserted(patched_header(member_header("snapshot/sparse", 0), typeflag=b"S")), invalid),
        "duplicate WAL, other bytes": (build([*MEMBERS, ("wal/wal.log", FIRST_WAL_RECORD)]), invalid),
        "duplicate storage": (
            build([*MEMBERS[: index + 1], ("snapshot/storage.dat", storage), *MEMBERS[index + 1 :]]),
            invalid,
        ),
        "directory twice, with a slash": (build([*MEMBERS[:2], ("snapshot/", None), *MEMBERS[2:]]), invalid),
        "huge declared size": (build([*MEMBERS[:index], huge + storage, *MEMBERS[index + 1 :]]), corrupt),
        "tar bomb": (tar_bomb(), invalid),
        "empty name": (inserted(file_entry("", EVIL)), invalid),
    }


@pytest.fixture
def scene(tmp_path: Path) -> Path:
    """tmp_path/work/target: the data directory; archives go in tmp_path/archives."""
    copy_fixture("datadir-nowal", tmp_path / "work" / "target")
    (tmp_path / "archives").mkdir()
    return tmp_path


def state_but_the_lock(root: Path) -> dict[str, tuple[str, int, int, str]]:
    return {k: v for k, v in tree_state(root).items() if not k.endswith(".aeroops-lock") and k != "work"}


CASES = list(hostile_archives(Path("/placeholder")))


@pytest.mark.parametrize("label", CASES)
def test_a_hostile_archive_is_refused_and_nothing_is_written_anywhere(scene: Path, label: str) -> None:
    data, error = hostile_archives(scene)[label]
    archive = scene / "archives" / "hostile.tar"
    archive.write_bytes(data)
    target = scene / "work" / "target"
    before = state_but_the_lock(scene)
    with pytest.raises(RestoreError) as refused:
        restore(archive, target, ops=REAL)
    assert type(refused.value) is error, str(refused.value)
    assert refused.value.severity is Severity.FATAL and "failed verification" in refused.value.message
    assert state_but_the_lock(scene) == before
    assert not find_leftovers(target, REAL).any
    assert not list(scene.rglob(ESCAPE)) and not Path("/", ESCAPE).exists()


@pytest.mark.parametrize("label", CASES)
def test_extraction_alone_writes_only_what_the_plan_names(scene: Path, label: str) -> None:
    """Even handed the verification report of a good archive, extraction refuses the first
    member that is not the one verified, before writing it."""
    good = copy_fixture("backup-1000.tar", scene / "archives" / "good.tar")
    report = verify_archive(good, ops=REAL)
    assert report.ok
    archive = scene / "archives" / "hostile.tar"
    archive.write_bytes(hostile_archives(scene)[label][0])
    target = scene / "work" / "target"
    before = state_but_the_lock(scene)
    with pytest.raises(RestoreCorruptionError, match="changed since it was verified"):
        restore(archive, target, verified=report, ops=REAL)
    assert state_but_the_lock(scene) == before
    assert not find_leftovers(target, REAL).any
    assert not list(scene.rglob(ESCAPE))


def test_a_tar_bomb_is_refused_in_bounded_memory_and_time(scene: Path) -> None:
    archive = scene / "archives" / "bomb.tar"
    archive.write_bytes(tar_bomb())
    tracemalloc.start()
    try:
        report = verify_archive(archive, ops=REAL)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not report.ok
    flagged = [f for f in report.findings if f.code == "AERO_VERIFY_UNEXPECTED_MEMBER"]
    assert len(flagged) == 1000  # listed up to the cap, the rest counted
    assert any(f.code == "AERO_VERIFY_TOO_MANY" for f in report.findings)
    assert peak < 16 << 20
