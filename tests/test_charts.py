"""The charts: each built from known data (a demo data directory whose counts are known), its
data checked, and the figure checked to plot exactly that data; the retention timeline (SVG)
from inventory rows made by hand."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.retention import NOW, row

from aeroops.core.retention import Policy, plan_retention
from aeroops.demo import DemoSpec, DemoSummary, make_demo_datadir
from aeroops.executor.audit import inspect_archive, inventory
from aeroops.executor.backup import run_backup
from aeroops.executor.drill import drill
from aeroops.executor.fileops import REAL
from aeroops.views import charts

SPEC = DemoSpec.small()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoSummary, Path]:
    root = tmp_path_factory.mktemp("charts")
    summary = make_demo_datadir(root / "datadir", SPEC, ops=REAL)
    (root / "backups").mkdir()
    made = run_backup(summary.data_dir, root / "backups", created_at=datetime(2026, 2, 1, 12, tzinfo=UTC), ops=REAL)
    return summary, Path(made.archive)


def bar_lengths(chart: charts.Chart) -> list[float]:
    return [patch.get_width() for patch in chart.figure.axes[0].patches]


def test_wal_operations_count_every_record_of_each_collection(demo: tuple[DemoSummary, Path]) -> None:
    summary, archive = demo
    chart = charts.wal_operations(inspect_archive(archive, ops=REAL))
    data = chart.data
    assert list(data.index) == sorted(SPEC.collections)
    assert list(data.columns) == ["insert", "update", "delete"]
    assert int(data.to_numpy().sum()) == summary.wal_records  # every WAL record, once
    assert (data["insert"] > 0).all()
    stacked = bar_lengths(chart)  # one bar per collection and operation, in column order
    assert stacked == [float(v) for operation in data.columns for v in data[operation]]
    assert chart.png().startswith(b"\x89PNG")


def test_documents_per_collection_add_up_to_the_live_documents(demo: tuple[DemoSummary, Path]) -> None:
    summary, archive = demo
    chart = charts.documents(inspect_archive(archive, ops=REAL))
    assert list(chart.data["collection"]) == sorted(SPEC.collections)
    assert int(chart.data["documents"].sum()) == summary.documents
    assert bar_lengths(chart) == [float(n) for n in chart.data["documents"]]
    assert str(summary.documents) in chart.figure.axes[0].get_title()


def test_a_drill_chart_compares_restored_archive_and_source(demo: tuple[DemoSummary, Path], tmp_path: Path) -> None:
    summary, archive = demo
    result = drill(archive, source=summary.data_dir, scratch_parent=tmp_path, ops=REAL)
    chart = charts.drill_comparison(result)
    assert list(chart.data.columns) == ["collection", "restored", "archive", "source"]
    assert (chart.data["restored"] == chart.data["archive"]).all()
    assert (chart.data["restored"] == chart.data["source"]).all()
    assert int(chart.data["restored"].sum()) == summary.documents
    lengths = bar_lengths(chart)
    assert lengths == [float(v) for kind in ("restored", "archive", "source") for v in chart.data[kind]]
    assert "PASSED" in chart.figure.axes[0].get_title()
    without_source = charts.drill_comparison(drill(archive, scratch_parent=tmp_path, ops=REAL))
    assert "source" not in without_source.data.columns


def test_backup_history_places_each_archive_with_its_verdict(demo: tuple[DemoSummary, Path], tmp_path: Path) -> None:
    summary, archive = demo
    folder = tmp_path / "backups"
    folder.mkdir()
    shutil.copyfile(archive, folder / archive.name)
    older = run_backup(
        summary.data_dir,
        folder,
        created_at=datetime(2026, 1, 20, tzinfo=UTC),
        snapshot_id=summary.snapshot_ids[0],
        ops=REAL,
    )
    damaged = folder / "damaged.tar"
    data = bytearray(archive.read_bytes())
    data[data.index(b'"_id"')] ^= 0xFF
    damaged.write_bytes(bytes(data))
    (folder / "notes.tar").write_text("not an archive")  # no manifest: not on the chart

    unverified = charts.backup_history(inventory(folder, ops=REAL))
    assert set(unverified.data["verdict"]) == {"not verified"}
    chart = charts.backup_history(inventory(folder, verify=True, ops=REAL))
    data_ = chart.data
    assert list(data_["file"]) == [Path(older.archive).name, archive.name, "damaged.tar"]  # by creation time
    assert dict(zip(data_["file"], data_["verdict"], strict=True)) == {
        Path(older.archive).name: "ok",
        archive.name: "ok",
        "damaged.tar": "not ok",
    }
    assert list(data_["snapshot_id"]) == [summary.snapshot_ids[0], summary.snapshot_ids[-1], summary.snapshot_ids[-1]]
    points = {collection.get_label(): len(collection.get_offsets()) for collection in chart.figure.axes[0].collections}
    assert points == {"ok": 2, "not ok": 1}
    # damaged.tar is a copy of a clean archive: the same place. Its red dot is drawn on top.
    layer = {collection.get_label(): collection.get_zorder() for collection in chart.figure.axes[0].collections}
    assert layer["not ok"] > layer["ok"]


def test_the_chart_marks_every_archive_with_its_reasons_on_hover() -> None:
    rows = [
        row("new", datetime(2026, 11, 30, tzinfo=UTC)),
        row("old", datetime(2026, 11, 1, tzinfo=UTC)),
        row("bad", datetime(2026, 11, 15, tzinfo=UTC), ok=False),
        row("other", datetime(2026, 11, 20, tzinfo=UTC), source="beta"),
        row("notes.tar", None),
    ]
    svg = charts.retention_svg(plan_retention(rows, Policy(last=1), NOW))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<title>new\n2026-11-30T00:00:00Z\nkeep (clean): last 1 of 1, newest good</title>" in svg
    assert "<title>old\n2026-11-01T00:00:00Z\nremove (clean): no rule keeps it</title>" in svg
    assert "bad\n2026-11-15T00:00:00Z\nkeep (damaged): does not verify clean" in svg
    assert "(no source)" in svg and ">beta</text>" in svg  # one lane per source
    assert "notes.tar" not in svg  # no creation time: in the table, not on the timeline
    assert charts.retention_svg(plan_retention([row("notes.tar", None)], Policy(last=1), NOW)) == ""
