"""Compression and encryption in the panels, the inventory table and the charts: the backup panel
makes layered archives (recipients are public keys; a secret key typed there is refused and never
shown), the audit panel opens them with an identity file named by path, shows each archive's
layers and its stored and plain sizes, and charts the compression ratio over time."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import ipywidgets as widgets
import pytest
from helpers.html import text_of

from aeroops.demo import DemoSpec, make_demo_datadir
from aeroops.executor.audit import inventory, verify_archive
from aeroops.executor.backup import run_backup
from aeroops.executor.fileops import REAL
from aeroops.panels import AuditPanel, BackupPanel
from aeroops.views import charts, text
from aeroops.views.tables import inventory_frame

DAY = 86_400


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """An age identity file (0600), its recipient, and its secret line."""
    folder = tmp_path_factory.mktemp("key")
    path = folder / "key.txt"
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    os.chmod(path, 0o600)
    recipient = subprocess.run(["age-keygen", "-y", str(path)], check=True, capture_output=True, text=True)
    secret = next(line for line in path.read_text().splitlines() if line.startswith("AGE-SECRET-KEY-"))
    return path, recipient.stdout.strip(), secret


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, key: tuple[Path, str, str]) -> Path:
    """A plain, a compressed and a compressed-and-encrypted backup of one demo, a day apart."""
    root = tmp_path_factory.mktemp("layered")
    data = make_demo_datadir(root / "datadir", DemoSpec(wal_records=1500), ops=REAL).data_dir
    backups = root / "backups"
    backups.mkdir()
    start = datetime(2026, 3, 1, tzinfo=UTC).timestamp()
    layering: list[dict[str, object]] = [{}, {"compress": "zstd"}, {"compress": "zstd:9", "encrypt_to": [key[1]]}]
    for day, options in enumerate(layering):
        created = datetime.fromtimestamp(start + day * DAY, UTC)
        run_backup(data, backups, created_at=created, ops=REAL, **options)  # type: ignore[arg-type]
    return backups


def every_text(widget: widgets.Widget) -> str:
    """All a widget tree holds as text: values, descriptions, placeholders, HTML (what a saved
    notebook's widget state would keep)."""
    parts = []
    for name in ("value", "description", "placeholder", "tooltip"):
        value = getattr(widget, name, None)
        if isinstance(value, str):
            parts.append(value)
    for child in getattr(widget, "children", ()):
        parts.append(every_text(child))
    return "\n".join(parts)


def test_the_backup_panel_makes_a_compressed_encrypted_archive(tmp_path: Path, key: tuple[Path, str, str]) -> None:
    data = make_demo_datadir(tmp_path / "d", DemoSpec.small(), ops=REAL).data_dir
    out = tmp_path / "out"
    out.mkdir()
    created = datetime(2026, 3, 5, tzinfo=UTC)
    panel = BackupPanel(data, out, created_at=created, compress="zstd:9", encrypt_to=[key[1]])
    plan = text_of(panel.plan_summary.value)
    assert ".tar.zst.age" in plan and "zstd (level 9)" in plan and "age (1 recipient)" in plan
    result = panel.run()
    assert panel.error is None and result is not None
    assert result.archive.endswith(".tar.zst.age") and result.layers == ("zstd", "age")
    shown = text_of(panel.result_html.value)
    assert "tar+zstd+age" in shown and "plain size" in shown and "× the stored size" in shown
    assert verify_archive(result.archive, identities=[key[0]], ops=REAL).ok
    # the menu's plain choice writes AeroDB's own .tar
    panel.compress_select.value = ""
    panel.recipients_input.value = ""
    assert ".tar.zst" not in text_of(panel.plan_summary.value)


def test_recipients_can_come_from_a_file(tmp_path: Path, key: tuple[Path, str, str]) -> None:
    data = make_demo_datadir(tmp_path / "d", DemoSpec.small(), ops=REAL).data_dir
    recipients = tmp_path / "recipients.txt"
    recipients.write_text(f"# the backup host's only key file: public keys\n{key[1]}\n")
    panel = BackupPanel(data, tmp_path, recipients_file=recipients)
    assert f"age (those in {recipients})" in text_of(panel.plan_summary.value)
    result = panel.run()
    assert panel.error is None and result is not None and result.archive.endswith(".tar.age")


def test_a_secret_key_typed_as_a_recipient_is_refused_and_never_shown(
    tmp_path: Path, key: tuple[Path, str, str]
) -> None:
    data = make_demo_datadir(tmp_path / "d", DemoSpec.small(), ops=REAL).data_dir
    out = tmp_path / "out"
    out.mkdir()
    panel = BackupPanel(data, out, compress="zstd")
    panel.recipients_input.value = f"{key[1]}\n{key[2]}"
    assert panel.run() is None
    assert panel.error is not None and "AERO_USAGE" in text_of(panel.error_box.value)
    assert "recipient 2 is a secret key" in str(panel.error)
    assert panel.recipients_input.value == ""  # cleared: a saved notebook does not keep it
    secret_body = key[2].removeprefix("AGE-SECRET-KEY-")
    assert secret_body not in every_text(panel) and secret_body not in str(panel.error)
    assert list(out.iterdir()) == []  # nothing written


def test_the_audit_panel_shows_layers_sizes_and_the_compression_ratio(folder: Path, key: tuple[Path, str, str]) -> None:
    panel = AuditPanel(folder, identity_file=key[0])
    assert panel.error is None and panel.inventory is not None
    summary = text_of(panel.inventory_summary.value)
    assert "3 archives" in summary and "2 compressed or encrypted" in summary and "of plain tar" in summary
    table = inventory_frame(panel.inventory).set_index("layers")
    assert sorted(table.index) == ["tar", "tar+zstd", "tar+zstd+age"]
    plain = int(table.loc["tar", "size"])
    assert (table["plain_size"] == plain).all()  # the encrypted one's from its record
    assert table.loc["tar+zstd", "size"] < plain / 2 and table.loc["tar+zstd+age", "size"] < plain / 2
    assert panel.compression_chart.layout.display is None and bytes(panel.compression_chart.value).startswith(
        b"\x89PNG"
    )
    taken = panel.verify_all()
    assert panel.error is None and taken is not None and taken.ok  # the identity opened the encrypted one
    encrypted = next(r.file for r in taken.rows if r.layers == "tar+zstd+age")
    inspection = panel.select(encrypted)
    assert inspection is not None and inspection.ok and len(inspection.logical) > 0
    assert key[2] not in every_text(panel)


def test_without_the_identity_an_encrypted_archive_cannot_be_looked_into(folder: Path) -> None:
    panel = AuditPanel(folder)
    assert panel.inventory is not None
    encrypted = next(r.file for r in panel.inventory.rows if r.layers == "tar+zstd+age")
    inspection = panel.select(encrypted)
    assert inspection is None or not inspection.ok
    assert "NOT CLEAN" in text_of(panel.archive_summary.value) or panel.error is not None


def test_a_folder_of_plain_archives_draws_no_compression_chart(tmp_path: Path) -> None:
    data = make_demo_datadir(tmp_path / "d", DemoSpec.small(), ops=REAL).data_dir
    run_backup(data, tmp_path, created_at=datetime(2026, 3, 1, tzinfo=UTC), ops=REAL)
    panel = AuditPanel(tmp_path)
    assert panel.inventory is not None and len(panel.inventory.rows) == 1
    assert panel.compression_chart.layout.display == "none"
    assert "compressed" not in text_of(panel.inventory_summary.value)


def test_the_compression_chart_plots_plain_over_stored_size(folder: Path) -> None:
    chart = charts.compression_history(inventory(folder, ops=REAL))
    data = chart.data
    assert list(data["layers"]) == ["tar", "tar+zstd", "tar+zstd+age"]  # by creation time
    assert data.loc[0, "ratio"] == 1.0
    assert (data["ratio"] == data["plain_size"] / data["size"]).all()
    assert 2 < data.loc[1, "ratio"] < data.loc[2, "ratio"]  # level 9 compresses more than 3
    assert chart.png().startswith(b"\x89PNG")


def test_the_inventory_table_shows_layers_and_plain_size_where_any_archive_has_layers(
    folder: Path, tmp_path: Path
) -> None:
    table = text.render_inventory(inventory(folder, ops=REAL)).splitlines()
    assert table[0].split()[:4] == ["file", "size", "layers", "plain_size"]
    assert any("tar+zstd+age" in line for line in table)
    data = make_demo_datadir(tmp_path / "d", DemoSpec.small(), ops=REAL).data_dir
    run_backup(data, tmp_path, created_at=datetime(2026, 3, 1, tzinfo=UTC), ops=REAL)
    assert "layers" not in text.render_inventory(inventory(tmp_path, ops=REAL)).splitlines()[0]


@pytest.mark.notebook
def test_the_backup_runbook_compresses_encrypts_and_verifies_with_an_identity_path(
    tmp_path: Path, key: tuple[Path, str, str]
) -> None:
    from helpers.notebooks import NOTEBOOK_DIR, check_ran_cleanly, execute, panels_text, tagged

    data = make_demo_datadir(tmp_path / "d", DemoSpec.small(), ops=REAL).data_dir
    backups = tmp_path / "backups"
    backups.mkdir()
    parameters = {
        "data_dir": str(data),
        "backup_dir": str(backups),
        "compress": "zstd",
        "encrypt_to": [key[1]],
        "identity_file": str(key[0]),
    }
    nb = execute(NOTEBOOK_DIR / "01-backup-runbook.ipynb", tmp_path, parameters)
    check_ran_cleanly(nb)
    archives = sorted(p.name for p in backups.glob("*.tar*") if not p.name.endswith((".b3", ".json")))
    assert len(archives) == 1 and archives[0].endswith(".tar.zst.age")
    shown = panels_text(nb)
    assert "tar+zstd+age" in shown and archives[0] in shown
    assert "VERIFY: clean" in tagged(nb, "verify")  # opened with the identity named by its path
    saved = nbformat_text(nb)
    assert key[2].removeprefix("AGE-SECRET-KEY-") not in saved  # the key itself is nowhere in the notebook


def nbformat_text(nb: object) -> str:
    import nbformat

    return str(nbformat.writes(nb))  # type: ignore[arg-type]
