"""The runbooks in notebooks/, executed as CI runs them (papermill, a fresh kernel, in a folder of
their own), and what an executed notebook showed: cell outputs by tag, the panels' text."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any
from unittest import mock

import nbformat
import papermill

from helpers.html import text_of

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"


def execute(path: Path, workdir: Path, parameters: dict[str, Any] | None = None) -> nbformat.NotebookNode:
    """Run the notebook with papermill, in place in a folder of its own (``workdir/run``, which
    must hold nothing else afterwards), temporary files under ``workdir/tmp``."""
    run_dir, tmp = workdir / "run", workdir / "tmp"
    run_dir.mkdir(exist_ok=True)
    tmp.mkdir(exist_ok=True)
    shutil.copyfile(path, run_dir / path.name)
    output = workdir / f"executed-{path.name}"
    with mock.patch.dict(os.environ, {"TMPDIR": str(tmp)}):  # the kernel's temporary folder
        papermill.execute_notebook(
            run_dir / path.name,
            output,
            parameters=parameters or {},
            cwd=run_dir,
            kernel_name="python3",
            progress_bar=False,
        )
    left = sorted(p.name for p in run_dir.iterdir())
    assert left == [path.name], f"running {path.name} in place left {left} beside it"
    return nbformat.read(output, as_version=4)


def tagged(nb: nbformat.NotebookNode, tag: str) -> str:
    """What the cell tagged ``tag`` printed and displayed, as text."""
    cells = [cell for cell in nb.cells if tag in cell.metadata.get("tags", [])]
    assert len(cells) == 1, f"one cell tagged {tag!r}, not {len(cells)}"
    return "".join(_text(output) for output in cells[0].get("outputs", []))


def _text(output: dict[str, Any]) -> str:
    if output["output_type"] == "stream":
        return str(output["text"])
    data = output.get("data", {})
    if "text/plain" in data and "<Chart:" in str(data["text/plain"]):
        assert str(data.get("image/png", "")).startswith("iVBOR"), "a chart shows as a PNG"
    return str(data.get("text/plain", "")) + text_of(str(data.get("text/html", "")))


def panels_text(nb: nbformat.NotebookNode) -> str:
    """Every text the panels show (HTML, labels, inputs), from the widget state the run saved."""
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    return text_of("\n".join(str(model["state"].get("value", "")) for model in state.values()))


def outputs(nb: nbformat.NotebookNode) -> list[dict[str, Any]]:
    return [output for cell in nb.cells if cell.cell_type == "code" for output in cell.get("outputs", [])]


def check_ran_cleanly(nb: nbformat.NotebookNode) -> None:
    errors = [o for o in outputs(nb) if o["output_type"] == "error"]
    assert not errors, f"{errors[0]['ename']}: {errors[0]['evalue']}" if errors else ""
    stderr = "".join(o["text"] for o in outputs(nb) if o["output_type"] == "stream" and o["name"] == "stderr")
    assert "Traceback" not in stderr, stderr
    views = [o for o in outputs(nb) if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert views, "every runbook shows its panel"
