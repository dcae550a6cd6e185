"""Tables in notebooks fit the output area: the shown copy of a frame
(`aeroops.views.tables.shown_frame`) and its HTML (`aeroops.views.html`). Whether they fit in a
real browser, the browser check measures (tests/browser/check_jupyterlab.py); here, what they
are made of."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from helpers.archives import fixture_bytes, flip_byte
from helpers.data import AERODB_FIXTURES
from helpers.html import text_of

from aeroops.core.newest_good import newest_good
from aeroops.executor.audit import inspect_archive, inventory, verify_archive
from aeroops.executor.fileops import REAL
from aeroops.panels import AuditPanel
from aeroops.views import tables
from aeroops.views.html import breakable, frame_html, readable, report_html, verdict_html

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
NAME = "aerodb-backup-20260101T030000Z-20260102T120200Z.tar"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A clean archive and a damaged one, under long names."""
    root = tmp_path / "backups"
    root.mkdir()
    (root / NAME).write_bytes(fixture_bytes("backup-1000.tar"))
    shutil.copyfile(AERODB_FIXTURES / "backup-1000.tar", root / f"damaged-{NAME}")
    flip_byte(root / f"damaged-{NAME}", 7000)  # inside snapshot/storage.dat
    return root


def test_a_line_may_break_after_separators_never_inside_a_part() -> None:
    path = "snapshot/schemas/schema_orders_v1.json"
    assert breakable(path) == "snapshot/<wbr>schemas/<wbr>schema_<wbr>orders_<wbr>v1.json"
    assert breakable("AERO_VERIFY_CHECKSUM") == "AERO_<wbr>VERIFY_<wbr>CHECKSUM"
    # Words, spaces and doubled separators stay as they are; the text is escaped.
    assert breakable("no break here -- x_ <b>") == "no break here -- x_ &lt;b&gt;"
    assert breakable("aerodb-backup-2026.tar") == "aerodb-<wbr>backup-<wbr>2026.tar"


def test_a_digest_may_break_every_16_characters_a_word_never() -> None:
    digest = "0123456789abcdef" * 4
    assert breakable(f"digest {digest}") == "digest " + "<wbr>".join(["0123456789abcdef"] * 4)
    word = "x" * 32  # up to 32 characters: kept whole
    assert breakable(word) == word


def test_the_shown_copy_leaves_out_what_it_is_told_and_says_so(folder: Path) -> None:
    frame = tables.inventory_frame(inventory(folder, verify=True, now=NOW, ops=REAL))
    before = frame.copy()
    shown = tables.shown_frame(frame, leave_out=tables.INVENTORY_LEFT_OUT)
    assert not set(tables.INVENTORY_LEFT_OUT) & set(shown.frame.columns)
    assert "source" not in shown.frame.columns  # no archive has one: an empty optional column
    # The verdict first: ok, then the counts by severity as one column.
    assert list(shown.frame.columns)[:3] == ["ok", "findings", "file"]
    findings = dict(zip(shown.frame["file"], shown.frame["findings"], strict=True))
    assert findings == {NAME: "1 warning", f"damaged-{NAME}": "1 error, 1 warning"}  # no sidecars: a warning
    left_out = "not shown here: snapshot_id, backup_id, modified, wal_present, format_version, source"
    assert any(note.startswith(left_out) for note in shown.notes)
    pd.testing.assert_frame_equal(frame, before)  # the DataFrame keeps every column and value
    assert set(shown.frame["size"]) == {"261.0 KiB"}  # people's units
    # Text may wrap; values (sizes, times, counts) stay on one line.
    assert {"file", "reason"} <= shown.text_columns and not {"size", "created_at", "age"} & shown.text_columns


def test_archives_are_named_within_the_folder_they_share(folder: Path) -> None:
    reports = [verify_archive(folder / name, ops=REAL) for name in (f"damaged-{NAME}", NAME)]
    frame = tables.findings_frame(reports)
    shown = tables.shown_frame(frame)
    assert set(shown.frame["archive"]) <= {NAME, f"damaged-{NAME}"}
    assert f"archive: in {folder}" in shown.notes
    assert frame["archive"].str.startswith(str(folder)).all()  # the frame keeps whole paths
    one = tables.shown_frame(tables.findings_frame(reports[0]))  # one archive's findings: named once
    assert "archive" not in one.frame.columns and f"archive: {folder / f'damaged-{NAME}'} for every row" in one.notes


def test_the_html_table_wraps_names_keeps_values_whole_and_names_what_it_left_out(folder: Path) -> None:
    frame = tables.inventory_frame(inventory(folder, verify=True, now=NOW, ops=REAL))
    html = frame_html(frame, leave_out=tables.INVENTORY_LEFT_OUT)
    assert "aerodb-<wbr>backup-<wbr>" in html  # a file name may wrap at its dashes
    assert "<span class='aeroops-value'>261.0 KiB</span>" in html  # a size never does, nor a time
    assert "<span class='aeroops-value'>2026-" in html
    assert "<th>wal_<wbr>present</th>" not in html and "not shown here: snapshot_<wbr>id" in html
    assert "white-space: nowrap" not in html.split("</style>")[0].split(".aeroops-value")[0]  # text cells wrap
    text = text_of(html)
    assert NAME in text and f"damaged-{NAME}" in text and "…" not in text


def test_readable_shows_a_frame_as_the_panels_do_and_leaves_it_alone(folder: Path) -> None:
    frame = tables.inventory_frame(inventory(folder, now=NOW, ops=REAL))
    table = readable(frame, leave_out=["backup_id"])
    assert table.frame is frame
    assert table._repr_html_() == frame_html(frame, leave_out=["backup_id"])
    assert repr(table) == repr(frame)  # as text, the frame itself


def test_a_report_shows_its_verdict_then_its_findings(folder: Path) -> None:
    clean, damaged = verify_archive(folder / NAME, ops=REAL), verify_archive(folder / f"damaged-{NAME}", ops=REAL)
    assert "VERIFY: clean" in verdict_html(clean) and "aeroops-success" in verdict_html(clean)
    assert report_html(clean).startswith(verdict_html(clean))
    shown = text_of(report_html(damaged))
    assert "VERIFY: NOT CLEAN" in shown and "aeroops-warning" in shown
    assert shown.index("NOT CLEAN") < shown.index("<table") and "AERO_VERIFY_CHECKSUM" in shown


def test_the_audit_panel_shows_the_inventory_without_its_identifiers(folder: Path) -> None:
    panel = AuditPanel(folder, now=NOW)
    panel.verify_all()
    panel.raise_for_error()
    assert "backup_id" in panel.inventory_table.frame.columns  # the DataFrame has every column
    html = panel.inventory_table.html.value
    assert "<th>backup_<wbr>id</th>" not in html and "not shown here: snapshot_<wbr>id" in html
    assert "<th>ok</th><th>findings</th>" in html.replace("\n", "").replace(" ", "") and "<th>reason</th>" in html


def test_the_newest_good_backup_of_each_snapshot_as_a_table(folder: Path) -> None:
    found = newest_good(inventory(folder, verify=True, now=NOW, ops=REAL).rows)
    frame = tables.newest_good_frame(found)
    assert list(frame.columns) == ["snapshot_id", "file", "created_at", "age", "size", "sidecar"]
    assert list(frame["file"]) == [NAME]  # the damaged copy of the same snapshot is not chosen
    assert frame["size"].dtype == "Int64" and isinstance(frame["age"].iloc[0], pd.Timedelta)
    assert NAME in text_of(frame_html(frame)) and "261.0 KiB" in frame_html(frame)


def test_a_column_with_one_value_in_every_row_is_said_once_under_the_table() -> None:
    frame = tables.members_frame(inspect_archive(AERODB_FIXTURES / "backup-1000.tar", ops=REAL))
    assert frame["mtime"].nunique() == 1 and len(frame) > 1
    shown = tables.shown_frame(frame)
    assert "mtime" not in shown.frame.columns
    assert [note for note in shown.notes if note.startswith("mtime: ") and note.endswith(" for every row")]
    one_row = tables.shown_frame(frame.head(1))
    assert "mtime" in one_row.frame.columns  # one row: nothing to say once


def test_a_findings_place_and_a_rows_reason_show_only_where_some_row_has_one(folder: Path) -> None:
    """The sequence of a finding outside the WAL, an inventory's reason when every archive reads
    fine: blank in every row, they took room from the message; the frame keeps them."""
    report = verify_archive(folder / f"damaged-{NAME}", ops=REAL)
    frame = tables.findings_frame(report)
    assert frame["sequence"].isna().all()
    shown = tables.shown_frame(frame)
    assert "sequence" not in shown.frame.columns and "sequence" in frame.columns
    assert "path" in shown.frame.columns  # the damaged member is named
    assert any("sequence" in note and note.startswith("not shown here") for note in shown.notes)
    (folder / f"damaged-{NAME}").unlink()
    clean = tables.inventory_frame(inventory(folder, now=NOW, ops=REAL))
    assert clean["reason"].isna().all() and "reason" not in tables.shown_frame(clean).frame.columns
