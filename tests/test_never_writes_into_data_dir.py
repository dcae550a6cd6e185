"""No command writes into the data directory it reads: an output named inside it (directly, in a
folder below it, or through a symbolic link that leads into it) is refused with the command's
code, and the data directory is left as it was, down to its times."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.cli import run_main
from helpers.data import copy_fixture, tree_state


def _backup(data: Path, inside: Path, archive: Path) -> list[str]:
    return ["backup", str(data), "-o", str(inside / "b.tar"), "--no-progress"]


def _archive_wal(data: Path, inside: Path, archive: Path) -> list[str]:
    return ["archive-wal", str(data), "-o", str(inside)]


def _export(data: Path, inside: Path, archive: Path) -> list[str]:
    return ["export", str(data), "-o", str(inside / "docs.jsonl"), "--no-progress"]


def _drill(data: Path, inside: Path, archive: Path) -> list[str]:
    return ["drill", str(archive), "--source", str(data), "--scratch", str(inside), "--no-progress"]


# Each writer: the arguments that make it write to ``inside`` while reading ``data``, and its code.
WRITERS: dict[str, tuple[Callable[[Path, Path, Path], list[str]], str]] = {
    "backup": (_backup, "AERO_BACKUP_FAILED"),
    "archive-wal": (_archive_wal, "AERO_WAL_ARCHIVE_FAILED"),
    "export": (_export, "AERO_USAGE"),
    "drill": (_drill, "AERO_USAGE"),
}


def _inside(data: Path, tmp_path: Path, how: str) -> Path:
    if how == "top":
        return data
    below = data / "snapshots"
    if how == "below":
        return below
    link = tmp_path / "looks-outside"
    link.symlink_to(below, target_is_directory=True)
    return link


@pytest.mark.parametrize("how", ["top", "below", "link"])
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_an_output_inside_the_data_directory_is_refused(
    writer: str, how: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = copy_fixture("datadir-1000", tmp_path / "data")
    archive = copy_fixture("backup-1000.tar", tmp_path / "backup-1000.tar")
    inside = _inside(data, tmp_path, how)
    before = tree_state(data)
    arguments, code = WRITERS[writer]
    status, out, err = run_main(capsys, *arguments(data, inside, archive))
    assert status != 0, out
    assert code in err and "inside" in err, err
    assert "Traceback" not in err
    assert tree_state(data) == before
