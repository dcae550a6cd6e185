"""A point in time read the fast way (`document_index.index_point`, `pick_point`: C over the base
archive's storage and WAL and over the segments) hands out exactly what the careful reading
(`documents.read_plan`, a Python object per record) does, in the same order, or the same coded
error; and leaves to the careful reading every folder whose records are unusual (issue 24).
The folder is test_pitr's: two timelines, bases at stages 1 and 3, four archive-wal passes."""

from __future__ import annotations

import shutil
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers.pitr import T0, TIMELINES, A, B, end_of, stage_copy
from test_pitr import build_folder, segment_file

from aeroops.core.documents import Document
from aeroops.core.pitr import PitrPlan
from aeroops.errors import AeroError, Code
from aeroops.executor import document_index
from aeroops.executor import documents as documents_module
from aeroops.executor.backup import run_backup
from aeroops.executor.documents import PointInTime, diff, export, history, iter_documents, plan_of, point_in_time
from aeroops.executor.fileops import REAL
from aeroops.formats.layout import STORAGE, WAL_LOG
from aeroops.formats.sidecar import render_sidecar
from aeroops.formats.wal import encode_wal_record, iter_wal
from aeroops.hashing import Digest
from aeroops.views.documents import documents

TARGETS = [(t["timeline"], t["sequence"]) for t in TIMELINES["targets"]]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("pitr-fast")
    yield build_folder(root)
    shutil.rmtree(root)


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Which way each point in time's reading went: True the fast one, False the careful one
    after the fast first pass gave up (a refusal raised inside it appends nothing)."""
    seen: list[bool] = []
    index = document_index.index_point

    def spied(*args: Any, **kwargs: Any) -> object:
        found = index(*args, **kwargs)
        seen.append(found is not None)
        return found

    monkeypatch.setattr(document_index, "index_point", spied)
    return seen


def careful(monkeypatch: pytest.MonkeyPatch, read: Callable[[], Any]) -> Any:
    """``read()`` the careful way: without the C reading, as before it."""
    with monkeypatch.context() as patched:
        patched.setattr(document_index, "available", lambda: False)
        return read()


def outcome(read: Callable[[], Any]) -> object:
    """What a reading gives: its result, or its error's kind, code and message."""
    try:
        return read()
    except AeroError as error:
        return (type(error).__name__, error.code, error.message)


def both(monkeypatch: pytest.MonkeyPatch, source: PointInTime, **options: Any) -> tuple[object, object]:
    def read() -> list[Document]:
        return list(iter_documents(source, ops=REAL, **options))

    return outcome(read), careful(monkeypatch, lambda: outcome(read))


def at(folder: Path, timeline: str, sequence: int) -> PointInTime:
    return point_in_time(folder, to_sequence=sequence, timeline=timeline)


@pytest.mark.parametrize(("timeline", "sequence"), TARGETS)
def test_each_target_reads_fast_as_the_careful_way_in_its_order(
    folder: Path, timeline: str, sequence: int, taken: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, slow = both(monkeypatch, at(folder, timeline, sequence))
    assert isinstance(fast, list) and fast and fast == slow
    assert taken == [True]
    for chosen in (["users"], ["orders", "nowhere"], []):
        fast, slow = both(monkeypatch, at(folder, timeline, sequence), collections=chosen)
        assert fast == slow
    assert taken == [True] * 4


def test_latest_and_time_targets_read_fast(folder: Path, taken: list[bool], monkeypatch: pytest.MonkeyPatch) -> None:
    for source in (
        point_in_time(folder, latest=True),
        point_in_time(folder, to_time=T0 + timedelta(minutes=2, seconds=30)),
    ):
        fast, slow = both(monkeypatch, source)
        assert isinstance(fast, list) and fast and fast == slow
    assert taken == [True, True]


def test_the_plans_take_segments_whole_and_cut(folder: Path) -> None:
    """The targets above read segments (after a base whose WAL must be the same history), the
    last one whole or cut after the target record."""
    plans = [plan_of(at(folder, t, s), REAL) for t, s in TARGETS]
    assert any(p.segments and p.segments[-1].whole for p in plans)
    assert any(p.segments and not p.segments[-1].whole for p in plans)


def _base_wal_last(folder: Path, base: str) -> int:
    from aeroops.executor.audit import verify_archive

    return verify_archive(folder / base, ops=REAL).wal_last_sequence or 0


def test_a_plan_that_takes_the_bases_own_wal_reads_fast_as_the_careful_way(
    folder: Path, taken: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan whose records come from the base's own WAL, cut after record N (the planner makes
    it when it knows how far the base's WAL goes, as a verified description says), at each
    target the base's WAL holds: the documents the segments give, fast and careful."""
    read = 0
    for timeline, sequence in TARGETS:
        source = at(folder, timeline, sequence)
        plan = plan_of(source, REAL)
        if sequence > _base_wal_last(folder, plan.base.file):
            continue
        own = replace(plan, base_records=sequence, segments=())
        with monkeypatch.context() as patched:
            patched.setattr(documents_module, "plan_of", lambda s, o: own)  # noqa: B023
            fast, slow = both(monkeypatch, source)
        assert isinstance(fast, list) and fast and fast == slow
        assert fast == list(iter_documents(source, ops=REAL))  # the segments' plan
        read += 1
    assert read >= 8 and taken == [True, True] * read


def test_dataframes_exports_diffs_and_histories_are_the_careful_ways(
    folder: Path, tmp_path: Path, taken: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    a12, a35, b20 = at(folder, A, 12), at(folder, A, 35), at(folder, B, 20)
    for source in (a35, b20):
        frame = documents(source, raw=True, ops=REAL)
        assert frame.equals(careful(monkeypatch, lambda: documents(source, raw=True, ops=REAL)))  # noqa: B023
    for form in ("jsonl", "csv"):
        export(a35, tmp_path / f"fast.{form}", ops=REAL)
        careful(monkeypatch, lambda: export(a35, tmp_path / f"careful.{form}", ops=REAL))  # noqa: B023
        assert (tmp_path / f"fast.{form}").read_bytes() == (tmp_path / f"careful.{form}").read_bytes()
    assert diff(a12, a35, ops=REAL) == careful(monkeypatch, lambda: diff(a12, a35, ops=REAL))
    assert diff(b20, a35, collections=["users"], ops=REAL) == careful(
        monkeypatch, lambda: diff(b20, a35, collections=["users"], ops=REAL)
    )
    assert taken and all(taken)
    key = "users:users-000048"
    assert history(folder, key, ops=REAL) == careful(monkeypatch, lambda: history(folder, key, ops=REAL))


# --- damaged folders: the same documents or the same coded error ------------------------------


def _residecar(segment: Path) -> None:
    """The segment's sidecar made to match its bytes again (the planner then takes it)."""
    digest = Digest("blake3")
    digest.update(segment.read_bytes())
    segment.with_name(segment.name + ".b3").write_text(
        render_sidecar(digest.tagged_digest(), archive_name=segment.name)
    )


def _rewrite_record(segment: Path, sequence: int, change: Callable[[bytes], bytes], *, renumber: int = 0) -> None:
    """Record ``sequence`` of the segment with its payload changed and its CRC made right (a
    whole record of another history), or numbered ``renumber``."""
    with segment.open("rb") as stream:
        records = list(iter_wal(stream, first_sequence=None))
    out = b"".join(
        encode_wal_record(r.type, renumber or r.sequence, change(r.payload))
        if r.sequence == sequence
        else encode_wal_record(r.type, r.sequence, r.payload)
        for r in records
    )
    segment.write_bytes(out)


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _member_offset(archive: Path, name: str) -> int:
    with tarfile.open(archive) as tar:
        return tar.getmember(name).offset_data


def _in_segment(timeline: str, first: int, sequence: int) -> int:
    """Where record ``sequence``'s payload is in the segment of ``timeline`` from ``first``."""
    return end_of(timeline, sequence - 1) - end_of(timeline, first - 1) + 20


def _other_history(payload: bytes) -> bytes:
    changed = bytearray(payload)
    changed[-3] ^= 0x01
    return bytes(changed)


def _other_base(copy: Path, tmp_path: Path) -> None:
    """base-a replaced by a backup of another data directory with the same checkpoint: its
    record 1 differs from the segments' (test_pitr's other history)."""
    other = stage_copy(1, tmp_path / "other")
    _rewrite_record(other / "wal/wal.log", 1, _other_history)
    (copy / "base-a.tar").unlink()
    (copy / "base-a.tar.b3").unlink()
    run_backup(other, copy / "base-a.tar", created_at=T0, ops=REAL)
    shutil.rmtree(other)


DAMAGE: dict[str, Callable[[Path, Path], None]] = {
    "a flipped byte in a segment": lambda c, t: _flip(segment_file(c, A, 31), _in_segment(A, 31, 40)),
    "a flipped byte in the base's WAL": lambda c, t: _flip(
        c / "base-a.tar", _member_offset(c / "base-a.tar", WAL_LOG) + 200
    ),
    "a flipped byte in the base's storage": lambda c, t: _flip(
        c / "base-b.tar", _member_offset(c / "base-b.tar", STORAGE) + 300
    ),
    "a missing segment": lambda c, t: segment_file(c, A, 31).unlink(),
    "a segment of another history": lambda c, t: (
        _rewrite_record(segment_file(c, A, 1), 2, _other_history),
        _residecar(segment_file(c, A, 1)),
    ),
    "a base of another history": _other_base,
    "a torn segment tail": lambda c, t: (
        segment_file(c, B, 21).write_bytes(segment_file(c, B, 21).read_bytes() + b"\x40\x00\x00"),
        _residecar(segment_file(c, B, 21)),
    ),
    "a cut base": lambda c, t: (c / "base-b.tar").write_bytes((c / "base-b.tar").read_bytes()[:-3000]),
    "a cut base WAL": lambda c, t: (c / "base-a.tar").write_bytes(
        (c / "base-a.tar").read_bytes()[: _member_offset(c / "base-a.tar", WAL_LOG) + 1000]
    ),
}
DAMAGE_CODES = {
    "a flipped byte in a segment": Code.PITR_UNREACHABLE,  # the planner's: its sidecar differs
    "a flipped byte in the base's WAL": Code.WAL_CHECKSUM,  # the verify pass's
    "a flipped byte in the base's storage": Code.STORAGE_CHECKSUM,  # the careful reading's, after the fast one's
    "a missing segment": Code.PITR_UNREACHABLE,
    "a segment of another history": Code.PITR_UNREACHABLE,  # the one-history check's
    "a base of another history": Code.PITR_UNREACHABLE,
    "a torn segment tail": Code.PITR_UNREACHABLE,
    "a cut base": Code.TAR_TRUNCATED,
    "a cut base WAL": Code.TAR_TRUNCATED,
}
DAMAGED_TARGETS = [(A, 0), (A, 17), (A, 30), (A, 35), (A, 55), (B, 1), (B, 20), (B, 35)]


@pytest.mark.parametrize("how", sorted(DAMAGE))
def test_a_damaged_folder_reads_as_the_careful_way_or_fails_with_its_error(
    folder: Path, tmp_path: Path, how: str, taken: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "backups"
    shutil.copytree(folder, copy)
    DAMAGE[how](copy, tmp_path)
    codes = set()
    for timeline, sequence in DAMAGED_TARGETS:
        fast, slow = both(monkeypatch, at(copy, timeline, sequence))
        assert fast == slow, (timeline, sequence)
        if isinstance(fast, tuple):
            codes.add(fast[1])
    assert codes == {DAMAGE_CODES[how]}  # each damage refuses some targets, with its code
    if how == "a segment of another history":
        assert taken.count(False) >= 1  # A 35, A 55: the one-history check sent them the careful way
        fast, _ = both(monkeypatch, at(copy, A, 55))
        assert isinstance(fast, tuple) and fast[1] is Code.PITR_UNREACHABLE and "not one history" in fast[2]


# --- a folder changed after it was planned: the fast reading's own checks -----------------------


def _stale(copy: Path, target: tuple[str, int], monkeypatch: pytest.MonkeyPatch) -> PointInTime:
    """The target, whose plan is made now: what is changed after this is seen only by reading."""
    source = at(copy, *target)
    plan: PitrPlan = plan_of(source, REAL)
    monkeypatch.setattr(documents_module, "plan_of", lambda s, o: plan)
    return source


CHANGED: dict[str, tuple[tuple[str, int], Callable[[Path], None], bool]] = {
    # what changed, the target, and whether the fast reading takes it
    "a flipped byte in a record read": (
        (A, 55),
        lambda c: _flip(segment_file(c, A, 31), _in_segment(A, 31, 40)),
        False,
    ),
    "a flipped byte in the record after the target": (
        (A, 35),
        lambda c: _flip(segment_file(c, A, 31), _in_segment(A, 31, 36)),
        False,
    ),
    "a flipped byte two records after the target": (
        (A, 35),
        lambda c: _flip(segment_file(c, A, 31), _in_segment(A, 31, 37)),
        True,
    ),
    "a record renumbered": ((A, 55), lambda c: _rewrite_record(segment_file(c, A, 31), 41, bytes, renumber=42), False),
    "a record of another history": (
        (A, 55),
        lambda c: _rewrite_record(segment_file(c, A, 1), 2, _other_history),
        False,
    ),
    "a segment cut inside the target's record": (
        (A, 35),
        lambda c: segment_file(c, A, 31).write_bytes(segment_file(c, A, 31).read_bytes()[: _in_segment(A, 31, 35)]),
        False,
    ),
    "a segment cut after the target's record": (
        (A, 35),
        lambda c: segment_file(c, A, 31).write_bytes(
            segment_file(c, A, 31).read_bytes()[: end_of(A, 35) - end_of(A, 30)]
        ),
        True,
    ),
    "a segment gone": ((B, 35), lambda c: segment_file(c, B, 21).unlink(), False),
    "a flipped byte in the base's WAL past the target": (
        (A, 12),
        lambda c: _flip(c / "base-a.tar", _member_offset(c / "base-a.tar", WAL_LOG) + end_of(A, 20) + 30),
        True,  # the verify pass refuses it either way
    ),
}

CHANGED_CODES = {
    "a flipped byte in a record read": Code.WAL_CHECKSUM,
    "a flipped byte in the record after the target": Code.WAL_CHECKSUM,  # read before the careful reader stops
    "a record renumbered": Code.WAL_SEQUENCE,
    "a record of another history": Code.PITR_UNREACHABLE,
    "a segment cut inside the target's record": Code.WAL_TORN_TAIL,
    "a segment gone": Code.USAGE,
}


@pytest.mark.parametrize("what", sorted(CHANGED))
def test_a_folder_changed_after_planning_reads_as_the_careful_way(
    folder: Path, tmp_path: Path, what: str, taken: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    target, change, fast_way = CHANGED[what]
    copy = tmp_path / "backups"
    shutil.copytree(folder, copy)
    source = _stale(copy, target, monkeypatch)
    change(copy)
    fast, slow = both(monkeypatch, source)
    assert fast == slow
    if what.startswith("a flipped byte in the base"):
        assert isinstance(fast, tuple) and fast[1] is Code.WAL_CHECKSUM and taken == []  # refused in the first pass
    else:
        assert taken == [fast_way]
    if not fast_way:
        assert isinstance(fast, tuple) and fast[1] is CHANGED_CODES[what]
    if what == "a record of another history":
        assert "not one history" in fast[2]  # type: ignore[index]
