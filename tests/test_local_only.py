"""What only a local disk holds (a data directory, an identity or recipients file, the demo's
folder) refuses a URL in one coded line naming it whole (issue 25: every place that takes a
folder takes a URL, and those that cannot say so). Before, ``s3://backups/db/`` became the path
``s3:/backups/db``: "does not exist" naming a path the user never typed, and ``demo`` created
the folders ``s3:/backups/...`` in the current folder. No server is needed: each is refused
before anything is read."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.cli import run_main

from aeroops.panels import BackupPanel, RestorePanel

URL = "s3://backups/db/"


@pytest.mark.parametrize(
    "arguments",
    [
        ["scan", URL],
        ["recover", URL],
        ["recover", URL, "--yes"],
        ["backup", URL, "-o", "OUT"],
        ["restore", "ARCHIVE", URL, "--yes"],
        ["restore", "ARCHIVE", URL, "--create", "--yes"],
        ["restore", "OUT", URL, "--latest", "--create", "--yes"],
        ["restore", "OUT", URL, "--to-sequence", "5", "--create"],
        ["drill", "ARCHIVE", "--source", URL],
        ["archive-wal", URL, "-o", "OUT"],
        ["demo", URL],
        ["verify", "ARCHIVE", "--identity", URL + "key.txt"],
        ["backup", "DATA", "-o", "OUT", "--recipients-file", URL + "recipients.txt"],
        ["drill", "ARCHIVE", "--scratch", URL],
        ["drill", "OUT", "--latest", "--scratch", URL],
        ["check", "OUT", "--max-age", "1h", "--prometheus", URL + "x.prom"],
        ["check", "OUT", "--max-wal-age", "1h", "--prometheus", URL + "x.prom"],
    ],
)
def test_a_url_where_only_a_local_path_will_do_is_one_coded_line(
    arguments: list[str],
    aerodb_archive: Path,
    datadir_1000: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)  # where a URL folded into a relative path would have been created
    names = {"ARCHIVE": str(aerodb_archive), "DATA": str(datadir_1000), "OUT": str(out)}
    code, stdout, stderr = run_main(capsys, *[names.get(a, a) for a in arguments])
    assert code == 2 and "Traceback" not in stderr
    first = stderr.splitlines()[0]
    assert first.startswith("[ERROR] AERO_USAGE: ") and "is a local path" in first, stderr
    assert "s3://backups/db/" in first and "s3:/backups" not in stderr + stdout
    if arguments[0] != "drill":  # a drill's report follows, saying it failed and why
        assert len(stderr.splitlines()) == 1 and stdout == ""
    assert list(work.iterdir()) == [] and list(out.iterdir()) == []


def test_the_identity_file_of_the_environment_is_local_too(
    aerodb_archive: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AEROOPS_IDENTITY_FILE", URL + "key.txt")
    code, _, stderr = run_main(capsys, "verify", str(aerodb_archive))
    assert code == 2 and stderr.startswith("[ERROR] AERO_USAGE: an identity file is a local path")
    assert URL + "key.txt" in stderr


def test_the_panels_show_the_refusal(aerodb_archive: Path, tmp_path: Path) -> None:
    backup = BackupPanel(URL, tmp_path)
    backup.run()
    assert "is a local path" in backup.error_box.value and URL in backup.error_box.value
    restore = RestorePanel(aerodb_archive, URL)
    assert restore.preview() is None
    assert "is a local path" in restore.error_box.value and URL in restore.error_box.value
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup-1000.tar"]
