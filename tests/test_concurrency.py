"""Concurrency: two backups of one data directory at once (one is refused, clearly), a backup and
a restore at once, two backups into one output folder, aeroops runs by different users, and
AeroDB's ``.lock`` appearing while a run is under way.

Decided behaviour for ``.lock`` appearing mid-run: aeroops never works on a data directory
AeroDB serves. A backup checks again just before it publishes its archive and, if ``.lock`` is
there, discards the archive (AERO_BACKUP_FAILED): the snapshot cannot have changed, but a
running AeroDB may checkpoint and truncate the WAL, and an archive pairing the old snapshot with
a WAL that no longer follows it would verify and still lose writes. A restore checks after
extracting, before it touches the data directory (AERO_RESTORE_FAILED).

"At once" is made certain, not left to timing: the first run stops inside its lock (a progress
callback that waits) while the second one runs; racing rounds without a pause are also run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.cli import unwrapped
from helpers.data import TESTS, content_tree, copy_fixture, tree_state
from helpers.faults import as_nobody, world_readable_folder

from aeroops.core.results import BackupResult
from aeroops.errors import AeroError, BackupError, RestoreError
from aeroops.executor.audit import verify_archive
from aeroops.executor.backup import OWNER_FILE, STAGING_PREFIX, remove_stale_staging, run_backup
from aeroops.executor.fileops import REAL, FileOps
from aeroops.executor.lock import DirectoryLock
from aeroops.executor.restore import restore
from aeroops.executor.restore_target import find_leftovers
from aeroops.progress import Progress

T0 = datetime(2026, 2, 4, 12, 0, 0, tzinfo=UTC)
HELD = "another aeroops run holds this data directory"
WAIT = 30  # seconds a paused run waits at most: a failing test never hangs

# --- a run paused inside its lock ---------------------------------------------------------------


def pause_at(step: int, reached: threading.Event, release: threading.Event) -> Callable[[Progress], None]:
    """A progress callback that stops the run at the first event of ``step`` until released."""

    def progress(event: Progress) -> None:
        if event.step_index == step and not reached.is_set():
            reached.set()
            assert release.wait(WAIT), "never released"

    return progress


class Background:
    """``action`` on a thread; its result or its AeroError afterwards."""

    def __init__(self, action: Callable[[], object]) -> None:
        self.result: object = None
        self.error: AeroError | None = None
        self._thread = threading.Thread(target=self._run, args=(action,), daemon=True)
        self._thread.start()

    def _run(self, action: Callable[[], object]) -> None:
        try:
            self.result = action()
        except AeroError as exc:
            self.error = exc

    def join(self) -> Background:
        self._thread.join(WAIT)
        assert not self._thread.is_alive()
        return self


CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from datetime import datetime, UTC
from aeroops.executor.fileops import REAL
job, step = sys.argv[2], int(sys.argv[3])
held = []
def progress(event):
    if event.step_index == step and not held:
        held.append(1)
        print("held", flush=True)
        sys.stdin.readline()
if job == "backup":
    from aeroops.executor.backup import run_backup
    run_backup(sys.argv[4], sys.argv[5], created_at=datetime(2026, 2, 4, 12, tzinfo=UTC), progress=progress, ops=REAL)
else:
    from aeroops.executor.restore import restore
    restore(sys.argv[4], sys.argv[5], progress=progress, ops=REAL)
print("done", flush=True)
"""


@pytest.fixture
def paused_process() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start a backup or restore in another process, paused inside its lock at ``step``."""
    started: list[subprocess.Popen[str]] = []

    def start(job: str, step: int, *paths: Path) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(TESTS), job, str(step), *map(str, paths)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None and process.stdout.readline() == "held\n", process.stderr
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def resume(process: subprocess.Popen[str]) -> None:
    out, err = process.communicate("go\n", timeout=WAIT)
    assert process.returncode == 0 and out.endswith("done\n"), err


# --- two backups of one data directory ----------------------------------------------------------


def test_two_backups_at_once_one_is_refused_with_a_clear_message(datadir_1000: Path, tmp_path: Path) -> None:
    reached, release = threading.Event(), threading.Event()
    first = Background(
        lambda: run_backup(datadir_1000, tmp_path, created_at=T0, progress=pause_at(4, reached, release), ops=REAL)
    )
    assert reached.wait(WAIT)
    with pytest.raises(BackupError) as refused:
        run_backup(datadir_1000, tmp_path / "second.tar", created_at=T0, ops=REAL)
    release.set()
    assert first.join().error is None and isinstance(first.result, BackupResult)
    assert refused.value.code == "AERO_BACKUP_FAILED"
    assert refused.value.message == f"{HELD} (pid {os.getpid()} backup); wait for it to finish"
    assert not (tmp_path / "second.tar").exists()
    assert verify_archive(first.result.archive, ops=REAL).ok


def test_a_backup_in_another_process_refuses_the_second_from_the_command_line(
    datadir_1000: Path, out_dir: Path, paused_process: Callable[..., subprocess.Popen[str]]
) -> None:
    holder = paused_process("backup", 8, datadir_1000, out_dir)
    second = subprocess.run(
        [sys.executable, "-m", "aeroops", "backup", str(datadir_1000), "-o", str(out_dir / "b.tar")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert second.returncode == 2
    refused = f"[ERROR] AERO_BACKUP_FAILED: {HELD} (pid {holder.pid} backup); wait for it to finish"
    assert refused in unwrapped(second.stderr)
    resume(holder)
    [archive] = out_dir.glob("*.tar")
    assert verify_archive(archive, ops=REAL).ok and not (out_dir / "b.tar").exists()


def test_racing_backups_either_run_or_are_refused_never_anything_else(datadir_1000: Path, tmp_path: Path) -> None:
    outcomes: Counter[str] = Counter()
    for round_ in range(12):
        barrier = threading.Barrier(2)
        outs = [tmp_path / f"r{round_}-{i}" for i in range(2)]

        def backup(out: Path, barrier: threading.Barrier = barrier) -> BackupResult:
            out.mkdir()
            barrier.wait()
            return run_backup(datadir_1000, out, created_at=T0, ops=REAL)

        runs = [Background(lambda out=out: backup(out)) for out in outs]  # type: ignore[misc]
        for run, out in zip(runs, outs, strict=True):
            run.join()
            if run.error is None:
                outcomes["ran"] += 1
                assert verify_archive(run.result.archive, ops=REAL).ok  # type: ignore[attr-defined]
            else:
                assert run.error.code == "AERO_BACKUP_FAILED" and HELD in run.error.message, str(run.error)
                outcomes["refused"] += 1
                assert list(out.iterdir()) == []
        assert any(run.error is None for run in runs)
    assert outcomes["ran"] >= 12
    print(f"\nracing backups: {dict(outcomes)}")


# --- two backups into one output folder ---------------------------------------------------------


def test_two_backups_into_one_folder_leave_each_others_staging_alone(tmp_path: Path, out_dir: Path) -> None:
    one = copy_fixture("datadir-1000", tmp_path / "one")
    two = copy_fixture("datadir-3snap", tmp_path / "two")
    reached, release = threading.Event(), threading.Event()
    first = Background(
        lambda: run_backup(one, out_dir, created_at=T0, progress=pause_at(8, reached, release), ops=REAL)
    )
    assert reached.wait(WAIT)
    staging = [p for p in out_dir.iterdir() if p.name.startswith(STAGING_PREFIX)]
    second = run_backup(two, out_dir, created_at=T0, ops=REAL)
    assert second.removed_stale == () and all(p.exists() for p in staging)
    release.set()
    assert first.join().error is None
    assert verify_archive(first.result.archive, ops=REAL).ok and verify_archive(second.archive, ops=REAL).ok  # type: ignore[attr-defined]
    assert not [p for p in out_dir.iterdir() if p.name.startswith(STAGING_PREFIX)]


class CleanupRightAfterTheOwnerFile(FileOps):
    """Another backup's clean-up of the output folder lands just after this run created its
    staging folder's owner file: the worst moment for it."""

    def __init__(self) -> None:
        self.removed: tuple[str, ...] | None = None

    def create(self, path: Path, mode: int = 0o600) -> object:  # type: ignore[override]
        stream = super().create(path, mode)
        if path.name.startswith(OWNER_FILE) and self.removed is None:
            self.removed = remove_stale_staging(path.parent.parent, REAL)
        return stream


def test_another_runs_clean_up_never_takes_a_staging_folder_being_set_up(datadir_1000: Path, out_dir: Path) -> None:
    ops = CleanupRightAfterTheOwnerFile()
    result = run_backup(datadir_1000, out_dir, created_at=T0, ops=ops)  # type: ignore[arg-type]
    assert ops.removed == ()
    assert verify_archive(result.archive, ops=REAL).ok


# --- a backup and a restore at once -------------------------------------------------------------


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return copy_fixture("backup-3snap.tar", tmp_path / "backup-3snap.tar")


def test_a_restore_is_refused_while_a_backup_runs(datadir_1000: Path, out_dir: Path, archive: Path) -> None:
    before = tree_state(datadir_1000)
    reached, release = threading.Event(), threading.Event()
    backup = Background(
        lambda: run_backup(datadir_1000, out_dir, created_at=T0, progress=pause_at(8, reached, release), ops=REAL)
    )
    assert reached.wait(WAIT)
    with pytest.raises(RestoreError) as refused:
        restore(archive, datadir_1000, ops=REAL)
    release.set()
    assert refused.value.code == "AERO_RESTORE_FAILED" and HELD in refused.value.message
    assert backup.join().error is None and verify_archive(backup.result.archive, ops=REAL).ok  # type: ignore[attr-defined]
    assert tree_state(datadir_1000) == before and not find_leftovers(datadir_1000, REAL).any


def test_a_backup_is_refused_while_a_restore_runs_in_another_process(
    datadir_1000: Path, out_dir: Path, archive: Path, paused_process: Callable[..., subprocess.Popen[str]]
) -> None:
    holder = paused_process("restore", 5, archive, datadir_1000)
    with pytest.raises(BackupError) as refused:
        run_backup(datadir_1000, out_dir, created_at=T0, ops=REAL)
    assert refused.value.code == "AERO_BACKUP_FAILED"
    assert f"{HELD} (pid {holder.pid} restore)" in refused.value.message
    assert list(out_dir.iterdir()) == []
    resume(holder)
    assert verify_archive(run_backup(datadir_1000, out_dir, created_at=T0, ops=REAL).archive, ops=REAL).ok


def test_racing_backup_and_restore_leave_a_whole_directory_and_whole_archives(tmp_path: Path, archive: Path) -> None:
    reference = tmp_path / "reference"
    restore(archive, reference, create=True, ops=REAL)
    new_tree = content_tree(reference)
    data_dir = tmp_path / "data"
    outcomes: Counter[str] = Counter()
    for round_ in range(8):
        if data_dir.exists():
            shutil.rmtree(data_dir)
        copy_fixture("datadir-1000", data_dir)
        old_tree = content_tree(data_dir)
        out = tmp_path / f"out{round_}"
        out.mkdir()
        barrier = threading.Barrier(2)

        def backup(out: Path = out, barrier: threading.Barrier = barrier) -> object:
            barrier.wait()
            return run_backup(data_dir, out, created_at=T0, ops=REAL)

        def restoring(barrier: threading.Barrier = barrier) -> object:
            barrier.wait()
            return restore(archive, data_dir, ops=REAL)

        runs = {"backup": Background(backup), "restore": Background(restoring)}
        for name, run in runs.items():
            run.join()
            if run.error is None:
                outcomes[f"{name} ran"] += 1
            else:
                assert HELD in run.error.message, str(run.error)
                outcomes[f"{name} refused"] += 1
        assert content_tree(data_dir) in (old_tree, new_tree)
        assert not find_leftovers(data_dir, REAL).any
        for found in out.glob("*.tar"):
            assert verify_archive(found, ops=REAL).ok
    print(f"\nracing backup and restore: {dict(outcomes)}")
    assert outcomes["backup ran"] + outcomes["restore ran"] >= 8


# --- runs by different users ---------------------------------------------------------------------


def test_a_run_by_another_user_is_refused_while_roots_run_holds_the_lock(tmp_path: Path) -> None:
    """The lock file a root run made (0600) cannot be opened by another user: that user's run
    must still be refused, not run beside root's."""
    if os.geteuid() != 0:
        pytest.skip("needs root, to run a second user")
    with world_readable_folder("aeroops-users-") as root:
        data = copy_fixture("datadir-1000", root / "data")
        out = root / "out"
        out.mkdir()
        os.chown(out, 65534, 65534)
        with DirectoryLock(data, RestoreError, "restore", REAL):
            done = subprocess.run(
                as_nobody(sys.executable, "-m", "aeroops", "backup", str(data), "-o", str(out), "--no-progress"),
                capture_output=True,
                text=True,
                check=False,
                cwd="/tmp",
            )
        assert done.returncode == 2, done.stderr
        assert f"[ERROR] AERO_BACKUP_FAILED: {HELD}" in done.stderr
        assert list(out.iterdir()) == []


# --- AeroDB's .lock appearing mid-run ------------------------------------------------------------


def without_root(state: dict[str, tuple[str, int, int, str]]) -> dict[str, tuple[str, int, int, str]]:
    return {path: entry for path, entry in state.items() if path != "."}


def start_serving(data_dir: Path, step: int) -> Callable[[Progress], None]:
    """A progress callback that creates AeroDB's .lock at the start of ``step``."""

    def progress(event: Progress) -> None:
        if event.step_index == step and not (data_dir / ".lock").exists():
            (data_dir / ".lock").write_text("4242")

    return progress


@pytest.mark.parametrize("step", range(2, 10))
def test_a_backup_during_which_aerodb_starts_serving_is_discarded(datadir_1000: Path, out_dir: Path, step: int) -> None:
    before = tree_state(datadir_1000)
    with pytest.raises(BackupError) as refused:
        run_backup(datadir_1000, out_dir, created_at=T0, progress=start_serving(datadir_1000, step), ops=REAL)
    assert refused.value.code == "AERO_BACKUP_FAILED"
    assert "AeroDB" in refused.value.message and ".lock" in refused.value.message
    assert list(out_dir.iterdir()) == []
    (datadir_1000 / ".lock").unlink()
    assert without_root(tree_state(datadir_1000)) == without_root(before)  # AeroDB's .lock came and went


def test_aerodb_starting_after_the_archive_is_published_does_not_undo_it(datadir_1000: Path, out_dir: Path) -> None:
    result = run_backup(datadir_1000, out_dir, created_at=T0, progress=start_serving(datadir_1000, 10), ops=REAL)
    assert verify_archive(result.archive, ops=REAL).ok


@pytest.mark.parametrize("step", [5, 6, 7, 8])  # 7, 8: after the journal, right before the swap
def test_a_restore_during_which_aerodb_starts_serving_touches_nothing(tmp_path: Path, archive: Path, step: int) -> None:
    target = copy_fixture("datadir-nowal", tmp_path / "target")
    old_tree = content_tree(target)
    with pytest.raises(RestoreError) as refused:
        restore(archive, target, progress=start_serving(target, step), ops=REAL)
    assert refused.value.code == "AERO_RESTORE_FAILED" and ".lock appeared" in refused.value.message
    assert content_tree(target) == old_tree | {".lock": content_tree(target)[".lock"]}
    assert not find_leftovers(target, REAL).any
