"""Restore: the pure plan and recovery rules as tables, round trips on AeroDB's own data and on
demo data, refusals, damaged archives in every member, and faults injected through FileOps."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import BinaryIO

import pytest
from helpers.archives import backup_of, flip_byte, member_spans
from helpers.cli import unwrapped
from helpers.data import AERODB_FIXTURES, content_tree, copy_fixture, tree_state
from helpers.faults import FailingOps

from aeroops.cli.main import main
from aeroops.core.logical import diff
from aeroops.core.recovery import Outcome, RecoveryAction, RecoveryStep, Situation, classify_leftovers, plan_recovery
from aeroops.core.restore_plan import STEPS, RestoreRule, check_target
from aeroops.core.restore_target import (
    Leftovers,
    RestoreJournal,
    RestoreMode,
    RestorePaths,
    TargetState,
    parse_journal,
    render_journal,
)
from aeroops.core.results import RestorePreview
from aeroops.demo import DemoSpec, make_demo_datadir
from aeroops.errors import (
    InvalidBackupError,
    RestoreCorruptionError,
    RestoreError,
    RestoreIOError,
    Severity,
)
from aeroops.executor.audit import inspect_archive, verify_archive
from aeroops.executor.drill import datadir_logical_state
from aeroops.executor.fileops import REAL, FileOps
from aeroops.executor.lock import DirectoryLock
from aeroops.executor.recover import recover
from aeroops.executor.restore import preview_restore, restore
from aeroops.executor.restore_target import find_leftovers, restore_paths
from aeroops.progress import Progress


def restored_layout(snapshot_id: str, schemas: list[str]) -> set[str]:
    base = f"snapshots/{snapshot_id}"
    return {
        "data",
        "data/documents.dat",
        "metadata",
        "metadata/schemas",
        *(f"metadata/schemas/{s}" for s in schemas),
        "snapshots",
        base,
        f"{base}/manifest.json",
        f"{base}/schemas",
        *(f"{base}/schemas/{s}" for s in schemas),
        f"{base}/storage.dat",
        "wal",
        "wal/wal.log",
    }


def assert_restored_from(target: Path, source: Path, snapshot_id: str) -> None:
    """The restored WAL, storage and schemas are byte copies of the source snapshot's (and its
    WAL), in AeroDB's layout, with nothing else; and both hold the same documents."""
    snap = source / "snapshots" / snapshot_id
    schemas = sorted(p.name for p in (snap / "schemas").iterdir())
    assert set(content_tree(target)) == restored_layout(snapshot_id, schemas)
    storage = (snap / "storage.dat").read_bytes()
    assert (target / "data/documents.dat").read_bytes() == storage
    assert (target / "snapshots" / snapshot_id / "storage.dat").read_bytes() == storage
    assert (target / "snapshots" / snapshot_id / "manifest.json").read_bytes() == (snap / "manifest.json").read_bytes()
    for name in schemas:
        data = (snap / "schemas" / name).read_bytes()
        assert (target / "metadata/schemas" / name).read_bytes() == data
        assert (target / "snapshots" / snapshot_id / "schemas" / name).read_bytes() == data
    wal = source / "wal/wal.log"
    assert (target / "wal/wal.log").read_bytes() == (wal.read_bytes() if wal.exists() else b"")
    restored_state = datadir_logical_state(target, ops=REAL)
    source_state = datadir_logical_state(source, storage=f"snapshots/{snapshot_id}/storage.dat", ops=REAL)
    assert diff(source_state, restored_state).identical
    assert len(restored_state) > 0


def no_leftovers(data_dir: Path) -> bool:
    return not find_leftovers(data_dir, REAL).any


# --- the pure rules -------------------------------------------------------------------------


def test_paths_sit_beside_the_data_directory() -> None:
    paths = RestorePaths.for_data_dir("/srv/aerodb/data/")
    assert paths.data_dir == "/srv/aerodb/data"
    assert paths.temp == "/srv/aerodb/.data.aeroops-restore-tmp"
    assert paths.journal == "/srv/aerodb/.data.aeroops-restore-journal"
    assert paths.old == "/srv/aerodb/data.old"
    with pytest.raises(ValueError):
        RestorePaths.for_data_dir("data")  # relative: the executor makes paths absolute first


def test_relative_paths_are_taken_from_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert restore_paths("data").old == str(tmp_path / "data.old")
    assert restore_paths("./x/../data").temp == str(tmp_path / ".data.aeroops-restore-tmp")


def test_journal_round_trips_and_rejects_foreign_bytes() -> None:
    journal = RestoreJournal("/d/data", RestoreMode.REPLACE, "20260204T113000Z", "/b/a.tar", 42)
    assert parse_journal(render_journal(journal)) == journal
    for bad in (b"", b"{}", b"[1]", b'{"aeroops_restore_journal": 2}', b"\xff"):
        with pytest.raises(Exception, match="journal"):
            parse_journal(bad)


PATHS = RestorePaths.for_data_dir("/x/data")
JOURNAL = RestoreJournal("/x/data", RestoreMode.REPLACE, "20260204T113000Z", "/b.tar", 1)
CREATE_JOURNAL = RestoreJournal("/x/data", RestoreMode.CREATE, "20260204T113000Z", "/b.tar", 1)


def leftovers(
    d: bool = True, t: bool = False, o: bool = False, j: RestoreJournal | None = None, jt: bool = False
) -> Leftovers:
    return Leftovers(PATHS, data_dir=d, temp=t, old=o, journal_tmp=jt, journal=j)


# (what exists, action) → (situation, outcome, steps); "-" for a refusal
RECOVERY_TABLE = [
    (leftovers(), "auto", Situation.CLEAN, Outcome.UNCHANGED, ""),
    (leftovers(t=True), "auto", Situation.STAGING, Outcome.OLD, "delete T"),
    (leftovers(t=True, jt=True), "auto", Situation.STAGING, Outcome.OLD, "delete T; delete Jt"),
    (leftovers(jt=True), "auto", Situation.STAGING, Outcome.OLD, "delete Jt"),
    (leftovers(t=True), "finish", Situation.STAGING, Outcome.UNCHANGED, "-"),
    (leftovers(t=True, j=JOURNAL), "auto", Situation.STAGED, Outcome.OLD, "delete J; delete T"),
    (
        leftovers(t=True, j=JOURNAL),
        "finish",
        Situation.STAGED,
        Outcome.NEW,
        "rename D→O; rename T→D; delete O; delete J",
    ),
    (
        leftovers(d=False, t=True, o=True, j=JOURNAL),
        "auto",
        Situation.MOVED_ASIDE,
        Outcome.NEW,
        "rename T→D; delete O; delete J",
    ),
    (
        leftovers(d=False, t=True, o=True, j=JOURNAL),
        "rollback",
        Situation.MOVED_ASIDE,
        Outcome.OLD,
        "rename O→D; delete J; delete T",
    ),
    (leftovers(d=False, o=True, j=JOURNAL), "auto", Situation.MOVED_ASIDE, Outcome.OLD, "rename O→D; delete J"),
    (leftovers(d=False, o=True, j=JOURNAL), "finish", Situation.MOVED_ASIDE, Outcome.UNCHANGED, "-"),
    (leftovers(o=True, j=JOURNAL), "auto", Situation.SWAPPED, Outcome.NEW, "delete O; delete J"),
    (leftovers(o=True, j=JOURNAL), "rollback", Situation.SWAPPED, Outcome.UNCHANGED, "-"),
    (leftovers(j=JOURNAL), "auto", Situation.FINISHING, Outcome.UNCHANGED, "delete J"),
    (leftovers(j=JOURNAL), "rollback", Situation.FINISHING, Outcome.UNCHANGED, "-"),
    (leftovers(d=False, t=True, j=CREATE_JOURNAL), "auto", Situation.STAGED, Outcome.NONE, "delete J; delete T"),
    (leftovers(d=False, t=True, j=CREATE_JOURNAL), "finish", Situation.STAGED, Outcome.NEW, "rename T→D; delete J"),
    (leftovers(j=CREATE_JOURNAL), "auto", Situation.FINISHING, Outcome.UNCHANGED, "delete J"),
    (leftovers(o=True), "auto", Situation.FOREIGN_OLD, Outcome.UNCHANGED, "-"),
    (leftovers(o=True, t=True), "auto", Situation.FOREIGN_OLD, Outcome.UNCHANGED, "-"),
    (leftovers(t=True, o=True, j=JOURNAL), "auto", Situation.INCONSISTENT, Outcome.UNCHANGED, "-"),
    (leftovers(d=False, j=JOURNAL), "auto", Situation.INCONSISTENT, Outcome.UNCHANGED, "-"),
    (leftovers(o=True, j=CREATE_JOURNAL), "auto", Situation.INCONSISTENT, Outcome.UNCHANGED, "-"),
]
SHORT = {PATHS.data_dir: "D", PATHS.temp: "T", PATHS.old: "O", PATHS.journal: "J", PATHS.journal_tmp: "Jt"}


@pytest.mark.parametrize(("found", "action", "situation", "outcome", "steps"), RECOVERY_TABLE)
def test_recovery_rules(found: Leftovers, action: str, situation: Situation, outcome: Outcome, steps: str) -> None:
    plan = plan_recovery(found, RecoveryAction(action))
    assert classify_leftovers(found) is situation
    assert plan.situation is situation
    assert plan.outcome is outcome
    if steps == "-":
        assert plan.refusal and not plan.steps
        return
    assert plan.refusal is None
    shown = "; ".join(
        f"rename {SHORT[s.path]}→{SHORT[s.target]}" if s.op == "rename" else f"delete {SHORT[s.path]}"
        for s in plan.steps
        if s.target is not None or s.op == "delete"
    )
    assert shown == steps


def _run_steps(
    contents: dict[str, str | None], steps: tuple[RecoveryStep, ...], journal: RestoreJournal | None
) -> list[dict[str, str | None]]:
    """Apply recovery steps to a model: path → what it holds ("old", "new", "journal", …) or
    None. Returns the model after each step."""
    states = []
    for step in steps:
        assert contents[step.path] is not None, step
        if step.op == "rename":
            assert step.target is not None and contents[step.target] is None, step
            contents[step.target] = contents[step.path]
        contents[step.path] = None
        states.append(dict(contents))
    return states


def _leftovers_of(contents: dict[str, str | None], journal: RestoreJournal | None) -> Leftovers:
    return Leftovers(
        PATHS,
        data_dir=contents[PATHS.data_dir] is not None,
        temp=contents[PATHS.temp] is not None,
        old=contents[PATHS.old] is not None,
        journal_tmp=contents[PATHS.journal_tmp] is not None,
        journal=journal if contents[PATHS.journal] is not None else None,
    )


@pytest.mark.parametrize(("found", "action", "outcome", "steps"), [(r[0], r[1], r[3], r[4]) for r in RECOVERY_TABLE])
def test_a_crash_after_any_recovery_step_ends_with_the_same_data(
    found: Leftovers, action: str, outcome: Outcome, steps: str
) -> None:
    """Model what each folder holds; crash after every step of the plan, recover again (auto)
    to the end: the data directory ends with the data the plan promised, and nothing is left."""
    if steps in ("-", ""):
        return
    situation = classify_leftovers(found)
    in_place = "new" if situation in (Situation.SWAPPED, Situation.FINISHING) else "old"
    start: dict[str, str | None] = {
        PATHS.data_dir: in_place if found.data_dir else None,
        PATHS.temp: "new" if found.temp else None,
        PATHS.old: "old" if found.old else None,
        PATHS.journal: "journal" if found.journal else None,
        PATHS.journal_tmp: "partial journal" if found.journal_tmp else None,
    }
    expected = {Outcome.OLD: "old", Outcome.NEW: "new", Outcome.NONE: None, Outcome.UNCHANGED: in_place}[outcome]
    plan = plan_recovery(found, RecoveryAction(action))
    for crashed_after in _run_steps(dict(start), plan.steps, found.journal):
        contents = dict(crashed_after)
        for _ in range(5):  # recover again until nothing is left to do
            resumed = plan_recovery(_leftovers_of(contents, found.journal))
            assert resumed.refusal is None, (crashed_after, resumed)
            if not resumed.steps:
                break
            contents = _run_steps(contents, resumed.steps, found.journal)[-1]
        assert contents[PATHS.data_dir] == expected, (crashed_after, contents)
        assert [p for p, held in contents.items() if held is not None and p != PATHS.data_dir] == []


def target_state(**changes: object) -> TargetState:
    values: dict[str, object] = {
        "paths": PATHS,
        "exists": True,
        "is_dir": True,
        "is_symlink": False,
        "parent_exists": True,
        "other_file_system": False,
        "serving": False,
        "entries": (),
        "leftovers": leftovers(),
        "real_path": "/x/data",
    }
    values.update(changes)
    return TargetState(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "create", "archive", "rule"),
    [
        ({}, False, "/b/a.tar", None),
        ({"serving": True}, False, None, RestoreRule.SERVING),
        ({"exists": False, "is_dir": False}, False, None, RestoreRule.MISSING),
        ({"exists": False, "is_dir": False}, True, None, None),
        ({"exists": False, "is_dir": False, "parent_exists": False}, True, None, RestoreRule.NO_PARENT),
        ({"is_dir": False}, False, None, RestoreRule.NOT_A_DIRECTORY),
        ({"is_symlink": True, "is_dir": False, "real_path": "/y"}, False, None, RestoreRule.SYMLINK),
        ({"other_file_system": True}, False, None, RestoreRule.MOUNT_POINT),
        ({}, False, "/x/data/backups/a.tar", RestoreRule.ARCHIVE_INSIDE),
        ({}, False, "/x/data2/a.tar", None),
        ({"leftovers": leftovers(t=True)}, False, None, RestoreRule.INTERRUPTED),
        ({"leftovers": leftovers(o=True)}, False, None, RestoreRule.FOREIGN_OLD),
        ({"leftovers": leftovers(o=True, j=JOURNAL)}, False, None, RestoreRule.INTERRUPTED),
    ],
)
def test_target_rules(changes: dict[str, object], create: bool, archive: str | None, rule: RestoreRule | None) -> None:
    refusal = check_target(target_state(**changes), create=create, archive_real_path=archive)
    assert (refusal.rule if refusal else None) is rule
    if rule is RestoreRule.INTERRUPTED:
        assert refusal is not None and "aeroops recover /x/data" in refusal.message


# --- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["datadir-1000", "datadir-3snap", "datadir-checkpoint", "datadir-nowal"])
def test_round_trip_on_aerodb_data(fixture: str, tmp_path: Path, target: Path) -> None:
    source = copy_fixture(fixture, tmp_path / "source")
    archive = backup_of(source, tmp_path / "out")
    result = restore(archive, target, ops=REAL)
    assert_restored_from(target, source, result.plan.snapshot_id)
    assert diff(inspect_archive(archive, ops=REAL).logical, datadir_logical_state(target, ops=REAL)).identical
    assert no_leftovers(target) and result.warnings == ()
    assert result.report.ok and result.plan.mode is RestoreMode.REPLACE


@pytest.mark.parametrize(
    "spec",
    [
        DemoSpec.small(seed=1),
        DemoSpec.small(seed=2, checkpoint=True),
        DemoSpec.small(seed=3, with_wal=False),
        DemoSpec.small(seed=4, collections=("a", "b", "c", "d", "e"), wal_records=600),
    ],
    ids=["plain", "checkpoint", "no-wal", "five-collections"],
)
def test_round_trip_on_demo_data(spec: DemoSpec, tmp_path: Path) -> None:
    source = tmp_path / "source"
    make_demo_datadir(source, spec, ops=REAL)
    archive = backup_of(source, tmp_path / "out")
    into = tmp_path / "restored"
    result = restore(archive, into, create=True, ops=REAL)
    assert result.created
    assert_restored_from(into, source, result.plan.snapshot_id)
    if spec.with_wal:  # the newest snapshot and the WAL hold every live document of the source
        assert diff(datadir_logical_state(source, ops=REAL), datadir_logical_state(into, ops=REAL)).identical


@pytest.mark.parametrize(
    ("archive", "source"),
    [("backup-1000.tar", "datadir-1000"), ("backup-3snap.tar", "datadir-3snap"), ("backup-nowal.tar", "datadir-nowal")],
)
def test_aerodbs_own_archives_restore(archive: str, source: str, tmp_path: Path, target: Path) -> None:
    result = restore(copy_fixture(archive, tmp_path / archive), target, ops=REAL)
    assert_restored_from(target, AERODB_FIXTURES / source, result.plan.snapshot_id)
    if archive == "backup-nowal.tar":
        # AeroDB wrote no wal/ member; its own restore rejects this archive, ours restores it
        assert not result.plan.wal_present and (target / "wal/wal.log").read_bytes() == b""
        assert any(f.code == "AERO_VERIFY_NO_WAL_DIR" for f in result.report.findings)


def test_restore_drops_what_it_wrote_from_the_page_cache_as_it_goes(
    tmp_path: Path, aerodb_archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drop-behind advice follows the writes (here every 16 KiB), stopping one step short of
    what was written, then covers each whole file once it is fsynced; the bytes are the same."""
    import aeroops.executor.restore_stage as restore_module

    class Recording(FileOps):
        def __init__(self) -> None:
            self.advice: list[tuple[str, int]] = []

        def drop_cached(self, stream: BinaryIO, length: int = 0) -> None:
            self.advice.append((Path(os.readlink(f"/proc/self/fd/{stream.fileno()}")).name, length))
            super().drop_cached(stream, length)

    monkeypatch.setattr(restore_module, "DROP_BEHIND", 16 << 10)
    recording = Recording()
    restore(aerodb_archive, tmp_path / "dropped", create=True, ops=recording)
    restore(aerodb_archive, tmp_path / "plain", create=True, ops=REAL)
    assert content_tree(tmp_path / "dropped") == content_tree(tmp_path / "plain")
    wal = [length for name, length in recording.advice if name == "wal.log"]
    size = (tmp_path / "plain/wal/wal.log").stat().st_size
    # The log arrives in one chunk here: advice up to one step behind it, then the whole file.
    assert wal == [size - (16 << 10), 0]
    whole = {name for name, length in recording.advice if length == 0}
    assert {"documents.dat", "storage.dat", "manifest.json", "wal.log"} <= whole


def test_restoring_twice_gives_identical_directories(tmp_path: Path, aerodb_archive: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    restore(aerodb_archive, a, create=True, ops=REAL)
    restore(aerodb_archive, b, create=True, ops=REAL)
    restore(aerodb_archive, b, ops=REAL)  # over itself
    assert content_tree(a) == content_tree(b)


def test_relative_and_absolute_paths(tmp_path: Path, aerodb_archive: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy_fixture("datadir-nowal", tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    restore("backup-1000.tar", "data", ops=REAL)  # a bare relative name: AeroDB's own restore fails here
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup-1000.tar", "data"]  # no lock file left
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    restore("../backup-1000.tar", "../data", ops=REAL)
    restore(str(aerodb_archive), str(tmp_path / "data"), ops=REAL)
    assert_restored_from(tmp_path / "data", AERODB_FIXTURES / "datadir-1000", "20261126T214824Z")
    assert no_leftovers(tmp_path / "data")


def test_the_old_directory_is_replaced_whole(tmp_path: Path, target: Path, aerodb_archive: Path) -> None:
    (target / "clean_shutdown").write_bytes(b"")
    (target / "checkpoint.json").write_text("{}")
    (target / "snapshots" / "20200101T000000Z").mkdir()
    restore(aerodb_archive, target, ops=REAL)
    assert not (target / "clean_shutdown").exists() and not (target / "checkpoint.json").exists()
    assert [p.name for p in (target / "snapshots").iterdir()] == ["20261126T214824Z"]
    assert not (tmp_path / "target.old").exists()


def test_permissions_of_the_data_directory_are_kept(target: Path, aerodb_archive: Path) -> None:
    target.chmod(0o750)
    restore(aerodb_archive, target, ops=REAL)
    assert target.stat().st_mode & 0o7777 == 0o750


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_as_root_the_restored_files_get_the_data_directorys_owner(target: Path, aerodb_archive: Path) -> None:
    for path in [target, *target.rglob("*")]:
        os.lchown(path, 4242, 4343)
    restore(aerodb_archive, target, ops=REAL)
    owners = {(p.lstat().st_uid, p.lstat().st_gid) for p in [target, *target.rglob("*")]}
    assert owners == {(4242, 4343)}


def test_progress_walks_the_steps_and_counts_bytes(target: Path, aerodb_archive: Path) -> None:
    events: list[Progress] = []
    restore(aerodb_archive, target, progress=events.append, ops=REAL)
    assert list(dict.fromkeys(e.step_index for e in events)) == list(range(1, 12))
    assert [e.step for e in events if e.done_bytes == 0 and e.step_index != 3] == [*STEPS[:2], *STEPS[3:]]
    assert {e.job for e in events} == {"restore"} and {e.step_count for e in events} == {len(STEPS)}
    # Step 3 reads the archive once (verifying and extracting): it counts the archive's bytes.
    one_pass = [e.done_bytes for e in events if e.step == STEPS[2]]
    assert one_pass == sorted(one_pass) and one_pass[-1] == aerodb_archive.stat().st_size


# --- refusals: the data directory is never touched -----------------------------------------


def refused(target: Path, archive: Path, error: type[RestoreError], words: str, **kwargs: object) -> None:
    before = tree_state(target) if target.is_dir() else None
    with pytest.raises(error) as raised:
        restore(archive, target, ops=REAL, **kwargs)  # type: ignore[arg-type]
    assert words in raised.value.message
    assert raised.value.severity == Severity.FATAL
    if before is not None:
        assert tree_state(target) == before


def test_refuses_while_aerodb_serves(target: Path, aerodb_archive: Path) -> None:
    (target / ".lock").write_text("1234")
    refused(target, aerodb_archive, RestoreError, "AeroDB is serving")


def test_refuses_while_another_aeroops_run_holds_the_directory(target: Path, aerodb_archive: Path) -> None:
    with DirectoryLock(target, RestoreError, "backup", REAL):
        refused(target, aerodb_archive, RestoreError, "another aeroops run holds this data directory")
        preview = preview_restore(aerodb_archive, target, ops=REAL)
        assert not preview.would_restore and getattr(preview.plan, "rule", None) is RestoreRule.BUSY
        with pytest.raises(RestoreError, match="another aeroops run"):
            recover(target, ops=REAL)
    restore(aerodb_archive, target, ops=REAL)


def test_a_preview_sees_a_run_that_holds_only_the_directory_lock(target: Path, aerodb_archive: Path) -> None:
    # What a run that cannot open the lock file (another user's, under a read-only parent) holds.
    fd = os.open(target, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        preview = preview_restore(aerodb_archive, target, ops=REAL)
        assert getattr(preview.plan, "rule", None) is RestoreRule.BUSY
    finally:
        os.close(fd)
    assert preview_restore(aerodb_archive, target, ops=REAL).would_restore


def test_a_missing_data_directory_needs_create(tmp_path: Path, aerodb_archive: Path) -> None:
    missing = tmp_path / "new"
    with pytest.raises(RestoreError, match="does not exist") as raised:
        restore(aerodb_archive, missing, ops=REAL)
    assert raised.value.code == "AERO_RESTORE_FAILED"
    assert not missing.exists()
    restore(aerodb_archive, missing, create=True, ops=REAL)
    assert_restored_from(missing, AERODB_FIXTURES / "datadir-1000", "20261126T214824Z")
    with pytest.raises(RestoreError, match="does not exist"):
        restore(aerodb_archive, tmp_path / "no" / "such" / "parent", create=True, ops=REAL)


def test_refuses_a_symlinked_data_directory_and_an_archive_inside(
    tmp_path: Path, target: Path, aerodb_archive: Path
) -> None:
    link = tmp_path / "link"
    link.symlink_to(target)
    refused(link, aerodb_archive, RestoreError, "symbolic link")
    inside = target / "backup.tar"
    shutil.copyfile(aerodb_archive, inside)
    refused(target, inside, RestoreError, "archive lies inside the data directory")
    afile = tmp_path / "afile"
    afile.write_text("x")
    refused(afile, aerodb_archive, RestoreError, "not a folder")


def test_refuses_a_missing_archive(target: Path, tmp_path: Path) -> None:
    refused(target, tmp_path / "nope.tar", RestoreError, "archive does not exist")


@pytest.mark.parametrize(
    ("leftover", "words"),
    [
        (".target.aeroops-restore-tmp", "aeroops recover"),
        (".target.aeroops-restore-journal.tmp", "aeroops recover"),
        ("target.old", "no aeroops journal explains it"),
    ],
)
def test_refuses_while_leftovers_of_a_crashed_run_remain(
    tmp_path: Path, target: Path, aerodb_archive: Path, leftover: str, words: str
) -> None:
    path = tmp_path / leftover
    if leftover.endswith("journal.tmp"):
        path.write_text("{")
    else:
        path.mkdir()
    refused(target, aerodb_archive, RestoreError, words)
    assert path.exists()  # a refusal removes nothing


# --- damaged archives: refused before the data directory is touched -------------------------


def every_damage() -> list[tuple[str, str, int]]:
    """(label, where, which member) for every member of AeroDB's backup-1000.tar: its data
    (files) and its header; plus a truncation."""
    cases = []
    for name, kind, header, _data, size in member_spans(AERODB_FIXTURES / "backup-1000.tar"):
        cases.append((f"header of {name}", "header", header))
        if kind == "0" and size:
            cases.append((f"data of {name}", "data", header))
    return cases


@pytest.mark.parametrize(("label", "where", "header"), every_damage(), ids=[c[0] for c in every_damage()])
def test_damage_in_any_member_is_refused_and_the_data_directory_is_unchanged(
    label: str, where: str, header: int, target: Path, aerodb_archive: Path
) -> None:
    spans = {h: (d, s) for _, _, h, d, s in member_spans(aerodb_archive)}
    data_offset, size = spans[header]
    flip_byte(aerodb_archive, data_offset + size // 2 if where == "data" else header + 3)
    before = tree_state(target)
    with pytest.raises((RestoreCorruptionError, InvalidBackupError)) as raised:
        restore(aerodb_archive, target, ops=REAL)
    assert raised.value.severity == Severity.FATAL
    assert "failed verification" in raised.value.message
    assert tree_state(target) == before
    assert no_leftovers(target)


def test_a_truncated_archive_and_a_sidecar_mismatch_are_refused(tmp_path: Path, target: Path) -> None:
    source = copy_fixture("datadir-1000", tmp_path / "source")
    archive = backup_of(source, tmp_path / "out")
    good = archive.read_bytes()
    before = tree_state(target)
    archive.write_bytes(good[: len(good) // 2])
    with pytest.raises(RestoreCorruptionError):
        restore(archive, target, ops=REAL)
    # a change only the sidecar can see: a byte of padding after a member's data
    padded = bytearray(good)
    _, _, _, data_offset, size = next(m for m in member_spans(AERODB_FIXTURES / "backup-1000.tar") if m[4] % 512)
    padded[data_offset + size] = 1
    archive.write_bytes(bytes(padded))
    with pytest.raises(RestoreCorruptionError, match="BLAKE3"):
        restore(archive, target, ops=REAL)
    assert tree_state(target) == before and no_leftovers(target)


def test_an_archive_that_changes_after_verification_is_caught_while_extracting(
    target: Path, aerodb_archive: Path
) -> None:
    report = verify_archive(aerodb_archive, ops=REAL)
    storage = next(m for m in member_spans(aerodb_archive) if m[0] == "snapshot/storage.dat")
    flip_byte(aerodb_archive, storage[3] + 100)
    before = tree_state(target)
    with pytest.raises(RestoreCorruptionError, match="changed since it was verified"):
        restore(aerodb_archive, target, verified=report, ops=REAL)
    assert tree_state(target) == before and no_leftovers(target)


def test_a_report_of_another_archive_is_caught(tmp_path: Path, target: Path, aerodb_archive: Path) -> None:
    other = verify_archive(AERODB_FIXTURES / "backup-3snap.tar", ops=REAL)
    with pytest.raises(RestoreCorruptionError, match="changed since it was verified"):
        restore(aerodb_archive, target, verified=other, ops=REAL)
    assert no_leftovers(target)


def test_an_invalid_archive_names_the_right_code(tmp_path: Path, target: Path) -> None:
    archive = tmp_path / "not.tar"
    archive.write_bytes(b"hello" * 1000)
    with pytest.raises(RestoreCorruptionError):  # the tar layer is damaged
        restore(archive, target, ops=REAL)
    empty = tmp_path / "empty.tar"
    empty.write_bytes(bytes(1024))
    with pytest.raises(InvalidBackupError, match=r"backup_manifest\.json"):
        restore(empty, target, ops=REAL)


# --- faults injected through FileOps ---------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "nth", "err"),
    [
        ("mkdir", 1, errno.EACCES),  # the temporary folder
        ("mkdir", 4, errno.EIO),
        ("create", 1, errno.EIO),
        ("create", 6, errno.EIO),
        ("write", 2, errno.ENOSPC),  # write #1 is the lock file's holder line
        ("write", 6, errno.EIO),
        ("fsync", 2, errno.EIO),
        ("fsync_path", 1, errno.EIO),  # a folder of the new directory
        ("fsync_path", 9, errno.EIO),  # the parent, after the journal
        ("create", 11, errno.EIO),  # the journal
        ("rename", 1, errno.EIO),  # the journal into place
        ("rename_noreplace", 1, errno.EBUSY),  # data_dir → data_dir.old
        ("rename_noreplace", 2, errno.EIO),  # temporary → data_dir: rolled back
        ("fsync_path", 10, errno.EIO),  # the parent after the first rename: rolled back
    ],
)
def test_faults_before_the_swap_completes_leave_the_old_directory_and_nothing_else(
    operation: str, nth: int, err: int, target: Path, aerodb_archive: Path
) -> None:
    before = tree_state(target)
    ops = FailingOps(operation, err, nth)
    with pytest.raises(RestoreIOError) as raised:
        restore(aerodb_archive, target, ops=ops)
    assert ops.calls >= nth, "the fault was never injected"
    assert raised.value.severity == Severity.FATAL
    if err == errno.ENOSPC:
        assert "no space left" in raised.value.message
    assert tree_state(target) == before
    assert no_leftovers(target)
    restore(aerodb_archive, target, ops=REAL)  # and the next run succeeds


def test_a_fault_after_the_swap_is_a_warning_and_recover_finishes(target: Path, aerodb_archive: Path) -> None:
    result = restore(aerodb_archive, target, ops=FailingOps("remove_tree", errno.EIO))
    assert result.warnings and "aeroops recover" in result.warnings[0]
    assert_restored_from(target, AERODB_FIXTURES / "datadir-1000", "20261126T214824Z")
    leftover = find_leftovers(target, REAL)
    assert leftover.old and leftover.journal is not None
    recovered = recover(target, ops=REAL)
    assert recovered.plan.situation is Situation.SWAPPED and recovered.performed
    assert no_leftovers(target)


def test_a_fault_during_recovery_can_be_recovered_again(tmp_path: Path, target: Path, aerodb_archive: Path) -> None:
    restore(aerodb_archive, target, ops=FailingOps("remove_tree", errno.EIO))
    with pytest.raises(RestoreIOError, match="recovering again continues"):
        recover(target, ops=FailingOps("remove_tree", errno.EIO))
    recover(target, ops=REAL)
    assert no_leftovers(target)
    assert recover(target, ops=REAL).plan.situation is Situation.CLEAN


# --- the dry run and the command line --------------------------------------------------------


def test_preview_changes_nothing_and_shows_what_is_replaced(tmp_path: Path, target: Path, aerodb_archive: Path) -> None:
    before = tree_state(tmp_path)
    preview = preview_restore(aerodb_archive, target, ops=REAL)
    assert tree_state(tmp_path) == before
    assert isinstance(preview, RestorePreview) and preview.would_restore
    assert preview.report is not None and preview.report.ok
    plan = preview.plan
    assert not isinstance(plan, Exception) and hasattr(plan, "replaced")
    assert {e.name for e in plan.replaced} == {"data", "metadata", "snapshots"}  # type: ignore[union-attr]
    assert plan.new_bytes == 2 * 123656 + 2 * (406 + 408 + 405) + 312 + 134656  # type: ignore[union-attr]


def test_cli_restore_is_a_dry_run_unless_yes(
    tmp_path: Path, target: Path, aerodb_archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_state(target)
    assert main(["restore", str(aerodb_archive), str(target)]) == 0
    out = capsys.readouterr().out
    assert "verified OK" in out and "replaces" in out and "data/documents.dat" in out and "--yes" in out
    assert tree_state(target) == before
    assert main(["restore", str(aerodb_archive), str(target), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["dry_run"] and shown["would_restore"] and shown["verdict"]["ok"]
    assert tree_state(target) == before
    assert main(["restore", str(aerodb_archive), str(target), "--yes", "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["backup_id"] == "20261126T214824Z" and done["verdict"]["ok"]
    assert_restored_from(target, AERODB_FIXTURES / "datadir-1000", "20261126T214824Z")


def test_cli_restore_refusals(
    tmp_path: Path, target: Path, aerodb_archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flip_byte(aerodb_archive, member_spans(aerodb_archive)[-1][3] + 10)  # the WAL
    assert main(["restore", str(aerodb_archive), str(target)]) == 1
    assert "FAILED verification" in capsys.readouterr().out
    assert main(["restore", str(aerodb_archive), str(target), "--yes"]) == 3
    assert "[FATAL] AERO_RESTORE_CORRUPTION" in capsys.readouterr().err
    assert main(["restore", str(aerodb_archive), str(tmp_path / "new")]) == 1
    out = capsys.readouterr().out
    assert "--create" in out and "FAILED verification" in out  # the verdict is shown whatever refuses


def test_cli_recover(tmp_path: Path, target: Path, aerodb_archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".target.aeroops-restore-tmp").mkdir()
    assert main(["restore", str(aerodb_archive), str(target), "--yes"]) == 3
    err = capsys.readouterr().err
    assert "[FATAL] AERO_RESTORE_FAILED" in err and f"aeroops recover {target}" in unwrapped(err)
    assert main(["recover", str(target)]) == 0
    assert "would" in capsys.readouterr().out and (tmp_path / ".target.aeroops-restore-tmp").exists()
    assert main(["recover", str(target), "--yes", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["performed"]
    assert main(["recover", str(target)]) == 0
    assert "nothing to do" in capsys.readouterr().out
    (tmp_path / "target.old").mkdir()
    assert main(["recover", str(target)]) == 1
    assert main(["recover", str(target), "--yes"]) == 3
    assert (tmp_path / "target.old").exists()


@pytest.mark.parametrize("text", ["[" * 100_000, '{"pid": 1e999}'])
def test_a_damaged_journal_is_a_refusal_not_a_crash(text: str) -> None:
    from aeroops.core import restore_target
    from aeroops.errors import FormatError

    with pytest.raises(FormatError):
        restore_target.parse_journal(text.encode())


def test_a_preview_says_it_verifies_and_never_that_it_extracts(aerodb_archive: Path, tmp_path: Path) -> None:
    events: list[Progress] = []
    preview = preview_restore(aerodb_archive, tmp_path / "missing", progress=events.append, ops=REAL)
    assert not preview.would_restore and events
    assert {(e.step, e.step_index, e.step_count) for e in events} == {("verify the archive", 1, 1)}
    assert events[-1].done_bytes == events[-1].total_bytes == aerodb_archive.stat().st_size


def test_a_missing_archive_named_inside_the_target_is_refused_as_missing(
    datadir_1000: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from aeroops.cli.main import main
    from aeroops.executor.restore import preview_restore

    missing = datadir_1000 / "missing.tar"
    plan = preview_restore(missing, datadir_1000, ops=REAL).plan
    assert getattr(plan, "rule", None) == "archive-invalid"  # it said "archive-inside"
    assert main(["restore", str(missing), str(datadir_1000), "--yes"]) == 3
    assert "the archive does not exist" in capsys.readouterr().err
