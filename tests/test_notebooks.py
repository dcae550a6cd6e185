"""Every notebook in notebooks/ runs top to bottom in a fresh kernel, headless, as CI runs it.

A new notebook is picked up by the glob. A run fails on any error output; the key outputs of
the known notebooks (the verdict of the backup made, ...) are checked too. Notebooks are
committed without outputs, and open with a cell tagged ``parameters`` (papermill's convention).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import copy_fixture, tree_state
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

# Lines each notebook must print with its demo defaults (a notebook not listed must just run).
EXPECTED: dict[str, list[str]] = {
    "01-backup-runbook.ipynb": ["BACKUP: aerodb-backup-20260101T030000Z-", "VERIFY: clean", "DOCUMENTS: 2269 in 3"],
    "02-audit-backup-folder.ipynb": [
        "INVENTORY: 7 files, 5 verify clean, 2 do not",
        "NOT CLEAN: aerodb-backup-20260101T030000Z-20260102T120200Z.tar",
        "NOT CLEAN: notes.tar",
        "NEWEST GOOD: 20260101T030000Z: aerodb-backup-20260101T030000Z-20260101T120200Z.tar",
        "snapshots without a good backup: none",
    ],
    "03-restore-drill.ipynb": [
        "DRILL: PASSED",
        "demo: data/documents.dat destroyed",
        "RESTORED: ",
        "DRILL AFTER RESTORE: PASSED",
    ],
    "04-retention.ipynb": [
        "PLAN: 10 kept, 11 to remove",
        "LEFT ALONE: aerodb-backup-20260101T020000Z-20261118T030000Z.tar: does not verify clean",
        "REMOVED: 11 archives, 22 files",
        "NEWEST GOOD: aerodb-backup-20260101T020000Z-20261121T030000Z.tar",
        "OK: newest good backup aerodb-backup-20260101T020000Z-20261121T030000Z.tar is 9h 0m old (within 26h)",
        "ARCHIVES LEFT: 10",
    ],
}

pytestmark = pytest.mark.notebook


def execute(path: Path, workdir: Path, parameters: dict[str, Any] | None = None) -> nbformat.NotebookNode:
    """Run the notebook in a fresh kernel whose working and temporary folders are ``workdir``;
    ``parameters`` are injected after the ``parameters`` cell, as papermill does."""
    nb = nbformat.read(path, as_version=4)
    if parameters:
        index = next(i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", []))
        source = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
        injected = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
        nb.cells.insert(index + 1, injected)
    tmp = workdir / "tmp"
    tmp.mkdir(exist_ok=True)
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", record_timing=False, resources={"metadata": {"path": str(workdir)}}
    )
    client.execute(env={**os.environ, "TMPDIR": str(tmp)})  # demo data lands in the test's folder
    return nb


def outputs(nb: nbformat.NotebookNode) -> list[dict[str, Any]]:
    return [output for cell in nb.cells if cell.cell_type == "code" for output in cell.get("outputs", [])]


def printed(nb: nbformat.NotebookNode) -> str:
    return "".join(o["text"] for o in outputs(nb) if o["output_type"] == "stream" and o["name"] == "stdout")


def widget_views(nb: nbformat.NotebookNode) -> list[str]:
    """The model ids of the widgets the notebook displayed."""
    return [
        o["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
        for o in outputs(nb)
        if o["output_type"] == "display_data" and "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path) -> None:
    nb = execute(path, tmp_path)
    errors = [o for o in outputs(nb) if o["output_type"] == "error"]
    assert not errors, f"{errors[0]['ename']}: {errors[0]['evalue']}" if errors else ""
    stderr = "".join(o["text"] for o in outputs(nb) if o["output_type"] == "stream" and o["name"] == "stderr")
    assert "Traceback" not in stderr, stderr
    text = printed(nb)
    for line in EXPECTED.get(path.name, []):
        assert line in text, f"{path.name} did not print {line!r}; it printed:\n{text}"
    assert widget_views(nb), "every runbook shows its panel"


def test_the_notebooks_are_there() -> None:
    assert {p.name for p in NOTEBOOKS} >= {"01-backup-runbook.ipynb", "02-audit-backup-folder.ipynb"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_clean_with_a_parameters_cell(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and "parameters" in code[0].metadata.get("tags", []), "the first code cell is tagged parameters"
    assert nb.cells[0].cell_type == "markdown", "a runbook starts by saying what it does"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, f"outputs left in {path.name}: {cell.source[:60]}"
    defaults = code[0].source
    assert "None" in defaults, "the defaults generate demo data"


def test_the_backup_runbook_runs_against_real_paths(tmp_path: Path) -> None:
    """Parameters point it at a data directory written by AeroDB itself, and fix the time."""
    data_dir = copy_fixture("datadir-1000", tmp_path / "aerodb")
    backups = tmp_path / "backups"
    backups.mkdir()
    nb = execute(
        NOTEBOOK_DIR / "01-backup-runbook.ipynb",
        tmp_path,
        {"data_dir": str(data_dir), "backup_dir": str(backups), "created_at": "2026-02-04T12:00:00Z"},
    )
    text = printed(nb)
    assert "demo data" not in text and f"data directory: {data_dir}" in text
    archives = [p.name for p in backups.glob("*.tar")]
    assert len(archives) == 1 and archives[0].endswith("-20260204T120000Z.tar")
    assert f"BACKUP: {archives[0]}" in text and "VERIFY: clean" in text


def test_the_backup_runbook_stops_with_the_code_when_the_backup_is_refused(tmp_path: Path) -> None:
    data_dir = copy_fixture("datadir-1000", tmp_path / "aerodb")
    shutil.rmtree(data_dir / "snapshots")  # no snapshot: nothing valid to back up
    backups = tmp_path / "backups"
    backups.mkdir()
    with pytest.raises(CellExecutionError) as raised:
        execute(
            NOTEBOOK_DIR / "01-backup-runbook.ipynb", tmp_path, {"data_dir": str(data_dir), "backup_dir": str(backups)}
        )
    assert "AERO_BACKUP_FAILED" in str(raised.value) and "no valid snapshot" in str(raised.value)
    assert list(backups.iterdir()) == []


def test_the_restore_runbook_waits_for_confirmation_on_a_real_data_directory(tmp_path: Path) -> None:
    """With real paths and no ``confirm_restore``, it drills and previews, then only asks."""
    data_dir = copy_fixture("datadir-1000", tmp_path / "aerodb")
    archive = copy_fixture("backup-1000.tar", tmp_path / "backup-1000.tar")
    before = tree_state(data_dir)
    nb = execute(
        NOTEBOOK_DIR / "03-restore-drill.ipynb", tmp_path, {"archive": str(archive), "data_dir": str(data_dir)}
    )
    text = printed(nb)
    assert "DRILL: PASSED" in text and "demo:" not in text
    assert "Waiting: press Confirm in the panel above" in text and "RESTORED:" not in text
    assert tree_state(data_dir) == before
