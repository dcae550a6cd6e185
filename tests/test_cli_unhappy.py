"""The command line's unhappy paths: every mistake, odd value or odd stream ends in one
``[SEVERITY] CODE: message`` line and a documented exit status, before anything is written.
The property tests over the whole command line are in test_cli_properties.py."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import one_error_line, run_cli, run_cli_as_nobody
from helpers.data import copy_fixture, tree_state
from helpers.faults import need_nobody, world_readable_folder

from aeroops.cli.main import main
from aeroops.errors import BackupError, UsageError
from aeroops.executor.audit import verify_archive
from aeroops.executor.backup import run_backup
from aeroops.executor.fileops import REAL
from aeroops.formats.sidecar import TOOLS, sidecar_path

T0 = "2026-02-04T12:00:00Z"


# --- item 8: usage errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["verify", "--format", "xml", "a.tar"], "--format 'xml' is not one of: table, json, csv"),
        (["backup", "d", "-o", "o", "--created-at", "garbage"], "--created-at: 'garbage' is not a time"),
        (["backup", "d", "-o", "o", "--digest", "md5"], "--digest 'md5' is not one of: blake3, sha256"),
        (["demo", "--records", "many"], "--records: 'many' is not a whole number"),
        (["demo", "--seed", "-3"], "--seed: '-3' is not a whole number"),
        (["backup", "d"], "missing --output"),
        (["scan"], "missing DATA_DIR"),
        (["unpack"], "COMMAND 'unpack' is not one of: demo, scan"),
        (["verify", "a.tar", "--fast"], "unknown arguments: --fast"),
        (["backup", "d", "-o"], "--output needs a value"),
        (["check", "f", "--max-age", "3x"], "--max-age: '3x' is not a duration like 26h"),
        (["prune", "f", "--keep-within", "soon"], "--keep-within: 'soon' is not a duration"),
        (["prune", "f", "--keep-daily", "-2"], "--keep-daily: '-2' is not a count"),
        (["prune", "f", "--keep-weekly", "all"], "--keep-weekly: 'all' is not a count (a whole number, or unlimited)"),
    ],
)
def test_usage_errors_read_like_every_other_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    out = capsys.readouterr()
    line = one_error_line(out.err, "[ERROR] AERO_USAGE: ")
    assert message in line and line.endswith("--help`)")
    assert "parse_user_time" not in line and "invalid" not in line and out.out == ""
    assert "parse_duration" not in line


# --- messages name the command line's options, not the library's keyword arguments -------------


def test_messages_name_cli_options(tmp_path: Path, datadir_1000: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "a.tar"
    assert main(["backup", str(datadir_1000), "-o", str(archive)]) == 0
    assert main(["backup", str(datadir_1000), "-o", str(archive)]) == 2
    assert "(--overwrite replaces it)" in one_error_line(capsys.readouterr().err, "[ERROR] AERO_BACKUP_FAILED: ")
    assert main(["backup", str(datadir_1000), "-o", str(archive), "--dry-run"]) == 1
    assert "(--overwrite replaces it)" in capsys.readouterr().out
    assert main(["restore", str(archive), str(tmp_path / "new")]) == 1
    assert "to create it (--create)" in capsys.readouterr().out
    assert main(["demo", str(tmp_path / "demo"), "--records", "1", "--storage-mib", "1"]) == 2
    line = one_error_line(capsys.readouterr().err, "[ERROR] AERO_USAGE: ")
    assert line.startswith("[ERROR] AERO_USAGE: the storage padding (--storage-mib) needs")
    assert line.endswith("ask for more records (--records)")
    # A Python caller reads the keyword arguments it passes.
    with pytest.raises(BackupError, match="overwrite=True replaces it"):
        run_backup(datadir_1000, archive, ops=REAL)


def test_no_cli_message_names_a_keyword_argument() -> None:
    # Each name the CLI gives an option in messages is an option of some command.
    import argparse

    from aeroops.cli.main import OPTION_NAMES, build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    options = {name for parser in commands.choices.values() for a in parser._actions for name in a.option_strings}
    assert set(OPTION_NAMES.values()) <= options


def test_help_and_version_still_print_and_exit_0() -> None:
    done = run_cli("backup", "--help")
    assert done.returncode == 0 and "--created-at" in done.stdout and done.stderr == ""
    assert run_cli("--version").stdout.startswith("aeroops ")


# --- item 6: creation times AeroDB's format cannot carry ----------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ((), {"SOURCE_DATE_EPOCH": "99999999999999999999"}, "SOURCE_DATE_EPOCH='99999999999999999999' is out of range"),
        ((), {"SOURCE_DATE_EPOCH": "-40000000000"}, "is out of range"),
        ((), {"SOURCE_DATE_EPOCH": "253402300800"}, "is out of range"),  # 10000-01-01T00:00:00Z
        ((), {"SOURCE_DATE_EPOCH": "1.5e9"}, "is not whole seconds"),
        ((), {"SOURCE_DATE_EPOCH": "١٧٧٠٠٠٠٠٠٠"}, "is not whole seconds"),  # digits, but not `date +%s`'s
        (("--created-at", "0999-01-01T00:00:00Z"), {}, "--created-at: '0999-01-01T00:00:00Z' is out of range"),
        (("--created-at", "0001-01-01T00:00:00+05:00"), {}, "is out of range"),
        (("--created-at", "9999-12-31T23:59:59-01:00"), {}, "is out of range"),
    ],
)
def test_creation_times_aerodb_cannot_carry_are_refused_before_anything(
    datadir_1000: Path,
    out_dir: Path,
    args: tuple[str, ...],
    env: dict[str, str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    before = tree_state(datadir_1000.parent)
    for dry_run in ((), ("--dry-run",)):
        assert main(["backup", str(datadir_1000), "-o", str(out_dir), *args, *dry_run]) == 2
        out = capsys.readouterr()
        assert message in one_error_line(out.err, "[ERROR] AERO_USAGE: ") and out.out == ""
    assert tree_state(datadir_1000.parent) == before


@pytest.mark.parametrize("created_at", ["1000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_the_first_and_last_times_aerodb_can_carry_make_archives_that_verify(
    datadir_1000: Path, out_dir: Path, created_at: str
) -> None:
    done = run_cli("backup", str(datadir_1000), "-o", str(out_dir), "--created-at", created_at, "--no-progress")
    assert done.returncode == 0, done.stderr
    (archive,) = out_dir.glob("*.tar")
    assert archive.name.endswith(created_at.replace("-", "").replace(":", "") + ".tar")
    assert verify_archive(archive, ops=REAL).ok
    assert run_cli("verify", str(archive)).returncode == 0


# --- item 5: archive names the sidecar line must escape ------------------------------------------

NAMES = ["a\nb.tar", "a\rb.tar", "ab.tar\r", "a\x0cb.tar", "a\x85b.tar", "a\u2028b.tar", "a\\b.tar", "\\\n\r.tar"]


@pytest.mark.parametrize("algorithm", ["blake3", "sha256"])
@pytest.mark.parametrize("name", NAMES, ids=ascii)
def test_an_archive_verifies_whatever_its_name(datadir_1000: Path, out_dir: Path, name: str, algorithm: str) -> None:
    archive = out_dir / name
    run_backup(datadir_1000, archive, digest=algorithm, ops=REAL)
    report = verify_archive(archive, ops=REAL)
    assert report.ok, [str(f) for f in report.findings]
    assert report.sidecar_digest is not None
    tool = TOOLS[algorithm]  # type: ignore[index]
    if shutil.which(tool):
        sidecar = sidecar_path(archive, algorithm)  # type: ignore[arg-type]
        checked = subprocess.run([tool, "-c", sidecar.name], cwd=out_dir, capture_output=True, check=False)
        assert checked.returncode == 0, checked.stderr


def test_a_name_no_sidecar_can_carry_is_refused_before_anything(datadir_1000: Path, out_dir: Path) -> None:
    archive = Path(os.fsdecode(os.fsencode(out_dir) + b"/\xff.tar"))
    with pytest.raises(UsageError, match="not valid UTF-8"):
        run_backup(datadir_1000, archive, ops=REAL)
    done = run_cli("backup", str(datadir_1000), "-o", str(archive))
    assert done.returncode == 2
    one_error_line(done.stderr, "[ERROR] AERO_USAGE: the archive name")
    assert list(out_dir.iterdir()) == []


# --- item 7: tracebacks seen -------------------------------------------------------------------


def test_output_that_cannot_be_written_is_an_error_not_a_verdict(aerodb_archive: Path) -> None:
    closed = subprocess.run(
        ["bash", "-c", f'exec "{sys.executable}" -m aeroops verify "{aerodb_archive}" >&-'],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert closed.returncode == 2
    one_error_line(closed.stderr, "[ERROR] AERO_OUTPUT: cannot write the output: standard output is closed")
    with open("/dev/full", "w") as full:
        done = run_cli("verify", str(aerodb_archive), capture_output=False, stdout=full, stderr=subprocess.PIPE)
    assert done.returncode == 2
    one_error_line(done.stderr, "[ERROR] AERO_OUTPUT: cannot write the output: No space left on device")
    with open("/dev/full", "w") as full:
        version = run_cli("--version", capture_output=False, stdout=full, stderr=subprocess.PIPE)
    assert version.returncode == 2
    one_error_line(version.stderr, "[ERROR] AERO_OUTPUT: cannot write the output: No space left on device")


@pytest.mark.parametrize("root", ["/", "//", "/."])
def test_the_file_system_root_is_not_a_data_directory(
    aerodb_archive: Path, root: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (
        ["restore", str(aerodb_archive), root],
        ["restore", str(aerodb_archive), root, "--yes"],
        ["recover", root],
    ):
        assert main([*argv, "--no-progress"] if argv[0] == "restore" else argv) == 2
        one_error_line(capsys.readouterr().err, "[ERROR] AERO_USAGE: the file system root cannot be restored into")


def test_names_that_are_not_utf8_are_printed_as_the_bytes_they_are(tmp_path: Path) -> None:
    data = Path(os.fsdecode(os.fsencode(tmp_path) + b"/data-\xff"))
    copy_fixture("datadir-1000", data)
    done = subprocess.run(
        [sys.executable, "-m", "aeroops", "scan", os.fsencode(data)], capture_output=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert b"data-\xff" in done.stdout


def test_scan_of_a_missing_data_directory_says_scan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", str(tmp_path / "nope")]) == 2
    one_error_line(capsys.readouterr().err, "[ERROR] AERO_SCAN_FAILED: the data directory does not exist")
    assert main(["backup", str(tmp_path / "nope"), "-o", str(tmp_path)]) == 2
    one_error_line(capsys.readouterr().err, "[ERROR] AERO_BACKUP_FAILED: the data directory does not exist")


# --- item 4: paths someone else could have made: FIFOs, devices, links ----------------------------


def test_a_fifo_where_the_restore_journal_goes_hangs_nothing(aerodb_archive: Path, target: Path) -> None:
    journal = target.parent / f".{target.name}.aeroops-restore-journal"
    os.mkfifo(journal)
    before = tree_state(target)
    for argv in (["restore", str(aerodb_archive), str(target)], ["recover", str(target), "--yes"]):
        done = run_cli(*argv, timeout=60)  # before the fix: blocked forever opening the FIFO
        assert done.returncode in (1, 3) and "Traceback" not in done.stderr
        assert "aeroops-restore-journal" in done.stdout + done.stderr
    assert tree_state(target) == before and stat.S_ISFIFO(journal.lstat().st_mode)


@pytest.mark.parametrize("kind", ["fifo", "symlink to the WAL", "device"])
def test_whatever_is_put_where_the_lock_file_goes_is_refused_not_used(
    datadir_1000: Path, out_dir: Path, kind: str
) -> None:
    lock = datadir_1000.parent / f".{datadir_1000.name}.aeroops-lock"
    if kind == "fifo":
        os.mkfifo(lock)
    elif kind == "device":
        os.mknod(lock, stat.S_IFCHR | 0o666, os.makedev(1, 3)) if os.geteuid() == 0 else lock.symlink_to("/dev/null")
    else:
        lock.symlink_to(datadir_1000 / "wal" / "wal.log")  # before the fix: the WAL was truncated
    before = tree_state(datadir_1000)
    done = run_cli("backup", str(datadir_1000), "-o", str(out_dir), timeout=60)
    assert done.returncode == 2
    one_error_line(done.stderr, "[ERROR] AERO_BACKUP_FAILED: cannot create the lock file: it is not a regular file")
    assert tree_state(datadir_1000) == before and list(out_dir.iterdir()) == []


# --- item 11: leftovers --------------------------------------------------------------------------


def test_no_lock_file_stays_behind(datadir_1000: Path, out_dir: Path, aerodb_archive: Path, tmp_path: Path) -> None:
    def around() -> list[str]:
        return sorted(p.name for p in tmp_path.iterdir())

    before = around()
    run_backup(datadir_1000, out_dir, ops=REAL)  # done
    (datadir_1000 / ".lock").write_text("")
    assert main(["backup", str(datadir_1000), "-o", str(out_dir)]) == 2  # refused: AeroDB serves it
    for target in (tmp_path / "missing", aerodb_archive):  # a target that does not exist, or is a file
        assert main(["restore", str(aerodb_archive), str(target), "--yes", "--no-progress"]) == 3
    assert main(["recover", str(tmp_path / "missing"), "--yes"]) == 0
    assert around() == before


def test_demo_writes_only_into_a_new_or_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("mine")
    (tmp_path / "file").write_text("mine")
    for name in ("full", "file"):
        assert main(["demo", str(tmp_path / name), "--records", "20"]) == 2
        one_error_line(capsys.readouterr().err, "[ERROR] AERO_USAGE: the demo writes into a new or empty folder")
    assert (tmp_path / "full" / "mine.txt").read_text() == "mine" and sorted(os.listdir(tmp_path / "full")) == [
        "mine.txt"
    ]


def test_demo_without_a_folder_says_where_it_kept_its_files() -> None:
    done = run_cli("demo", "--records", "20", env={"TMPDIR": tempfile.mkdtemp()})
    assert done.returncode == 0, done.stderr
    kept = done.stdout.splitlines()[-1]
    assert kept.startswith("kept in   ") and kept.endswith("(a temporary folder: remove it when done)")
    folder = Path(kept.removeprefix("kept in   ").split(" (")[0])
    assert (folder / "datadir").is_dir()
    shutil.rmtree(folder.parent)


# --- item 9: dry runs check what the real run checks before its first write ----------------------


def test_a_backup_dry_run_over_an_existing_archive_says_it_would_be_refused(
    datadir_1000: Path, out_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = out_dir / "a.tar"
    archive.write_bytes(b"someone's archive")
    assert main(["backup", str(datadir_1000), "-o", str(archive), "--dry-run"]) == 1
    assert "would be refused: an archive already exists at the output path" in capsys.readouterr().out
    assert main(["backup", str(datadir_1000), "-o", str(archive), "--dry-run", "--overwrite"]) == 0
    assert f"would write {archive}" in capsys.readouterr().out
    assert archive.read_bytes() == b"someone's archive"


@pytest.fixture
def roots_folder() -> Iterator[Path]:
    """A folder of root's that the user nobody can read but not write, holding a data
    directory and an archive."""
    need_nobody()
    with world_readable_folder("aeroops-cli-") as root:
        copy_fixture("datadir-nowal", root / "data")
        copy_fixture("backup-1000.tar", root / "backup-1000.tar")
        for path in [root, *root.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o005 | (0o001 if path.is_dir() else 0))
        yield root


def test_dry_runs_of_a_user_who_cannot_write_say_the_real_run_would_fail(roots_folder: Path) -> None:
    archive, data = roots_folder / "backup-1000.tar", roots_folder / "data"
    before = tree_state(roots_folder)
    preview = run_cli_as_nobody("restore", str(archive), str(data))
    assert preview.returncode == 1, preview.stderr  # before the fix: the plan, and exit 0
    assert f"this user cannot write in {roots_folder}" in preview.stdout
    real = run_cli_as_nobody("restore", str(archive), str(data), "--yes")
    assert real.returncode == 3  # what the dry run foretold
    dry = run_cli_as_nobody("backup", str(data), "-o", str(roots_folder), "--dry-run")
    assert dry.returncode in (1, 2)  # datadir-nowal has no snapshot to back up: refused either way
    assert tree_state(roots_folder) == before


def test_a_restore_that_cannot_create_its_lock_says_permission_denied(roots_folder: Path) -> None:
    """Item 10: it said 'No such file or directory' (of the data directory not made yet)."""
    done = run_cli_as_nobody(
        "restore", str(roots_folder / "backup-1000.tar"), str(roots_folder / "new"), "--create", "--yes"
    )
    assert done.returncode == 3
    one_error_line(done.stderr, "[FATAL] AERO_RESTORE_FAILED: cannot create the lock file: Permission denied")


# --- item 10: messages that say what happened --------------------------------------------------


def test_inspect_of_a_truncated_archive_does_not_claim_the_wal_was_replayed(
    aerodb_archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = aerodb_archive.read_bytes()
    aerodb_archive.write_bytes(data[: len(data) // 2])
    assert main(["inspect", str(aerodb_archive)]) == 1
    out = capsys.readouterr().out
    assert "after WAL replay" not in out and "Logical state (PARTIAL: the archive is not clean" in out


def test_scan_of_an_empty_folder_says_it_is_not_a_data_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scan", str(tmp_path)]) == 0
    assert "this does not look like an AeroDB data directory" in capsys.readouterr().out


def test_an_error_naming_a_path_with_a_line_break_is_still_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scan", str(tmp_path / "a\nb\rc")]) == 2
    assert "a\\nb\\rc" in one_error_line(capsys.readouterr().err, "[ERROR] AERO_SCAN_FAILED: ")


def test_inventory_of_folders_the_user_cannot_read(roots_folder: Path) -> None:
    """Item 7: a PermissionError traceback; and -r passed over an unreadable subfolder in silence."""
    locked = roots_folder / "locked"
    locked.mkdir(mode=0o700)
    whole = run_cli_as_nobody("inventory", str(roots_folder), "-r")
    assert whole.returncode == 1 and "Traceback" not in whole.stderr
    # the reason column wraps between words
    assert "locked/" in whole.stdout and "cannot read this folder:" in whole.stdout
    assert "Permission denied" in whole.stdout
    assert "backup-1000.tar" in whole.stdout  # the rest of the folder is still audited
    done = run_cli_as_nobody("inventory", str(locked))
    assert done.returncode == 2
    one_error_line(done.stderr, "[ERROR] AERO_USAGE: cannot read the folder: Permission denied")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"root:x:0:0:root:/root:/bin/bash\n" * 40, "its first 512 bytes are no tar header"),
        (b"hello", "5 bytes, less than one tar header"),
        (b"", "0 bytes, less than one tar header"),
    ],
)
def test_a_file_that_is_not_a_tar_archive_is_called_that(
    content: bytes, reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_tar = tmp_path / "notes.tar"
    not_tar.write_bytes(content)
    said = f"not a tar archive: {reason}"
    assert main(["verify", str(not_tar)]) == 1
    assert said in capsys.readouterr().out
    assert main(["inspect", str(not_tar)]) == 1
    assert said in capsys.readouterr().out
    assert main(["restore", str(not_tar), str(tmp_path / "data"), "--create", "--yes"]) == 3
    assert said in one_error_line(capsys.readouterr().err, "[FATAL] AERO_RESTORE_")
    assert not (tmp_path / "data").exists()
