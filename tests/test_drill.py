"""The restore drill: restore into scratch, compare logical states, report, clean up."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.archives import backup_of, flip_byte, member_spans
from helpers.data import AERODB_FIXTURES, copy_fixture, tree_state

from aeroops.cli.main import main
from aeroops.core.restore_plan import STEPS
from aeroops.demo import DemoSpec, make_demo_datadir
from aeroops.errors import FormatError, Severity, UsageError
from aeroops.executor.drill import DRILL_STEPS, datadir_logical_state, drill, source_snapshot
from aeroops.executor.fileops import REAL, FileOps
from aeroops.formats.wal import DocumentChange, WalType, encode_document_change, encode_wal_record, iter_wal
from aeroops.progress import Progress


def append_wal_record(data_dir: Path, collection: str, document_id: str, body: bytes) -> None:
    """One more insert at the end of the WAL, as AeroDB would append it."""
    wal = data_dir / "wal/wal.log"
    with wal.open("rb") as stream:
        last = max((r.sequence for r in iter_wal(stream)), default=0)
    change = DocumentChange(collection, document_id, f"{collection}_v1", "v1", body)
    with wal.open("ab") as stream:
        stream.write(encode_wal_record(WalType.INSERT, last + 1, encode_document_change(change)))


@pytest.mark.parametrize(
    ("archive", "source"),
    [("backup-1000.tar", "datadir-1000"), ("backup-3snap.tar", "datadir-3snap"), ("backup-nowal.tar", "datadir-nowal")],
)
def test_drill_of_aerodbs_archives_against_their_sources(archive: str, source: str, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = drill(AERODB_FIXTURES / archive, source=AERODB_FIXTURES / source, scratch_parent=scratch, ops=REAL)
    assert result.ok, result.error
    assert [c.reference for c in result.comparisons] == ["archive", "source"]
    assert all(c.identical for c in result.comparisons)
    assert result.collections and all(c.restored == c.archive == c.source > 0 for c in result.collections)
    assert result.documents == len(datadir_logical_state(AERODB_FIXTURES / source, ops=REAL))
    assert result.restore is not None and result.restore_seconds is not None and result.restore_seconds > 0
    assert result.source_snapshot == result.snapshot_id
    assert result.scratch_removed and list(scratch.iterdir()) == []


@pytest.mark.parametrize(
    "spec",
    [DemoSpec.small(seed=11), DemoSpec.small(seed=12, checkpoint=True, wal_records=400)],
    ids=["plain", "checkpoint"],
)
def test_drill_of_demo_data(spec: DemoSpec, tmp_path: Path) -> None:
    source = tmp_path / "source"
    summary = make_demo_datadir(source, spec, ops=REAL)
    archive = backup_of(source, tmp_path / "out")
    before = tree_state(tmp_path)
    result = drill(archive, source=source, ops=REAL)
    assert result.ok, result.error
    assert result.documents == summary.documents
    assert tree_state(tmp_path) == before  # nothing written beside the archive or in the source


def test_a_source_that_moved_on_is_a_difference(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = copy_fixture("datadir-1000", tmp_path / "source")
    archive = backup_of(source, tmp_path / "out")
    append_wal_record(source, "users", "late-arrival", b'{"_id":"late-arrival"}')
    result = drill(archive, source=source, ops=REAL)
    assert not result.ok and result.error is None
    by_reference = {c.reference: c for c in result.comparisons}
    assert by_reference["archive"].identical
    assert by_reference["source"].diff.removed == (("users", "late-arrival"),)  # in the source, not restored
    users = next(c for c in result.collections if c.collection == "users")
    assert users.source == users.restored + 1
    assert main(["drill", str(archive), "--source", str(source)]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "1 removed" in out and "users:late-arrival" in out


def test_a_damaged_archive_fails_the_drill_and_leaves_no_scratch(tmp_path: Path) -> None:
    archive = copy_fixture("backup-1000.tar", tmp_path / "backup.tar")
    storage = next(m for m in member_spans(archive) if m[0] == "snapshot/storage.dat")
    flip_byte(archive, storage[3] + 7)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = drill(archive, scratch_parent=scratch, ops=REAL)
    assert not result.ok and result.restore is None
    assert result.error is not None and result.error.code == "AERO_RESTORE_CORRUPTION"
    assert result.error.severity == Severity.FATAL
    assert result.scratch_removed and list(scratch.iterdir()) == []


def test_a_damaged_source_is_an_error_not_a_crash(tmp_path: Path) -> None:
    source = copy_fixture("datadir-1000", tmp_path / "source")
    archive = backup_of(source, tmp_path / "out")
    with (source / "wal/wal.log").open("ab") as stream:
        stream.write(b"\x01\x02")  # a torn tail
    result = drill(archive, source=source, ops=REAL)
    assert not result.ok and result.error is not None and result.error.code == "AERO_WAL_TORN_TAIL"
    assert result.restore is not None  # the restore itself went through
    assert result.scratch_removed
    with pytest.raises(FormatError):
        datadir_logical_state(source, ops=REAL)


def test_keep_leaves_the_restored_directory_to_look_at(tmp_path: Path) -> None:
    result = drill(AERODB_FIXTURES / "backup-1000.tar", scratch_parent=tmp_path, keep=True, ops=REAL)
    assert result.ok and not result.scratch_removed
    restored = Path(result.scratch) / "data"
    assert (restored / "data/documents.dat").read_bytes() == (
        AERODB_FIXTURES / "datadir-1000/snapshots/20261126T214824Z/storage.dat"
    ).read_bytes()


def test_source_snapshot_falls_back_to_the_newest_valid_one(tmp_path: Path) -> None:
    source = copy_fixture("datadir-3snap", tmp_path / "source")
    assert source_snapshot(source, "20261126T214908Z", REAL) == "20261126T214908Z"
    assert source_snapshot(source, "20200101T000000Z", REAL) == "20261126T214908Z"
    (source / "snapshots/20261126T214908Z/storage.dat").write_bytes(b"damaged")
    assert source_snapshot(source, None, REAL) < "20261126T214908Z"


def test_progress_names_the_drill_steps(tmp_path: Path) -> None:
    events: list[Progress] = []
    drill(
        AERODB_FIXTURES / "backup-1000.tar", source=AERODB_FIXTURES / "datadir-1000", progress=events.append, ops=REAL
    )
    steps = [e.step for e in events if e.step in DRILL_STEPS]
    assert list(dict.fromkeys(steps)) == list(DRILL_STEPS)
    # The restore's own steps show as the drill's first, so the counter never goes back.
    assert any(e.step == f"{DRILL_STEPS[0]}, 3/{len(STEPS)}: {STEPS[2]}" and e.step_index == 1 for e in events)
    assert [e.step_index for e in events] == sorted(e.step_index for e in events)


def test_every_drill_step_that_reads_or_compares_reports_its_amount(tmp_path: Path) -> None:
    # A big drill must never sit on one step without a percentage: each of these ends at 100%.
    events: list[Progress] = []
    result = drill(
        AERODB_FIXTURES / "backup-1000.tar", source=AERODB_FIXTURES / "datadir-1000", progress=events.append, ops=REAL
    )
    for index in (2, 3, 4, 5):
        amounts = [e for e in events if e.step_index == index and e.total_bytes]
        assert amounts, DRILL_STEPS[index - 1]
        assert amounts[-1].done_bytes == amounts[-1].total_bytes
    compared = [e for e in events if e.step_index == 5 and e.total_bytes]
    # Both states' documents, in both comparisons (with the archive, with the source).
    assert compared[-1].unit == "documents" and compared[-1].total_bytes == 4 * result.documents > 0


def test_cli_drill(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = AERODB_FIXTURES / "backup-1000.tar"
    assert main(["drill", str(archive), "--source", str(AERODB_FIXTURES / "datadir-1000")]) == 0
    out = capsys.readouterr().out
    assert "PASSED" in out and "restored vs archive: identical" in out and "orders" in out
    assert main(["drill", str(archive), "--json", "--scratch", str(tmp_path)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["ok"] and shown["documents"] == 443 and shown["scratch_removed"]
    assert shown["restore_seconds"] > 0 and [c["reference"] for c in shown["comparisons"]] == ["archive"]
    assert main(["drill", str(archive), "--scratch", str(tmp_path / "nope")]) == 2
    assert "[ERROR] AERO_USAGE" in capsys.readouterr().err
    broken = copy_fixture("backup-1000.tar", tmp_path / "broken.tar")
    flip_byte(broken, member_spans(broken)[-1][3] + 20)
    assert main(["drill", str(broken)]) == 3
    captured = capsys.readouterr()
    assert "FAILED" in captured.out and "[FATAL] AERO_RESTORE_CORRUPTION" in captured.err


class NoTempDirs(FileOps):
    def make_temp_dir(self, parent: Path | None, prefix: str) -> Path:
        raise PermissionError(13, "Permission denied", str(parent / f"{prefix}x" if parent else prefix))


def test_a_scratch_folder_that_cannot_be_made_is_a_usage_error_before_anything_is_done(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(UsageError, match=r"cannot make the scratch folder there \(Permission denied\)"):
        drill(AERODB_FIXTURES / "backup-1000.tar", scratch_parent=tmp_path, ops=NoTempDirs())
    # The CLI, as the user nobody with --scratch /: one line, exit 2 (it was a traceback).
    if os.geteuid() == 0 and shutil.which("setpriv"):
        done = subprocess.run(
            [
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                sys.executable,
                "-m",
                "aeroops",
                "drill",
                str(AERODB_FIXTURES / "backup-1000.tar"),
                "--scratch",
                "/",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("[ERROR] AERO_USAGE: cannot make the scratch folder there"), done.stderr
