"""The notebook panels, driven from code: buttons are clicked, then what the panel shows is read.

Widgets work without a kernel (their comm is a dummy), so these run as plain pytest tests.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import ipywidgets as widgets
import pandas as pd
import pytest
from helpers.archives import damage_storage
from helpers.data import tree_state
from helpers.html import text_of

from aeroops.core.backup_plan import BackupPlan, BackupRefusal, RefusalRule
from aeroops.core.results import BackupResult
from aeroops.demo import DemoSpec, make_demo_datadir
from aeroops.errors import AeroError, BackupError
from aeroops.executor.backup import run_backup
from aeroops.executor.fileops import REAL
from aeroops.panels import AuditPanel, BackupPanel, PagedTable, RestorePanel, WidgetProgress
from aeroops.panels import backup_panel as backup_panel_module
from aeroops.panels.common import Panel, error_html, error_text
from aeroops.progress import Progress
from aeroops.views.html import frame_html

CREATED_AT = datetime(2026, 2, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    return make_demo_datadir(tmp_path / "datadir", DemoSpec.small(), ops=REAL).data_dir


# --- progress ---------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_draws_steps_and_throttles_bytes() -> None:
    clock = FakeClock()
    progress = WidgetProgress(interval=0.1, clock=clock)
    progress(Progress("backup", "stage", 4, 10))
    assert (progress.step_bar.value, progress.step_bar.max) == (4, 10)
    assert progress.label.value == "[4/10] stage"
    for done in range(1, 100):  # within one interval: only the first byte event is drawn
        progress(Progress("backup", "pack", 8, 10, done, 100))
    assert progress.events == 100 and progress.draws == 2
    clock.now = 0.5
    progress(Progress("backup", "pack", 8, 10, 50, 100))
    assert progress.draws == 3 and progress.bytes_bar.value == pytest.approx(0.5)
    progress(Progress("backup", "pack", 8, 10, 100, 100))  # the last byte is always drawn
    assert progress.draws == 4 and progress.bytes_bar.value == 1.0
    assert "100 B of 100 B (100%)" in progress.label.value


def test_progress_finish_draws_the_last_event_and_marks_the_bars() -> None:
    clock = FakeClock()
    progress = WidgetProgress(clock=clock)
    progress(Progress("verify", "read", 1, 1, 1, 10))
    progress(Progress("verify", "read", 1, 1, 7, 10))  # throttled
    assert progress.bytes_bar.value == pytest.approx(0.1)
    progress.finish("done")
    assert progress.bytes_bar.value == 1.0 and progress.step_bar.bar_style == "success"
    assert progress.label.value == "done"
    progress.start("again")
    assert (progress.step_bar.value, progress.bytes_bar.value, progress.last) == (0, 0.0, None)
    progress.finish("broke", failed=True)
    assert progress.bytes_bar.bar_style == "danger"


def test_progress_label_says_rate_and_time_left() -> None:
    clock = FakeClock()
    progress = WidgetProgress(clock=clock)
    progress(Progress("restore", "verify and extract", 3, 11, 0, 8 << 20))
    clock.now = 2.0
    progress(Progress("restore", "verify and extract", 3, 11, 2 << 20, 8 << 20))
    assert progress.label.value == "[3/11] verify and extract: 2.0 MiB of 8.0 MiB (25%), 1.0 MiB/s, 0:06 left"


def test_a_refusal_is_not_drawn_as_a_job_done() -> None:
    progress = WidgetProgress(clock=FakeClock())
    progress(Progress("restore", "verify", 1, 2, 30, 100))
    progress.finish("refused", refused=True)
    assert progress.step_bar.bar_style == progress.bytes_bar.bar_style == "warning"
    assert (progress.step_bar.value, progress.bytes_bar.value) == (1, pytest.approx(0.3))


def test_an_error_is_shown_once_in_the_error_box_not_again_under_the_bars() -> None:
    panel, progress = Panel(), WidgetProgress(clock=FakeClock())

    def refused() -> int:
        raise BackupError("the output exists: overwrite it with --overwrite")

    assert panel.attempt(refused, progress=progress) is None
    assert "the output exists" in panel.error_box.value
    assert progress.label.value == "failed" and progress.step_bar.bar_style == "danger"


# --- errors and tables ------------------------------------------------------------------------


def test_an_aero_error_shows_severity_code_and_message() -> None:
    error = BackupError("no valid <snapshot>", path="/data")
    assert error_text(error) == "[ERROR] AERO_BACKUP_FAILED: no valid <snapshot> (/data)"
    shown = error_html(error)
    assert "AERO_BACKUP_FAILED" in shown and "&lt;snapshot&gt;" in shown and "Traceback" not in shown


def test_an_unexpected_error_shows_its_traceback_and_is_kept() -> None:
    panel = Panel()

    def broken() -> int:
        raise RuntimeError("disk on fire")

    assert panel.attempt(broken) is None
    assert isinstance(panel.error, RuntimeError)
    assert "RuntimeError: disk on fire" in panel.error_box.value
    assert "Traceback" in panel.error_box.value and "in broken" in panel.error_box.value
    with pytest.raises(RuntimeError) as raised:
        panel.raise_for_error()
    # Under the cell, IPython shows what `_render_traceback_` returns: the error's one line, not
    # the traceback the error box shows already.
    shown = raised.value._render_traceback_()  # type: ignore[attr-defined]
    assert shown == ["stopped here: RuntimeError: disk on fire"]
    assert panel.attempt(lambda: 7) == 7
    assert panel.error is None and panel.error_box.value == ""


def test_paged_table_shows_one_page_at_a_time() -> None:
    frame = pd.DataFrame({"n": range(60), "text": ["x" * 300] * 60})
    table = PagedTable(frame, page_size=25)
    assert table.page_count == 3 and table.previous_button.disabled and not table.next_button.disabled
    assert "<td>24</td>" in table.html.value and "<td>25</td>" not in table.html.value
    assert "x" * 300 in text_of(table.html.value) and "…" not in table.html.value  # long cells are never cut
    table.next_button.click()
    table.next_button.click()
    assert table.page == 2 and table.next_button.disabled
    assert "<td>59</td>" in table.html.value and table.position.value.startswith("rows 51–60 of 60")
    table.next_button.click()
    assert table.page == 2
    table.set_frame(frame.head(3))
    assert table.page == 0 and table.pager.layout.display == "none"
    table.set_frame(None)
    assert table.layout.display == "none"


def test_cells_are_escaped_and_missing_values_left_blank() -> None:
    frame = pd.DataFrame(
        {
            "text": pd.Series(["<b>bold</b>", None], dtype="string"),
            "count": pd.Series([1, None], dtype="Int64"),
            "when": pd.to_datetime(["2026-02-04T11:30:00Z", None]),
            "age": pd.to_timedelta([90_000, None], unit="s"),
            "long": ["word " * 30, ""],
        }
    )
    shown = text_of(frame_html(frame))
    assert "&lt;b&gt;bold&lt;/b&gt;" in shown and "<b>bold" not in shown
    assert "2026-02-04T11:30:00Z" in shown and "1 d 1 h" in shown
    assert "<NA>" not in shown and "NaT" not in shown and "NaN" not in shown
    assert "<div class='aeroops-long'>" + ("word " * 30).strip() in shown  # whole, wrapped


# --- BackupPanel ------------------------------------------------------------------------------


def test_backup_panel_shows_scan_and_plan_before_anything_runs(demo_dir: Path, out_dir: Path) -> None:
    panel = BackupPanel(demo_dir, out_dir, created_at=CREATED_AT)
    assert isinstance(panel.plan, BackupPlan) and panel.error is None
    assert list(panel.snapshots_table.frame["verdict"]) == ["valid", "valid"]
    assert panel.snapshots_table.frame["snapshot_id"].iloc[0] == panel.plan.snapshot_id  # newest first
    assert "valid" in panel.snapshots_table.html.value
    # Every snapshot valid: no reason to give, so no blank reason column (the frame keeps it).
    assert "reason" in panel.snapshots_table.frame.columns
    assert ">reason<" not in panel.snapshots_table.html.value  # no heading
    assert "not shown here: reason" in panel.snapshots_table.html.value
    members = panel.members_table.frame
    assert "snapshot/storage.dat" in set(members["name"]) and "wal/wal.log" in set(members["name"])
    assert str(panel.plan.archive_size) in panel.plan_summary.value
    assert "backup_manifest.json" in panel.manifest_html.value and "&quot;backup_id&quot;" in panel.manifest_html.value
    assert not panel.run_button.disabled
    assert list(out_dir.iterdir()) == []  # nothing was written


def test_clicking_run_makes_the_backup_and_shows_the_result(demo_dir: Path, out_dir: Path) -> None:
    panel = BackupPanel(demo_dir, out_dir, created_at=CREATED_AT)
    panel.run_button.click()
    assert panel.error is None, panel.error_box.value
    result = panel.result
    assert result is not None and Path(result.archive).is_file()
    assert Path(result.archive).name == panel.plan.archive_name  # type: ignore[union-attr]
    assert result.digest.startswith("blake3:") and result.sidecar.endswith(".b3")
    for shown in (result.archive, result.digest, result.sidecar, str(result.size)):
        assert shown in text_of(panel.result_html.value)
    assert "duration" in panel.result_html.value
    assert panel.progress.step_bar.value == panel.progress.step_bar.max == 10
    assert panel.progress.bytes_bar.value == 1.0 and panel.progress.step_bar.bar_style == "success"
    assert panel.progress.events > 10
    assert set(panel.result_members_table.frame["name"]) == set(panel.members_table.frame["name"])


def test_a_data_directory_without_a_valid_snapshot_shows_aero_backup_failed(tmp_path: Path, out_dir: Path) -> None:
    data_dir = make_demo_datadir(tmp_path / "datadir", DemoSpec.small(), ops=REAL).data_dir
    for storage in (data_dir / "snapshots").glob("*/storage.dat"):
        with storage.open("r+b") as stream:
            stream.seek(20)
            stream.write(b"\xff\xff")
    panel = BackupPanel(data_dir, out_dir)
    assert isinstance(panel.plan, BackupRefusal) and panel.plan.rule is RefusalRule.NO_VALID_SNAPSHOT
    assert set(panel.snapshots_table.frame["verdict"]) == {"corrupt"}
    assert "checksum" in panel.snapshots_table.frame["reason"].iloc[0]
    assert "AERO_BACKUP_FAILED" in panel.plan_summary.value
    assert panel.run_button.disabled and "Backup refused" in panel.run_reason.value
    panel.run_button.click()  # disabled in a browser; from code the panel still refuses
    assert panel.result is None
    assert isinstance(panel.error, BackupError) and panel.error.code == "AERO_BACKUP_FAILED"
    assert "[ERROR] AERO_BACKUP_FAILED: no valid snapshot" in panel.error_box.value
    assert panel.progress.step_bar.bar_style == "danger"
    assert list(out_dir.iterdir()) == []


def test_a_missing_data_directory_shows_its_error(tmp_path: Path, out_dir: Path) -> None:
    panel = BackupPanel(tmp_path / "nowhere", out_dir)
    assert panel.plan is None and panel.run_button.disabled
    assert isinstance(panel.error, AeroError)
    assert "AERO_SCAN_FAILED" in panel.error_box.value and "does not exist" in panel.error_box.value


def test_a_newer_corrupt_snapshot_is_skipped_with_its_reason(demo_dir: Path, out_dir: Path) -> None:
    newest = sorted((demo_dir / "snapshots").iterdir())[-1]
    (newest / "manifest.json").unlink()
    panel = BackupPanel(demo_dir, out_dir)
    assert isinstance(panel.plan, BackupPlan) and panel.plan.snapshot_id != newest.name
    assert list(panel.snapshots_table.frame["verdict"]) == ["incomplete", "valid"]
    assert f"{newest.name}: incomplete" in panel.plan_summary.value


def test_a_failing_backup_shows_its_error_and_the_panel_recovers(demo_dir: Path, out_dir: Path) -> None:
    panel = BackupPanel(demo_dir, out_dir, created_at=CREATED_AT)
    assert panel.run() is not None
    again = panel.run()  # same created_at: the same archive name, which exists
    assert again is None and "AERO_BACKUP_FAILED" in panel.error_box.value
    assert "already exists" in panel.error_box.value
    assert panel.progress.step_bar.bar_style == "danger" and not panel.run_button.disabled
    panel.created_at = datetime(2026, 2, 1, 13, 0, 0, tzinfo=UTC)
    assert panel.run() is not None and panel.error is None and panel.error_box.value == ""


def test_an_unexpected_exception_in_run_is_shown_with_its_traceback(
    demo_dir: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("bad arithmetic")

    monkeypatch.setattr(backup_panel_module, "run_backup", explode)
    panel = BackupPanel(demo_dir, out_dir)
    panel.run_button.click()
    assert isinstance(panel.error, ZeroDivisionError)
    assert "ZeroDivisionError: bad arithmetic" in panel.error_box.value and "Traceback" in panel.error_box.value


def test_typing_a_path_rescans_and_an_output_folder_enables_run(demo_dir: Path, out_dir: Path) -> None:
    panel = BackupPanel()
    assert panel.plan is None and panel.run_button.disabled
    panel.data_dir_input.value = str(demo_dir)
    assert isinstance(panel.plan, BackupPlan)
    assert panel.run_button.disabled and "output folder" in panel.run_reason.value
    panel.output_input.value = str(out_dir)
    assert not panel.run_button.disabled and panel.run_reason.value == ""
    os.rename(demo_dir, demo_dir.with_name("moved"))
    panel.scan_button.click()
    assert panel.plan is None and "does not exist" in panel.error_box.value and panel.run_button.disabled


# --- AuditPanel -------------------------------------------------------------------------------


@pytest.fixture
def backup_folder(demo_dir: Path, out_dir: Path) -> tuple[Path, BackupResult, BackupResult]:
    """Two good backups (of two snapshots), a damaged copy of one, and a file that is no archive."""
    newest = run_backup(demo_dir, out_dir, created_at=CREATED_AT, ops=REAL)
    older = run_backup(
        demo_dir, out_dir, created_at=datetime(2026, 2, 2, tzinfo=UTC), snapshot_id="20260101T010000Z", ops=REAL
    )
    shutil.copyfile(newest.archive, out_dir / "damaged.tar")
    damage_storage(out_dir / "damaged.tar")
    (out_dir / "notes.tar").write_text("not an archive")
    return out_dir, newest, older


def test_audit_panel_shows_the_inventory(backup_folder: tuple[Path, BackupResult, BackupResult]) -> None:
    folder, newest, older = backup_folder
    panel = AuditPanel(folder, now=datetime(2026, 2, 3, tzinfo=UTC))
    assert panel.error is None and panel.inventory is not None
    table = panel.inventory_table.frame
    assert list(table["file"]) == sorted(
        [Path(newest.archive).name, Path(older.archive).name, "damaged.tar", "notes.tar"]
    )
    assert table.set_index("file").loc["notes.tar", "reason"].startswith("AERO_")
    assert "ok" not in table.columns  # not verified yet
    assert Path(older.archive).name in text_of(panel.inventory_table.html.value)
    assert list(panel.archive_select.options) == list(table["file"])
    assert panel.selected is None and panel.inspection is None  # nothing is read until asked
    assert not panel.verify_all_button.disabled and panel.verify_button.disabled


def test_selecting_an_archive_shows_members_wal_and_documents(
    backup_folder: tuple[Path, BackupResult, BackupResult],
) -> None:
    folder, newest, _ = backup_folder
    panel = AuditPanel(folder)
    name = Path(newest.archive).name
    panel.archive_select.value = name  # what picking it in the list does
    assert panel.selected == name and panel.error is None and panel.inspection is not None
    assert set(panel.members_table.frame["status"]) == {"ok"}
    assert "snapshot/storage.dat" in set(panel.members_table.frame["name"])
    assert set(panel.wal_table.frame["operation"]) == {"insert", "update", "delete"}
    collections = panel.collections_table.frame
    assert set(collections["collection"]) == {"users", "orders", "products"}
    assert collections["documents"].sum() == len(panel.inspection.logical)
    assert newest.backup_id in panel.manifests_html.value and "verifies clean" in panel.archive_summary.value
    assert panel.progress.step_bar.bar_style == "success"


def test_verify_shows_a_clean_verdict_then_the_findings_of_a_damaged_archive(
    backup_folder: tuple[Path, BackupResult, BackupResult],
) -> None:
    folder, newest, _ = backup_folder
    panel = AuditPanel(folder)
    panel.select(Path(newest.archive).name)
    panel.verify_button.click()
    assert panel.report is not None and panel.report.ok
    assert "VERIFY: clean" in panel.verdict_html.value and len(panel.findings_table.frame) == 0
    report = panel.verify("damaged.tar")
    assert report is not None and not report.ok and panel.selected == "damaged.tar"
    assert "VERIFY: NOT CLEAN" in panel.verdict_html.value
    assert "AERO_VERIFY_CHECKSUM" in set(panel.findings_table.frame["code"])
    assert "AERO_VERIFY_CHECKSUM" in text_of(panel.findings_table.html.value)
    assert panel.progress.events > 0


def test_verify_all_adds_verdicts_and_lists_every_finding(
    backup_folder: tuple[Path, BackupResult, BackupResult],
) -> None:
    folder, _, _ = backup_folder
    panel = AuditPanel(folder)
    panel.verify_all_button.click()
    assert panel.error is None and panel.inventory is not None and panel.inventory.verified
    verdicts = dict(zip(panel.inventory_table.frame["file"], panel.inventory_table.frame["ok"], strict=True))
    assert not verdicts.pop("damaged.tar") and not verdicts.pop("notes.tar")
    assert all(verdicts.values()) and len(verdicts) == 2
    archives = {Path(a).name for a in panel.all_findings_table.frame["archive"]}
    assert archives == {"damaged.tar", "notes.tar"}
    assert "2 verify clean, 2 do not" in panel.inventory_summary.value
    assert panel.progress.label.value.startswith("verified 4 archives")


def test_audit_panel_errors_and_selection_follow_the_folder(tmp_path: Path, backup_folder: tuple) -> None:
    folder = backup_folder[0]
    panel = AuditPanel(tmp_path / "nowhere")
    assert panel.inventory is None and panel.verify_all_button.disabled
    assert "AERO_USAGE: the backup folder does not exist" in panel.error_box.value
    panel.folder_input.value = str(folder)
    assert panel.error is None and len(panel.inventory_table.frame) == 4
    panel.select("damaged.tar")
    (folder / "damaged.tar").unlink()
    panel.refresh_button.click()
    assert panel.selected is None and panel.inspection is None and "damaged.tar" not in panel.archive_select.options
    panel.select("gone.tar")  # a name typed from code that is not there
    assert panel.inspection is None and "AERO_USAGE" in panel.error_box.value


# --- RestorePanel -----------------------------------------------------------------------------


@pytest.fixture
def archive(demo_dir: Path, out_dir: Path) -> Path:
    return Path(run_backup(demo_dir, out_dir, created_at=CREATED_AT, ops=REAL).archive)


def test_a_drill_restores_into_a_scratch_folder_and_compares(demo_dir: Path, archive: Path, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    before = tree_state(demo_dir)
    panel = RestorePanel(archive, demo_dir, scratch_parent=scratch)
    panel.drill_button.click()
    result = panel.drill_result
    assert panel.error is None and result is not None and result.ok and result.source == str(demo_dir)
    shown = text_of(panel.drill_html.value)
    assert "DRILL: PASSED" in shown and "<td>restored vs archive</td><td>identical</td>" in shown
    assert "<td>restored vs source (snapshot 20260101T020000Z + its WAL)</td><td>identical</td>" in shown
    assert "orders" not in shown  # the counts per collection: in the table and the chart, not a third time
    table = panel.drill_table.frame
    assert set(table["collection"]) == {"users", "orders", "products"}
    assert (table["restored"] == table["archive"]).all() and (table["restored"] == table["source"]).all()
    assert tree_state(demo_dir) == before and list(scratch.iterdir()) == []
    assert panel.progress.step_bar.bar_style == "success"
    panel.archive_input.value = str(tmp_path / "other.tar")  # another archive: its drill is not this one's
    assert panel.drill_result is None and panel.drill_html.value == "" and len(panel.drill_table.frame) == 0


def test_a_drill_of_a_damaged_archive_fails_with_its_code(demo_dir: Path, archive: Path, tmp_path: Path) -> None:
    damage_storage(archive)
    panel = RestorePanel(archive, demo_dir, scratch_parent=tmp_path)
    result = panel.drill()
    assert result is not None and not result.ok
    assert "DRILL: FAILED" in panel.drill_html.value and "AERO_RESTORE_" in text_of(panel.drill_html.value)
    assert panel.drill_heading.layout.display is None and panel.restore_heading.layout.display == "none"
    assert panel.progress.step_bar.bar_style == "danger"


def test_restore_needs_a_preview_a_request_and_a_confirmation(demo_dir: Path, archive: Path) -> None:
    (demo_dir / "data" / "documents.dat").write_bytes(b"lost")  # the disaster
    before = tree_state(demo_dir)
    panel = RestorePanel(archive, demo_dir)
    assert panel.restore_button.disabled and panel.confirm_box.layout.display == "none"
    panel.preview_button.click()
    assert panel.error is None and panel.preview_result is not None and panel.preview_result.would_restore
    assert not panel.restore_button.disabled and "replaced" in panel.preview_html.value
    assert "data" in set(panel.replaced_table.frame["name"])
    assert "data/documents.dat" in set(panel.files_table.frame["path"])
    panel.restore_button.click()
    assert panel.pending == "restore" and panel.confirm_box.layout.display is None
    assert f"Replace {demo_dir}" in panel.confirm_text.value and "deleted" in panel.confirm_text.value
    panel.cancel_button.click()
    assert panel.pending is None and panel.confirm_box.layout.display == "none"
    assert tree_state(demo_dir) == before  # nothing happened so far
    panel.confirm_button.click()  # no question is open: nothing is done
    assert "AERO_USAGE" in panel.error_box.value and tree_state(demo_dir) == before
    panel.restore_button.click()
    panel.confirm_button.click()
    result = panel.result
    assert panel.error is None and result is not None and result.data_dir == str(demo_dir)
    restored = (demo_dir / "data" / "documents.dat").read_bytes()
    assert restored == (demo_dir / "snapshots" / result.plan.snapshot_id / "storage.dat").read_bytes()
    assert "RESTORED" in panel.result_html.value and panel.progress.step_bar.value == 11
    assert panel.preview_result is None and panel.restore_button.disabled  # the preview is spent


def test_changing_a_path_withdraws_the_question(demo_dir: Path, archive: Path, tmp_path: Path) -> None:
    panel = RestorePanel(archive, demo_dir)
    assert panel.request_restore() and panel.pending == "restore"  # previews first
    panel.data_dir_input.value = str(tmp_path / "elsewhere")
    assert panel.pending is None and panel.preview_result is None and panel.restore_button.disabled
    assert panel.confirm() is None and "AERO_USAGE" in panel.error_box.value


def test_a_refused_restore_cannot_be_requested(demo_dir: Path, archive: Path) -> None:
    damage_storage(archive)
    before = tree_state(demo_dir)
    panel = RestorePanel(archive, demo_dir)
    assert panel.drill_heading.layout.display == panel.restore_heading.layout.display == "none"  # nothing yet
    preview = panel.preview()
    assert preview is not None and not preview.would_restore and panel.restore_button.disabled
    # The refusal under its heading; no empty "Drill" above it.
    assert panel.restore_heading.layout.display is None and panel.drill_heading.layout.display == "none"
    assert "Restore refused" in panel.preview_html.value and "archive-invalid" in panel.preview_html.value
    assert "AERO_VERIFY_CHECKSUM" in set(panel.findings_table.frame["code"])
    # The bars are amber, not the green of a job done, above the refusal.
    assert panel.progress.step_bar.bar_style == panel.progress.bytes_bar.bar_style == "warning"
    assert "would be refused" in panel.progress.label.value
    assert not panel.request_restore() and panel.pending is None
    assert "[FATAL] AERO_RESTORE_CORRUPTION" in panel.error_box.value
    assert tree_state(demo_dir) == before


def test_creating_a_new_data_directory(archive: Path, tmp_path: Path) -> None:
    target = tmp_path / "new-datadir"
    panel = RestorePanel(archive, target)
    assert panel.preview() is not None and not panel.preview_result.would_restore  # type: ignore[union-attr]
    assert "missing" in panel.preview_html.value
    panel.create_box.value = True
    assert panel.request_restore() and f"Create {target}" in panel.confirm_text.value
    assert panel.confirm() is not None and (target / "data" / "documents.dat").is_file()


def test_an_interrupted_restore_is_recovered_after_confirmation(demo_dir: Path, archive: Path) -> None:
    leftover = demo_dir.with_name(f".{demo_dir.name}.aeroops-restore-tmp")
    leftover.mkdir()
    panel = RestorePanel(archive, demo_dir)
    panel.preview()
    assert "interrupted" in panel.preview_html.value and panel.recover_button.layout.display is None
    panel.recover_button.click()
    assert panel.pending == "recover" and "delete" in panel.confirm_text.value and leftover.exists()
    panel.confirm_button.click()
    assert panel.error is None and panel.recovery is not None and not leftover.exists()
    assert "RECOVERED" in panel.result_html.value
    assert panel.preview() is not None and panel.preview_result.would_restore  # type: ignore[union-attr]


def test_restore_panel_asks_for_paths(tmp_path: Path) -> None:
    panel = RestorePanel()
    assert panel.drill() is None and "AERO_USAGE: choose an archive first" in panel.error_box.value
    panel.archive_input.value = str(tmp_path / "a.tar")
    assert panel.preview() is None and "choose a data directory first" in panel.error_box.value


# --- what a person sees: no widget hides another, errors show -----------------------------------


def widget_paths(root: widgets.Widget) -> Iterator[tuple[widgets.Widget, ...]]:
    """Every widget of the tree under ``root``, each as its path from ``root`` (root first)."""
    stack: list[tuple[widgets.Widget, ...]] = [(root,)]
    while stack:
        path = stack.pop()
        yield path
        stack.extend((*path, child) for child in getattr(path[-1], "children", ()))


def shown(root: widgets.Widget, target: widgets.Widget) -> bool:
    """``target`` is in the tree of ``root`` and neither it nor any widget around it is hidden."""
    for path in widget_paths(root):
        if path[-1] is target:
            return all(w.layout.display != "none" for w in path)
    raise AssertionError(f"{target!r} is not in the tree of {type(root).__name__}")


@pytest.fixture
def every_panel(backup_folder: tuple[Path, BackupResult, BackupResult], demo_dir: Path) -> list[widgets.Widget]:
    """Each panel, in the states that hide and show parts of it: a selection, a verdict, an error."""
    folder, newest, _ = backup_folder
    audit = AuditPanel(folder)
    audit.select("damaged.tar")
    audit.verify()
    restore = RestorePanel(newest.archive, demo_dir)
    restore.drill()
    restore.preview()
    restore.request_restore()
    return [
        BackupPanel(demo_dir, folder),
        BackupPanel(folder / "nowhere", folder),
        audit,
        AuditPanel(folder / "nowhere"),
        restore,
        RestorePanel(),
    ]


def test_no_layout_or_style_is_shared_between_widgets(every_panel: list[widgets.Widget]) -> None:
    """Hiding one widget (``layout.display = "none"``) must hide it alone: each widget has its
    own Layout and Style, within a panel and across panels."""
    owners: dict[int, widgets.Widget] = {}
    for panel in every_panel:
        for path in widget_paths(panel):
            widget = path[-1]
            for part in (widget.layout, getattr(widget, "style", None)):
                if part is None:
                    continue
                other = owners.setdefault(id(part), widget)
                shared = f"a {type(widget).__name__} shares its {type(part).__name__} with a {type(other).__name__}"
                assert other is widget, shared


def test_each_panel_alone_shows_itself_and_what_it_found(
    backup_folder: tuple[Path, BackupResult, BackupResult], demo_dir: Path
) -> None:
    folder, newest, _ = backup_folder
    audit = AuditPanel(folder)  # README's line: the panel alone, nothing selected yet
    assert shown(audit, audit) and shown(audit, audit.inventory_table) and shown(audit, audit.progress)
    assert not shown(audit, audit.details)  # no archive selected: its tabs wait
    backup = BackupPanel(demo_dir, folder)
    assert shown(backup, backup) and shown(backup, backup.snapshots_table) and shown(backup, backup.members_table)
    restore = RestorePanel(newest.archive, demo_dir)
    assert shown(restore, restore) and shown(restore, restore.drill_button)
    restore.drill()
    assert shown(restore, restore.drill_table) and shown(restore, restore.progress)


def test_an_error_shows_in_the_panel(tmp_path: Path, demo_dir: Path, backup_folder: tuple) -> None:
    """A bad path typed into each panel: the panel stays shown, with the error in a visible box."""
    folder = backup_folder[0]
    audit = AuditPanel(folder)
    audit.select("damaged.tar")
    audit.folder_input.value = str(tmp_path / "nowhere")  # typed into the panel
    backup = BackupPanel(demo_dir, folder)
    backup.data_dir_input.value = str(tmp_path / "nowhere")
    restore = RestorePanel(tmp_path / "nowhere.tar", demo_dir)
    restore.archive_input.value = ""
    restore.drill()
    for panel, code in ((audit, "AERO_USAGE"), (backup, "AERO_SCAN_FAILED"), (restore, "AERO_USAGE")):
        assert panel.error is not None and code in panel.error_box.value
        assert shown(panel, panel) and shown(panel, panel.error_box), f"{type(panel).__name__} hides its error"


def test_the_panels_chart_the_history_and_the_drill(
    backup_folder: tuple[Path, BackupResult, BackupResult], demo_dir: Path
) -> None:
    folder, newest, _ = backup_folder
    audit = AuditPanel(folder)
    assert bytes(audit.history_chart.value).startswith(b"\x89PNG") and shown(audit, audit.history_chart)
    audit.folder_input.value = str(folder / "nowhere")
    assert bytes(audit.history_chart.value) == b"" and not shown(audit, audit.history_chart)
    restore = RestorePanel(newest.archive, demo_dir)
    assert not shown(restore, restore.drill_chart)
    restore.drill()
    assert bytes(restore.drill_chart.value).startswith(b"\x89PNG") and shown(restore, restore.drill_chart)
