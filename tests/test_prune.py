"""prune, check and inventory --newest-good on real archives: the executor and the commands."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers.archives import damage_storage
from helpers.cli import run_main, unwrapped
from helpers.retention import make_folder
from prometheus_client.parser import text_string_to_metric_families

from aeroops.core.retention import Policy, Status, parse_duration
from aeroops.errors import BackupError, OutputError, PruneError, PruneIOError
from aeroops.executor.audit import inventory, verify_archive
from aeroops.executor.backup import run_backup
from aeroops.executor.check import check, write_text_file
from aeroops.executor.fileops import REAL, FileOps
from aeroops.executor.lock import FolderLock
from aeroops.executor.prune import prune
from aeroops.formats.manifests import BackupManifest, parse_backup_manifest, render_backup_manifest

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


# --- the source key ---------------------------------------------------------------------------


def test_a_named_source_is_an_extra_manifest_key_after_aerodbs(
    small_demo: tuple[Path, tuple[str, ...]], tmp_path: Path
) -> None:
    result = run_backup(small_demo[0], tmp_path, created_at=NOW, source="db-eu-1", ops=REAL)
    report = verify_archive(result.archive, ops=REAL)
    assert report.ok and not report.findings, report.findings  # no "not as AeroDB writes it" warning
    assert report.backup_manifest is not None and report.backup_manifest.source == "db-eu-1"
    text = render_backup_manifest(report.backup_manifest).decode()
    assert text.endswith('"format_version": 1,\n  "source": "db-eu-1"\n}')
    row = inventory(tmp_path, now=NOW, ops=REAL).rows[0]
    assert row.source == "db-eu-1"


def test_without_a_source_the_manifest_is_aerodbs() -> None:
    manifest = BackupManifest("20260101T000000Z", NOW, "20260101T000000Z", True)
    assert b"source" not in render_backup_manifest(manifest)
    assert parse_backup_manifest(render_backup_manifest(manifest)).source is None


# --- prune ------------------------------------------------------------------------------------


def test_a_dry_run_removes_nothing_and_says_why(small_demo: tuple[Path, tuple[str, ...]], tmp_path: Path) -> None:
    archives = make_folder(small_demo, tmp_path / "b")
    before = sorted(p.name for p in (tmp_path / "b").iterdir())
    result = prune(tmp_path / "b", Policy(daily=3, weekly=2), now=NOW, ops=REAL)
    assert result.dry_run and result.verified and result.removed == ()
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == before
    kept = {d.file: d.why for d in result.plan.kept}
    assert kept == {
        archives[-1].name: "daily 2026-11-19, weekly 2026-W47, newest good",
        archives[-2].name: "daily 2026-11-18",
        archives[-3].name: "daily 2026-11-17",
        archives[-4].name: "weekly 2026-W46",
    }


def test_yes_removes_the_archives_and_their_sidecars(small_demo: tuple[Path, tuple[str, ...]], tmp_path: Path) -> None:
    folder = tmp_path / "b"
    archives = make_folder(small_demo, folder)
    result = prune(folder, Policy(last=2), yes=True, now=NOW, ops=REAL)
    assert not result.dry_run
    left = sorted(p.name for p in folder.iterdir())
    assert left == sorted([archives[-1].name, archives[-1].name + ".b3", archives[-2].name, archives[-2].name + ".b3"])
    assert len(result.removed) == 2 * (len(archives) - 2)
    assert all(verify_archive(folder / name, ops=REAL).ok for name in left if name.endswith(".tar"))


def test_a_damaged_archive_counts_for_nothing_and_stays_unless_asked(
    small_demo: tuple[Path, tuple[str, ...]], tmp_path: Path
) -> None:
    folder = tmp_path / "b"
    archives = make_folder(small_demo, folder)
    damage_storage(archives[-1])  # the newest
    result = prune(folder, Policy(last=1), yes=True, now=NOW, ops=REAL)
    assert {d.file for d in result.plan.kept} == {archives[-1].name, archives[-2].name}
    assert result.plan.decision(archives[-1].name).status is Status.DAMAGED
    assert archives[-1].exists() and archives[-2].exists() and not archives[-3].exists()
    prune(folder, Policy(last=1, remove_damaged=True), yes=True, now=NOW, ops=REAL)
    assert not archives[-1].exists() and archives[-2].exists()


def test_no_verify_trusts_the_inventory(small_demo: tuple[Path, tuple[str, ...]], tmp_path: Path) -> None:
    folder = tmp_path / "b"
    archives = make_folder(small_demo, folder, days=(1, 2))
    damage_storage(archives[-1])
    trusted = prune(folder, Policy(last=1), verify=False, now=NOW, ops=REAL)
    assert not trusted.verified and trusted.plan.decision(archives[-1].name).status is Status.UNVERIFIED
    assert [d.file for d in trusted.plan.kept] == [archives[-1].name]


def test_a_prune_and_a_backup_exclude_each_other(small_demo: tuple[Path, tuple[str, ...]], tmp_path: Path) -> None:
    folder = tmp_path / "b"
    make_folder(small_demo, folder, days=(1, 2))
    with (
        FolderLock(folder, BackupError, exclusive=False, ops=REAL),
        pytest.raises(PruneError, match="a backup or a prune"),
    ):
        prune(folder, Policy(last=1), yes=True, now=NOW, ops=REAL)
    with FolderLock(folder, PruneError, exclusive=True, ops=REAL), pytest.raises(BackupError, match="a prune holds"):
        run_backup(small_demo[0], folder, created_at=NOW, ops=REAL)
    with FolderLock(folder, BackupError, exclusive=False, ops=REAL):  # backups share the folder
        run_backup(small_demo[0], folder, created_at=NOW, ops=REAL)
        assert prune(folder, Policy(last=1), now=NOW, ops=REAL).dry_run  # a dry run only reads


def test_a_failed_removal_stops_with_its_code(small_demo: tuple[Path, tuple[str, ...]], tmp_path: Path) -> None:
    folder = tmp_path / "b"
    archives = make_folder(small_demo, folder, days=(1, 2, 3))

    class Denied(FileOps):
        def remove(self, path: Path) -> None:
            if path.name == archives[1].name:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            super().remove(path)

    with pytest.raises(PruneIOError, match="Permission denied, during remove") as raised:
        prune(folder, Policy(last=1), yes=True, now=NOW, ops=Denied())
    assert raised.value.code == "AERO_PRUNE_IO"
    assert archives[1].exists() and archives[-1].exists()


def test_the_cli_dry_run_names_the_last_copy_of_a_snapshot_and_exits_1(
    small_demo: tuple[Path, tuple[str, ...]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "b"
    archives = make_folder(small_demo, folder, days=(1, 2))
    code, out, err = run_main(capsys, "prune", str(folder), "--keep-last", "1", "--no-progress")
    assert code == 1
    assert f"[WARNING] AERO_PRUNE_LAST_COPY: {archives[0].name} is the last good copy of snapshot" in unwrapped(err)
    assert "would remove" in out and "dry run" in out and all(p.exists() for p in archives)
    assert err.count("AERO_PRUNE_LAST_COPY") == 1  # the other removal leaves a copy of its snapshot
    archives[0].unlink()
    code, out, err = run_main(capsys, "prune", str(folder), "--keep-last", "1", "--no-progress")
    assert code == 0 and err == ""


def test_the_cli_formats_and_errors(
    small_demo: tuple[Path, tuple[str, ...]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "b"
    make_folder(small_demo, folder, days=(1, 2))
    code, out, _ = run_main(capsys, "prune", str(folder), "--keep-daily", "1", "--format", "json", "--no-progress")
    plan = json.loads(out)
    assert plan["policy"]["daily"] == 1 and plan["dry_run"] and plan["removed"] == 2
    assert {d["action"] for d in plan["decisions"]} == {"keep", "remove"}
    code, out, _ = run_main(capsys, "prune", str(folder), "--keep-daily", "1", "--format", "csv", "--no-progress")
    assert out.splitlines()[0] == "action,status,file,why,source,backup_id,snapshot_id,created_at,size"  # verdict first
    code, _, err = run_main(capsys, "prune", str(folder), "--no-progress")
    assert code == 2 and "[ERROR] AERO_USAGE: no keep rule given: pass at least one of --keep-last" in err
    code, _, err = run_main(capsys, "prune", str(folder), "--keep-daily", "1", "--time-zone", "Nowhere/None")
    assert code == 2 and "unknown time zone" in err
    code, out, _ = run_main(capsys, "prune", str(folder), "--keep-daily", "1", "--yes", "--no-progress")
    assert code == 0 and len(list(folder.glob("*.tar"))) == 1


def test_the_cli_takes_restics_counts_and_within_rules(
    small_demo: tuple[Path, tuple[str, ...]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "b"
    make_folder(small_demo, folder, days=(1, 2, 10))  # and 1 Nov 02:00: two archives on 1 Nov
    args = ["prune", str(folder), "--format", "json", "--no-progress", "--no-verify"]
    code, out, _ = run_main(capsys, *args, "--keep-daily", "unlimited")
    plan = json.loads(out)
    assert code == 0 and plan["policy"]["daily"] == "unlimited" and plan["removed"] == 0
    # 1 Nov 02:00 shares its day with 03:00: kept as the oldest archive, the count not used up
    assert [d["why"] for d in plan["decisions"]] == [
        "daily 2026-11-10",  # --no-verify: unverified, so no "newest good"
        "daily 2026-11-02",
        "daily 2026-11-01",
        "oldest daily 2026-11-01",
    ]
    code, out, _ = run_main(capsys, *args, "--keep-within-daily", "9d")  # strictly after 1 Nov 03:00
    kept = {d["created_at"]: d["why"] for d in json.loads(out)["decisions"] if d["action"] == "keep"}
    # exit 1: removing 1 Nov 02:00 loses the only copy of its snapshot
    assert code == 1 and kept == {
        "2026-11-10T03:00:00Z": "daily within 9d 2026-11-10",
        "2026-11-02T03:00:00Z": "daily within 9d 2026-11-02",
    }
    code, _, err = run_main(capsys, *args, "--keep-within-weekly", "2x")
    assert code == 2 and "--keep-within-weekly: '2x' is not a duration" in err


# --- check ------------------------------------------------------------------------------------


def test_check_verifies_newest_first_until_one_passes(small_demo: tuple[Path, tuple[str, ...]], tmp_path: Path) -> None:
    folder = tmp_path / "b"
    archives = make_folder(small_demo, folder)
    damage_storage(archives[-1])
    found = check(folder, parse_duration("26h"), now=NOW, ops=REAL)
    assert found.newest is not None and found.newest.file == archives[-2].name
    assert found.age == timedelta(days=2, hours=9) and not found.fresh
    assert found.counts() == {Status.CLEAN: 1, Status.DAMAGED: 1, Status.UNVERIFIED: 6, Status.UNREADABLE: 0}
    assert check(folder, parse_duration("3d"), now=NOW, ops=REAL).fresh


def test_check_cli_exit_codes_and_prometheus_file(
    small_demo: tuple[Path, tuple[str, ...]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "b"
    archives = make_folder(small_demo, folder, days=(1,))
    metrics = tmp_path / "aeroops.prom"
    code, out, _ = run_main(capsys, "check", str(folder), "--max-age", "10000d", "--prometheus", str(metrics))
    assert code == 0 and out.startswith(f"OK: newest good backup {archives[-1].name} is ")
    families = {f.name: f for f in text_string_to_metric_families(metrics.read_text())}
    newest = families["aeroops_backup_newest_good_timestamp_seconds"].samples[0]
    assert newest.value == datetime(2026, 11, 1, 3, tzinfo=UTC).timestamp() and newest.labels["folder"] == str(folder)
    by_verdict = {s.labels["verdict"]: s.value for s in families["aeroops_backup_archives"].samples}
    assert by_verdict == {"clean": 1, "unverified": 1, "damaged": 0, "unreadable": 0}
    assert families["aeroops_backup_bytes"].samples[0].value == sum(p.stat().st_size for p in archives)
    assert families["aeroops_backup_fresh"].samples[0].value == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aeroops.prom", "b"]  # no temporary file left

    code, out, _ = run_main(capsys, "check", str(folder), "--max-age", "1h")
    assert code == 1 and out.startswith("STALE: newest good backup") and "older than 1h" in unwrapped(out)
    for archive in archives:
        damage_storage(archive)
    code, out, _ = run_main(capsys, "check", str(folder), "--max-age", "1h")
    assert code == 1 and out.startswith("STALE: no archive verifies clean")
    code, _, err = run_main(capsys, "check", str(tmp_path / "missing"), "--max-age", "1h")
    assert code == 2 and "AERO_USAGE" in err


def test_the_metrics_file_is_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "m.prom"
    target.write_text("old")

    class Full(FileOps):
        def fsync(self, stream):  # type: ignore[no-untyped-def]
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError, match="No space"):
        write_text_file(target, b"new", ops=Full())
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["m.prom"]
    write_text_file(target, b"new", REAL)
    assert target.read_text() == "new"


# --- inventory --newest-good --------------------------------------------------------------------


def test_inventory_newest_good(
    small_demo: tuple[Path, tuple[str, ...]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "b"
    archives = make_folder(small_demo, folder, days=(1, 2))
    damage_storage(archives[-1])
    code, out, _ = run_main(capsys, "inventory", str(folder), "--newest-good", "--no-progress")
    snapshots = small_demo[1]
    assert code == 0
    assert out.splitlines() == [
        f"NEWEST GOOD: {archives[1].name}",
        f"  snapshot {snapshots[0]}: {archives[0].name}",
        f"  snapshot {snapshots[-1]}: {archives[1].name}",
    ]
    code, out, _ = run_main(capsys, "inventory", str(folder), "--newest-good", "--format", "json", "--no-progress")
    assert json.loads(out)["overall"]["file"] == archives[1].name
    for archive in archives:
        damage_storage(archive)
    code, out, _ = run_main(capsys, "inventory", str(folder), "--newest-good", "--no-progress")
    assert code == 1 and "NEWEST GOOD: none verifies clean" in out


# --- a folder the user cannot remove from: the dry run says so, the real run removes nothing -----


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root to run as nobody")
@pytest.mark.parametrize("mode", [0o755, 0o1777], ids=["read-only folder", "sticky folder, another's archives"])
def test_a_dry_run_says_when_the_user_could_not_remove_and_the_real_run_removes_nothing(
    small_demo: tuple[Path, tuple[str, ...]], mode: int
) -> None:
    from helpers.faults import as_nobody, world_readable_folder

    with world_readable_folder("aeroops-prune-") as root:
        folder = root / "backups"
        made = make_folder(small_demo, folder, days=(1, 2))
        for path in folder.iterdir():
            path.chmod(0o644)
        folder.chmod(mode)
        before = sorted(p.name for p in folder.iterdir())
        argv = ["-m", "aeroops", "prune", str(folder), "--keep-last", "1", "--no-progress"]
        dry = subprocess.run(as_nobody(sys.executable, *argv), capture_output=True, text=True, check=False)
        assert dry.returncode == 1, dry.stderr
        assert "[ERROR] AERO_PRUNE_FAILED: --yes would be refused: cannot remove" in dry.stderr
        assert "permission denied" in dry.stderr
        real = subprocess.run(as_nobody(sys.executable, *argv, "--yes"), capture_output=True, text=True, check=False)
        assert real.returncode == 2, real.stderr
        assert (
            real.stderr.startswith("[ERROR] AERO_PRUNE_FAILED: cannot remove") and "nothing was removed" in real.stderr
        )
        assert sorted(p.name for p in folder.iterdir()) == before and len(made) == 3
