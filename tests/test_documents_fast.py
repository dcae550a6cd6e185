"""The fast reading of an archive's documents (C: `aeroops.executor.document_index`) hands out
exactly what the careful reading does, in the same order, and leaves to it every archive whose
records are unusual, so damage is named as before (issue 24: documents() speed)."""

from __future__ import annotations

import errno
import itertools
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from helpers.data import AERODB_FIXTURES, copy_fixture
from helpers.faults import FaultyStream

from aeroops.core.documents import Document
from aeroops.errors import AeroError, Code, FormatError
from aeroops.executor import document_index
from aeroops.executor.backup import run_backup
from aeroops.executor.documents import find_document, iter_documents
from aeroops.executor.fileops import REAL, FileOps
from aeroops.formats.framing import lp
from aeroops.formats.wal import DocumentChange, WalType, encode_document_change, encode_wal_record, iter_wal

T0 = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
FIXTURE_ARCHIVES = sorted(AERODB_FIXTURES.glob("*.tar"))
HOSTILE = {
    "not-utf8": b'{"name":"\xff\xfe"}',
    "huge": b'{"blob":"' + b"x" * (3 << 20) + b'"}',  # crosses the 1 MiB chunks the readers read
    "empty": b"",
    "deep": b"[" * 10_000 + b"]" * 10_000,
}


def careful(source: Path, monkeypatch: pytest.MonkeyPatch, **options: Any) -> list[Document]:
    with monkeypatch.context() as patched:
        patched.setattr(document_index, "available", lambda: False)
        return list(iter_documents(source, ops=REAL, **options))


def _ways(monkeypatch: pytest.MonkeyPatch, first_pass: str) -> list[bool]:
    """Which way each reading through ``document_index.<first_pass>`` went: True the fast one,
    False the careful one after the index."""
    seen: list[bool] = []
    index = getattr(document_index, first_pass)

    def spied(*args: Any, **kwargs: Any) -> object:
        found = index(*args, **kwargs)
        seen.append(found is not None)
        return found

    monkeypatch.setattr(document_index, first_pass, spied)
    return seen


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Which way each archive's reading went."""
    return _ways(monkeypatch, "index_archive")


def _append_wal(data: Path, payloads: list[tuple[WalType, bytes]], tail: bytes = b"") -> Path:
    wal = data / "wal/wal.log"
    with wal.open("rb") as stream:
        last = max((record.sequence for record in iter_wal(stream)), default=0)
    with wal.open("ab") as stream:
        for offset, (kind, payload) in enumerate(payloads, start=1):
            stream.write(encode_wal_record(kind, last + offset, payload))
        stream.write(tail)
    return data


def _with_wal(tmp_path: Path, payloads: list[tuple[WalType, bytes]]) -> Path:
    """An archive of datadir-1000 whose WAL ends with these records."""
    data = _append_wal(copy_fixture("datadir-1000", tmp_path / "data"), payloads)
    (tmp_path / "out").mkdir()
    return Path(run_backup(data, tmp_path / "out", created_at=T0, ops=REAL).archive)


@pytest.mark.parametrize("archive", FIXTURE_ARCHIVES, ids=lambda p: p.name)
def test_the_fast_reading_hands_out_what_the_careful_one_does_in_its_order(
    archive: Path, taken: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert list(iter_documents(archive, ops=REAL)) == careful(archive, monkeypatch) and taken == [True]
    for chosen in (["orders"], ["users", "nowhere"], []):
        fast = list(iter_documents(archive, collections=chosen, ops=REAL))
        assert fast == careful(archive, monkeypatch, collections=chosen)
    assert taken == [True] * 4


def test_hostile_bodies_deletes_and_a_key_written_twice_read_fast(
    tmp_path: Path, taken: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    changes = [(WalType.INSERT, DocumentChange("orders", name, "orders", "v1", body)) for name, body in HOSTILE.items()]
    changes += [
        (WalType.UPDATE, DocumentChange("orders", "empty", "orders", "v1", b'{"again":1}')),
        (WalType.DELETE, DocumentChange("orders", "deep", "orders", "v1", b"")),
        (WalType.INSERT, DocumentChange("odd:name", "x:y", "orders", "v1", b"{}")),  # a colon in the collection
        (WalType.INSERT, DocumentChange("odd", "name:x:y", "orders", "v1", b"{}")),
    ]
    archive = _with_wal(tmp_path, [(kind, encode_document_change(change)) for kind, change in changes])
    fast = list(iter_documents(archive, ops=REAL))
    assert taken == [True] and fast == careful(archive, monkeypatch)
    by_key = {(d.collection, d.key): d.body for d in fast}
    assert by_key[("orders", "huge")] == HOSTILE["huge"] and by_key[("orders", "not-utf8")] == HOSTILE["not-utf8"]
    assert by_key[("orders", "empty")] == b'{"again":1}' and ("orders", "deep") not in by_key
    assert ("odd:name", "x:y") in by_key and ("odd", "name:x:y") in by_key


def test_records_the_fast_reading_does_not_take_go_the_careful_way_with_its_finding(
    tmp_path: Path, taken: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad_key = lp(b"orders") + lp(b"\xff\xfe") + lp(b"orders") + lp(b"v1") + lp(b"{}")  # an id not UTF-8
    archive = _with_wal(tmp_path, [(WalType.INSERT, bad_key)])
    with pytest.raises(FormatError) as fast:
        list(iter_documents(archive, ops=REAL))
    assert taken == [False]
    with pytest.raises(FormatError) as slow:
        careful(archive, monkeypatch)
    assert (fast.value.code, str(fast.value)) == (slow.value.code, str(slow.value)) and "UTF-8" in str(fast.value)


def test_a_compressed_archive_reads_fast_through_its_layers(
    tmp_path: Path, taken: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = copy_fixture("datadir-3snap", tmp_path / "data")
    (tmp_path / "z").mkdir()
    zstd = Path(run_backup(data, tmp_path / "z", created_at=T0, compress="zstd", ops=REAL).archive)
    assert list(iter_documents(zstd, ops=REAL)) == careful(zstd, monkeypatch) and taken == [True]


def test_one_document_found_fast_is_the_one_the_careful_pass_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    changes = [
        (WalType.INSERT, DocumentChange("orders", "huge", "orders", "v1", HOSTILE["huge"])),
        (WalType.DELETE, DocumentChange("orders", "orders-000001", "orders", "v1", b"")),
        (WalType.UPDATE, DocumentChange("orders", "orders-000002", "orders", "v1", b'{"again":2}')),
    ]
    archive = _with_wal(tmp_path, [(kind, encode_document_change(change)) for kind, change in changes])
    untouched = next(d.key for d in iter_documents(archive, collections=["orders"], ops=REAL) if d.key[-1] == "9")
    keys = [("orders", k) for k in ("huge", "orders-000001", "orders-000002", untouched, "nowhere")]
    fast = [find_document(archive, key, ops=REAL) for key in keys]
    with monkeypatch.context() as patched:
        patched.setattr(document_index, "available", lambda: False)
        assert fast == [find_document(archive, key, ops=REAL) for key in keys]
    assert fast[0] is not None and fast[0].body == HOSTILE["huge"] and fast[1] is None and fast[4] is None
    assert fast[2] is not None and fast[2].body == b'{"again":2}' and fast[3] is not None
    seen: list[object] = []
    real = document_index.find_in_archive
    monkeypatch.setattr(document_index, "find_in_archive", lambda *a, **k: seen.append(real(*a, **k)) or seen[-1])
    find_document(archive, keys[0], ops=REAL)
    assert seen and seen[0] is not None  # the fast way was taken


def test_the_fast_reading_reports_the_progress_of_both_passes(taken: list[bool]) -> None:
    from aeroops.progress import Progress

    events: list[Progress] = []
    archive = AERODB_FIXTURES / "backup-1000.tar"
    assert len(list(iter_documents(archive, progress=events.append, ops=REAL))) == 443 and taken == [True]
    second = [e for e in events if e.step_index == 2]
    assert {e.step_index for e in events} == {1, 2} and second and second[-1].done_bytes == second[-1].total_bytes > 0


def _damaged(archive: Path, tmp_path: Path) -> Iterator[Path]:
    """``archive`` with one byte flipped every 3,001 bytes past its first header, one at a time,
    and cut short at a few places: damage in tar headers, manifests, storage and WAL records."""
    data = archive.read_bytes()
    for offset in range(512, len(data), 3_001):
        damaged = bytearray(data)
        damaged[offset] ^= 0x40
        path = tmp_path / f"flip-{offset}.tar"
        path.write_bytes(damaged)
        yield path
    for cut in (len(data) // 3, len(data) // 2, len(data) - 700):
        path = tmp_path / f"cut-{cut}.tar"
        path.write_bytes(data[:cut])
        yield path


def _outcome(read: Any, source: Path) -> tuple[str, object]:
    try:
        return "ok", read(source)
    except FormatError as error:
        return str(error.code), str(error)


def _all(source: Path) -> list[Document]:
    return list(iter_documents(source, ops=REAL))


def _one(source: Path) -> Document | None:
    return find_document(source, ("users", "users-000001"), ops=REAL)


@pytest.mark.parametrize("name", ["backup-1000.tar", "backup-nowal.tar"])
def test_a_damaged_archive_is_refused_with_the_careful_readings_finding(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fast pass's verify report names only a member's CRC; the careful one the record.
    refused = 0
    for damaged in _damaged(AERODB_FIXTURES / name, tmp_path):
        fast, fast_one = _outcome(_all, damaged), _outcome(_one, damaged)
        with monkeypatch.context() as patched:
            patched.setattr(document_index, "available", lambda: False)
            assert (fast, fast_one) == (_outcome(_all, damaged), _outcome(_one, damaged)), damaged.name
        refused += fast[0] != "ok"
        damaged.unlink()
    assert refused >= 10


# --- data directories (the same C index over documents.dat and wal/wal.log) ---------------------

FIXTURE_DATADIRS = sorted(p for p in AERODB_FIXTURES.glob("datadir-*") if p.is_dir())


@pytest.fixture
def taken_dir(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Which way each data directory's reading went."""
    return _ways(monkeypatch, "index_datadir")


@pytest.mark.parametrize("data", FIXTURE_DATADIRS, ids=lambda p: p.name)
def test_a_data_directory_reads_fast_and_hands_out_what_the_careful_reading_does(
    data: Path, taken_dir: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = list(iter_documents(data, ops=REAL))
    assert fast and fast == careful(data, monkeypatch) and taken_dir == [True]
    for chosen in (["orders"], ["users", "nowhere"], []):
        assert list(iter_documents(data, collections=chosen, ops=REAL)) == careful(
            data, monkeypatch, collections=chosen
        )
    assert taken_dir == [True] * 4


def test_hostile_bodies_in_a_data_directory_read_fast(
    tmp_path: Path, taken_dir: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    changes = [(WalType.INSERT, DocumentChange("orders", name, "orders", "v1", body)) for name, body in HOSTILE.items()]
    changes += [
        (WalType.UPDATE, DocumentChange("orders", "empty", "orders", "v1", b'{"again":1}')),
        (WalType.DELETE, DocumentChange("orders", "deep", "orders", "v1", b"")),
        (WalType.DELETE, DocumentChange("orders", "orders-000001", "orders", "v1", b"")),  # a stored one
        (WalType.INSERT, DocumentChange("odd:name", "x:y", "orders", "v1", b"{}")),
    ]
    data = _append_wal(
        copy_fixture("datadir-1000", tmp_path / "data"), [(k, encode_document_change(c)) for k, c in changes]
    )
    fast = list(iter_documents(data, ops=REAL))
    assert taken_dir == [True] and fast == careful(data, monkeypatch)
    by_key = {(d.collection, d.key): d.body for d in fast}
    assert by_key[("orders", "huge")] == HOSTILE["huge"] and by_key[("orders", "empty")] == b'{"again":1}'
    assert ("orders", "deep") not in by_key and ("orders", "orders-000001") not in by_key


@pytest.mark.parametrize("odd", ["torn tail", "not utf-8", "bad crc"])
def test_an_unusual_data_directory_goes_the_careful_way_with_the_same_answer(
    odd: str, tmp_path: Path, taken_dir: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = copy_fixture("datadir-1000", tmp_path / "data")
    if odd == "torn tail":
        _append_wal(data, [], tail=encode_wal_record(WalType.INSERT, 10**6, encode_document_change(
            DocumentChange("orders", "torn", "orders", "v1", b"{}")))[:-3])  # fmt: skip
    elif odd == "not utf-8":
        _append_wal(data, [(WalType.INSERT, lp(b"orders") + lp(b"\xff\xfe") + lp(b"orders") + lp(b"v1") + lp(b"{}"))])
    else:
        storage = data / "data/documents.dat"
        raw = bytearray(storage.read_bytes())
        raw[40] ^= 0x01  # a byte inside the first record
        storage.write_bytes(bytes(raw))
    try:
        fast: object = list(iter_documents(data, ops=REAL))
    except FormatError as error:
        fast = (error.code, str(error))
    try:
        slow: object = careful(data, monkeypatch)
    except FormatError as error:
        slow = (error.code, str(error))
    assert taken_dir == [False] and fast == slow


def _careful_diff(a: Path, b: Path, monkeypatch: pytest.MonkeyPatch, **options: Any) -> object:
    from aeroops.executor.documents import diff

    with monkeypatch.context() as patched:
        patched.setattr(document_index, "available", lambda: False)
        return diff(a, b, ops=REAL, **options)


@pytest.mark.parametrize("pair", list(itertools.pairwise(FIXTURE_DATADIRS)), ids=lambda p: p[1].name)
def test_a_diff_of_data_directories_read_fast_is_the_careful_one(
    pair: tuple[Path, Path], taken_dir: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aeroops.executor.documents import diff

    a, b = pair
    fast = diff(a, b, ops=REAL)
    assert taken_dir == [True, True] and fast.deltas and fast == _careful_diff(a, b, monkeypatch)
    assert diff(a, b, collections=["orders"], ops=REAL) == _careful_diff(a, b, monkeypatch, collections=["orders"])


def test_a_diff_with_one_side_read_fast_and_one_careful_finds_the_planted_changes(
    tmp_path: Path, taken: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aeroops.executor.documents import diff

    archive = AERODB_FIXTURES / "backup-1000.tar"  # the same documents as datadir-1000, read fast
    first, second = [d for d in iter_documents(archive, collections=["orders"], ops=REAL)][:2]
    changes = [
        (WalType.UPDATE, DocumentChange("orders", first.key, first.schema, first.version, b'{"again":2}')),
        (WalType.INSERT, DocumentChange("orders", "huge", "orders", "v1", HOSTILE["huge"])),
        (WalType.DELETE, DocumentChange("orders", second.key, second.schema, second.version, b"")),
    ]
    b = _append_wal(copy_fixture("datadir-1000", tmp_path / "b"), [(k, encode_document_change(c)) for k, c in changes])
    refused: list[Path] = []
    monkeypatch.setattr(document_index, "index_datadir", lambda root, *_, **__: refused.append(root))  # careful
    found = diff(archive, b, ops=REAL)
    assert taken == [True, True] and refused == [b] and found == _careful_diff(archive, b, monkeypatch)
    planted = {(first.key, "changed"), ("huge", "added"), (second.key, "removed")}
    assert {(d.key, d.change) for d in found.deltas} == planted


def test_a_data_directory_read_fast_reports_the_progress_of_both_passes(taken_dir: list[bool]) -> None:
    from aeroops.progress import Progress

    events: list[Progress] = []
    data = AERODB_FIXTURES / "datadir-1000"
    assert len(list(iter_documents(data, progress=events.append, ops=REAL))) == 443 and taken_dir == [True]
    first = [e for e in events if e.step_index == 1]
    second = [e for e in events if e.step_index == 2]
    assert first[-1].done_bytes == first[-1].total_bytes > 0
    assert second and second[-1].done_bytes == second[-1].total_bytes > 0


class _SecondOpenFails(FileOps):
    """The second open of ``name`` (the second pass's) fails: EIO after ``after`` bytes, or gone."""

    def __init__(self, name: str, after: int | None) -> None:
        self.name, self.after, self.opened = name, after, 0

    def open_read(self, path: Path, *, follow_symlinks: bool = True) -> BinaryIO:
        stream = super().open_read(path, follow_symlinks=follow_symlinks)
        if path.name == self.name:
            self.opened += 1
            if self.opened == 2:
                if self.after is None:
                    stream.close()
                    raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))
                return FaultyStream(stream, self.after, errno.EIO)  # type: ignore[return-value]
        return stream


@pytest.mark.parametrize("after", [4096, None], ids=["eio", "vanished"])
@pytest.mark.parametrize("source", ["datadir-1000", "backup-1000.tar"])
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "careful"])
def test_a_read_failing_in_the_second_pass_is_one_coded_error(
    source: str, after: int | None, fast: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not fast:
        monkeypatch.setattr(document_index, "available", lambda: False)
    path = AERODB_FIXTURES / source
    ops = _SecondOpenFails("wal.log" if path.is_dir() else path.name, after)  # what the second pass reads
    with pytest.raises(AeroError) as raised:
        list(iter_documents(path, ops=ops))
    assert ops.opened == 2
    assert raised.value.code is Code.USAGE and "cannot read" in str(raised.value)
