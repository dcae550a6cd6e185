"""The WAL archive audited like the backups (issue 23, points 5 and 6): inventory shows the
timelines, their problems and each base's restorable range; verify takes segments; check
--max-wal-age fails when the newest archived record is too old; prune keeps the chain a kept
base needs and removes what is older than the oldest kept base."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from helpers.cli import run_cli, unwrapped
from helpers.data import content_tree
from helpers.pitr import T0, A, B
from test_pitr import build_folder, damage, segment_file, writable

from aeroops.core.pitr import Target, TargetKind, plan_point_in_time
from aeroops.core.retention import Policy
from aeroops.errors import Code
from aeroops.executor.archive_wal import list_segments
from aeroops.executor.fileops import REAL
from aeroops.executor.pitr import check_wal, describe_folder, verify_segment, wal_archive
from aeroops.executor.prune import prune


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_folder(tmp_path_factory.mktemp("pitr-audit"))


def test_inventory_shows_timelines_and_each_bases_restorable_range(folder: Path) -> None:
    report = wal_archive(folder, checked=True, ops=REAL)
    assert report.ok
    rows = {t.timeline: t for t in report.timelines}
    assert (rows[A].segments, rows[A].first, rows[A].last, rows[A].reach, rows[A].bases) == (
        2,
        1,
        55,
        55,
        ("base-a.tar",),
    )
    assert (rows[B].segments, rows[B].reach, rows[B].bases) == (2, 35, ("base-b.tar",))
    ranges = {c.base: (c.timeline, c.from_sequence, c.to_sequence, c.latest) for c in report.coverage}
    assert ranges["base-a.tar"] == (A, 0, 55, T0 + timedelta(minutes=2))
    assert ranges["base-b.tar"] == (B, 0, 35, T0 + timedelta(minutes=5))
    process = run_cli("inventory", str(folder), "--wal", "--verify", "--no-progress")
    assert process.returncode == 0, process.stderr
    text = unwrapped(process.stdout)
    assert f"timeline {A}: 2 segments, sequences 1..55, restorable up to 55" in text
    assert f"base base-b.tar restores timeline {B} from sequence 0 to 35" in text
    as_json = json.loads(run_cli("inventory", str(folder), "--wal", "--format", "json").stdout)
    assert [t["timeline"] for t in as_json["timelines"]] == [A, B]
    plain = run_cli("inventory", str(folder), "--no-progress")
    assert plain.returncode == 0 and "WAL ARCHIVE: 4 segments" in plain.stdout


@pytest.mark.parametrize(
    ("how", "code"),
    [
        ("damaged", Code.SEGMENT_DAMAGED),
        ("no-sidecar", Code.SEGMENT_NO_SIDECAR),
        ("missing", Code.SEGMENT_GAP),
        ("duplicated", Code.SEGMENT_OVERLAP),
        ("foreign-link", Code.SEGMENT_LINK),
    ],
)
def test_inventory_names_each_problem_and_exits_1(folder: Path, tmp_path: Path, how: str, code: Code) -> None:
    copy = writable(folder, tmp_path)
    damage(copy, how)
    report = wal_archive(copy, checked=True, ops=REAL)
    assert not report.ok and code in [p.code for p in report.problems]
    process = run_cli("inventory", str(copy), "--wal", "--verify", "--no-progress")
    assert process.returncode == 1 and str(code) in process.stdout


def test_verify_takes_segments(folder: Path, tmp_path: Path) -> None:
    good = segment_file(folder, B, 21)
    assert verify_segment(good, REAL).ok
    process = run_cli("verify", str(good), str(folder / "base-b.tar"), "--no-progress")
    assert process.returncode == 0, process.stdout + process.stderr
    copy = writable(folder, tmp_path)
    damage(copy, "damaged")
    report = verify_segment(segment_file(copy, B, 21), REAL)
    assert not report.ok and report.findings[0].code is Code.SEGMENT_DAMAGED
    process = run_cli("verify", str(segment_file(copy, B, 21)), "--no-progress")
    assert process.returncode == 1 and "AERO_SEGMENT_DAMAGED" in process.stdout


def test_check_max_wal_age_fails_when_the_newest_archived_record_is_older(folder: Path, tmp_path: Path) -> None:
    newest = T0 + timedelta(minutes=5)
    assert check_wal(folder, timedelta(minutes=10), now=newest + timedelta(minutes=9), ops=REAL).fresh
    stale = check_wal(folder, timedelta(minutes=10), now=newest + timedelta(minutes=11), ops=REAL)
    assert not stale.fresh and stale.segment is not None and f"wal-{B}-000000000021" in stale.segment
    # a damaged newest segment does not count: the one before it is the newest good
    copy = writable(folder, tmp_path)
    damage(copy, "damaged")
    found = check_wal(copy, timedelta(minutes=10), now=newest, ops=REAL)
    assert found.newest == T0 + timedelta(minutes=4)
    metrics = tmp_path / "wal.prom"
    process = run_cli("check", str(folder), "--max-wal-age", "10m", "--prometheus", str(metrics), "--no-progress")
    assert process.returncode == 1 and "STALE: newest archived WAL segment" in unwrapped(process.stdout)
    assert "aeroops_wal_fresh" in metrics.read_text()
    both = run_cli("check", str(folder), "--max-age", "1000d", "--max-wal-age", "1000d", "--no-progress")
    assert both.returncode == 0, both.stdout + both.stderr
    neither = run_cli("check", str(folder))
    assert neither.returncode == 2 and "AERO_USAGE" in neither.stderr


def test_prune_keeps_the_chain_of_kept_bases_and_removes_what_is_older_than_the_oldest(
    folder: Path, tmp_path: Path
) -> None:
    copy = writable(folder, tmp_path)
    now = T0 + timedelta(minutes=10)
    dry = prune(copy, Policy(last=1), now=now, ops=REAL)
    decisions = {(d.timeline, d.first): d for d in dry.segments}
    assert [d.keep for d in dry.segments] == [False, False, True, True]
    assert "older than the oldest kept good base" in decisions[(A, 1)].why
    assert "kept base base-b.tar starts timeline" in decisions[(B, 1)].why
    before = content_tree(copy)
    assert content_tree(copy) == before  # a dry run removes nothing
    done = prune(copy, Policy(last=1), yes=True, now=now, ops=REAL)
    left = sorted((s.name.timeline, s.name.first) for s in list_segments(copy, REAL))
    assert left == [(B, 1), (B, 21)]
    assert not any(
        name.endswith(".b3") and not (copy / name.removesuffix(".b3")).exists()
        for name in map(str, (p.name for p in copy.iterdir()))
    )
    assert any(name.startswith(f"wal-{A}") for name in done.removed)
    plan = plan_point_in_time(describe_folder(copy, ops=REAL), Target(TargetKind.LATEST))
    assert not isinstance(plan, str) and getattr(plan, "sequence", None) == 35  # the kept base still reaches its range


def test_prune_keeps_every_segment_when_both_bases_are_kept(folder: Path, tmp_path: Path) -> None:
    copy = writable(folder, tmp_path)
    result = prune(copy, Policy(last=2), yes=True, now=T0 + timedelta(minutes=10), ops=REAL)
    assert all(d.keep for d in result.segments) and len(list_segments(copy, REAL)) == 4
    text = run_cli("prune", str(copy), "--keep-last", "1", "--no-progress")
    assert "WAL SEGMENTS: 2 kept, 2 would remove" in unwrapped(text.stdout)
    shutil.rmtree(copy)


@pytest.mark.notebook
def test_the_runbook_plans_and_drills_a_real_folder_and_waits_for_confirmation(folder: Path, tmp_path: Path) -> None:
    from helpers.data import tree_state
    from helpers.notebooks import NOTEBOOK_DIR, check_ran_cleanly, execute, tagged
    from helpers.pitr import stage_copy

    data = stage_copy(4, tmp_path / "data")
    before = tree_state(data)
    parameters = {"backup_dir": str(folder), "data_dir": str(data), "target_sequence": 18, "timeline": B}
    nb = execute(NOTEBOOK_DIR / "05-point-in-time-restore.ipynb", tmp_path, parameters)
    check_ran_cleanly(nb)
    assert "records 1..18 from 1 segment(s), the last cut after record 18" in unwrapped(tagged(nb, "plan"))
    assert "DRILL PASSED" in tagged(nb, "drill")
    assert "Waiting: press Confirm" in tagged(nb, "restore")
    assert tree_state(data) == before
