"""Tables a person can read, in the terminal and in the panels, and the one
definition of each result field they come from."""

from __future__ import annotations

import dataclasses
import re
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from helpers.archives import fixture_bytes, flip_byte, hex_digest
from helpers.data import AERODB_FIXTURES
from helpers.html import text_of

from aeroops.columns import METADATA_KEY, specs
from aeroops.core.inspect import MemberRow, StorageGroup, WalGroup
from aeroops.core.inventory import InventoryRow
from aeroops.core.results import CollectionCount, DrillResult
from aeroops.errors import Code, Finding
from aeroops.executor.audit import inspect_archive, inventory
from aeroops.executor.fileops import REAL
from aeroops.views import records, tables
from aeroops.views.html import frame_html
from aeroops.views.restore import render_drill
from aeroops.views.serialise import decision_json, finding_json, inventory_row_json, plain, plain_dict
from aeroops.views.text import TABLE_WIDTH, render_inspect, render_inventory, render_report, text_table
from aeroops.views.units import display, human_age, human_bytes, octal_mode

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
LONG_NAME = "backup-" + "very-long-name-" * 4 + "20261126T214824Z.tar"  # 87 characters, one word


@pytest.fixture
def shelf(tmp_path: Path) -> Path:
    """Three archives: clean with a .b3 sidecar, damaged with a .sha256 one, not an archive."""
    root = tmp_path / "shelf"
    root.mkdir()
    data = fixture_bytes("backup-1000.tar")
    (root / "good.tar").write_bytes(data)
    (root / "good.tar.b3").write_text(f"{hex_digest('blake3', data)}  good.tar\n")
    shutil.copyfile(AERODB_FIXTURES / "backup-1000.tar", root / "damaged.tar")
    flip_byte(root / "damaged.tar", 7000)  # inside snapshot/storage.dat
    (root / "damaged.tar.sha256").write_text(f"{hex_digest('sha256', data)}  damaged.tar\n")
    (root / "junk.tar").write_text("not a tar archive, nor anything else")
    return root


def lines_fit(text: str, width: int = TABLE_WIDTH) -> bool:
    return all(len(line) <= width for line in text.splitlines())


# --- one definition per field -------------------------------------------------------------------


@pytest.mark.parametrize("row_type", [Finding, InventoryRow, MemberRow, WalGroup, StorageGroup])
def test_every_field_of_a_result_row_is_a_declared_column(row_type: type) -> None:
    fields = dataclasses.fields(row_type)
    assert all(METADATA_KEY in f.metadata for f in fields)
    assert set(specs(row_type)) == {f.name for f in fields}


def test_json_view_columns_and_records_come_from_the_same_fields(shelf: Path) -> None:
    taken = inventory(shelf, verify=True, now=NOW, ops=REAL)
    row = taken.rows[0]
    frame = tables.inventory_frame(taken)
    assert list(inventory_row_json(row)) == list(frame.columns) == list(records.inventory_columns(taken))
    assert list(inventory_row_json(row)) == [name for name in specs(InventoryRow)]
    finding = Finding.of(Code.VERIFY_CHECKSUM, "x", "a", 7)
    assert finding_json(finding) == plain_dict(finding) and set(records.FINDING_COLUMNS) == {"archive", *specs(Finding)}


def test_retention_decisions_and_backup_manifests_have_one_field_list(shelf: Path) -> None:
    from aeroops.core.retention import Policy, plan_retention
    from aeroops.formats.manifests import BACKUP_FIELDS, backup_manifest_object

    taken = inventory(shelf, verify=True, now=NOW, ops=REAL)
    plan = plan_retention(taken.rows, Policy(last=1), NOW)
    json_rows = [decision_json(d) for d in plan.decisions]
    frame = tables.retention_frame(plan)
    assert [list(row) for row in json_rows] == [list(frame.columns)] * len(plan.decisions)
    assert list(frame.columns) == list(records.RETENTION_COLUMNS) and "why" in frame.columns
    assert [row["why"] for row in json_rows] == [d.why for d in plan.decisions]
    manifest = inspect_archive(sorted(shelf.glob("*.tar"))[0], ops=REAL).backup_manifest
    assert manifest is not None
    table = tables.backup_manifest_frame(inspect_archive(sorted(shelf.glob("*.tar"))[0], ops=REAL))
    assert list(table.columns) == [*BACKUP_FIELDS, "source"]
    assert list(backup_manifest_object(manifest))[: len(BACKUP_FIELDS)] == list(BACKUP_FIELDS)


def test_a_column_name_means_one_thing_in_every_table() -> None:
    """The terminal and the panels find a column's unit by its name: no name may carry two."""
    tables_specs = [specs(t) for t in (Finding, InventoryRow, MemberRow, WalGroup, StorageGroup)]
    for table in tables_specs:
        for name, spec in table.items():
            shown = records.display_spec(name)
            assert (shown.unit, shown.missing) == (spec.unit, spec.missing), name


# --- the verdict first --------------------------------------------------------------------------


def test_the_verdict_comes_first_in_inventory_tables(shelf: Path) -> None:
    taken = inventory(shelf, verify=True, now=NOW, ops=REAL)
    assert list(tables.inventory_frame(taken).columns)[:6] == ["ok", "fatal", "errors", "warnings", "info", "file"]
    header = render_inventory(taken).splitlines()[0].split()
    assert header[:5] == ["ok", "fatal", "errors", "warnings", "file"]


def test_findings_are_listed_most_severe_first(shelf: Path) -> None:
    (shelf / "damaged.tar.sha256").unlink()  # a warning (no sidecar), found before the damage
    report = inspect_archive(shelf / "damaged.tar", ops=REAL).report
    assert [f.severity for f in report.findings][:2] == ["WARNING", "ERROR"]
    severities = list(tables.findings_frame(report)["severity"])
    assert severities == sorted(severities, key=["FATAL", "ERROR", "WARNING", "INFO"].index)
    assert severities[0] == "ERROR" and severities[-1] == "WARNING"
    listed = [line for line in render_report(report).splitlines() if line.startswith("  [")]
    assert listed[0].startswith("  [ERROR]") and listed[-1].startswith("  [WARNING]")


def test_json_writes_times_in_aerodbs_notation() -> None:
    from aeroops.formats.ids import format_timestamp

    cet = timezone(timedelta(hours=1))
    for moment in (datetime(2026, 2, 4, 11, 30, tzinfo=UTC), datetime(2026, 2, 4, 12, 30, 5, tzinfo=cet)):
        assert plain(moment) == format_timestamp(moment)
    assert plain(datetime(2026, 2, 4, 11, 30)) == "2026-02-04T11:30:00Z"  # naive: taken as UTC


# --- units --------------------------------------------------------------------------------------


def test_units_for_people() -> None:
    assert [human_bytes(n) for n in (0, 1023, 1024, 5 << 20, 3 << 30)] == [
        "0 B",
        "1023 B",
        "1.0 KiB",
        "5.0 MiB",
        "3.0 GiB",
    ]
    assert human_age(timedelta(days=2, hours=20, minutes=5)) == "2 d 20 h"
    assert human_age(timedelta(hours=3, minutes=12)) == "3 h 12 m" and human_age(timedelta(minutes=5)) == "5 m"
    assert octal_mode(0o100644) == "0644" and octal_mode(0o40755) == "0755"
    assert display(None, missing="none") == "none" and display(True) == "yes"


def test_sizes_and_ages_read_in_human_units_while_the_frame_keeps_the_numbers(shelf: Path) -> None:
    taken = inventory(shelf, now=NOW, ops=REAL)
    frame = tables.inventory_frame(taken)
    good = frame.set_index("file").loc["good.tar"]
    assert good["size"] == 267264 and isinstance(good["age"], pd.Timedelta)  # raw values stay
    shown = tables.display_frame(frame).set_index("file").loc["good.tar"]
    assert shown["size"] == "261.0 KiB" and shown["age"] == "4 d 14 h"
    assert "261.0 KiB" in frame_html(frame) and "267264" not in frame_html(frame)
    text = render_inventory(taken)
    assert "261.0 KiB" in text and "4 d 14 h" in text and "267264" not in text


def test_modes_read_as_0644_in_the_terminal_and_the_panels() -> None:
    result = inspect_archive(AERODB_FIXTURES / "backup-1000.tar", ops=REAL)
    text = render_inspect(result)
    assert re.search(r"\b0644\b", text) and re.search(r"\b0755\b", text) and "100644" not in text
    frame = tables.members_frame(result)
    assert frame["mode"].iloc[0] == 0o100644  # the raw mode stays in the frame
    assert "<td>0644</td>" in frame_html(frame)


def test_the_panels_and_the_terminal_use_the_same_units(shelf: Path) -> None:
    taken = inventory(shelf, now=NOW, ops=REAL)
    shown = tables.display_frame(tables.inventory_frame(taken))
    text = render_inventory(taken)
    for column in ("size", "age", "sidecar", "created_at"):
        assert all(value in text for value in shown[column]), column


# --- sidecar kind, damaged reason ---------------------------------------------------------------


def test_the_sidecar_column_says_which_kind(shelf: Path) -> None:
    taken = inventory(shelf, now=NOW, ops=REAL)
    frame = tables.inventory_frame(taken).set_index("file")
    assert frame.loc["good.tar", "sidecar"] == "b3" and frame.loc["damaged.tar", "sidecar"] == "sha256"
    assert pd.isna(frame.loc["junk.tar", "sidecar"])
    rows = {line.split()[0]: line for line in render_inventory(taken).splitlines()[1:]}
    assert " b3 " in rows["good.tar"] + " " and " sha256 " in rows["damaged.tar"] + " "
    assert " none " in rows["junk.tar"] + " "


def test_a_damaged_archive_says_why(shelf: Path) -> None:
    verified = {row.file: row for row in inventory(shelf, verify=True, now=NOW, ops=REAL).rows}
    assert verified["damaged.tar"].ok is False
    assert (verified["damaged.tar"].reason or "").startswith("AERO_VERIFY_CHECKSUM: ")
    assert verified["good.tar"].reason is None
    assert (verified["junk.tar"].reason or "").startswith("AERO_TAR")  # unreadable: the manifest's reason stays
    unverified = {row.file: row for row in inventory(shelf, now=NOW, ops=REAL).rows}
    assert unverified["damaged.tar"].reason is None  # only verification sees the damage


# --- 100 columns, wrapped, nothing cut ----------------------------------------------------------


def test_terminal_tables_fit_100_columns_wrapping_between_words() -> None:
    message = "the snapshot manifest says crc32:a92925f6 but the member has crc32:8d79d7f7, " * 3
    rows = [
        {"severity": "ERROR", "code": "AERO_VERIFY_CHECKSUM", "archive": "a.tar", "message": message, "path": "x"},
        {"severity": "WARNING", "code": "AERO_VERIFY_NO_SIDECAR", "archive": "b.tar", "message": "short", "path": None},
    ]
    text = text_table(rows, ["severity", "code", "archive", "message", "path"])
    assert lines_fit(text) and len(text.splitlines()) > 3  # the message wrapped onto more lines
    words = " ".join(text.split())
    assert all(word in text.split() for word in message.split())  # no word broken in two
    assert "crc32:a92925f6" in words and "…" not in text


def test_a_table_too_wide_leaves_columns_out_and_says_so() -> None:
    rows = [{"file": LONG_NAME, "size": 10 << 20, "created_at": NOW, "backup_id": "20261126T214824Z"}]
    text = text_table(rows, ["file", "size", "created_at", "backup_id"])
    assert LONG_NAME in text.split()  # never cut
    note = "(left out to fit 100 columns: backup_id; the JSON output has every column)"
    assert text.splitlines()[-1] == note
    assert "10.0 MiB" in text and lines_fit(text.replace(LONG_NAME, "x"))


def test_a_word_wider_than_its_column_runs_past_it_and_its_row_goes_on_below() -> None:
    """An 87-character file name does not widen its column past 60 (which left every other column
    out): it ends its line, and the row's other cells follow on the next, in their columns."""
    rows = [
        {"file": LONG_NAME, "size": 10 << 20, "created_at": NOW},
        {"file": "short.tar", "size": 5, "created_at": NOW},
    ]
    header, name, rest, short = text_table(rows, ["file", "size", "created_at"]).splitlines()
    assert name == LONG_NAME and len(header) <= TABLE_WIDTH
    assert rest.split() == ["10.0", "MiB", "2026-12-01T12:00:00Z"] and short.split()[0] == "short.tar"
    assert rest.index("2026") == short.index("2026") == header.index("created_at")  # aligned
    assert rest.index("MiB") + len("MiB") == short.index("B ") + 1 == header.index("size") + len("size")  # right


def test_long_file_names_are_never_cut(shelf: Path) -> None:
    longest = "backup-" + "very-long-name-" * 15 + "20261126T214824Z.tar"  # 252 characters
    (shelf / "good.tar").rename(shelf / longest)
    taken = inventory(shelf, verify=True, now=NOW, ops=REAL)
    text = render_inventory(taken)
    assert longest in text.split() and "…" not in text
    html = frame_html(tables.inventory_frame(taken))
    assert longest in text_of(html) and "…" not in html


def test_inspect_and_inventory_fit_100_columns(shelf: Path) -> None:
    result = inspect_archive(AERODB_FIXTURES / "backup-3snap.tar", ops=REAL)
    text = render_inspect(result, wal=True, documents=True)
    assert lines_fit(text.split("\n", 1)[1])  # below the verdict's line, which names the archive by its path
    assert lines_fit(render_inventory(inventory(shelf, verify=True, now=NOW, ops=REAL)))


def test_the_drill_counts_stay_aligned_under_a_long_collection_name() -> None:
    long_collection = "k" * 70
    result = DrillResult(
        archive="a.tar",
        source="/data",
        scratch="/tmp/scratch",
        backup_id="b",
        snapshot_id="s",
        restore=None,
        duration_seconds=1.0,
        collections=(CollectionCount(long_collection, 14, 14, 14), CollectionCount("users", 128, 128, 127)),
    )
    table = render_drill(result).split("documents\n", 1)[1].splitlines()[:4]
    assert lines_fit("\n".join(table))
    ends = {line.rstrip()[-3:].strip() for line in table[1:3]}
    assert len({len(line.rstrip()) for line in table[1:3]}) == 1 and ends == {"14", "127"}  # right-aligned
    assert table[3].split() == ["total", "142"]


def test_a_column_blank_in_every_row_gives_its_room_away() -> None:
    """Inventory's reason when every archive reads fine took 6 columns and pushed age out; a
    verdict column stays even blank, and a table without rows keeps its header."""
    from aeroops.views.text import text_table

    rows = [{"ok": None, "file": "a.tar", "reason": None, "size": 1024}, {"ok": None, "file": "b.tar", "size": 2048}]
    table = text_table(rows, ["ok", "file", "reason", "size"])
    assert table.splitlines()[0].split() == ["ok", "file", "size"] and "left out" not in table
    with_reason = [*rows, {"ok": False, "file": "c.tar", "reason": "not a tar archive", "size": 10}]
    assert text_table(with_reason, ["ok", "file", "reason", "size"]).splitlines()[0].split()[2] == "reason"
    assert text_table([], ["ok", "file", "reason"]).split() == ["ok", "file", "reason"]
