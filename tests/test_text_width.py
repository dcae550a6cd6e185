"""The terminal: everything a command prints for people fits 100 columns, even
with long names (a 150-character archive name, collection names longer than a line, a deep
path with spaces), wrapping between words: no word is ever broken, and a word longer than a line
stands whole beside its indent or label only. JSON and CSV are not for people: not wrapped."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.cli import run_cli, run_main

from aeroops.cli.messages import error_text
from aeroops.demo import DemoSpec, make_demo_datadir
from aeroops.executor.backup import run_backup
from aeroops.executor.fileops import REAL
from aeroops.views.text import TABLE_WIDTH

ARCHIVE_NAME = "aerodb-backup-of-the-" + "customer-orders-" * 7 + "database-made-before-the-migration.tar"
OLDER_NAME = "older-" + ARCHIVE_NAME
LONG_COLLECTION = "customer_order_line_items_with_their_shipping_and_billing_addresses_" * 2 + "v2"  # one word
WORDY_COLLECTION = "orders placed by customers of the european union during the long summer sale of the year"
ERROR_LINE = re.compile(r"\[(INFO|WARNING|ERROR|FATAL)\] AERO_")
BESIDE = 40  # what may stand beside a word too long for any line: an indent, a label, a table's verdict cells


@dataclass(frozen=True)
class Shelf:
    data_dir: Path  # a demo data directory with long collection names, deep under folders with spaces
    folder: Path  # its backups: ARCHIVE_NAME (newest snapshot) and OLDER_NAME (the older one)
    archive: Path
    root: Path  # where each test makes what it changes


@pytest.fixture(scope="module")
def shelf(tmp_path_factory: pytest.TempPathFactory) -> Shelf:
    root = tmp_path_factory.mktemp("width") / ("deep-folder-" * 6 + "x") / "a folder whose name has words in it"
    spec = DemoSpec.small(collections=(LONG_COLLECTION, WORDY_COLLECTION, "users"))
    made = make_demo_datadir(root / "the live data directory", spec, ops=REAL)
    folder = root / "backups"
    folder.mkdir()
    run_backup(made.data_dir, folder / ARCHIVE_NAME, ops=REAL)
    run_backup(made.data_dir, folder / OLDER_NAME, snapshot_id=made.snapshot_ids[0], ops=REAL)
    return Shelf(made.data_dir, folder, folder / ARCHIVE_NAME, root)


def words(*paths: Path) -> list[str]:
    """The words of ``paths`` as the output must show them, whole (a path wraps at its spaces)."""
    return [word for path in paths for word in str(path).split()]


def assert_fits(text: str, whole: Iterable[str]) -> None:
    """Every line at most 100 columns, unless it is one word longer than that room beside an
    indent or a label; and every word of ``whole`` shown whole (a word broken in two is not in
    the text)."""
    for line in text.splitlines():
        if len(line) > TABLE_WIDTH:
            longest = max(line.split(), key=len)
            assert len(line) - len(longest) <= BESIDE, f"{len(line)} columns: {line}"
    for word in whole:
        assert word in text, f"{word!r} was broken or left out:\n{text}"


def assert_label_block(text: str, column: int) -> None:
    """Each line a label with its value from ``column``, or a value's next line, from that column."""
    for line in text.splitlines():
        assert line[column - 1] == " " and line[column] != " ", f"not from column {column + 1}: {line!r}"
        label = line[:column].strip()
        assert label or line.startswith(" " * column), line


def run(capsys: pytest.CaptureFixture[str], *argv: str, status: int = 0, whole: Iterable[str] = ()) -> str:
    """``aeroops ARGV``'s stdout and stderr, each checked by `assert_fits`."""
    code, out, err = run_main(capsys, *argv)
    assert code == status, out + err
    # Off a terminal (here) each error is one line, for grep; a terminal shows it wrapped.
    on_terminal = "\n".join(
        error_text(line, terminal=True) if ERROR_LINE.match(line) else line for line in err.splitlines()
    )
    assert_fits(out, ())
    assert_fits(on_terminal, ())
    assert_fits(out + on_terminal, whole)
    return out + err


def test_scan(shelf: Shelf, capsys: pytest.CaptureFixture[str]) -> None:
    whole = [*words(shelf.data_dir), LONG_COLLECTION]
    text = run(capsys, "scan", str(shelf.data_dir), "--no-progress", whole=whole)
    assert "data directory  " in text and "members:" in text


def test_backup_dry_run_and_its_refusal(shelf: Shelf, capsys: pytest.CaptureFixture[str]) -> None:
    fresh = shelf.root / ("new-" + ARCHIVE_NAME)
    text = run(
        capsys, "backup", str(shelf.data_dir), "-o", str(fresh), "--dry-run", whole=[*words(fresh), LONG_COLLECTION]
    )
    assert "would write" in text
    argv = ["backup", str(shelf.data_dir), "-o", str(shelf.archive), "--dry-run"]
    assert "would be refused" in run(capsys, *argv, status=1)


def test_backup_result_and_its_error(shelf: Shelf, capsys: pytest.CaptureFixture[str]) -> None:
    out = shelf.root / "made"
    out.mkdir()
    argv = ["backup", str(shelf.data_dir), "-o", str(out / ARCHIVE_NAME), "--no-progress"]
    text = run(capsys, *argv, whole=words(out / ARCHIVE_NAME))
    assert text.startswith("archive   ") and "digest    " in text
    assert_label_block(text, 10)
    text = run(capsys, *argv, status=2)
    assert text.startswith("[ERROR] AERO_BACKUP_FAILED: ") and ARCHIVE_NAME in text


def test_verify_inspect_and_inventory(shelf: Shelf, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "verify", str(shelf.archive), "--no-progress", whole=words(shelf.archive))
    whole = [*words(shelf.archive), LONG_COLLECTION]
    run(capsys, "inspect", str(shelf.archive), "--wal", "--documents", "--no-progress", whole=whole)
    for extra in ([], ["--verify"], ["--newest-good"]):
        run(capsys, "inventory", str(shelf.folder), *extra, "--no-progress", whole=[ARCHIVE_NAME])


def test_prune_and_check(shelf: Shelf, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["prune", str(shelf.folder), "--keep-last", "1", "--no-progress"]
    text = run(capsys, *argv, status=1, whole=[OLDER_NAME])
    assert "would remove" in text and "[WARNING] AERO_PRUNE_LAST_COPY:" in text
    argv = ["check", str(shelf.folder), "--max-age", "1h", "--no-progress"]
    assert run(capsys, *argv, whole=[OLDER_NAME]).startswith("OK: newest good backup")


def test_restore_preview_refusal_and_result(shelf: Shelf, capsys: pytest.CaptureFixture[str]) -> None:
    target = shelf.root / "restored data directory"
    argv = ["restore", str(shelf.archive), str(target), "--no-progress"]
    whole = [*words(shelf.archive, target), LONG_COLLECTION]
    assert "the restore would be refused" in run(capsys, *argv, status=1, whole=words(shelf.archive, target))
    text = run(capsys, *argv, "--create", whole=whole)
    assert "creates   " in text and "steps     " in text
    text = run(capsys, *argv, "--create", "--yes", whole=words(shelf.archive, target))
    assert text.startswith("restored  ")
    assert_label_block(text, 10)
    assert "replaces  " in run(capsys, *argv, whole=whole)


def test_an_interrupted_restore_and_recover(shelf: Shelf, capsys: pytest.CaptureFixture[str]) -> None:
    target = shelf.root / "interrupted data directory"
    target.mkdir()
    (target.parent / f".{target.name}.aeroops-restore-tmp").mkdir()
    text = run(capsys, "restore", str(shelf.archive), str(target), "--yes", "--no-progress", status=3)
    assert text.startswith("[FATAL] AERO_RESTORE_FAILED: ")
    text = run(capsys, "recover", str(target), whole=words(target))
    assert text.startswith("data directory  ")
    assert_label_block(text.split("\n  1. ")[0], 16)  # the labels, above the numbered steps
    assert run(capsys, "recover", str(target), "--yes", whole=words(target)).startswith("data directory  ")


def test_drill(shelf: Shelf, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["drill", str(shelf.archive), "--source", str(shelf.data_dir), "--no-progress"]
    text = run(capsys, *argv, whole=[*words(shelf.archive, shelf.data_dir), LONG_COLLECTION])
    assert text.startswith("drill     PASSED")


def test_demo(shelf: Shelf, capsys: pytest.CaptureFixture[str]) -> None:
    folder = shelf.root / "a demo folder with a long name, made for the width check"
    assert "packed:" in run(capsys, "demo", str(folder), "--records", "20", "--no-progress", whole=words(folder))


def test_an_error_naming_a_long_path_is_one_line_off_a_terminal_and_wraps_on_one(
    shelf: Shelf, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = shelf.root / "no such data directory anywhere"
    code, _, err = run_main(capsys, "scan", str(missing))
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("[ERROR] AERO_SCAN_FAILED: ")
    # A real terminal on stderr: the same error wrapped under its code, every word whole.
    primary, secondary = os.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "aeroops", "scan", str(missing)],
            stdout=subprocess.DEVNULL,
            stderr=secondary,
            check=False,
            timeout=60,
        )
        os.close(secondary)
        shown = _read_all(primary).decode().replace("\r\n", "\n")
    finally:
        os.close(primary)
    assert done.returncode == 2
    first, *more = shown.splitlines()
    assert first.startswith("[ERROR] AERO_SCAN_FAILED: ") and more and all(line.startswith("  ") for line in more)
    assert_fits(shown, words(missing))
    assert " ".join(shown.split()) == " ".join(err.split())  # the same words


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the other end is closed and everything was read
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_json_is_not_wrapped(shelf: Shelf, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "scan", str(shelf.data_dir), "--json", "--no-progress")
    assert code == 0 and json.loads(out)["scan"]["data_dir"] == str(shelf.data_dir)  # one string, whole


def test_help_fits_100_columns_on_a_wider_terminal() -> None:
    """argparse fills the terminal's width: on a 200-column one, help lines ran to 198 columns."""
    from aeroops.cli.main import VERBS

    for verb in ("", *VERBS):
        done = run_cli(*([verb] if verb else []), "--help", env={"COLUMNS": "200"})
        assert done.returncode == 0, done.stderr
        assert_fits(done.stdout, ())
