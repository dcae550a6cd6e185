"""archive-wal (issue 23, point 1): segments that are AeroDB WAL fragments, published whole
with their sidecar, each record once; checkpoints and rewrites noticed; kills harmless."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

import pytest
from helpers.cli import one_error_line, run_cli
from helpers.data import content_tree, tree_state
from helpers.faults import KillingOps
from helpers.pitr import PITR, T0, A, B, clock, end_of, forked, full_wal, move_to_stage, stage_copy

from aeroops.core.wal_archive import ArchivedSegment, PassRefusal, PassStart, parse_period, plan_pass
from aeroops.errors import Code, UsageError, WalArchiveError
from aeroops.executor.archive_wal import KILL_POINTS, archive_wal, list_segments
from aeroops.executor.audit import read_sidecar
from aeroops.executor.fileops import REAL, FileOps
from aeroops.executor.lock import DirectoryLock
from aeroops.formats.segment import SegmentName, parse_segment_name
from aeroops.formats.wal import iter_wal


def segments(folder: Path) -> list[SegmentName]:
    return sorted(s.name for s in list_segments(folder, REAL))


def test_archiving_the_stages_in_order_gives_each_records_bytes_once(tmp_path: Path) -> None:
    data, out = stage_copy(1, tmp_path / "data"), tmp_path / "out"
    out.mkdir()
    now = clock()
    before = tree_state(data)
    first = archive_wal(data, out, now=now(), ops=REAL)
    assert (first.timeline, first.first, first.last, first.new_timeline) == (A, 1, 30, True)
    assert tree_state(data) == before  # only read
    assert archive_wal(data, out, now=now(), ops=REAL).segment is None  # nothing new: nothing published
    for stage in (2, 3, 4):
        move_to_stage(data, stage)
        archive_wal(data, out, now=now(), ops=REAL)
    found = segments(out)
    assert [(s.timeline, s.first, s.last) for s in found] == [(A, 1, 30), (A, 31, 55), (B, 1, 20), (B, 21, 35)]
    for timeline in (A, B):
        chain = [s for s in found if s.timeline == timeline]
        joined = b"".join((out / s.file_name).read_bytes() for s in chain)
        assert joined == full_wal(timeline)  # byte for byte, no record twice, none missing
        # each segment is a WAL fragment AeroDB's reader takes, from its first sequence on
        for s in chain:
            with (out / s.file_name).open("rb") as stream:
                seqs = [r.sequence for r in iter_wal(stream, first_sequence=s.first)]
            assert seqs == list(range(s.first, s.last + 1))
        # the link names the record before: its CRC is the last 4 bytes of the previous segment
        assert chain[0].link == 0 and chain[1].link == int.from_bytes(
            full_wal(timeline)[end_of(timeline, chain[0].last) - 4 : end_of(timeline, chain[0].last)], "little"
        )
    times = [s.archived_at for s in found]
    assert times == sorted(times) and times[0] == T0
    for s in found:
        digest, findings = read_sidecar(out / s.file_name, REAL)
        assert digest is not None and not findings
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [s.file_name for s in found] + [s.file_name + ".b3" for s in found]
    )


def test_b3sum_checks_a_segments_sidecar(tmp_path: Path) -> None:
    if shutil.which("b3sum") is None:
        pytest.skip("b3sum is not installed")
    data, out = stage_copy(2, tmp_path / "data"), tmp_path / "out"
    out.mkdir()
    result = archive_wal(data, out, now=T0, ops=REAL)
    assert result.segment is not None
    check = subprocess.run(["b3sum", "-c", result.segment + ".b3"], cwd=out, capture_output=True, text=True)
    assert check.returncode == 0 and ": OK" in check.stdout


def test_a_record_being_appended_waits_for_the_next_pass(tmp_path: Path) -> None:
    """A WAL that grows during a pass: only whole records go; the rest next time, once."""
    data, out = stage_copy(1, tmp_path / "data"), tmp_path / "out"
    out.mkdir()
    wal = full_wal(A)
    half = end_of(A, 30) + 70  # inside record 31
    (data / "wal/wal.log").write_bytes(wal[:half])
    now = clock()
    first = archive_wal(data, out, now=now(), ops=REAL)
    assert (first.first, first.last) == (1, 30) and any("not a whole record" in n for n in first.notes)
    again = archive_wal(data, out, now=now(), ops=REAL)
    assert again.segment is None and any("not a whole record" in n for n in again.notes)
    (data / "wal/wal.log").write_bytes(wal)
    last = archive_wal(data, out, now=now(), ops=REAL)
    assert (last.first, last.last) == (31, 55)
    assert b"".join((out / s.file_name).read_bytes() for s in segments(out)) == wal


def rewrite(data: Path, how: str) -> None:
    path = data / "wal/wal.log"
    wal = path.read_bytes()
    if how == "truncated":
        path.write_bytes(wal[: end_of(A, 20)])
    elif how == "replaced-shorter":
        path.unlink()
        path.write_bytes(full_wal(B)[: end_of(B, 3)])
    elif how == "rewritten-same-sequences":
        # other records at the same sequences: B's first records where A's were, then A's tail
        path.write_bytes(full_wal(B)[: end_of(B, 20)] + full_wal(A)[end_of(A, 30) :])
    elif how == "tail-changed":
        changed = bytearray(wal)
        changed[end_of(A, 30) - 5] ^= 0xFF  # inside record 30's checksum: a rewritten record
        path.write_bytes(bytes(changed))


@pytest.mark.parametrize("how", ["truncated", "replaced-shorter", "rewritten-same-sequences", "tail-changed"])
def test_a_wal_rewritten_under_the_archive_is_refused_and_nothing_published(tmp_path: Path, how: str) -> None:
    data, out = stage_copy(1, tmp_path / "data"), tmp_path / "out"
    out.mkdir()
    archive_wal(data, out, now=T0, ops=REAL)
    (data / "wal/wal.log").write_bytes(full_wal(A))  # records 31..55 appended
    rewrite(data, how)
    before_out, before_data = content_tree(out), tree_state(data)
    with pytest.raises(WalArchiveError) as raised:
        archive_wal(data, out, now=T0 + timedelta(minutes=1), ops=REAL)
    assert raised.value.code is Code.WAL_ARCHIVE_DIVERGED, raised.value
    assert "Nothing was archived" in raised.value.message
    assert content_tree(out) == before_out and tree_state(data) == before_data


def test_a_damaged_record_among_the_new_ones_is_refused_with_its_wal_code(tmp_path: Path) -> None:
    data, out = stage_copy(1, tmp_path / "data"), tmp_path / "out"
    out.mkdir()
    archive_wal(data, out, now=T0, ops=REAL)
    wal = bytearray(full_wal(A))
    wal[end_of(A, 40) + 20] ^= 0x01  # inside record 41
    (data / "wal/wal.log").write_bytes(bytes(wal))
    before = content_tree(out)
    with pytest.raises(WalArchiveError) as raised:
        archive_wal(data, out, now=T0 + timedelta(minutes=1), ops=REAL)
    assert raised.value.code is Code.WAL_CHECKSUM and "after record 40" in raised.value.message
    assert content_tree(out) == before


def test_a_clock_that_goes_backwards_is_refused(tmp_path: Path) -> None:
    data, out = stage_copy(1, tmp_path / "data"), tmp_path / "out"
    out.mkdir()
    archive_wal(data, out, now=T0, ops=REAL)
    move_to_stage(data, 2)
    before = content_tree(out)
    with pytest.raises(WalArchiveError) as raised:
        archive_wal(data, out, now=T0 - timedelta(seconds=1), ops=REAL)
    assert raised.value.code is Code.WAL_ARCHIVE_CLOCK and "fix the clock" in raised.value.message
    assert content_tree(out) == before
    assert archive_wal(data, out, now=T0, ops=REAL).last == 55  # the same second is not backwards


def test_two_passes_at_once_the_second_is_refused(tmp_path: Path) -> None:
    data, out = stage_copy(1, tmp_path / "data"), tmp_path / "out"
    out.mkdir()
    with DirectoryLock(data, WalArchiveError, "archive-wal", REAL):
        code = forked(lambda: archive_wal(data, out, now=T0, ops=REAL))
        assert code == 1 and not list(out.iterdir())
        process = run_cli("archive-wal", str(data), "-o", str(out))
    line = one_error_line(process.stderr, "[ERROR] AERO_WAL_ARCHIVE_FAILED: another aeroops run holds")
    assert process.returncode == 2 and "archive-wal" in line
    assert archive_wal(data, out, now=T0, ops=REAL).last == 30


def test_a_served_data_directory_is_archived_beside_aerodb(tmp_path: Path) -> None:
    """A WAL archiver runs beside the live database (as pgBackRest's archive-push beside
    Postgres): AeroDB's .lock does not stop a pass, and the data directory is only read."""
    data, out = stage_copy(1, tmp_path / "data"), tmp_path / "out"
    out.mkdir()
    (data / ".lock").touch()
    before = tree_state(data)
    assert archive_wal(data, out, now=T0, ops=REAL).last == 30
    assert tree_state(data) == before  # .lock included: only read
    move_to_stage(data, 2)
    assert archive_wal(data, out, now=T0, ops=REAL).last == 55


class CheckpointAt(FileOps):
    """Runs AeroDB's checkpoint (the data directory moves to stage 3: timeline B) at one moment of
    a pass: a crash point, or the first read of an archived segment (the prefix comparison)."""

    def __init__(self, data: Path, point: str) -> None:
        self.data, self.point, self.done = data, point, False

    def _checkpoint(self) -> None:
        if not self.done:
            self.done = True
            move_to_stage(self.data, 3)

    def crash_point(self, name: str) -> None:
        if name == self.point:
            self._checkpoint()

    def open_read(self, path: Path, *, follow_symlinks: bool = True) -> BinaryIO:
        if self.point == "compare" and parse_segment_name(Path(path).name) is not None:
            self._checkpoint()
        return super().open_read(path, follow_symlinks=follow_symlinks)


@pytest.mark.parametrize("point", ["archive-temp-written", "compare"])
def test_a_checkpoint_during_a_pass_publishes_nothing_and_the_next_pass_starts_its_timeline(
    tmp_path: Path, point: str
) -> None:
    """checkpoint.json changes before AeroDB truncates the WAL: a pass that finds it changed
    cannot tell which timeline the bytes it read belong to, so it keeps none of them."""
    data, out = stage_copy(1, tmp_path / "data"), tmp_path / "out"
    out.mkdir()
    archive_wal(data, out, now=T0, ops=REAL)
    move_to_stage(data, 2)
    ops = CheckpointAt(data, point)
    result = archive_wal(data, out, now=T0 + timedelta(minutes=1), ops=ops)
    assert ops.done and result.segment is None and "a checkpoint" in result.notes[0]
    assert [(s.timeline, s.first, s.last) for s in segments(out)] == [(A, 1, 30)]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [segments(out)[0].file_name, segments(out)[0].file_name + ".b3"]
    )
    after = archive_wal(data, out, now=T0 + timedelta(minutes=2), ops=REAL)
    assert (after.timeline, after.first, after.last, after.new_timeline) == (B, 1, 20, True)


def test_a_checkpoint_that_has_not_truncated_the_wal_yet_is_waited_for(tmp_path: Path) -> None:
    """AeroDB writes checkpoint.json with wal_truncated false, truncates, then writes true: in
    between, the WAL still holds the old timeline's records."""
    data, out = stage_copy(2, tmp_path / "data"), tmp_path / "out"
    out.mkdir()
    marker = json.loads((PITR / "stage-3/checkpoint.json").read_text())
    (data / "checkpoint.json").write_text(json.dumps({**marker, "wal_truncated": False}))
    with pytest.raises(WalArchiveError, match="not truncated yet"):
        archive_wal(data, out, now=T0, ops=REAL)
    assert not list(out.iterdir())
    process = run_cli("archive-wal", str(data), "-o", str(out))
    one_error_line(process.stderr, "[ERROR] AERO_WAL_ARCHIVE_FAILED: checkpoint.json names timeline")
    assert process.returncode == 2


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_kill_at_each_step_of_a_pass_leaves_no_torn_segment_and_the_next_pass_completes(
    tmp_path: Path, point: str
) -> None:
    data, out = stage_copy(1, tmp_path / "data"), tmp_path / "out"
    out.mkdir()
    archive_wal(data, out, now=T0, ops=REAL)
    move_to_stage(data, 2)
    assert forked(lambda: archive_wal(data, out, now=T0 + timedelta(minutes=1), ops=KillingOps(point=point))) == -9
    for s in segments(out):  # whatever has a segment's name is whole and has its sidecar
        assert (out / (s.file_name + ".b3")).exists()
        assert read_sidecar(out / s.file_name, REAL)[1] == ()
    archive_wal(data, out, now=T0 + timedelta(minutes=2), ops=REAL)
    assert b"".join((out / s.file_name).read_bytes() for s in segments(out)) == full_wal(A)
    names = sorted(p.name for p in out.iterdir())
    assert all(n.endswith((".wal", ".wal.b3")) for n in names), names  # the killed pass's leftovers went
    assert len(names) == 2 * len(segments(out))


def test_a_kill_before_every_file_operation_of_a_pass(tmp_path: Path) -> None:
    nth = 0
    while True:
        nth += 1
        work = tmp_path / str(nth)
        data, out = stage_copy(1, work / "data"), work / "out"
        out.mkdir()
        archive_wal(data, out, now=T0, ops=REAL)
        move_to_stage(data, 2)
        code = forked(
            lambda data=data, out=out, nth=nth: archive_wal(
                data, out, now=T0 + timedelta(minutes=1), ops=KillingOps(nth)
            )
        )
        assert code in (0, -9)
        joined = b"".join((out / s.file_name).read_bytes() for s in segments(out))
        assert full_wal(A).startswith(joined)  # whole records, each once
        archive_wal(data, out, now=T0 + timedelta(minutes=2), ops=REAL)
        assert b"".join((out / s.file_name).read_bytes() for s in segments(out)) == full_wal(A)
        assert len(list(out.iterdir())) == 2 * len(segments(out))
        shutil.rmtree(work)
        if code == 0:
            break
    assert nth > 10  # the sweep went through every operation of the pass


def test_a_new_timeline_starts_at_one_and_notes_where_the_old_one_ended(tmp_path: Path) -> None:
    data, out = stage_copy(1, tmp_path / "data"), tmp_path / "out"
    out.mkdir()
    now = clock()
    archive_wal(data, out, now=now(), ops=REAL)
    move_to_stage(data, 3)  # records 31..55 of A were never archived: the checkpoint took them
    result = archive_wal(data, out, now=now(), ops=REAL)
    assert (result.timeline, result.first, result.last, result.new_timeline) == (B, 1, 20, True)
    assert any(f"timeline {A} ends at its last archived record" in n for n in result.notes)


def test_the_folder_going_back_to_an_older_timeline_is_refused(tmp_path: Path) -> None:
    data, out = stage_copy(3, tmp_path / "data"), tmp_path / "out"
    out.mkdir()
    archive_wal(data, out, now=T0, ops=REAL)
    older = stage_copy(2, tmp_path / "older")
    with pytest.raises(WalArchiveError) as raised:
        archive_wal(older, out, now=T0 + timedelta(minutes=1), ops=REAL)
    assert raised.value.code is Code.WAL_ARCHIVE_DIVERGED and f"timeline {B}" in raised.value.message


def test_the_plan_of_a_pass_is_pure_and_refuses_a_chain_it_cannot_follow() -> None:
    def seg(first: int, last: int, size: int = 100) -> ArchivedSegment:
        return ArchivedSegment(SegmentName(A, first, last, T0, 0), size)

    start = plan_pass(A, [seg(1, 10), seg(11, 20, 50)], 150, T0)
    assert isinstance(start, PassStart) and (start.offset, start.first_sequence) == (150, 21)
    gap = plan_pass(A, [seg(1, 10), seg(12, 20)], 500, T0)
    assert isinstance(gap, PassRefusal) and gap.code is Code.SEGMENT_GAP
    overlap = plan_pass(A, [seg(1, 10), seg(5, 20)], 500, T0)
    assert isinstance(overlap, PassRefusal) and overlap.code is Code.SEGMENT_OVERLAP
    short = plan_pass(A, [seg(1, 10)], 99, T0)
    assert isinstance(short, PassRefusal) and short.code is Code.WAL_ARCHIVE_DIVERGED


def test_segment_names_round_trip_and_other_names_are_not_segments() -> None:
    name = SegmentName(A, 31, 55, T0, 0x0D192201)
    assert name.file_name == f"wal-{A}-000000000031-000000000055-20261206T210000Z-0d192201.wal"
    assert parse_segment_name(name.file_name) == name
    for other in (name.file_name + ".b3", "wal-x.wal", name.file_name.replace("-000000000031-", "-000000000056-")):
        assert parse_segment_name(other) is None


def test_periods() -> None:
    assert parse_period("5m") == timedelta(minutes=5) and parse_period("1h30m") == timedelta(minutes=90)
    for bad in ("0s", "5", "m5", "1y"):
        with pytest.raises(UsageError):
            parse_period(bad)


def test_every_runs_a_pass_per_period_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    data, out = stage_copy(1, tmp_path / "data"), tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "aeroops", "archive-wal", str(data), "-o", str(out), "--every", "1s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline()  # type: ignore[union-attr]
        assert "archived records 1..30" in first
        with open(data / "wal/wal.log", "ab") as wal:
            wal.write(full_wal(A)[end_of(A, 30) :])
        deadline = time.monotonic() + 30
        while len(segments(out)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, err_text = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0 and err_text == "", err_text
    assert [(s.first, s.last) for s in segments(out)] == [(1, 30), (31, 55)]
    assert not os.path.exists(tmp_path / ".data.aeroops-lock")


class GrowingWal(FileOps):
    """Appends the rest of timeline A's WAL to the data directory's WAL while a pass reads it."""

    def __init__(self, wal: Path) -> None:
        self.wal, self.grown = wal, False

    def read(self, stream: BinaryIO, size: int) -> bytes:
        data = super().read(stream, size)
        if not self.grown and getattr(stream, "name", None) == str(self.wal):
            self.grown = True
            with open(self.wal, "ab") as out:
                out.write(full_wal(A)[end_of(A, 40) :])
        return data


def test_a_wal_that_grows_during_a_pass_is_archived_up_to_the_size_seen_then_the_rest_once(tmp_path: Path) -> None:
    data, out = stage_copy(1, tmp_path / "data"), tmp_path / "out"
    out.mkdir()
    archive_wal(data, out, now=T0, ops=REAL)
    with open(data / "wal/wal.log", "ab") as wal:
        wal.write(full_wal(A)[end_of(A, 30) : end_of(A, 40)])
    ops = GrowingWal(data / "wal/wal.log")
    first = archive_wal(data, out, now=T0 + timedelta(minutes=1), ops=ops)
    assert ops.grown and (first.first, first.last) == (31, 40)
    second = archive_wal(data, out, now=T0 + timedelta(minutes=2), ops=REAL)
    assert (second.first, second.last) == (41, 55)
    assert b"".join((out / s.file_name).read_bytes() for s in segments(out)) == full_wal(A)


class FullDiskOnTheSegment(FileOps):
    """ENOSPC at the ``nth`` call of ``operation`` on the segment being written (or, for reads, on
    the WAL being read)."""

    def __init__(self, operation: str, nth: int) -> None:
        self.operation, self.nth, self.calls = operation, nth, 0
        self.streams: list[BinaryIO] = []  # the segment's temporary file, the WAL read

    def create(self, path: Path, mode: int = 0o600) -> BinaryIO:
        stream = super().create(path, mode)
        if path.name.startswith(".wal-") and ".b3" not in path.name:
            self.streams.append(stream)
        return stream

    def open_read(self, path: Path, *, follow_symlinks: bool = True) -> BinaryIO:
        stream = super().open_read(path, follow_symlinks=follow_symlinks)
        if path.name == "wal.log":
            self.streams.append(stream)
        return stream

    def _maybe_fail(self, operation: str, stream: BinaryIO) -> None:
        if operation == self.operation and any(stream is ours for ours in self.streams):
            self.calls += 1
            if self.calls == self.nth:
                raise OSError(28, os.strerror(28))

    def write(self, stream: BinaryIO, data: bytes | memoryview) -> None:
        self._maybe_fail("write", stream)
        super().write(stream, data)

    def drop_cached(self, stream: BinaryIO, length: int = 0) -> None:
        self._maybe_fail("drop_cached", stream)
        super().drop_cached(stream, length)

    def read(self, stream: BinaryIO, size: int) -> bytes:
        self._maybe_fail("read", stream)
        return super().read(stream, size)


@pytest.mark.parametrize("operation, nth", [("write", 1), ("write", 150), ("drop_cached", 1), ("read", 100)])
def test_a_full_disk_mid_segment_fails_the_pass_and_publishes_nothing(tmp_path: Path, operation: str, nth: int) -> None:
    """An error while the segment is written, dropped behind or its WAL read (the WAL now read
    by the C tally, past the drop-behind window) is the pass's error, one line with its code;
    nothing is published and the next pass archives every record once."""
    from aeroops.errors import WalArchiveIOError
    from aeroops.formats.wal import WalType, encode_wal_record

    data, out = stage_copy(1, tmp_path / "data"), tmp_path / "out"
    out.mkdir()
    archive_wal(data, out, now=T0, ops=REAL)
    # 200 MiB more of records 31.. (several chunks, past the drop-behind window): AeroDB appending.
    body = b"x" * ((1 << 20) - 64)
    with open(data / "wal/wal.log", "ab") as wal:
        for sequence in range(31, 231):
            wal.write(encode_wal_record(WalType.MVCC_GC, sequence, body))
    expected = (data / "wal/wal.log").read_bytes()
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(WalArchiveIOError) as raised:
        archive_wal(data, out, now=T0 + timedelta(minutes=1), ops=(ops := FullDiskOnTheSegment(operation, nth)))
    assert ops.calls == nth
    assert str(raised.value) == "[ERROR] AERO_WAL_ARCHIVE_IO: I/O failure: no space left on the device"
    assert sorted(p.name for p in out.iterdir()) == before  # no segment, no sidecar, no temporary file
    result = archive_wal(data, out, now=T0 + timedelta(minutes=2), ops=REAL)
    assert (result.first, result.last) == (31, 230)
    assert b"".join((out / s.file_name).read_bytes() for s in segments(out)) == expected
    assert read_sidecar(out / segments(out)[-1].file_name, REAL)[1] == ()
