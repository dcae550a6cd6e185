"""`aeroops verify`, `inspect` and `inventory`: outputs in every format and the exit codes."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from helpers.archives import FIXTURE_ARCHIVES, SIDECARS, fixture_bytes, hex_digest, tagged
from helpers.cli import run_main
from helpers.data import AERODB_FIXTURES


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    data = bytearray(fixture_bytes("backup-1000.tar"))
    data[7000] ^= 0x01  # inside snapshot/storage.dat
    path = tmp_path / "damaged.tar"
    path.write_bytes(bytes(data))
    return path


# --- verify -----------------------------------------------------------------------------------


def test_verify_exits_0_when_every_archive_is_clean_warnings_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    archives = [str(AERODB_FIXTURES / name) for name in FIXTURE_ARCHIVES]
    code, out, _ = run_main(capsys, "verify", *archives)
    assert code == 0
    assert "backup-1000.tar: OK" in out and "backup-nowal.tar: OK" in out
    assert "[WARNING] AERO_VERIFY_NO_WAL_DIR" in out and "3 archives: 3 OK, 0 not OK" in out


def test_verify_exits_1_when_any_archive_is_not(capsys: pytest.CaptureFixture[str], damaged: Path) -> None:
    code, out, _ = run_main(capsys, "verify", str(AERODB_FIXTURES / "backup-1000.tar"), str(damaged))
    assert code == 1
    assert "damaged.tar: NOT OK" in out and "[ERROR] AERO_VERIFY_CHECKSUM" in out and "snapshot/storage.dat" in out
    code, out, _ = run_main(capsys, "verify", str(damaged.parent / "missing.tar"))
    assert code == 1 and "[FATAL] AERO_VERIFY_IO" in out


def test_verify_json_is_one_report_per_archive(capsys: pytest.CaptureFixture[str], damaged: Path) -> None:
    nowal = str(AERODB_FIXTURES / "backup-nowal.tar")
    code, out, _ = run_main(capsys, "verify", "--format", "json", nowal, str(damaged))
    reports = json.loads(out)
    assert code == 1 and [r["ok"] for r in reports] == [True, False]
    assert reports[0]["counts"] == {"INFO": 0, "WARNING": 2, "ERROR": 0, "FATAL": 0}  # no sidecar, no wal/
    finding = reports[1]["findings"][1]
    assert reports[1]["findings"][0]["code"] == "AERO_VERIFY_NO_SIDECAR"
    assert finding["code"] == "AERO_VERIFY_CHECKSUM" and finding["path"] == "snapshot/storage.dat"
    assert reports[1]["backup_manifest"]["wal_present"] is True


def test_verify_csv_is_one_row_per_finding(capsys: pytest.CaptureFixture[str], damaged: Path) -> None:
    nowal = str(AERODB_FIXTURES / "backup-nowal.tar")
    code, out, _ = run_main(capsys, "verify", "--format", "csv", nowal, str(damaged))
    rows = list(csv.DictReader(io.StringIO(out)))
    # each archive's findings, the most severe first
    assert code == 1 and [r["code"] for r in rows] == [
        "AERO_VERIFY_NO_SIDECAR",
        "AERO_VERIFY_NO_WAL_DIR",
        "AERO_VERIFY_CHECKSUM",
        "AERO_VERIFY_NO_SIDECAR",
    ]
    assert rows[2]["offset"] == "6656" and rows[2]["archive"].endswith("damaged.tar")


def test_verify_names_the_sidecar_it_checked(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = fixture_bytes("backup-1000.tar")
    for name, algorithm in (("new.tar", "blake3"), ("old.tar", "sha256")):
        (tmp_path / name).write_bytes(data)
        (tmp_path / f"{name}{SIDECARS[algorithm][0]}").write_text(f"{hex_digest(algorithm, data)}  {name}\n")
    code, out, _ = run_main(capsys, "verify", str(tmp_path / "new.tar"), str(tmp_path / "old.tar"))
    assert code == 0 and "blake3 sidecar checked" in out and "sha256 sidecar checked" in out
    code, out, _ = run_main(capsys, "verify", "--format", "json", str(tmp_path / "new.tar"), str(tmp_path / "old.tar"))
    reports = json.loads(out)
    assert [(r["digest"], r["sidecar_digest"]) for r in reports] == [
        (tagged("blake3", data), tagged("blake3", data)),
        (tagged("sha256", data), tagged("sha256", data)),
    ]


# --- inspect ----------------------------------------------------------------------------------


def test_inspect_table_with_wal_and_documents(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "inspect", str(AERODB_FIXTURES / "backup-1000.tar"))
    assert code == 0
    assert "Members" in out and "snapshot/storage.dat" in out and "crc32:e6bf1eff" in out
    assert "Logical state" in out and "443 documents" in out
    assert "WAL:" not in out and "Documents" not in out
    code, out, _ = run_main(capsys, "inspect", str(AERODB_FIXTURES / "backup-1000.tar"), "--wal", "--documents")
    assert "WAL: 1000 records" in out and "sequences 1..1000" in out
    assert "Documents\ncollection  document_id" in out and out.count("crc32:") >= 443 + 6


def test_inspect_json_and_csv(capsys: pytest.CaptureFixture[str], damaged: Path) -> None:
    code, out, _ = run_main(capsys, "inspect", str(damaged), "--format", "json", "--documents")
    result = json.loads(out)
    assert code == 1 and not result["ok"]
    storage = next(m for m in result["members"] if m["name"] == "snapshot/storage.dat")
    assert storage["checksum_expected"] == "crc32:e6bf1eff" and storage["checksum_found"] != "crc32:e6bf1eff"
    assert "document_list" in result["logical"] and "groups" not in result["wal"]
    code, out, _ = run_main(capsys, "inspect", str(AERODB_FIXTURES / "backup-3snap.tar"), "--format", "csv", "--wal")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and sum(int(r["records"]) for r in rows) == 900
    code, out, _ = run_main(capsys, "inspect", str(AERODB_FIXTURES / "backup-3snap.tar"), "--format", "csv")
    assert next(csv.reader(io.StringIO(out)))[:2] == ["status", "name"]  # the verdict first


def test_inspect_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    archive = str(AERODB_FIXTURES / "backup-1000.tar")
    code, out, err = run_main(capsys, "inspect", archive, "--format", "csv", "--wal", "--documents")
    assert code == 2 and out == "" and err.startswith("[ERROR] AERO_USAGE")
    missing = str(tmp_path / "missing.tar")
    code, out, err = run_main(capsys, "inspect", missing)  # what verify says of it
    assert (code, out, err) == (*run_main(capsys, "verify", missing)[:2], "")
    assert code == 1 and "[FATAL] AERO_VERIFY_IO: cannot read the archive: No such file or directory" in out


# --- inventory --------------------------------------------------------------------------------


def test_inventory_table_and_exit_codes(
    capsys: pytest.CaptureFixture[str], aerodb_archives: Path, damaged: Path
) -> None:
    code, out, _ = run_main(capsys, "inventory", str(aerodb_archives))
    # Every archive reads fine: no reason to give, so no reason column (it gives its room away).
    assert code == 0 and out.splitlines()[0].split()[:3] == ["file", "size", "age"]
    assert len(out.splitlines()) == 4 and "backup-nowal.tar" in out
    shutil.copyfile(damaged, aerodb_archives / "damaged.tar")
    code, out, _ = run_main(capsys, "inventory", str(aerodb_archives))
    assert code == 0  # the manifest is fine: only verification sees the damage
    code, out, _ = run_main(capsys, "inventory", str(aerodb_archives), "--verify")
    assert code == 1 and "errors" in out.splitlines()[0] and "reason" in out.splitlines()[0]
    (aerodb_archives / "junk.tar").write_text("junk")
    code, out, _ = run_main(capsys, "inventory", str(aerodb_archives))
    assert code == 1 and "AERO_TAR" in out


def test_inventory_json_is_a_list_of_row_objects(capsys: pytest.CaptureFixture[str], aerodb_archives: Path) -> None:
    code, out, _ = run_main(capsys, "inventory", str(aerodb_archives), "--verify", "--format", "json")
    rows = json.loads(out)
    assert code == 0 and isinstance(rows, list) and len(rows) == 3
    assert [r["file"] for r in rows] == sorted(FIXTURE_ARCHIVES)
    assert rows[2]["warnings"] == 2 and rows[2]["ok"] is True and rows[2]["wal_present"] is False  # + no sidecar
    assert [r["sidecar"] for r in rows] == [None, None, None]
    assert set(rows[0]) >= {"file", "size", "backup_id", "snapshot_id", "created_at", "age", "sidecar", "ok"}


def test_inventory_csv_and_recursion(capsys: pytest.CaptureFixture[str], aerodb_archives: Path) -> None:
    (aerodb_archives / "sub").mkdir()
    shutil.copyfile(AERODB_FIXTURES / "backup-1000.tar", aerodb_archives / "sub" / "again.tar")
    code, out, _ = run_main(capsys, "inventory", str(aerodb_archives), "--format", "csv")
    assert code == 0 and len(list(csv.DictReader(io.StringIO(out)))) == 3
    code, out, _ = run_main(capsys, "inventory", str(aerodb_archives), "-r", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert "sub/again.tar" in [r["file"] for r in rows] and rows[0]["size"] == "267264"
    code, _, err = run_main(capsys, "inventory", str(aerodb_archives / "nope"))
    assert code == 2 and "AERO_USAGE" in err
