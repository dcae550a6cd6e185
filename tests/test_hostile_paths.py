"""More of the classes a hostile tester found: paths the user cannot read or
write, or that are not what a command expects, at the arguments the earlier tests left out.
Each ends in one ``[SEVERITY] CODE: message`` line and a documented exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers.archives import build, codes, fixture_bytes, header, read_members, replace_member, verify_bytes
from helpers.cli import one_error_line, run_cli, run_cli_as_nobody, unwrapped
from helpers.data import copy_fixture, tree_state
from helpers.faults import need_nobody, world_readable_folder

from aeroops.cli.main import main
from aeroops.core.restore_target import parse_journal
from aeroops.core.verify import VerifyReport
from aeroops.errors import Code, FormatError
from aeroops.formats.checksum import crc32, format_crc_tag
from aeroops.formats.schemas import parse_schema_ref


@pytest.fixture
def archives(tmp_path: Path) -> Path:
    folder = tmp_path / "archives"
    folder.mkdir()
    copy_fixture("backup-1000.tar", folder / "backup-1000.tar")
    return folder


@pytest.mark.parametrize("kind", ["directory", "missing folder"])
def test_check_prometheus_file_that_cannot_be_written_is_an_output_error(
    archives: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """A traceback (IsADirectoryError, PermissionError from the temporary file) before."""
    metrics = tmp_path / "metrics.prom"
    if kind == "directory":
        metrics.mkdir()
        expected = "[ERROR] AERO_USAGE: the metrics file is a folder: name a file"
    else:
        metrics = tmp_path / "nowhere" / "metrics.prom"
        expected = "[ERROR] AERO_USAGE: the folder for the metrics file does not exist"
    assert main(["check", str(archives), "--max-age", "1d", "--prometheus", str(metrics), "--no-progress"]) == 2
    one_error_line(capsys.readouterr().err, expected)
    assert not [p for p in (metrics.parent.iterdir() if metrics.parent.is_dir() else []) if p.suffix == ".tmp"]


@pytest.fixture
def roots_folder() -> Iterator[Path]:
    """A folder of root's that nobody can read but not write: an archive and two data
    directories, one of them unreadable to anyone but root."""
    need_nobody()
    with world_readable_folder("aeroops-hostile-") as root:
        copy_fixture("backup-1000.tar", root / "backup-1000.tar")
        (root / "backup-1000.tar").chmod(0o644)
        (root / "locked").mkdir(mode=0o700)
        (root / "locked" / "wal").mkdir()
        yield root


def test_check_prometheus_in_a_folder_the_user_cannot_write(roots_folder: Path) -> None:
    done = run_cli_as_nobody(
        "check", str(roots_folder), "--max-age", "1d", "--prometheus", str(roots_folder / "x.prom"), "--no-progress"
    )
    assert done.returncode == 2
    one_error_line(done.stderr, "[ERROR] AERO_OUTPUT: cannot write the metrics file: Permission denied")


def test_restore_into_a_data_directory_the_user_cannot_list(roots_folder: Path) -> None:
    """A PermissionError traceback from listing the data directory, in the dry run and the real one."""
    before = tree_state(roots_folder)
    archive, data = str(roots_folder / "backup-1000.tar"), str(roots_folder / "locked")
    preview = run_cli_as_nobody("restore", archive, data, "--no-progress")
    assert preview.returncode == 1 and "Traceback" not in preview.stderr, preview.stderr
    assert "restore refused [unreadable]: this user cannot list the data directory" in preview.stdout
    real = run_cli_as_nobody("restore", archive, data, "--yes", "--no-progress")
    assert real.returncode == 3
    one_error_line(real.stderr, "[FATAL] AERO_RESTORE_FAILED: ")
    assert tree_state(roots_folder) == before


def test_a_backup_refused_over_an_existing_archive_names_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said "pass overwrite", the Python keyword, to a user of the command line."""
    data = copy_fixture("datadir-1000", tmp_path / "data")
    archive = tmp_path / "a.tar"
    archive.write_bytes(b"someone's archive")
    assert main(["backup", str(data), "-o", str(archive), "--no-progress"]) == 2
    line = one_error_line(capsys.readouterr().err, "[ERROR] AERO_BACKUP_FAILED: an archive already exists")
    assert "--overwrite" in line
    assert main(["backup", str(data), "-o", str(archive), "--dry-run"]) == 1
    assert "--overwrite" in capsys.readouterr().out
    assert archive.read_bytes() == b"someone's archive"


@pytest.mark.parametrize(
    ("journal", "reason"),
    [
        (b'{"aeroops_restore_journal": 1, "\x94', "not UTF-8 at byte 32"),
        (b'{"aeroops_restore_journal": 1}', "field 'mode' is missing or not a string"),
        (
            b'{"aeroops_restore_journal": 1, "mode": "swap", "pid": 1}',
            "field 'mode' is 'swap', not one of replace, create",
        ),
        (
            b'{"aeroops_restore_journal": 1, "mode": "create", "data_dir": "/d", "backup_id": "b", "archive": "a"}',
            "field 'pid' is missing or not a process id",
        ),
        (b"[" * 100_000, "not valid JSON: "),
        (b'{"aeroops_restore_journal": 1, "mode": "create", "pid": ' + b"9" * 5000 + b"}", "not valid JSON: "),
    ],
)
def test_a_damaged_restore_journal_is_described_in_the_users_words(journal: bytes, reason: str) -> None:
    """It said Python's own words: "'pid'" (a KeyError), "'swap' is not a valid RestoreMode",
    "'utf-8' codec can't decode byte 0x94 in position 32"."""
    with pytest.raises(FormatError) as caught:
        parse_journal(journal)
    assert caught.value.code is Code.RESTORE_JOURNAL
    assert caught.value.message.startswith(f"the restore journal does not parse: {reason}"), caught.value.message
    assert "RestoreMode" not in caught.value.message and "codec" not in caught.value.message


def test_recover_names_a_journal_that_is_not_utf8_in_the_users_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / ".data.aeroops-restore-journal").write_bytes(b"\x94" * 100)
    assert main(["recover", str(tmp_path / "data")]) == 1
    out = capsys.readouterr().out
    assert "the restore journal does not parse: not UTF-8 at byte 0" in unwrapped(out) and "codec" not in out


# --- item 12: schema files AeroDB's parser would refuse define no schema ----------------------


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda data: b"\xef\xbb\xbf" + data, id="byte order mark"),
        pytest.param(lambda data: data.decode().encode("utf-16"), id="UTF-16"),
        pytest.param(lambda data: data.replace(b"{", b'{"x": NaN,', 1), id="NaN"),
        pytest.param(lambda data: data.replace(b"{", b'{"schema_id": "orders",', 1), id="repeated schema_id"),
    ],
)
def test_a_schema_file_aerodbs_parser_refuses_is_a_finding(spoil: Callable[[bytes], bytes]) -> None:
    """Python's json took each of these, so verify called the archive clean; AeroDB's loader
    (serde_json) refuses them, and the restored directory's records name a schema it lacks."""
    assert with_users_schema(lambda data: data).ok  # rebuilt as it was: clean
    report = with_users_schema(spoil)
    assert Code.VERIFY_SCHEMA_MISSING in codes(report) and not report.ok, codes(report)


def with_users_schema(spoil: Callable[[bytes], bytes]) -> VerifyReport:
    """The verdict on AeroDB's archive with its users schema file spoilt (and the snapshot
    manifest's CRC of it updated, so only the contents are wrong)."""
    members = read_members(fixture_bytes("backup-1000.tar"))
    name = "snapshot/schemas/schema_users_v1.json"
    spoilt = spoil(dict(members)[name])
    manifest = json.loads(dict(members)["snapshot/manifest.json"])
    manifest["schema_checksums"]["schema_users_v1.json"] = format_crc_tag(crc32(spoilt))
    members = replace_member(members, name, spoilt)
    members = replace_member(members, "snapshot/manifest.json", json.dumps(manifest, indent=2).encode())
    return verify_bytes(build(members))


@pytest.mark.parametrize(
    "data",
    [b"\xef\xbb\xbf{}", '{"schema_id": "u", "schema_version": "1"}'.encode("utf-16"), b'{"schema_id": "\\ud800"}'],
)
def test_parse_schema_ref_is_as_strict_as_aerodb(data: bytes) -> None:
    with pytest.raises(FormatError) as caught:
        parse_schema_ref(data)
    assert caught.value.code is Code.SCHEMA_INVALID


# --- --source: a name the manifest can carry, or AERO_USAGE before anything is written ---------


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("", "it is empty or has spaces around it"),
        (" prod", "it is empty or has spaces around it"),
        ("\u2028", "it is empty or has spaces around it"),
        ("a\nb", "it holds a line break"),
        ("pr\x85od", "it holds a line break"),
        ("x\udcff", "bytes that are not UTF-8"),  # what a name that is not UTF-8 becomes in argv
        ("a" * 100_000, "it is longer than 255 bytes"),
    ],
)
def test_a_source_name_the_manifest_cannot_carry_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, why: str
) -> None:
    """Before: a UnicodeEncodeError traceback (not UTF-8); a published archive that failed its
    own verify (100,000 bytes: the manifest passed verify's 64 KiB limit); names that break the
    prune table's line or look like another source (empty, spaces, a line break)."""
    data = copy_fixture("datadir-1000", tmp_path / "data")
    out = tmp_path / "out"
    out.mkdir()
    for dry_run in (["--dry-run"], []):
        assert main(["backup", str(data), "-o", str(out), "--source", source, "--no-progress", *dry_run]) == 2
        line = one_error_line(capsys.readouterr().err, "[ERROR] AERO_USAGE: the source name ")
        assert why in line and line.endswith("(--source)")
    assert list(out.iterdir()) == []


def test_a_printable_source_name_is_recorded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = copy_fixture("datadir-1000", tmp_path / "data")
    archive = tmp_path / "a.tar"
    source = 'prod-db \u00e9t\u00e9 "eu" ../x ' + "s" * 200
    assert main(["backup", str(data), "-o", str(archive), "--source", source, "--no-progress"]) == 0
    assert main(["verify", str(archive), "--no-progress"]) == 0  # the archive it published verifies
    manifest = json.loads(dict(read_members(archive.read_bytes()))["backup_manifest.json"] or b"")
    assert manifest["source"] == source


def with_magic(magic: bytes) -> bytes:
    """A header block with this magic, its checksum made right."""
    block = bytearray(header("a.json"))
    block[257:265] = magic
    block[148:156] = b" " * 8
    block[148:156] = b"%07o\x00" % sum(block)
    return bytes(block)


@pytest.mark.parametrize(
    ("archive", "expected"),
    [
        (b"# a text file, not an archive\n".ljust(2048, b"x"), "checksum field 'xxxxxxxx' is not octal"),
        (with_magic(b"ustar\xff\x01\x02") + bytes(1536), "unknown header magic 'ustar\\xff\\x01\\x02'"),
    ],
)
def test_tar_header_findings_show_bytes_without_pythons_b_prefix(archive: bytes, expected: str) -> None:
    """It said "checksum field b'xxxxxxxx' is not octal": Python's notation for bytes."""
    messages = [f.message for f in verify_bytes(archive).findings if f.code in (Code.TAR_HEADER, Code.TAR_CHECKSUM)]
    assert messages and all("b'" not in m and 'b"' not in m for m in messages), messages
    assert any(expected in m for m in messages), messages


# --- demo: a run that cannot be made is refused in the CLI's words, leaving no folder behind ---


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--snapshots", "0"], "[ERROR] AERO_USAGE: --snapshots: "),
        (["--storage-mib", "99999999999"], "[ERROR] AERO_USAGE: 99999999999 MiB of storage padding (--storage-mib"),
        (["--records", "0", "--storage-mib", "1"], "[ERROR] AERO_USAGE: the storage padding (--storage-mib"),
    ],
)
def test_a_demo_that_cannot_be_made_leaves_no_temporary_folder(
    tmp_path: Path, options: list[str], expected: str
) -> None:
    """Before: each left an aeroops-demo-* folder in the temporary folder, unnamed; --snapshots 0
    made the demo data and then failed its backup (AERO_BACKUP_FAILED); the others spoke of
    storage_bytes= and wal_records, the Python API's names."""
    done = run_cli("demo", *options, env={"TMPDIR": str(tmp_path)})
    assert done.returncode == 2
    one_error_line(done.stderr, expected)
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_demo_leaves_no_temporary_folder(tmp_path: Path) -> None:
    """Ctrl-C during the demo (made to happen at the backup): its temporary folder is removed."""
    script = (
        "import sys\n"
        "import aeroops.executor.backup as backup\n"
        "def interrupted(*args, **kwargs):\n"
        "    raise KeyboardInterrupt\n"
        "backup.run_backup = interrupted\n"
        "from aeroops.cli.main import main\n"
        "sys.exit(main(['demo', '--records', '50', '--snapshots', '1']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, "TMPDIR": str(tmp_path)}, capture_output=True, text=True
    )
    assert done.returncode == 130, done.stderr
    one_error_line(done.stderr, "[ERROR] AERO_INTERRUPTED: interrupted")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["demo", "--records"], ["prune", ".", "--keep-last"]])
def test_a_count_too_large_is_called_too_large(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """It said "'99999999999999999999' is not a whole number": the wrong cause."""
    assert main([*argv, "9" * 20]) == 2
    line = one_error_line(capsys.readouterr().err, "[ERROR] AERO_USAGE: --")
    assert "is too large (at most 18 digits)" in line and "not a whole number" not in line


@pytest.mark.parametrize("argv", [["prune", ".", "--keep-within"], ["check", ".", "--max-age"]])
def test_a_duration_too_long_is_called_too_long(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """It said "'99999999999999y' is not a duration like 26h": the wrong cause."""
    assert main([*argv, "9" * 14 + "y"]) == 2
    line = one_error_line(capsys.readouterr().err, "[ERROR] AERO_USAGE: --")
    assert "is too long a duration" in line and "not a duration like" not in line


@pytest.mark.parametrize("node", ["fifo", "link to a fifo", "socket"])
@pytest.mark.parametrize("verb", ["backup", "backup --overwrite", "export", "check --prometheus"])
def test_an_output_that_is_no_regular_file_is_refused_and_left_as_it_is(tmp_path: Path, verb: str, node: str) -> None:
    """Outputs are renamed over their path: a FIFO (or, as root, /dev/null) there was replaced
    by a regular file. Tested on a FIFO and a socket: never on a real device."""
    import socket

    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / ("out.prom" if "check" in verb else "out.tar" if "backup" in verb else "out.csv")
    if node == "socket":
        with socket.socket(socket.AF_UNIX) as bound:
            bound.bind(str(target))  # the socket file stays once closed
    else:
        fifo = folder / "fifo" if node == "link to a fifo" else target
        os.mkfifo(fifo)
        if fifo != target:
            target.symlink_to(fifo)
    data, archive = tmp_path / "data", tmp_path / "backup-1000.tar"
    copy_fixture("datadir-1000", data)
    copy_fixture("backup-1000.tar", archive)
    args = {
        "backup": ["backup", str(data), "-o", str(target)],
        "backup --overwrite": ["backup", str(data), "-o", str(target), "--overwrite"],
        "export": ["export", str(archive), "-o", str(target)],
        "check --prometheus": ["check", str(tmp_path), "--max-age", "100000d", "--prometheus", str(target)],
    }[verb]
    before = sorted((p.name, p.lstat().st_mode) for p in folder.iterdir())
    done = run_cli(*args, "--no-progress")
    code = "AERO_BACKUP_FAILED" if "backup" in verb else "AERO_USAGE"
    kind = "a socket" if node == "socket" else "a FIFO"
    one_error_line(done.stderr, f"[ERROR] {code}: ")
    assert f"is {kind}: name a file" in done.stderr and done.returncode == 2
    assert sorted((p.name, p.lstat().st_mode) for p in folder.iterdir()) == before
