"""Point-in-time restore (issue 23, points 2–4): AeroDB's boot is the judge. The fixtures'
stages are archived in order, with base backups at stages 1 and 3; restoring to each of the
15 targets AeroDB's own boot listed gives a directory that boots, twice, to exactly those
documents. Then the refusals: every bad folder a clear code, nothing touched."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

import pytest
from helpers.cli import one_error_line, run_cli, unwrapped
from helpers.data import tree_state
from helpers.pitr import PITR, T0, TIMELINES, A, B, end_of, full_wal, move_to_stage, stage_copy
from test_boot import Document, aeroops_state, boot

from aeroops.core.pitr import (
    FolderDescription,
    PitrPlan,
    PitrRefusal,
    Target,
    TargetKind,
    plan_point_in_time,
    timelines,
)
from aeroops.errors import Code, RestoreError
from aeroops.executor.archive_wal import archive_wal, list_segments
from aeroops.executor.backup import run_backup
from aeroops.executor.fileops import REAL, FileOps
from aeroops.executor.pitr import describe_folder, drill_point_in_time, restore_point_in_time
from aeroops.formats.checksum import crc32
from aeroops.formats.segment import SegmentName
from aeroops.formats.sidecar import render_sidecar
from aeroops.hashing import Digest

TARGETS = [(t["timeline"], t["sequence"]) for t in TIMELINES["targets"]]
# When each pass of the fixture folder ran: stage 1 at +1 min, 2 at +2, 3 at +4, 4 at +5.
PASSES = {(A, 30): 1, (A, 55): 2, (B, 20): 4, (B, 35): 5}


def listed(timeline: str, sequence: int) -> set[Document]:
    """What AeroDB's own boot listed at (timeline, sequence)."""
    lines = (PITR / "boot" / f"{timeline}-{sequence}.jsonl").read_text().splitlines()
    docs = (json.loads(line) for line in lines)
    return {
        (d["key"], d["schema_id"], d["schema_version"], len(d["body"].encode()), crc32(d["body"].encode()))
        for d in docs
    }


def build_folder(root: Path) -> Path:
    """The data directory through the four stages, archived after each, backed up at 1 and 3."""
    data, out = stage_copy(1, root / "data"), root / "backups"
    out.mkdir()
    run_backup(data, out / "base-a.tar", created_at=T0, ops=REAL)
    archive_wal(data, out, now=T0 + timedelta(minutes=1), ops=REAL)
    move_to_stage(data, 2)
    archive_wal(data, out, now=T0 + timedelta(minutes=2), ops=REAL)
    move_to_stage(data, 3)
    run_backup(data, out / "base-b.tar", created_at=T0 + timedelta(minutes=3), ops=REAL)
    archive_wal(data, out, now=T0 + timedelta(minutes=4), ops=REAL)
    move_to_stage(data, 4)
    archive_wal(data, out, now=T0 + timedelta(minutes=5), ops=REAL)
    shutil.rmtree(data)
    return out


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_folder(tmp_path_factory.mktemp("pitr"))


def writable(folder: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "backups"
    shutil.copytree(folder, copy)
    return copy


@pytest.mark.parametrize(("timeline", "sequence"), TARGETS)
def test_restore_to_each_target_boots_twice_to_what_aerodb_listed(
    folder: Path, tmp_path: Path, timeline: str, sequence: int
) -> None:
    before = tree_state(folder)
    restored = tmp_path / "restored"
    result = restore_point_in_time(
        folder, restored, Target(TargetKind.SEQUENCE, sequence, timeline), create=True, ops=REAL
    )
    assert (result.plan.timeline, result.plan.sequence) == (timeline, sequence)
    assert result.plan.base.file == ("base-a.tar" if timeline == A else "base-b.tar")
    expected = listed(timeline, sequence)
    assert aeroops_state(restored) == expected
    assert boot(restored) == expected
    assert boot(restored) == expected  # the second boot checks the replayed records too
    assert tree_state(folder) == before  # the folder is only read


def test_time_targets_reach_the_last_record_archived_at_or_before_them(folder: Path) -> None:
    description = describe_folder(folder, ops=REAL)
    for (timeline, sequence), minute in PASSES.items():
        for offset in (timedelta(0), timedelta(seconds=59)):
            plan = plan_point_in_time(
                description, Target(TargetKind.TIME, time=T0 + timedelta(minutes=minute) + offset)
            )
            assert isinstance(plan, PitrPlan) and (plan.timeline, plan.sequence) == (timeline, sequence)
    latest = plan_point_in_time(description, Target(TargetKind.LATEST))
    assert isinstance(latest, PitrPlan) and (latest.timeline, latest.sequence) == (B, 35)
    early = plan_point_in_time(description, Target(TargetKind.TIME, time=T0))
    assert isinstance(early, PitrRefusal) and "before the oldest restorable point" in early.message


def test_a_restore_to_a_time_by_the_command_line_then_a_drill(folder: Path, tmp_path: Path) -> None:
    restored = tmp_path / "restored"
    restored.mkdir()
    dry = run_cli("restore", str(folder), str(restored), "--to-time", "2026-12-06T21:02:30Z", "--no-progress")
    assert dry.returncode == 0, dry.stderr
    assert f"timeline {A}" in unwrapped(dry.stdout) and "sequence 55" in unwrapped(dry.stdout)
    assert not list(restored.iterdir())  # a dry run
    done = run_cli("restore", str(folder), str(restored), "--to-time", "2026-12-06T21:02:30Z", "--yes", "--no-progress")
    assert done.returncode == 0, done.stderr
    assert boot(restored) == listed(A, 55)
    drill = run_cli("drill", str(folder), "--to-sequence", "18", "--timeline", B, "--json", "--no-progress")
    assert drill.returncode == 0, drill.stderr
    report = json.loads(drill.stdout)
    assert report["ok"] and report["documents"] == len(listed(B, 18)) == report["expected"]


def test_a_drill_compares_the_restored_documents_with_the_plans_sources(folder: Path) -> None:
    for timeline, sequence in [(A, 0), (A, 33), (B, 1), (B, 35)]:
        result = drill_point_in_time(folder, Target(TargetKind.SEQUENCE, sequence, timeline), ops=REAL)
        assert result.ok, result
        assert result.documents == result.expected == len(listed(timeline, sequence))


# --- refusals: the planner proves reachability, or says why not ----------------------------------------


def refused(folder: Path, target: Target) -> PitrRefusal:
    plan = plan_point_in_time(describe_folder(folder, ops=REAL), target)
    assert isinstance(plan, PitrRefusal), plan
    return plan


def test_targets_out_of_range_are_refused_with_their_reason(folder: Path) -> None:
    assert "past the newest archived record of timeline" in refused(folder, Target(TargetKind.SEQUENCE, 36, B)).message
    assert "past the newest archived record" in refused(folder, Target(TargetKind.SEQUENCE, 56, A)).message
    missing = refused(folder, Target(TargetKind.SEQUENCE, 3, "20300101T000000Z"))
    assert "does not exist in the folder" in missing.message and A in missing.message


def test_a_timeline_no_base_starts_is_refused_before_the_oldest_base(folder: Path, tmp_path: Path) -> None:
    copy = writable(folder, tmp_path)
    (copy / "base-a.tar").unlink()
    (copy / "base-a.tar.b3").unlink()
    message = refused(copy, Target(TargetKind.SEQUENCE, 10, A)).message
    assert f"no good base backup starts timeline {A}" in message
    plan = plan_point_in_time(describe_folder(copy, ops=REAL), Target(TargetKind.SEQUENCE, 10, B))
    assert isinstance(plan, PitrPlan)


def segment_file(folder: Path, timeline: str, first: int) -> Path:
    (found,) = [s for s in list_segments(folder, REAL) if (s.name.timeline, s.name.first) == (timeline, first)]
    return folder / found.name.file_name


def rename_segment(path: Path, name: SegmentName) -> Path:
    new = path.with_name(name.file_name)
    path.rename(new)
    sidecar = path.with_name(path.name + ".b3")
    new_sidecar = new.with_name(new.name + ".b3")
    new_sidecar.write_text(sidecar.read_text().replace(path.name, new.name))
    sidecar.unlink()
    return new


def damage(copy: Path, how: str) -> str:
    """Damage the folder's WAL archive; return what the refusal must say."""
    b2 = segment_file(copy, B, 21)
    name = SegmentName(B, 21, 35, T0 + timedelta(minutes=5), 0)
    if how == "missing":
        segment_file(copy, B, 1).unlink()
        return "sequences 1..20 of timeline"
    if how == "damaged":
        data = bytearray(b2.read_bytes())
        data[100] ^= 0x01
        b2.write_bytes(bytes(data))
        return "damaged"
    if how == "truncated":
        b2.write_bytes(b2.read_bytes()[:-30])
        return "damaged"
    if how == "no-sidecar":
        b2.with_name(b2.name + ".b3").unlink()
        return "no digest sidecar"
    from aeroops.formats.segment import parse_segment_name

    real = parse_segment_name(b2.name)
    assert real is not None
    if how == "lying-name":
        rename_segment(b2, SegmentName(B, 21, 36, real.archived_at, real.link))
        return "its name says records 21..36, it holds 21..35"
    if how == "foreign-link":
        rename_segment(b2, SegmentName(B, 21, 35, real.archived_at, real.link ^ 0xFFFF))
        return "does not continue"
    if how == "duplicated":
        dup = copy / SegmentName(B, 21, 35, real.archived_at + timedelta(seconds=1), real.link).file_name
        shutil.copyfile(b2, dup)
        (copy / (dup.name + ".b3")).write_text(b2.with_name(b2.name + ".b3").read_text().replace(b2.name, dup.name))
        return "that another segment holds too"
    if how == "overlapping":
        # records 11..25 of B, whole and true, beside the segments 1..20 and 21..35
        wal = full_wal(B)
        over = SegmentName(
            B, 11, 25, name.archived_at, int.from_bytes(wal[end_of(B, 10) - 4 : end_of(B, 10)], "little")
        )
        (copy / over.file_name).write_bytes(wal[end_of(B, 10) : end_of(B, 25)])
        digest = Digest("blake3")
        digest.update((copy / over.file_name).read_bytes())
        (copy / (over.file_name + ".b3")).write_text(
            render_sidecar(digest.tagged_digest(), archive_name=over.file_name)
        )
        return "that another segment holds too"
    raise AssertionError(how)


@pytest.mark.parametrize(
    "how", ["missing", "damaged", "truncated", "no-sidecar", "lying-name", "foreign-link", "duplicated", "overlapping"]
)
def test_a_bad_segment_refuses_the_targets_past_it_and_only_those(folder: Path, tmp_path: Path, how: str) -> None:
    copy = writable(folder, tmp_path)
    said = damage(copy, how)
    refusal = refused(copy, Target(TargetKind.SEQUENCE, 30, B))
    assert said in refusal.message, refusal.message
    assert refusal.code is Code.PITR_UNREACHABLE
    if how != "missing":
        # what lies before the problem is still reachable (an overlap makes the whole segment it
        # overlaps ambiguous: from 11 on here, so only the base itself)
        before = 0 if how == "overlapping" else 20
        plan = plan_point_in_time(describe_folder(copy, ops=REAL), Target(TargetKind.SEQUENCE, before, B))
        assert isinstance(plan, PitrPlan) and plan.sequence == before
    # the command line: one FATAL line with the code, the data directory untouched
    data = stage_copy(4, tmp_path / "data")
    before = tree_state(data)
    process = run_cli("restore", str(copy), str(data), "--to-sequence", "30", "--yes", "--no-progress")
    line = one_error_line(process.stderr, "[FATAL] AERO_PITR_UNREACHABLE: cannot restore to sequence 30")
    assert process.returncode == 3 and said in line
    assert tree_state(data) == before


def test_timelines_name_each_problem_with_its_code(folder: Path, tmp_path: Path) -> None:
    copy = writable(folder, tmp_path)
    damage(copy, "damaged")
    lines = {t.id: t for t in timelines(describe_folder(copy, ops=REAL))}
    assert lines[A].reach == 55 and not lines[A].problems
    assert lines[B].reach == 20 and [p.code for p in lines[B].problems] == [Code.SEGMENT_DAMAGED]


def test_a_base_whose_wal_is_another_history_is_refused_at_restore(folder: Path, tmp_path: Path) -> None:
    """A base from another data directory that happens to carry the same checkpoint id: its WAL
    and the segments disagree, and the restore refuses before replacing anything."""
    copy = writable(folder, tmp_path)
    other = stage_copy(1, tmp_path / "other")
    wal = bytearray((other / "wal/wal.log").read_bytes())
    wal[40] ^= 0x01  # another record 1 (its CRC no longer matches: a different history's bytes)
    from aeroops.formats.wal import WalRecord, encode_wal_record, iter_wal

    with (PITR / "stage-1/wal/wal.log").open("rb") as stream:
        first: WalRecord = next(iter(iter_wal(stream)))
    payload = bytearray(first.payload)
    payload[-3] ^= 0x01
    changed = encode_wal_record(first.type, 1, bytes(payload))
    (other / "wal/wal.log").write_bytes(changed + bytes(wal[first.length :]))
    (copy / "base-a.tar").unlink()
    (copy / "base-a.tar.b3").unlink()
    run_backup(other, copy / "base-a.tar", created_at=T0, ops=REAL)
    target = tmp_path / "restored"
    # 40: past the base's own records (1..30), so built from the segments; 20: within them, where
    # the base's WAL would be cut in place, but its first bytes are not the segments'
    for sequence in (40, 20):
        with pytest.raises(RestoreError) as raised:
            restore_point_in_time(copy, target, Target(TargetKind.SEQUENCE, sequence, A), create=True, ops=REAL)
        assert raised.value.code is Code.PITR_UNREACHABLE and "not one history" in raised.value.message
        assert not target.exists() and not list(tmp_path.glob(".restored*"))


class ReadCounting(FileOps):
    """Counts the opens of each file for reading."""

    def __init__(self) -> None:
        self.opened: dict[str, int] = {}

    def open_read(self, path: Path, *, follow_symlinks: bool = True) -> BinaryIO:
        self.opened[Path(path).name] = self.opened.get(Path(path).name, 0) + 1
        return super().open_read(path, follow_symlinks=follow_symlinks)


def test_a_restore_reads_each_segment_once_and_none_the_base_holds(folder: Path, tmp_path: Path) -> None:
    """Base A's own WAL holds records 1..30: a target there is its WAL cut in place (the segments
    are only witnessed: 4 KiB at each end); past it, each segment is read whole once."""
    segments = {s.name.file_name: s.size for s in list_segments(folder, REAL)}
    within = ReadCounting()
    result = restore_point_in_time(folder, tmp_path / "a", Target(TargetKind.SEQUENCE, 17, A), create=True, ops=within)
    assert result.plan.segments == () and result.plan.base_records == 17
    assert "the base's WAL cut after record 17" in result.plan.cut
    assert boot(tmp_path / "a") == listed(A, 17)
    past = ReadCounting()
    result = restore_point_in_time(folder, tmp_path / "b", Target(TargetKind.SEQUENCE, 33, A), create=True, ops=past)
    used = [use.segment.file for use in result.plan.segments]
    assert len(used) == 2 and all(past.opened[name] == 1 for name in used)
    assert boot(tmp_path / "b") == listed(A, 33)
    assert all(within.opened.get(name, 0) <= 2 for name in segments)  # the witness reads, no whole read


def test_the_planner_is_a_plain_function_of_a_description() -> None:
    empty = plan_point_in_time(FolderDescription("x", (), ()), Target(TargetKind.LATEST))
    assert isinstance(empty, PitrRefusal) and "no WAL segment" in empty.message


def test_the_dry_run_exits_1_when_the_data_directory_would_refuse(folder: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    process = run_cli("restore", str(folder), str(missing), "--latest", "--no-progress")
    assert process.returncode == 1 and "REFUSED by the data directory" in unwrapped(process.stdout)
    created = run_cli("restore", str(folder), str(missing), "--latest", "--create", "--no-progress")
    assert created.returncode == 0 and not missing.exists()
    served = stage_copy(4, tmp_path / "served")
    (served / ".lock").touch()
    process = run_cli("restore", str(folder), str(served), "--latest", "--no-progress")
    assert process.returncode == 1 and "AeroDB is serving" in unwrapped(process.stdout)


@pytest.mark.parametrize("step", [7, 100, 4096, 1 << 20])
def test_the_wal_end_finder_fed_in_chunks_finds_each_records_end_and_crc(step: int) -> None:
    """What the restore's WAL builder learns while the base is extracted, in chunks of any size
    (records straddle them): where record N ends and the CRC-32 of the bytes before; past the
    WAL's last record, its last sequence; damage, nothing (the restore then reads the file)."""
    from aeroops.executor.pitr import _WalEndFinder

    wal = full_wal(A)
    last = len(TIMELINES["timelines"][A]["records"])
    for sequence in (0, 1, 30, last, last + 1):
        finder = _WalEndFinder(sequence)
        for start in range(0, len(wal), step):
            finder.feed(wal[start : start + step])
        found = finder.found(len(wal))
        assert found is not None and found.size == len(wal)
        if sequence <= last:
            end = end_of(A, sequence)
            assert (found.end, found.crc) == (end, crc32(wal[:end]))
        else:
            assert found.end is None and found.last == last
    assert _WalEndFinder(30).found(len(wal)) is None  # fed nothing of it
    damaged = bytearray(wal)
    damaged[end_of(A, 10) - 2] ^= 0x01  # record 10's CRC
    finder = _WalEndFinder(30)
    for start in range(0, len(damaged), step):
        finder.feed(bytes(damaged[start : start + step]))
    assert finder.found(len(damaged)) is None
