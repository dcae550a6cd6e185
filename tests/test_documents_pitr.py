"""Restore targets as sources: the documents of a folder of base backups and WAL segments at
``--to-sequence N`` / ``--to-time`` / ``--latest`` are what AeroDB's
boot listed at that point (the point-in-time fixtures' boot/*.jsonl), read without restoring.
The folder is test_pitr's: the fixture's four stages archived, bases at stages 1 and 3."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from helpers.cli import run_main
from helpers.data import tree_state
from helpers.pitr import PITR, T0, TIMELINES, A, B
from test_pitr import build_folder

from aeroops.core.documents import boot_listing_line
from aeroops.errors import AeroError, Code
from aeroops.executor.documents import diff, export, history, iter_documents, parse_source, point_in_time
from aeroops.executor.fileops import REAL
from aeroops.views.documents import documents

TARGETS = [(t["timeline"], t["sequence"]) for t in TIMELINES["targets"]]


def listed(timeline: str, sequence: int) -> list[bytes]:
    """AeroDB's own boot listing at (timeline, sequence): its lines, sorted."""
    return sorted((PITR / "boot" / f"{timeline}-{sequence}.jsonl").read_bytes().splitlines())


def listed_bodies(timeline: str, sequence: int) -> dict[str, str]:
    return {d["key"]: d["body"] for d in map(json.loads, listed(timeline, sequence))}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_folder(tmp_path_factory.mktemp("pitr-documents"))


@pytest.mark.parametrize(("timeline", "sequence"), TARGETS)
def test_a_restore_target_lists_what_aerodb_boot_listed_there(folder: Path, timeline: str, sequence: int) -> None:
    before = tree_state(folder)
    source = point_in_time(folder, to_sequence=sequence, timeline=timeline)
    found = sorted(boot_listing_line(d) for d in iter_documents(source, ops=REAL))
    assert found == listed(timeline, sequence)
    assert tree_state(folder) == before  # nothing restored, nothing written


def test_time_and_latest_targets_reach_what_restore_reaches(folder: Path) -> None:
    latest = sorted(boot_listing_line(d) for d in iter_documents(point_in_time(folder, latest=True), ops=REAL))
    assert latest == listed(B, 35)
    # stage 2 was archived at +2 min: A's record 55 is the last archived at or before +2m30s
    at = point_in_time(folder, to_time=T0 + timedelta(minutes=2, seconds=30))
    assert sorted(boot_listing_line(d) for d in iter_documents(at, ops=REAL)) == listed(A, 55)


def test_the_dataframe_of_a_restore_target_flattens_its_bodies(folder: Path) -> None:
    frame = documents(point_in_time(folder, to_sequence=20, timeline=B), ops=REAL)
    bodies = listed_bodies(B, 20)
    assert sorted(frame["collection"] + ":" + frame["key"]) == sorted(bodies)
    row = frame.iloc[0]
    body = json.loads(bodies[f"{row['collection']}:{row['key']}"])
    assert row["value"] == body["value"] and row["active"] == body["active"]


def test_two_targets_of_one_folder_diff_as_their_boot_listings_differ(folder: Path) -> None:
    result = diff(
        point_in_time(folder, to_sequence=12, timeline=A), point_in_time(folder, to_sequence=35, timeline=A), ops=REAL
    )
    old, new = listed_bodies(A, 12), listed_bodies(A, 35)
    by_change = {
        c: {f"{d.collection}:{d.key}" for d in result.deltas if d.change == c} for c in ("added", "removed", "changed")
    }
    assert by_change["added"] == new.keys() - old.keys()
    assert by_change["removed"] == old.keys() - new.keys()
    assert by_change["changed"] == {k for k in old.keys() & new.keys() if old[k] != new[k]}
    assert result.counts()["unchanged"] == sum(old[k] == new[k] for k in old.keys() & new.keys())
    assert not result.identical


def test_the_command_line_names_a_target_as_folder_at_point(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert parse_source(f"{folder}@{A}:17", REAL) == point_in_time(folder, to_sequence=17, timeline=A)
    assert parse_source(f"{folder}@latest", REAL) == point_in_time(folder, latest=True)
    assert parse_source(str(folder), REAL) == str(folder)
    code, _, _ = run_main(capsys, "diff", f"{folder}@{A}:30", f"{folder}@{A}:30", "--no-progress")
    assert code == 0
    code, out, _ = run_main(capsys, "diff", f"{folder}@{A}:30", f"{folder}@{B}:0", "--format", "json", "--no-progress")
    assert code == 1
    shown = json.loads(out)
    old, new = listed_bodies(A, 30), listed_bodies(B, 0)
    added = {f"{d['collection']}:{d['key']}" for d in shown["documents"] if d["change"] == "added"}
    assert added == new.keys() - old.keys()
    b18 = tmp_path / "b18.jsonl"
    code, _, _ = run_main(capsys, "export", str(folder), "--to-sequence", "18", "--timeline", B, "-o", str(b18))
    assert code == 0
    assert sorted(b18.read_bytes().splitlines()) == listed(B, 18)
    code, _, err = run_main(capsys, "export", f"{folder}@{A}:99", "-o", str(tmp_path / "x.jsonl"), "--no-progress")
    assert code != 0
    assert len(err.strip().splitlines()) == 1 and "AERO_PITR_UNREACHABLE" in err and "99" in err
    assert not (tmp_path / "x.jsonl").exists()


def test_an_unreachable_target_is_refused_with_the_planners_reason(folder: Path) -> None:
    with pytest.raises(AeroError) as caught:
        list(iter_documents(point_in_time(folder, to_sequence=56, timeline=A), ops=REAL))
    assert caught.value.code is Code.PITR_UNREACHABLE and "56" in caught.value.message


def test_export_of_a_restore_target_is_its_boot_listing(folder: Path, tmp_path: Path) -> None:
    result = export(point_in_time(folder, to_sequence=33, timeline=A), tmp_path / "a33.jsonl", ops=REAL)
    assert sorted((tmp_path / "a33.jsonl").read_bytes().splitlines()) == listed(A, 33)
    assert result.documents == len(listed(A, 33))


def test_the_package_root_answers_with_the_real_file_system(folder: Path) -> None:
    import aeroops

    frame = aeroops.documents(aeroops.point_in_time(folder, to_sequence=9, timeline=A))
    assert len(frame) == len(listed(A, 9))
    changes = aeroops.diff(aeroops.point_in_time(folder, to_sequence=9, timeline=A), f"{folder}/base-a.tar")
    assert changes.counts()["added"] + changes.counts()["changed"] + changes.counts()["removed"] > 0
    entries = aeroops.history(folder, "users:users-000012")
    assert [e.archive for e in entries if e.archive.endswith(".tar")] == ["base-a.tar", "base-b.tar"]


def test_history_follows_a_document_through_the_archives_and_the_archived_wal(folder: Path) -> None:
    key = "users:users-000048"  # inserted at A 25, updated at A 53, deleted at B 25
    entries = history(folder, key, ops=REAL)
    shown = [(e.archive if e.archive.endswith(".tar") else "segment", e.event) for e in entries]
    assert shown == [
        ("segment", "first seen"),
        ("base-a.tar", "unchanged"),  # base-a holds records 1..30 of A
        ("segment", "changed"),
        ("base-b.tar", "unchanged"),  # B's checkpoint snapshot holds the state after A 55
        ("segment", "deleted"),
    ]
    assert [e.archive for e in entries if not e.archive.endswith(".tar")] == [
        f"WAL {A}:25",
        f"WAL {A}:53",
        f"WAL {B}:25",
    ]
    assert [e.note.split(",")[0] for e in entries if e.archive.startswith("WAL ")] == [
        f"record 25 of timeline {A}",
        f"record 53 of timeline {A}",
        f"record 25 of timeline {B}",
    ]
    assert entries[2].note.split(";")[0].endswith(".wal")  # the segment it was read from
    assert entries[1].body == listed_bodies(A, 30)[key].encode()
    assert entries[2].body == listed_bodies(A, 55)[key].encode() == entries[3].body
    assert [f.field for f in entries[2].fields]  # the update changed some field
    assert key not in listed_bodies(B, 35) and entries[4].body is None


def test_the_explore_panels_diff_compares_points_in_time_and_archives(folder: Path) -> None:
    """Either side of the panel's diff is an archive or a point in time, as on a command line."""
    from aeroops.executor.documents import diff
    from aeroops.panels import ExplorePanel

    (older, at_older), (newer, at_newer) = TARGETS[0], TARGETS[-1]
    panel = ExplorePanel(folder)
    result = panel.diff(older_point=f"{older}:{at_older}", newer_point=f"{newer}:{at_newer}")
    expected = diff(
        point_in_time(folder, to_sequence=at_older, timeline=older),
        point_in_time(folder, to_sequence=at_newer, timeline=newer),
        ops=REAL,
    )
    assert result == expected and not result.identical and panel.error is None
    before, after = set(listed_bodies(older, at_older)), set(listed_bodies(newer, at_newer))
    assert {f"{d.collection}:{d.key}" for d in result.deltas if d.change == "added"} == after - before
    assert {f"{d.collection}:{d.key}" for d in result.deltas if d.change == "removed"} == before - after
    assert f"{older}:{at_older} → {newer}:{at_newer}" in panel.diff_summary.value
    archive = panel.archive_select.value
    mixed = panel.diff(older=archive, older_point="", newer_point="latest")
    assert mixed == diff(folder / archive, point_in_time(folder, latest=True), ops=REAL)
    assert panel.diff(newer_point="tomorrow") is None and "not a point in time" in str(panel.error)


def test_the_explore_panel_reads_a_point_in_time_of_its_folder(folder: Path) -> None:
    """The panel's point in time is the command line's FOLDER@POINT, through the same function."""
    from aeroops.panels import ExplorePanel

    timeline, sequence = TARGETS[0]
    panel = ExplorePanel(folder)
    frame = panel.show_documents(point=f"{timeline}:{sequence}")
    assert frame is not None and panel.error is None
    assert panel.source() == parse_source(f"{folder}@{timeline}:{sequence}", REAL)
    assert frame.equals(documents(point_in_time(folder, to_sequence=sequence, timeline=timeline), ops=REAL))
    assert sorted(frame["collection"] + ":" + frame["key"]) == sorted(listed_bodies(timeline, sequence))
    assert str(point_in_time(folder, to_sequence=sequence, timeline=timeline)) in panel.progress.label.value
    latest = panel.show_documents(point="latest", collection="users")
    assert latest is not None and latest.equals(documents(point_in_time(folder, latest=True), "users", ops=REAL))
    assert panel.show_documents(point="yesterday") is None and "not a point in time" in str(panel.error)
    archive = panel.show_documents(point="", collection="")
    assert archive is not None and archive.equals(documents(folder / panel.archive_select.value, ops=REAL))
