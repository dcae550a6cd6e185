"""Every runbook in notebooks/ runs top to bottom through papermill, in a fresh kernel, as CI
runs it, with its demo defaults and with parameters pointing at real paths.

The runbooks hold no test-only lines: the tests read what a person would see in the executed
notebook, the outputs of the cells by tag and the panels' text (the widget state the run
saves). Notebooks are committed without outputs, and open with a cell tagged ``parameters``
(papermill's convention).
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers.data import copy_fixture, tree_state
from helpers.notebooks import NOTEBOOK_DIR, check_ran_cleanly, execute, panels_text, tagged
from papermill.exceptions import PapermillExecutionError

NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
DAMAGED = "aerodb-backup-20260101T030000Z-20260102T120200Z.tar"  # make_demo_backup_folder's

pytestmark = pytest.mark.notebook


# What each runbook shows with its demo defaults: (cell tag or "panels", text it shows).
SHOWN: dict[str, list[tuple[str, str]]] = {
    "01-backup-runbook.ipynb": [
        ("panels", "Backup made"),
        ("panels", "aerodb-backup-20260101T030000Z-"),
        ("verify", "VERIFY: clean"),
        ("contents", "<Chart: WAL operations per collection>"),
        ("contents", "<Chart: documents per collection>"),
    ],
    "02-audit-backup-folder.ipynb": [
        ("panels", "5 verify clean, 2 do not"),
        ("panels", "AERO_VERIFY_CHECKSUM"),
        ("panels", "NOT CLEAN"),
        ("newest-good", "aerodb-backup-20260101T010000Z-20260102T120000Z.tar"),
        ("newest-good", "aerodb-backup-20260101T020000Z-20260102T120100Z.tar"),
        ("newest-good", "aerodb-backup-20260101T030000Z-20260101T120200Z.tar"),
        ("newest-good", "snapshots without a good backup: none"),
    ],
    "03-restore-drill.ipynb": [
        ("panels", "DRILL: PASSED"),
        ("panels", "RESTORED"),
        ("disaster", "data/documents.dat destroyed"),
        ("check", "DRILL: PASSED"),
        ("check", "<Chart: drill comparison>"),
    ],
    "04-retention.ipynb": [
        ("panels", "10 kept, 11 removed"),
        ("timeline", "<td>aerodb-backup-20260101T020000Z-20261118T030000Z.tar</td>"),
        ("timeline", "does not verify clean"),
        ("remove", "removed 11 archives (22 files with their sidecars)"),
        ("panels", "Removed 11 archives"),
        ("left", "<td>aerodb-backup-20260101T020000Z-20261121T030000Z.tar</td>"),
        ("left", "9 h 0 m"),
        ("left", "OK: newest good backup aerodb-backup-20260101T020000Z-20261121T030000Z.tar is 9 h 0 m old"),
        ("left", "10 archives left"),
    ],
    "05-point-in-time-restore.ipynb": [
        ("coverage", "WAL ARCHIVE: 3 segments, read whole"),
        ("coverage", "restorable up to 300"),
        ("coverage", "<Chart: restorable coverage>"),
        ("plan", "records 1..200 from 2 segment(s)"),
        ("drill", "DRILL PASSED"),
        ("check", "restored to timeline 20260101T010000Z, sequence 200"),
    ],
    "06-what-changed.ipynb": [
        ("documents", "documents in nightly-20260104.tar"),
        ("panels", "3 archives in the folder"),
        ("diff", "nightly-20260103.tar → nightly-20260104.tar: 156 added, 42 removed, 57 changed"),
        ("diff", "<Chart: what changed per collection>"),
        ("panels", "156 added, 42 removed, 57 changed"),
        ("history", "orders:orders-000013: first seen in nightly-20260102.tar, unchanged in nightly-20260103.tar"),
        ("history", "<td>rev</td>"),
        ("history", "<td>973</td>"),
    ],
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_runbook_runs_with_its_demo_defaults(path: Path, tmp_path: Path) -> None:
    nb = execute(path, tmp_path)
    check_ran_cleanly(nb)
    for where, text in SHOWN.get(path.name, []):
        shown = panels_text(nb) if where == "panels" else tagged(nb, where)
        assert text in shown, f"{path.name} does not show {text!r} in {where}"
    if path.name == "02-audit-backup-folder.ipynb":
        assert DAMAGED not in tagged(nb, "newest-good"), "a damaged archive was chosen"
    # The demo data, made in the kernel's temporary folder, is gone after the last cell, which says so.
    assert sorted(p.name for p in (tmp_path / "tmp").iterdir() if p.name.startswith("aeroops-")) == []
    assert "demo data removed: " in tagged(nb, "cleanup")


def test_a_runbook_keeps_its_demo_data_when_asked(tmp_path: Path) -> None:
    nb = execute(NOTEBOOK_DIR / "02-audit-backup-folder.ipynb", tmp_path, {"keep_demo": True})
    check_ran_cleanly(nb)
    kept = [p for p in (tmp_path / "tmp").iterdir() if p.name.startswith("aeroops-audit-demo-")]
    assert len(kept) == 1 and any(kept[0].rglob("*.tar"))
    assert f"demo data kept in {kept[0]}" in tagged(nb, "cleanup")
    assert str(kept[0]) in tagged(nb, "folder")  # said where when it was made


def test_the_notebooks_are_there() -> None:
    assert {p.name for p in NOTEBOOKS} >= set(SHOWN)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_clean_with_a_parameters_cell(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and "parameters" in code[0].metadata.get("tags", []), "the first code cell is tagged parameters"
    assert nb.cells[0].cell_type == "markdown", "a runbook starts by saying what it does"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, f"outputs left in {path.name}: {cell.source[:60]}"
    assert "widgets" not in nb.metadata, f"widget state left in {path.name}"
    assert "None" in code[0].source, "the defaults generate demo data"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_runbooks_hold_no_test_only_lines(path: Path) -> None:
    """An operator's notebook: no assert statements, no marker lines printed for a test to grep."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        asserts = [node for node in ast.walk(tree) if isinstance(node, ast.Assert)]
        assert not asserts, f"{path.name}: assert in {cell.source[:60]!r}"
        markers = re.findall(r"print\(f?[\"']([A-Z][A-Z ]+):", cell.source)
        assert not markers, f"{path.name}: test-only lines {markers}"


def test_the_backup_runbook_runs_as_readme_says(tmp_path: Path) -> None:
    """README's papermill line, with the papermill command line, on a data directory written by
    AeroDB itself (and a fixed time)."""
    data_dir = copy_fixture("datadir-1000", tmp_path / "aerodb")
    backups = tmp_path / "backups"
    backups.mkdir()
    output = tmp_path / "out.ipynb"
    command = [sys.executable, "-m", "papermill", str(NOTEBOOK_DIR / "01-backup-runbook.ipynb"), str(output)]
    command += ["-p", "data_dir", str(data_dir), "-p", "backup_dir", str(backups)]
    command += ["-p", "created_at", "2026-02-04T12:00:00Z", "--cwd", str(tmp_path)]
    subprocess.run(command, check=True, capture_output=True, env={**os.environ, "TMPDIR": str(tmp_path)})
    nb = nbformat.read(output, as_version=4)
    check_ran_cleanly(nb)
    archives = [p.name for p in backups.glob("*.tar")]
    assert len(archives) == 1 and archives[0].endswith("-20260204T120000Z.tar")
    assert archives[0] in panels_text(nb) and "VERIFY: clean" in tagged(nb, "verify")
    assert "demo data" not in tagged(nb, "parameters") + panels_text(nb)


def test_the_backup_runbook_stops_with_the_code_when_the_backup_is_refused(tmp_path: Path) -> None:
    data_dir = copy_fixture("datadir-1000", tmp_path / "aerodb")
    shutil.rmtree(data_dir / "snapshots")  # no snapshot: nothing valid to back up
    backups = tmp_path / "backups"
    backups.mkdir()
    with pytest.raises(PapermillExecutionError) as raised:
        execute(
            NOTEBOOK_DIR / "01-backup-runbook.ipynb", tmp_path, {"data_dir": str(data_dir), "backup_dir": str(backups)}
        )
    assert "AERO_BACKUP_FAILED" in str(raised.value) and "no valid snapshot" in str(raised.value)
    assert list(backups.iterdir()) == []


def test_the_audit_runbook_audits_a_real_folder(tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    copy_fixture("backup-1000.tar", folder / "backup-1000.tar")
    nb = execute(NOTEBOOK_DIR / "02-audit-backup-folder.ipynb", tmp_path, {"backup_dir": str(folder)})
    check_ran_cleanly(nb)
    assert "1 verify clean, 0 do not" in panels_text(nb)
    assert "backup-1000.tar" in tagged(nb, "newest-good")


def test_the_restore_runbook_waits_for_confirmation_on_a_real_data_directory(tmp_path: Path) -> None:
    """With real paths and no ``confirm_restore``, it drills and previews, then only asks."""
    data_dir = copy_fixture("datadir-1000", tmp_path / "aerodb")
    archive = copy_fixture("backup-1000.tar", tmp_path / "backup-1000.tar")
    before = tree_state(data_dir)
    nb = execute(
        NOTEBOOK_DIR / "03-restore-drill.ipynb", tmp_path, {"archive": str(archive), "data_dir": str(data_dir)}
    )
    check_ran_cleanly(nb)
    assert "DRILL: PASSED" in panels_text(nb) and "RESTORED" not in panels_text(nb)
    assert "Waiting: press Confirm in the panel above" in tagged(nb, "restore")
    assert tagged(nb, "disaster") == "" and tagged(nb, "check") == ""
    assert tree_state(data_dir) == before
