"""The scan, backup and demo commands, run as a user runs them."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import blake3
import pytest
from helpers.cli import run_cli, unwrapped

from aeroops.cli.main import main


def test_backup_json_and_text(datadir_1000: Path, out_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["backup", str(datadir_1000), "-o", str(out_dir), "--created-at", "2026-02-04T12:00:00Z", "--json"]) == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["archive"] == str(out_dir / "aerodb-backup-20261126T214824Z-20260204T120000Z.tar")
    assert result["created_at"] == "2026-02-04T12:00:00Z" and result["wal_present"] is True
    assert [m["name"] for m in result["members"]][-1] == "wal/wal.log"
    assert Path(result["archive"]).stat().st_size == result["size"]
    assert main(["backup", str(datadir_1000), "-o", str(out_dir / "b.tar"), "--created-at", "2026-02-04T13:00"]) == 0
    text = capsys.readouterr().out
    assert "archive   " + str(out_dir / "b.tar") in text
    assert f"digest    blake3:{blake3.blake3((out_dir / 'b.tar').read_bytes()).hexdigest()}" in text
    assert f"(sidecar {out_dir / 'b.tar.b3'})" in text


def test_backup_digest_option(datadir_1000: Path, out_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = out_dir / "s.tar"
    assert main(["backup", str(datadir_1000), "-o", str(archive), "--digest", "sha256", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["digest"] == f"sha256:{hashlib.sha256(archive.read_bytes()).hexdigest()}"
    assert result["sidecar"] == f"{archive}.sha256"
    assert sorted(p.name for p in out_dir.iterdir()) == ["s.tar", "s.tar.sha256"]
    refused = run_cli("backup", str(datadir_1000), "-o", str(out_dir / "m.tar"), "--digest", "md5")
    assert refused.returncode == 2
    assert (
        refused.stderr
        == "[ERROR] AERO_USAGE: --digest 'md5' is not one of: blake3, sha256 (see `aeroops backup --help`)\n"
    )
    assert not (out_dir / "m.tar").exists()


def test_dry_run_writes_nothing(datadir_1000: Path, out_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backup", str(datadir_1000), "-o", str(out_dir), "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["dry_run"] is True and plan["plan"]["archive_size"] == 267264
    assert plan["sidecar"] == plan["archive"] + ".b3"
    assert main(["backup", str(datadir_1000), "-o", str(out_dir / "x.tar"), "--dry-run", "--digest", "sha256"]) == 0
    assert f"would write {out_dir / 'x.tar'} and x.tar.sha256" in unwrapped(capsys.readouterr().out)
    assert plan["plan"]["manifest"].startswith('{\n  "backup_id": "20261126T214824Z"')
    assert list(out_dir.iterdir()) == []


def test_errors_go_to_stderr_with_code_and_exit_status(datadir_1000: Path, out_dir: Path) -> None:
    (datadir_1000 / ".lock").write_text("")
    done = run_cli("backup", str(datadir_1000), "-o", str(out_dir))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("[ERROR] AERO_BACKUP_FAILED: AeroDB is serving this data directory")
    missing = run_cli("scan", str(out_dir / "nope"))
    assert missing.returncode == 2 and "AERO_SCAN_FAILED: the data directory does not exist" in missing.stderr
    assert "Traceback" not in done.stderr + missing.stderr


def test_scan_shows_verdicts_and_the_choice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from helpers.data import copy_fixture

    data = copy_fixture("datadir-3snap", tmp_path / "d")
    (data / "snapshots/20261126T214908Z/manifest.json").unlink()
    assert main(["scan", str(data)]) == 0
    text = capsys.readouterr().out
    assert "20261126T214908Z incomplete" in unwrapped(text)
    assert "backup of snapshot 20261126T214907Z" in text
    assert "skipped 20261126T214908Z: incomplete" in text
    assert main(["scan", str(data), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [s["verdict"] for s in out["scan"]["snapshots"]] == ["valid", "valid", "incomplete"]
    assert out["scan"]["wal"]["records"] == 900 and out["plan"]["snapshot_id"] == "20261126T214907Z"


def test_backup_command_does_not_import_pandas_or_widgets(datadir_1000: Path, out_dir: Path) -> None:
    code = (
        "import sys; from aeroops.cli.main import main; "
        f"rc = main(['backup', {str(datadir_1000)!r}, '-o', {str(out_dir)!r}]); "
        "heavy = [m for m in ('pandas', 'ipywidgets', 'numpy') if m in sys.modules]; "
        "print(heavy); sys.exit(rc)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_demo_makes_data_backs_it_up_and_verifies(tmp_path: Path) -> None:
    done = run_cli("demo", str(tmp_path / "demo"), "--records", "300", "--json", "--created-at", "2026-01-02T00:00:00Z")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["wal_records"] == 300 and Path(out["backup"]["archive"]).is_file()
    assert out["backup"]["snapshot_id"] == out["snapshots"][-1]


def test_every_command_has_a_description_and_every_argument_help() -> None:
    import argparse

    from aeroops.cli.main import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in commands.choices.items():
        assert parser.description, f"aeroops {name} has no description"
        for action in parser._actions:
            assert action.help, f"aeroops {name} {action.option_strings or action.dest} has no help text"


def test_demo_text_aligns_its_labels(tmp_path: Path) -> None:
    done = run_cli("demo", str(tmp_path / "demo"), "--records", "300", "--created-at", "2026-01-02T00:00:00Z")
    assert done.returncode == 0, done.stderr
    labelled = [line for line in done.stdout.splitlines() if not line.startswith(" ") and line != "packed:"]
    assert [line.split()[0] for line in labelled] == ["demo", "archive", "size", "digest", "backup", "took", "verify"]
    # Every value starts in the same column (the 11th), whatever the label.
    assert all(line[9] == " " and line[10] != " " for line in labelled), labelled
