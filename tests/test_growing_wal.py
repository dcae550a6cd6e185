"""A WAL that AeroDB appends to while aeroops reads it ends, where the read stops, inside the
record being written. That is not damage: the report says the file grew while it was read,
with its own code, and keeps "torn tail" for a file that really ends inside a record."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

import pytest
from helpers.data import copy_fixture

from aeroops.cli.main import main
from aeroops.errors import Code
from aeroops.executor.fileops import REAL, FileOps
from aeroops.executor.scan import describe_wal, scan
from aeroops.formats.wal import WAL_FRAMING, iter_wal


def record_ends(wal: Path) -> list[int]:
    with wal.open("rb") as stream:
        return [r.offset + r.length for r in iter_wal(stream, path=wal)]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return copy_fixture("datadir-1000", tmp_path / "data")


def test_a_wal_read_up_to_a_size_inside_a_record_that_is_now_whole_grew_while_read(data: Path) -> None:
    wal = data / "wal" / "wal.log"
    ends = record_ends(wal)
    cut = ends[-2] + WAL_FRAMING.min_length  # inside the last record, past its length field
    described = describe_wal(wal, size=cut, ops=REAL)
    assert described.damage is not None
    assert described.damage.code is Code.FILE_GREW
    assert "grew while it was read" in described.damage.message
    assert described.records == len(ends) - 1  # every whole record before the cut was read


@pytest.mark.parametrize("into_record", [2, WAL_FRAMING.min_length])  # inside the length field; past it
def test_a_wal_that_really_ends_inside_a_record_is_a_torn_tail(data: Path, into_record: int) -> None:
    wal = data / "wal" / "wal.log"
    ends = record_ends(wal)
    with wal.open("r+b") as stream:
        stream.truncate(ends[-2] + into_record)
    described = describe_wal(wal, ops=REAL)
    assert described.damage is not None
    assert described.damage.code is Code.WAL_TORN_TAIL


class AppendWhileOpening(FileOps):
    """AeroDB finishing the record it was writing between a look at the WAL's size and the
    read: the rest of the record lands when the WAL is next opened after a stat."""

    def __init__(self, wal: Path, rest: bytes) -> None:
        self._wal, self._rest = wal, rest
        self._size_seen = False

    def stat(self, path: Path) -> os.stat_result:
        if Path(path) == self._wal:
            self._size_seen = True
        return super().stat(path)

    def open_read(self, path: Path, *, follow_symlinks: bool = True) -> BinaryIO:
        if Path(path) == self._wal and self._rest and self._size_seen:
            with self._wal.open("ab") as writer:
                writer.write(self._rest)
            self._rest = b""
        return super().open_read(path, follow_symlinks=follow_symlinks)


def test_scan_of_a_wal_being_appended_to_says_it_grew(data: Path) -> None:
    wal = data / "wal" / "wal.log"
    ends = record_ends(wal)
    whole = wal.read_bytes()
    cut = ends[-2] + 7  # AeroDB has written 7 bytes of its last record
    wal.write_bytes(whole[:cut])
    described = scan(data, ops=AppendWhileOpening(wal, whole[cut:]))
    assert described.wal.damage is not None
    assert described.wal.damage.code is Code.FILE_GREW
    assert f"{cut:,} bytes when read, {len(whole):,} now" in described.wal.damage.message


def test_the_cli_names_a_torn_tail_for_what_it_is(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wal = data / "wal" / "wal.log"
    with wal.open("r+b") as stream:
        stream.truncate(record_ends(wal)[-2] + 7)
    main(["scan", str(data)])
    out = capsys.readouterr()
    text = out.out + out.err
    assert "AERO_WAL_TORN_TAIL" in text
    assert "grew" not in text


def test_a_backup_while_the_wal_grows_is_refused_for_that_reason(data: Path, tmp_path: Path) -> None:
    from aeroops.core.backup_plan import RefusalRule
    from aeroops.errors import BackupError
    from aeroops.executor.backup import run_backup

    wal = data / "wal" / "wal.log"
    whole = wal.read_bytes()
    cut = record_ends(wal)[-2] + 7
    wal.write_bytes(whole[:cut])
    with pytest.raises(BackupError) as refused:
        run_backup(data, tmp_path / "out", ops=AppendWhileOpening(wal, whole[cut:]))
    assert RefusalRule.WAL_GROWING.value in str(refused.value)
    assert "writing to the WAL" in str(refused.value)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
