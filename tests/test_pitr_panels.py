"""The WAL archive in the panels (issue 23, points 5 and 7): the audit panel shows a folder's
segments per timeline, its problems, each base's restorable range and the coverage chart (red
where archived records are out of reach); the point-in-time panel previews, drills and restores
after a confirmation. Both call the same functions as the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.data import tree_state
from helpers.html import text_of
from helpers.pitr import A, B
from test_boot import boot
from test_pitr import build_folder, damage, listed, writable

from aeroops.core.pitr import PitrPlan, PitrRefusal
from aeroops.executor.backup import run_backup
from aeroops.executor.fileops import REAL
from aeroops.panels import AuditPanel
from aeroops.panels.pitr_panel import PitrPanel, parse_target
from aeroops.views.pitr_chart import coverage_data

PNG = b"\x89PNG"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_folder(tmp_path_factory.mktemp("pitr-panels"))


def test_the_audit_panel_shows_the_wal_archive_beside_the_inventory(folder: Path) -> None:
    panel = AuditPanel(folder)
    assert panel.error is None and panel.inventory is not None
    assert set(panel.inventory_table.frame["file"]) == {"base-a.tar", "base-b.tar"}  # segments are no archives
    report = panel.wal_report
    assert report is not None and not report.checked  # listed, as `inventory --wal`
    assert panel.wal_box.layout.display is None
    timelines = panel.wal_timelines_table.frame.set_index("timeline")
    assert list(timelines.index) == [A, B]
    assert list(timelines["segments"]) == [2, 2] and list(timelines["restorable_to"]) == [55, 35]
    assert list(timelines["bases"]) == ["base-a.tar", "base-b.tar"]
    ranges = panel.wal_coverage_table.frame.set_index("base")
    assert tuple(ranges.loc["base-a.tar", ["timeline", "from_sequence", "to_sequence"]]) == (A, 0, 55)
    assert tuple(ranges.loc["base-b.tar", ["timeline", "from_sequence", "to_sequence"]]) == (B, 0, 35)
    assert panel.wal_problems_table.frame.empty and panel.wal_problems_table.layout.display == "none"
    assert bytes(panel.coverage_chart.value).startswith(PNG)
    summary = panel.wal_summary.value
    assert "4 WAL segments on 2 timelines, listed" in summary and "no problem found" in summary
    assert "base-b.tar" in text_of(panel.wal_coverage_table.html.value)


def test_verify_all_reads_the_segments_and_shows_damage_in_red(folder: Path, tmp_path: Path) -> None:
    copy = writable(folder, tmp_path)
    damage(copy, "damaged")  # a bit flipped in timeline B's segment 21..35: its name and sidecar still look fine
    panel = AuditPanel(copy)
    assert panel.wal_report is not None and panel.wal_report.ok  # only listed: the damage is not seen yet
    panel.verify_all_button.click()
    report = panel.wal_report
    assert panel.error is None and report is not None and report.checked and not report.ok
    problems = panel.wal_problems_table.frame
    assert list(problems["code"]) == ["AERO_SEGMENT_DAMAGED"] and list(problems["timeline"]) == [B]
    assert "AERO_SEGMENT_DAMAGED" in text_of(panel.wal_problems_table.html.value)
    assert panel.wal_timelines_table.frame.set_index("timeline").loc[B, "restorable_to"] == 20
    assert "1 problem" in panel.wal_summary.value and "warning" in panel.wal_summary.value.lower()
    red = coverage_data(report)
    assert list(red[red["kind"] == "not restorable"]["timeline"]) == [B]  # the chart's red span


def test_a_gap_is_shown_from_the_listing_alone(folder: Path, tmp_path: Path) -> None:
    copy = writable(folder, tmp_path)
    damage(copy, "missing")  # timeline B's segment 1..20 gone
    panel = AuditPanel(copy)
    assert list(panel.wal_problems_table.frame["code"]) == ["AERO_SEGMENT_GAP"]
    assert panel.wal_timelines_table.frame.set_index("timeline").loc[B, "restorable_to"] == 0


def test_a_folder_without_segments_shows_no_wal_archive(tmp_path: Path) -> None:
    from helpers.pitr import stage_copy

    data = stage_copy(1, tmp_path / "data")
    out = tmp_path / "out"
    out.mkdir()
    run_backup(data, out / "base.tar", ops=REAL)
    panel = AuditPanel(out)
    assert panel.error is None and len(panel.inventory_table.frame) == 1
    assert panel.wal_report is not None and not panel.wal_report.timelines
    assert panel.wal_box.layout.display == "none" and bytes(panel.coverage_chart.value) == b""
    panel.folder_input.value = ""  # no folder: nothing of the WAL either
    assert panel.wal_report is None and panel.wal_box.layout.display == "none"


def test_the_pitr_panel_shows_coverage_previews_drills_and_restores_after_confirming(
    folder: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    before = tree_state(folder)
    panel = PitrPanel(folder, data, target="seq 33")
    panel.timeline_input.value = A
    report = panel.coverage()
    assert report is not None and report.ok and bytes(panel.chart.value).startswith(PNG)
    assert f"timeline {A}: 2 segments" in text_of(panel.coverage_html.value)
    preview = panel.preview()
    assert preview is not None and isinstance(preview.plan, PitrPlan) and preview.plan.sequence == 33
    assert "TARGET:" in panel.plan_html.value
    drilled = panel.drill()
    assert drilled is not None and drilled.ok and "DRILL PASSED" in panel.drill_html.value
    data.mkdir()  # an empty data directory: a restore replaces it
    assert panel.request_restore() and panel.confirm_box.layout.display != "none"
    assert panel.result is None  # nothing happens before the confirmation
    panel.confirm_box.confirm_button.click()
    assert panel.error is None and panel.result is not None
    assert boot(data) == listed(A, 33)
    assert tree_state(folder) == before
    panel.folder_input.value = str(tmp_path / "nowhere")  # a mistyped folder: its error, nothing of the last one
    assert panel.coverage() is None and "the backup folder does not exist" in panel.error_box.value
    assert panel.coverage_html.value == "" and panel.chart.layout.display == "none" and panel.status.value == ""


def test_the_pitr_panel_refuses_with_the_planners_reasons(folder: Path, tmp_path: Path) -> None:
    panel = PitrPanel(folder, tmp_path / "data", target="seq 99")
    found = panel.preview()
    assert found is not None and isinstance(found.plan, PitrRefusal)
    assert "REFUSED" in panel.plan_html.value and "past the newest archived record" in panel.plan_html.value
    assert not panel.request_restore() and panel.confirm_box.layout.display == "none"
    assert parse_target("latest").kind.value == "latest" and parse_target("seq 5", B).timeline == B
