"""Open the panels and the runbooks in a real JupyterLab, in a headless Chromium, as a person would.

`.ci/run` runs it after pytest (a separate step: it needs a browser, and takes a few minutes).
It needs JupyterLab, Playwright's Python package (the ``browser`` extra) and Debian's Chromium;
Playwright's own browser download is never used:

    apt-get install -y chromium
    .venv/bin/pip install -e '.[browser]'
    .venv/bin/python tests/browser/check_jupyterlab.py [--out DIR] [--only NAME] [--width PX] [--chromium PATH]

It makes a demo backup folder (`aeroops.demo.make_demo_backup_folder`), copies notebooks/ to a
temporary folder and starts ``jupyter lab`` there on 127.0.0.1 (a free port, a random token).
Then, as a person would, with the Run menu's Run All:

- each panel alone in a new notebook (README's one line): it shows, with its tables; its
  buttons work; a bad path typed into it shows the error box, and a good one clears it;
- the three panels in successive cells of one notebook: each shows;
- compression and encryption: the backup panel's menu and recipients box make a layered
  archive, a secret key typed as a recipient is refused and cleared, and the audit panel, given
  an identity file's path, shows layers and sizes, the compression chart, and verifies it;
- each runbook: its cells run without an error, its panel shows, its buttons work (05's
  point-in-time panel: a refused target, Drill, Restore… and Cancel; 06's Explore panel: Filter,
  What changed, History);
- the audit panel of a folder holding WAL segments: the WAL archive's tables and coverage chart;
- a damaged archive's restore preview: refused, its bars amber, not green.

No "Loading widget..." or "Error displaying widget" anywhere, and nothing a person would scroll
sideways to read (`expect_no_sideways_scrolling`: after Run All, after each panel's actions,
on each tab). Lab's window is 1400 px wide, its output area about 970 px.

Screenshots of every state go to --out (printed first), each runbook whole after Run All
(``NN-runbook-after-run-all.png``), and of a failed check to ``FAILED-<check>.png`` there. The
last line is ``browser: N passed, N failed``; exit status 0 when every check passed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
from playwright.sync_api import Locator, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from aeroops.demo import DemoBackupFolder, DemoSpec, make_demo_backup_folder
from aeroops.executor.fileops import REAL

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDGET_FAILURES = ("Loading widget...", "Error displaying widget", "Error rendering output item")
RUN_ALL_TIMEOUT_MS = 180_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class LabServer:
    base: str  # http://127.0.0.1:PORT
    token: str
    root: Path  # the folder it serves: notebooks opened by name live here


@contextmanager
def jupyter_lab(root: Path, home: Path) -> Iterator[LabServer]:
    """A JupyterLab server on ``root``; yields its base URL (with the token as a query)."""
    port, token = free_port(), secrets.token_hex(16)
    settings = home / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # No "get news?" toast over the notebook, no call to the internet for it.
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    # Every cell laid out, also those scrolled out of sight (Lab's default skips their layout,
    # which would leave their widths unmeasured); what is measured looks the same.
    tracker = home / "lab-settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    env = {
        **os.environ,
        "TMPDIR": str(home / "tmp"),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    (home / "tmp").mkdir()
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.port_retries=0",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    log = (home / "jupyter.log").open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start; see {home / 'jupyter.log'}") from None
                time.sleep(0.5)
        yield LabServer(base, token, root)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def open_notebook(page: Page, server: LabServer, name: str) -> Locator:
    # ?reset: a fresh workspace, so only this notebook is open (no tab restored from before).
    page.goto(f"{server.base}/lab/tree/{name}?reset&token={server.token}", wait_until="domcontentloaded")
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(panel.locator(".jp-Cell").first).to_be_visible(timeout=60_000)
    # The kernel is up when the status bar says "Python 3 (ipykernel) | Idle" (before it has
    # started, Run All would ask which kernel to start).
    expect(page.get_by_role("button", name=re.compile(r"Python 3.*\| Idle"))).to_be_visible(timeout=60_000)
    return panel


def run_all(page: Page, notebook: Locator) -> None:
    """Run → Run All Cells, as a person would (accepting the kernel if Lab asks for one)."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    try:
        dialog.wait_for(timeout=2_000)
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    except PlaywrightTimeoutError:
        pass
    # The parameters cell runs first: its prompt becomes [1] (or [*] while queued).
    prompt = notebook.locator(".jp-CodeCell .jp-InputPrompt").first
    expect(prompt).to_have_text(re.compile(r"\[(\*|\d+)\]"), timeout=30_000)


def wait_for_text(notebook: Locator, text: str, timeout_ms: int = RUN_ALL_TIMEOUT_MS) -> None:
    expect(notebook.locator(".jp-OutputArea-output", has_text=text).first).to_be_attached(timeout=timeout_ms)


def check_no_errors(notebook: Locator, name: str) -> None:
    errors = notebook.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    tracebacks = [t for t in errors.all_inner_texts() if "Error" in t or "Traceback" in t]
    if tracebacks:
        raise AssertionError(f"{name}: error output:\n{tracebacks[0][:2000]}")
    body = notebook.inner_text()
    for failure in WIDGET_FAILURES:
        if failure in body:
            raise AssertionError(f"{name}: a widget did not render ({failure!r})")


# Every scroll container and table the notebook shows, measured in the page: a container
# scrolls sideways when its content is wider than its box (scrollWidth > clientWidth); a table
# sticks out when its right edge passes its output area's. Hidden ones (a tab not chosen, an empty
# table) have no box and are skipped. One pixel of slack for sub-pixel rounding.
SIDEWAYS_JS = """(root) => {
  const slack = 2;
  const shown = (el) => el.getClientRects().length > 0 && el.clientWidth > 0;
  const what = (el) => {
    const head = [...el.querySelectorAll('th')].map((th) => th.innerText.trim()).filter(Boolean);
    const text = head.length ? 'columns ' + head.slice(0, 12).join(', ') : el.innerText.trim().slice(0, 80);
    return `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} (${text.replace(/\\s+/g, ' ')})`;
  };
  const wide = [];
  // What the cells show (their outputs), not the code typed into them.
  for (const el of root.querySelectorAll('.jp-OutputArea-output, .jp-OutputArea-output *')) {
    if (!shown(el)) continue;
    const overflowX = getComputedStyle(el).overflowX;
    if ((overflowX === 'auto' || overflowX === 'scroll') && el.scrollWidth > el.clientWidth + slack) {
      wide.push(`${what(el)} scrolls sideways: ${el.scrollWidth} px of content in ${el.clientWidth} px`);
    }
  }
  for (const table of root.querySelectorAll('table')) {
    if (!shown(table)) continue;
    const area = table.closest('.jp-OutputArea-output') || root;
    const edge = area.getBoundingClientRect().right;
    const right = table.getBoundingClientRect().right;
    if (right > edge + slack) {
      wide.push(`${what(table)} is ${Math.round(right - edge)} px wider than its output area`);
    }
    // Every column heading within the table's scroll box: the verdict, the file and the reason
    // are read without scrolling.
    const box = table.parentElement.getBoundingClientRect();
    for (const th of table.querySelectorAll('th')) {
      const cell = th.getBoundingClientRect();
      if (cell.width > 0 && (cell.right > box.right + slack || cell.right > edge + slack)) {
        wide.push(`${what(table)}: its column ${JSON.stringify(th.innerText.trim())} is out of sight`);
      }
    }
  }
  return [...new Set(wide)];
}"""


SIDEWAYS: list[str] = []  # what the current check found too wide; it fails at its end


def expect_no_sideways_scrolling(scope: Locator, name: str) -> None:
    """Nothing in ``scope`` (a notebook or a panel) is wider than the room it has: no table or
    output scrolls sideways, and every column heading of every table shown is in sight. What is
    found is kept in SIDEWAYS, and the check goes on (its buttons are checked too), then fails."""
    SIDEWAYS.extend(f"{name}: {wide}" for wide in scope.evaluate(SIDEWAYS_JS))


def screenshot_notebook(page: Page, notebook: Locator, path: Path) -> None:
    """The whole notebook, every cell and output, as one picture: the window is made as tall as
    the notebook for it (Chromium paints only what is in the window), then made as it was."""
    window = page.viewport_size
    assert window is not None
    scroller = notebook.locator(".jp-WindowedPanel-outer")
    hidden = scroller.evaluate("el => el.scrollHeight - el.clientHeight")
    page.set_viewport_size({"width": window["width"], "height": min(window["height"] + hidden, 16_000)})
    try:
        scroller.evaluate("el => el.scrollTo(0, 0)")
        notebook.screenshot(path=str(path))
    finally:
        page.set_viewport_size(window)


def run_notebook_to_panel(
    page: Page, server: LabServer, out: Path, name: str, outputs: tuple[str, ...], heading: str
) -> Locator:
    """Open ``name``, run all its cells, wait for each of ``outputs``, check no cell failed and
    nothing scrolls sideways, screenshot it whole, and return the panel whose heading is
    ``heading``, scrolled into view."""
    notebook = open_notebook(page, server, name)
    run_all(page, notebook)
    for text in outputs:
        wait_for_text(notebook, text)
    last = notebook.locator(".jp-CodeCell .jp-InputPrompt").last  # the last cell has run
    expect(last).to_have_text(re.compile(r"\[\d+\]"), timeout=RUN_ALL_TIMEOUT_MS)
    check_no_errors(notebook, name)
    screenshot_notebook(page, notebook, out / f"{name.split('-')[0]}-runbook-after-run-all.png")
    expect_no_sideways_scrolling(notebook, name)
    panel = notebook.locator(".widget-vbox", has=page.locator("h3", has_text=heading)).first
    panel.scroll_into_view_if_needed()
    return panel


# --- each panel alone in a new notebook ---------------------------------------------------------


def panel_notebook(root: Path, name: str, *sources: str) -> str:
    """A new notebook in ``root`` with one cell per source, as a person would type them."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(notebook, root / name)
    return name


def path_box(panel: Locator, label: str) -> Locator:
    return panel.locator(".widget-text", has_text=label).locator("input")


def type_path(panel: Locator, label: str, value: str) -> None:
    """Type into a path box and press Enter (the panel reacts as to a person's typing)."""
    box = path_box(panel, label)
    box.fill(value)
    box.press("Enter")


def expect_panel_shown(panel: Locator, heading: str) -> None:
    """The panel and its heading take up room on the page (not hidden by any layout)."""
    expect(panel).to_be_visible()
    expect(panel.locator("h3", has_text=heading)).to_be_visible()
    box = panel.bounding_box()
    if box is None or box["height"] < 100:
        raise AssertionError(f"the {heading!r} panel is not shown whole: its box is {box}")


def expect_error_shown(panel: Locator, text: str) -> None:
    error = panel.locator(".aeroops-error")
    expect(error).to_be_visible(timeout=60_000)
    expect(error).to_contain_text(text)


def run_panel_notebook(page: Page, server: LabServer, name: str, heading: str) -> Locator:
    notebook = open_notebook(page, server, name)
    run_all(page, notebook)
    panel = notebook.locator(".widget-vbox", has=page.locator("h3", has_text=heading)).first
    expect(panel).to_be_attached(timeout=RUN_ALL_TIMEOUT_MS)
    expect(notebook.locator(".jp-InputPrompt").first).to_have_text("[1]:", timeout=RUN_ALL_TIMEOUT_MS)
    check_no_errors(notebook, name)
    panel.scroll_into_view_if_needed()
    return panel


def panel_sources(demo: DemoBackupFolder) -> dict[str, str]:
    """The line that shows each panel on the demo folder, as README shows them (heading: code)."""
    data_dir, folder, archive = str(demo.source.data_dir), str(demo.folder), str(demo.archives[0])
    return {
        "AeroDB backup": f"from aeroops.panels import BackupPanel\nBackupPanel({data_dir!r}, {folder!r})",
        "backup folder audit": f"from aeroops.panels import AuditPanel\nAuditPanel({folder!r})",
        "AeroDB restore": f"from aeroops.panels import RestorePanel\nRestorePanel({archive!r}, {data_dir!r})",
    }


def check_backup_panel(page: Page, server: LabServer, out: Path, demo: DemoBackupFolder) -> None:
    heading = "AeroDB backup"
    name = panel_notebook(server.root, "panel-backup.ipynb", panel_sources(demo)[heading])
    panel = run_panel_notebook(page, server, name, heading)
    expect_panel_shown(panel, heading)
    expect(panel.locator("td", has_text="valid").first).to_be_visible()  # the snapshots' verdicts
    expect(panel.locator("text=backup_manifest.json it will write").first).to_be_visible()
    run_button = panel.locator("button", has_text="Run backup")
    expect(run_button).to_be_enabled()
    panel.screenshot(path=str(out / "panel-backup-alone.png"))
    run_button.click()
    expect(panel.locator(".aeroops-success", has_text="Backup made")).to_be_visible(timeout=60_000)
    expect(panel.locator("td", has_text="blake3:").first).to_be_visible()
    panel.screenshot(path=str(out / "panel-backup-after-run.png"))
    expect_no_sideways_scrolling(panel, f"{name}, after Run backup")

    type_path(panel, "data directory", "/no/such/aerodb")
    expect_error_shown(panel, "AERO_SCAN_FAILED")
    expect_panel_shown(panel, heading)
    expect(run_button).to_be_disabled()
    panel.screenshot(path=str(out / "panel-backup-error.png"))

    type_path(panel, "data directory", str(demo.source.data_dir))
    expect(panel.locator(".aeroops-error")).to_have_count(0, timeout=60_000)
    expect(panel.locator("td", has_text="valid").first).to_be_visible()
    expect(run_button).to_be_enabled()
    print(f"ok  {name}: the panel shows alone; Run backup works; a bad data directory shows its error")


def check_audit_panel(page: Page, server: LabServer, out: Path, demo: DemoBackupFolder) -> None:
    heading = "backup folder audit"
    name = panel_notebook(server.root, "panel-audit.ipynb", panel_sources(demo)[heading])
    panel = run_panel_notebook(page, server, name, heading)
    expect_panel_shown(panel, heading)
    expect(panel.locator("td", has_text=demo.not_an_archive.name).first).to_be_visible()
    panel.screenshot(path=str(out / "panel-audit-alone.png"))

    panel.locator("button", has_text="Verify all").click()
    expect(panel.locator(".aeroops-warning", has_text="do not").first).to_be_visible(timeout=60_000)
    panel.locator("select").select_option(label=demo.damaged.name)
    expect(panel.locator(".aeroops-warning", has_text="NOT CLEAN").first).to_be_visible(timeout=60_000)
    expect(panel.get_by_role("tab", name="Members")).to_be_visible()
    panel.locator("button", has_text="Verify").last.click()
    expect(panel.locator(".aeroops-warning", has_text="VERIFY: NOT CLEAN").first).to_be_visible(timeout=60_000)
    expect(panel.locator("td", has_text="AERO_VERIFY_CHECKSUM").first).to_be_visible()
    panel.screenshot(path=str(out / "panel-audit-after-verify.png"))
    expect_no_sideways_scrolling(panel, f"{name}, Members")
    for tab in ("WAL", "Documents", "Manifests"):
        panel.get_by_role("tab", name=tab).click()
        expect_no_sideways_scrolling(panel, f"{name}, {tab}")
    panel.screenshot(path=str(out / "panel-audit-manifests.png"))

    type_path(panel, "backup folder", "/no/such/backups")
    expect_error_shown(panel, "the backup folder does not exist")
    expect_panel_shown(panel, heading)
    panel.screenshot(path=str(out / "panel-audit-error.png"))

    type_path(panel, "backup folder", str(demo.folder))
    expect(panel.locator(".aeroops-error")).to_have_count(0, timeout=60_000)
    expect(panel.locator("td", has_text=demo.not_an_archive.name).first).to_be_visible()
    print(f"ok  {name}: the panel shows alone; Verify all, select and Verify work; a bad folder shows its error")


def check_restore_panel(page: Page, server: LabServer, out: Path, demo: DemoBackupFolder) -> None:
    archive = demo.archives[0]
    heading = "AeroDB restore"
    name = panel_notebook(server.root, "panel-restore.ipynb", panel_sources(demo)[heading])
    panel = run_panel_notebook(page, server, name, heading)
    expect_panel_shown(panel, heading)
    expect(panel.locator("button", has_text="Drill")).to_be_visible()
    panel.screenshot(path=str(out / "panel-restore-alone.png"))

    panel.locator("button", has_text="Drill").click()
    expect(panel.locator(".aeroops-success", has_text="DRILL: PASSED")).to_be_visible(timeout=60_000)
    expect(panel.locator("td", has_text="orders").first).to_be_visible()
    panel.locator("button", has_text="Preview restore").click()
    expect(panel.locator("button", has_text="Restore…")).to_be_enabled(timeout=60_000)
    panel.screenshot(path=str(out / "panel-restore-after-drill-and-preview.png"))
    expect_no_sideways_scrolling(panel, f"{name}, after Drill and Preview")

    type_path(panel, "archive", "")
    panel.locator("button", has_text="Drill").click()
    expect_error_shown(panel, "choose an archive")
    expect_panel_shown(panel, heading)
    panel.screenshot(path=str(out / "panel-restore-error.png"))

    # A damaged archive: the preview refuses it, and its bars stop amber where it stopped (not
    # full green above the refusal).
    type_path(panel, "archive", str(demo.damaged))
    panel.locator("button", has_text="Preview restore").click()
    expect(panel.locator(".progress-bar-warning").first).to_be_visible(timeout=60_000)
    expect(panel.locator(".progress-bar-success")).to_have_count(0)
    expect(panel.locator("td", has_text="AERO_VERIFY_CHECKSUM").first).to_be_visible()
    expect(panel.locator("button", has_text="Restore…")).to_be_disabled()
    panel.screenshot(path=str(out / "panel-restore-refused-preview.png"))
    expect_no_sideways_scrolling(panel, f"{name}, refused preview")

    type_path(panel, "archive", str(archive))
    panel.locator("button", has_text="Preview restore").click()
    expect(panel.locator("button", has_text="Restore…")).to_be_enabled(timeout=60_000)
    expect(panel.locator(".aeroops-error")).to_have_count(0)
    print(
        f"ok  {name}: the panel shows alone; Drill and Preview work; a damaged archive's preview is refused "
        "(amber bars); a missing archive shows its error"
    )


def check_panels_in_successive_cells(page: Page, server: LabServer, out: Path, demo: DemoBackupFolder) -> None:
    """The three panels in three cells of one new notebook: each shows (none hides another)."""
    sources = panel_sources(demo)
    name = panel_notebook(server.root, "panels.ipynb", *sources.values())
    notebook = open_notebook(page, server, name)
    run_all(page, notebook)
    expect(notebook.locator(".jp-InputPrompt").nth(2)).to_have_text("[3]:", timeout=RUN_ALL_TIMEOUT_MS)
    for heading in sources:
        panel = notebook.locator(".widget-vbox", has=page.locator("h3", has_text=heading)).first
        panel.scroll_into_view_if_needed()
        expect_panel_shown(panel, heading)
    check_no_errors(notebook, name)
    page.screenshot(path=str(out / "panels-in-successive-cells.png"))
    expect_no_sideways_scrolling(notebook, name)
    print(f"ok  {name}: the three panels in successive cells all show")


def check_layered_panels(page: Page, server: LabServer, out: Path, demo: DemoBackupFolder) -> None:
    """Compression and encryption as a person uses them: the backup panel's compression menu and
    recipients box make a .tar.zst.age; a secret key typed as a recipient is refused and cleared;
    the audit panel, given the identity file's path, shows the layers and sizes, charts the
    compression ratio and verifies the encrypted archive."""
    key = server.root.parent / "age-identity.txt"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    key.chmod(0o600)
    made = subprocess.run(["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True)
    recipient = made.stdout.strip()
    secret = next(line for line in key.read_text().splitlines() if line.startswith("AGE-SECRET-KEY-"))
    folder = server.root.parent / "layered-backups"
    folder.mkdir()
    data_dir = str(demo.source.data_dir)
    sources = (
        f"from aeroops.panels import BackupPanel\nBackupPanel({data_dir!r}, {str(folder)!r})",
        f"from aeroops.panels import AuditPanel\nAuditPanel({str(folder)!r})",
    )
    name = panel_notebook(server.root, "panel-layers.ipynb", *sources)
    notebook = open_notebook(page, server, name)
    run_all(page, notebook)
    expect(notebook.locator(".jp-InputPrompt").nth(1)).to_have_text("[2]:", timeout=RUN_ALL_TIMEOUT_MS)
    check_no_errors(notebook, name)
    backup = notebook.locator(".widget-vbox", has=page.locator("h3", has_text="AeroDB backup")).first
    backup.scroll_into_view_if_needed()
    expect_panel_shown(backup, "AeroDB backup")

    backup.locator(".widget-dropdown", has_text="compression").locator("select").select_option(label="zstd, level 3")
    recipients = backup.locator(".widget-textarea", has_text="encrypt to").locator("textarea")
    recipients.fill(recipient)
    recipients.press("Tab")  # the box reports its value when it loses focus
    expect(backup.locator("td", has_text="zstd (level 3) → age (1 recipient)").first).to_be_visible(timeout=60_000)
    expect(backup.locator("td", has_text=".tar.zst.age").first).to_be_visible()
    backup.screenshot(path=str(out / "panel-layers-backup-plan.png"))
    backup.locator("button", has_text="Run backup").click()
    expect(backup.locator(".aeroops-success", has_text="Backup made")).to_be_visible(timeout=60_000)
    expect(backup.locator("td", has_text="tar+zstd+age").first).to_be_visible()
    expect(backup.locator("td", has_text="plain size").first).to_be_visible()
    backup.screenshot(path=str(out / "panel-layers-backup-done.png"))
    expect_no_sideways_scrolling(backup, f"{name}, the backup panel after a layered backup")

    recipients.fill(secret)
    recipients.press("Tab")
    backup.locator("button", has_text="Run backup").click()
    expect_error_shown(backup, "is a secret key, not a recipient")
    expect(recipients).to_have_value("")
    if secret.removeprefix("AGE-SECRET-KEY-") in notebook.inner_text():
        raise AssertionError("the secret key typed as a recipient is still shown in the notebook")
    backup.screenshot(path=str(out / "panel-layers-secret-refused.png"))

    audit = notebook.locator(".widget-vbox", has=page.locator("h3", has_text="backup folder audit")).first
    audit.scroll_into_view_if_needed()
    type_path(audit, "identity file", str(key))  # the panel takes the inventory again, with it
    expect(audit.locator(".aeroops-info", has_text="1 compressed or encrypted").first).to_be_visible(timeout=60_000)
    expect(audit.locator("td", has_text="tar+zstd+age").first).to_be_visible()
    charts = audit.locator("img:visible")  # the WAL archive's coverage chart is hidden: no segments here
    expect(charts).to_have_count(2, timeout=60_000)  # the history and the compression ratio
    for index in range(2):
        expect(charts.nth(index)).to_be_visible()
    audit.locator("button", has_text="Verify all").click()
    expect(audit.locator(".aeroops-success", has_text="1 verify clean").first).to_be_visible(timeout=60_000)
    audit.screenshot(path=str(out / "panel-layers-audit.png"))
    expect_no_sideways_scrolling(audit, f"{name}, the audit panel of layered archives")
    print(f"ok  {name}: compression menu and recipients make a .tar.zst.age; a secret recipient is refused and")
    print("     cleared; the audit panel with the identity path shows layers, sizes, the ratio chart, verifies")


def check_audit_panel_wal_archive(page: Page, server: LabServer, out: Path, _demo: DemoBackupFolder) -> None:
    """The audit panel of a folder that holds WAL segments: its WAL archive section, with the
    restorable coverage chart, the timelines and each base's range; Verify all reads them."""
    from aeroops.demo.pitr_folder import make_demo_pitr_folder

    heading = "backup folder audit"
    made = make_demo_pitr_folder(server.root.parent / "pitr-audit-demo", ops=REAL)
    source = f"from aeroops.panels import AuditPanel\nAuditPanel({str(made.backup_dir)!r})"
    name = panel_notebook(server.root, "panel-audit-wal.ipynb", source)
    panel = run_panel_notebook(page, server, name, heading)
    expect_panel_shown(panel, heading)
    expect(panel.locator("h4", has_text="WAL archive")).to_be_visible()
    expect(panel.locator(".aeroops-info", has_text="3 WAL segments on 1 timeline,").first).to_be_visible()
    expect(panel.locator("td", has_text=made.timeline).first).to_be_visible()
    expect(panel.locator("b", has_text="What each base backup can restore to")).to_be_visible()
    charts = panel.locator("img:visible")
    expect(charts).to_have_count(2, timeout=60_000)  # the backup history and the coverage (no compressed archive)
    expect(charts.nth(1)).to_be_visible()
    panel.screenshot(path=str(out / "panel-audit-wal-archive.png"))
    expect_no_sideways_scrolling(panel, f"{name}, the WAL archive")
    panel.locator("button", has_text="Verify all").click()
    expect(panel.locator(".aeroops-success", has_text="read whole").first).to_be_visible(timeout=60_000)
    expect(panel.locator(".aeroops-success", has_text="no problem found").first).to_be_visible()
    # verified, the base's own WAL counts: its range starts when it was made (02:00), not at the first pass
    ranges = panel.locator(".widget-vbox", has=page.locator("b", has_text="What each base backup can restore to"))
    expect(ranges.last.locator("td", has_text="2026-01-01T02:00:00Z").first).to_be_visible(timeout=60_000)
    panel.screenshot(path=str(out / "panel-audit-wal-archive-verified.png"))
    expect_no_sideways_scrolling(panel, f"{name}, the WAL archive verified")
    print(f"ok  {name}: the WAL archive's timelines, ranges and coverage chart show; Verify all reads the segments")


PANEL_CHECKS = (
    check_backup_panel,
    check_audit_panel,
    check_audit_panel_wal_archive,
    check_restore_panel,
    check_panels_in_successive_cells,
    check_layered_panels,
)


# --- the runbooks, with Run All -------------------------------------------------------------------


def check_backup_runbook(page: Page, server: LabServer, out: Path, _demo: DemoBackupFolder) -> None:
    name = "01-backup-runbook.ipynb"
    panel = run_notebook_to_panel(page, server, out, name, ("VERIFY: clean", "products"), "AeroDB backup")
    run_button = panel.locator("button", has_text="Run backup")
    expect(run_button).to_be_visible()
    expect(run_button).to_be_enabled()
    expect(panel.locator(".aeroops-table table").first).to_be_visible()
    expect(panel.locator("td", has_text="valid").first).to_be_visible()  # the snapshots' verdicts
    expect(panel.locator("text=backup_manifest.json it will write").first).to_be_visible()
    first = panel.locator(".aeroops-success", has_text="Backup made").inner_text()
    panel.screenshot(path=str(out / "01-backup-panel-after-run-all.png"))
    page.screenshot(path=str(out / "01-notebook-after-run-all.png"))

    time.sleep(1.2)  # the archive name holds the creation time, to the second
    run_button.click()
    made = panel.locator(".aeroops-success", has_text="Backup made")
    expect(made).not_to_have_text(first, timeout=60_000)
    expect(panel.locator("td", has_text="blake3:").first).to_be_visible()
    expect(panel.locator(".widget-label", has_text="done in").first).to_be_visible()
    if panel.locator(".aeroops-error").count():
        raise AssertionError(f"{name}: the panel shows an error: {panel.locator('.aeroops-error').inner_text()}")
    panel.screenshot(path=str(out / "01-backup-panel-after-click.png"))
    print(f"ok  {name}: panel rendered; clicking Run backup made {made.inner_text().split(': ', 1)[-1]}")


def check_audit_runbook(page: Page, server: LabServer, out: Path, _demo: DemoBackupFolder) -> None:
    name = "02-audit-backup-folder.ipynb"
    waits_for = ("snapshots without a good backup: none",)
    panel = run_notebook_to_panel(page, server, out, name, waits_for, "backup folder audit")
    expect(panel.locator("button", has_text="Verify all")).to_be_enabled()
    expect(panel.locator("td", has_text="notes.tar").first).to_be_visible()
    expect(panel.locator("img").first).to_be_visible()  # the backup history chart, under the inventory
    panel.locator("button", has_text="Verify").last.click()  # the selected archive: the damaged one
    expect(panel.locator(".aeroops-warning", has_text="VERIFY: NOT CLEAN").first).to_be_visible(timeout=60_000)
    expect(panel.locator("td", has_text="AERO_VERIFY_CHECKSUM").first).to_be_visible()
    expect_no_sideways_scrolling(panel, f"{name}, after Verify")
    panel.get_by_role("tab", name="Documents").click()
    expect(panel.locator("td", has_text="orders").first).to_be_visible()
    panel.screenshot(path=str(out / "02-audit-panel.png"))
    folder = path_box(panel, "backup folder").input_value()
    type_path(panel, "backup folder", folder + "-typo")
    expect_error_shown(panel, "the backup folder does not exist")
    expect_panel_shown(panel, "backup folder audit")
    panel.screenshot(path=str(out / "02-audit-panel-bad-folder.png"))
    print(f"ok  {name}: panel rendered; Verify shows the damaged archive's findings; a bad folder shows its error")


def check_restore_runbook(page: Page, server: LabServer, out: Path, _demo: DemoBackupFolder) -> None:
    name = "03-restore-drill.ipynb"
    panel = run_notebook_to_panel(page, server, out, name, ("DRILL: PASSED",), "AeroDB restore")
    expect(panel.locator(".aeroops-success", has_text="RESTORED").first).to_be_visible()
    panel.locator("button", has_text="Preview restore").click()
    restore_button = panel.locator("button", has_text="Restore…")
    expect(restore_button).to_be_enabled(timeout=60_000)
    restore_button.click()
    confirm = panel.locator("button", has_text="Confirm")
    expect(confirm).to_be_visible()
    expect(panel.locator("b", has_text="Replace").first).to_be_visible()
    panel.screenshot(path=str(out / "03-restore-panel-confirmation.png"))
    expect_no_sideways_scrolling(panel, f"{name}, confirmation")
    panel.locator("button", has_text="Cancel").click()
    expect(confirm).to_be_hidden()
    print(f"ok  {name}: panel rendered; Restore… asks for confirmation, Cancel withdraws it")


def check_retention_runbook(page: Page, server: LabServer, out: Path, _demo: DemoBackupFolder) -> None:
    name = "04-retention.ipynb"
    panel = run_notebook_to_panel(page, server, out, name, ("archives left",), "AeroDB backup retention")
    expect(panel.locator(".aeroops-success", has_text="Removed").first).to_be_visible()
    expect(panel.locator("td", has_text="remove").first).to_be_visible()  # what was removed, and why
    panel.locator("button", has_text="Plan").click()
    expect(panel.locator(".aeroops-success", has_text="Removed")).to_have_count(0, timeout=60_000)
    expect(panel.locator("td", has_text="keep").first).to_be_visible(timeout=60_000)
    panel.screenshot(path=str(out / "04-retention-panel-after-plan.png"))
    expect_no_sideways_scrolling(panel, f"{name}, after Plan")
    print(f"ok  {name}: panel rendered; Plan plans again on what is left")


def check_what_changed_runbook(page: Page, server: LabServer, out: Path, _demo: DemoBackupFolder) -> None:
    name = "06-what-changed.ipynb"
    panel = run_notebook_to_panel(page, server, out, name, ("first seen in",), "Explore the documents")
    expect(panel.locator("b", has_text="added").first).to_be_visible()  # the diff's summary
    expect(panel.locator("img").first).to_be_visible()  # its chart
    expect(panel.locator("td", has_text="changed").first).to_be_visible()
    panel.locator(".widget-text", has_text="field").locator("input").fill("active")
    panel.locator(".widget-text", has_text="equals").locator("input").fill("true")
    panel.locator("button", has_text="Filter").click()
    expect(panel.get_by_text(re.compile(r"\d+ of \d+ documents"))).to_be_visible(timeout=60_000)
    panel.locator("button", has_text="What changed").click()
    expect(panel.locator("b", has_text="added").first).to_be_visible(timeout=60_000)
    panel.locator("button", has_text="History").click()
    expect(panel.locator("td", has_text="first seen").first).to_be_visible(timeout=60_000)
    panel.screenshot(path=str(out / "06-explore-panel.png"))
    expect_no_sideways_scrolling(panel, f"{name}, after Filter, What changed and History")
    folder = path_box(panel, "backup folder").input_value()
    type_path(panel, "backup folder", folder + "-typo")
    expect_error_shown(panel, "the backup folder does not exist")
    panel.screenshot(path=str(out / "06-explore-panel-bad-folder.png"))
    print(f"ok  {name}: panel rendered; Filter, What changed and History work; a bad folder shows its error")


def check_pitr_runbook(page: Page, server: LabServer, out: Path, _demo: DemoBackupFolder) -> None:
    name = "05-point-in-time-restore.ipynb"
    panel = run_notebook_to_panel(page, server, out, name, ("restored to timeline",), "point-in-time restore")
    expect(panel.locator("img").first).to_be_visible()  # the coverage chart
    expect(panel.locator("pre", has_text="restorable up to").first).to_be_visible()
    expect(panel.locator("pre", has_text="TARGET:").first).to_be_visible()
    expect(panel.locator("pre", has_text="DRILL PASSED").first).to_be_visible()
    expect(panel.locator("pre", has_text="restored").first).to_be_visible()  # the demo restores without asking
    panel.screenshot(path=str(out / "05-pitr-panel-after-run-all.png"))
    expect_no_sideways_scrolling(panel, f"{name}, after Run All")

    type_path(panel, "target", "seq 999999")
    panel.locator("button", has_text="Preview plan").click()
    expect(panel.locator("pre", has_text="REFUSED").first).to_be_visible(timeout=60_000)
    expect(panel.locator("pre", has_text="past the newest archived record").first).to_be_visible()
    type_path(panel, "target", "latest")
    panel.locator("button", has_text="Drill").click()
    expect(panel.locator("pre", has_text="DRILL PASSED").first).to_be_visible(timeout=60_000)
    panel.locator("button", has_text="Restore…").click()
    confirm = panel.locator("button", has_text="Confirm")
    expect(confirm).to_be_visible(timeout=60_000)
    expect(panel.locator("b", has_text="datadir").first).to_be_visible()  # what would be replaced
    panel.screenshot(path=str(out / "05-pitr-panel-confirmation.png"))
    expect_no_sideways_scrolling(panel, f"{name}, confirmation")
    panel.locator("button", has_text="Cancel").click()
    expect(confirm).to_be_hidden()

    folder = path_box(panel, "backup folder").input_value()
    type_path(panel, "backup folder", folder + "-typo")
    panel.locator("button", has_text="Coverage").click()
    expect_error_shown(panel, "the backup folder does not exist")
    expect_panel_shown(panel, "point-in-time restore")
    panel.screenshot(path=str(out / "05-pitr-panel-bad-folder.png"))
    print(f"ok  {name}: coverage chart, plan, drill and restore shown; a refused target, the confirmation, Cancel;")
    print("     a bad folder shows its error")


RUNBOOK_CHECKS = (
    check_backup_runbook,
    check_audit_runbook,
    check_restore_runbook,
    check_retention_runbook,
    check_pitr_runbook,
    check_what_changed_runbook,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="where screenshots go (default: a new temporary folder)")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--keep", action="store_true", help="keep the temporary JupyterLab folder")
    parser.add_argument("--only", help="run only the checks whose name contains this")
    parser.add_argument("--width", type=int, default=1400, help="the window's width, px (output area: 432 less)")
    args = parser.parse_args()
    out = (args.out or Path(tempfile.mkdtemp(prefix="aeroops-lab-screens-"))).resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(f"screenshots in {out}", flush=True)
    home = Path(tempfile.mkdtemp(prefix="aeroops-lab-"))
    root = home / "notebooks"
    shutil.copytree(ROOT / "notebooks", root)
    for runbook in root.glob("*.ipynb"):  # the checks click the panels after Run All: keep their demo data
        runbook.write_text(runbook.read_text().replace("keep_demo = False", "keep_demo = True"))
    demo = make_demo_backup_folder(home / "demo", DemoSpec(wal_records=3000), ops=REAL)
    checks = [c for c in (*PANEL_CHECKS, *RUNBOOK_CHECKS) if args.only is None or args.only in c.__name__]
    failed: list[str] = []
    try:
        with jupyter_lab(root, home) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": 2600})  # tall: whole panels fit
            for check in checks:
                started = time.monotonic()
                SIDEWAYS.clear()
                try:
                    check(page, server, out, demo)
                    if SIDEWAYS:
                        raise AssertionError("a person would have to scroll sideways:\n  " + "\n  ".join(SIDEWAYS))
                except Exception as error:  # report each check, then fail at the end
                    failed.append(check.__name__)
                    page.screenshot(path=str(out / f"FAILED-{check.__name__}.png"))
                    print(f"FAIL {check.__name__}: {error}", file=sys.stderr, flush=True)
                print(f"     {check.__name__}: {time.monotonic() - started:.1f} s", flush=True)
            browser.close()
    finally:
        if args.keep:
            print(f"kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    if failed:
        print(f"screenshots of the failures: {out}/FAILED-*.png")
    print(f"browser: {len(checks) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
