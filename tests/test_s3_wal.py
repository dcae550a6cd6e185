"""WAL archive folders in object storage (issue 25, point 1): archive-wal into a bucket gives the
segments and sidecars a local folder gets, byte for byte; inventory --wal, verify, check
--max-wal-age and prune read a bucket as a folder; a point-in-time restore and drill stream the
segments from the bucket, and AeroDB's boot judges the result. Faults: a 503 and dropped
connections mid-segment upload, a pass killed mid-upload: nothing half-published, never a
record twice. No credential in any output."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from helpers.cli import run_cli, unwrapped
from helpers.pitr import T0, A, B, end_of, full_wal, move_to_stage, stage_copy
from helpers.s3 import (
    ACCESS_KEY,
    SECRET_KEY,
    Fault,
    FaultProxy,
    MotoServer,
    aim_at,
    killed_at_stall,
    moto_server,
    proxied,
    s3_environment,
    upload_part,
)
from test_boot import boot
from test_pitr import TARGETS, build_folder, listed

from aeroops.core.pitr import Target, TargetKind
from aeroops.core.retention import Policy
from aeroops.demo import DemoSpec, make_demo_datadir
from aeroops.errors import RemoteUnavailableError
from aeroops.executor import objectstore
from aeroops.executor.archive_wal import archive_wal
from aeroops.executor.backup import run_backup
from aeroops.executor.fileops import REAL
from aeroops.executor.pitr import describe_folder, drill_point_in_time, restore_point_in_time
from aeroops.executor.prune import prune
from aeroops.formats.segment import parse_segment_name

URL = "s3://backups/pitr/"


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    with moto_server() as found:
        yield found


@pytest.fixture(scope="module")
def other() -> Iterator[MotoServer]:
    """A second server, for the tests that empty theirs (`built`'s stays as built)."""
    with moto_server() as found:
        yield found


@pytest.fixture(scope="module")
def local_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_folder(tmp_path_factory.mktemp("pitr-local"))


def build_bucket(root: Path, url: str = URL) -> None:
    """`test_pitr.build_folder`, into the bucket: the same passes at the same moments."""
    data = stage_copy(1, root / "data")
    run_backup(data, url + "base-a.tar", created_at=T0, ops=REAL)
    archive_wal(data, url, now=T0 + timedelta(minutes=1), ops=REAL)
    move_to_stage(data, 2)
    archive_wal(data, url, now=T0 + timedelta(minutes=2), ops=REAL)
    move_to_stage(data, 3)
    run_backup(data, url + "base-b.tar", created_at=T0 + timedelta(minutes=3), ops=REAL)
    archive_wal(data, url, now=T0 + timedelta(minutes=4), ops=REAL)
    move_to_stage(data, 4)
    archive_wal(data, url, now=T0 + timedelta(minutes=5), ops=REAL)
    shutil.rmtree(data)


@pytest.fixture(scope="module")
def built(server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> MotoServer:
    """The fixture stages archived into ``s3://backups/pitr/`` (read-only for the tests that use it)."""
    with pytest.MonkeyPatch.context() as patch:
        aim_at(server.endpoint, patch.setenv)
        server.reset()
        server.client().create_bucket(Bucket="backups")
        build_bucket(tmp_path_factory.mktemp("pitr-bucket"))
        objectstore.reset_stores()
    return server


@pytest.fixture
def bucket(built: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    """`built`, with this process's environment pointing at its server."""
    aim_at(built.endpoint, monkeypatch.setenv)
    yield built
    objectstore.reset_stores()


def objects(server: MotoServer, prefix: str = "pitr/", bucket: str = "backups") -> dict[str, bytes]:
    client = server.client()
    found = client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", ())
    return {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in found}


def uploads(server: MotoServer) -> list[str]:
    return [u["Key"] for u in server.client().list_multipart_uploads(Bucket="backups").get("Uploads", ())]


def cli(server: MotoServer, *args: str):  # type: ignore[no-untyped-def]
    done = run_cli(*args, env=s3_environment(server.endpoint), timeout=120)
    assert SECRET_KEY not in done.stdout + done.stderr and ACCESS_KEY not in done.stdout + done.stderr
    return done


def test_segments_in_the_bucket_are_the_local_folders_byte_for_byte(bucket: MotoServer, local_folder: Path) -> None:
    remote = objects(bucket)
    segments = sorted(k.removeprefix("pitr/") for k in remote if parse_segment_name(k.removeprefix("pitr/")))
    assert len(segments) == 4
    for name in segments:
        assert remote["pitr/" + name] == (local_folder / name).read_bytes()
        assert remote["pitr/" + name + ".b3"] == (local_folder / (name + ".b3")).read_bytes()
    # Nothing else: no upload marker, no leftover, no upload in progress.
    bases = ["pitr/base-a.tar", "pitr/base-a.tar.b3", "pitr/base-b.tar", "pitr/base-b.tar.b3"]
    assert sorted(remote) == sorted(bases + ["pitr/" + n + s for n in segments for s in ("", ".b3")])
    assert uploads(bucket) == []


def test_inventory_verify_and_check_read_the_bucket_as_the_folder(bucket: MotoServer, local_folder: Path) -> None:
    remote = cli(bucket, "inventory", URL, "--wal", "--verify", "--format", "json")
    local = run_cli("inventory", str(local_folder), "--wal", "--verify", "--format", "json")
    assert remote.returncode == local.returncode == 0, remote.stderr
    ours, theirs = json.loads(remote.stdout), json.loads(local.stdout)
    assert ours.pop("folder").startswith("s3://backups/pitr") and theirs.pop("folder")
    assert ours == theirs
    table = cli(bucket, "inventory", URL)  # the plain inventory shows the WAL archive under the archives
    assert table.returncode == 0 and "base-b.tar" in table.stdout and B in table.stdout, table.stdout

    [newest] = [k for k in objects(bucket) if k.endswith(".wal") and f"-{B}-" in k and "-000000000021-" in k]
    checked = cli(bucket, "verify", "s3://backups/" + newest, "--format", "json")
    assert checked.returncode == 0, checked.stdout
    [report] = json.loads(checked.stdout)
    assert report["ok"] and report["wal_last_sequence"] == 35
    fresh = cli(bucket, "check", URL, "--max-wal-age", "5m", "--json")
    assert fresh.returncode == 1 and json.loads(fresh.stdout)["wal"]["fresh"] is False  # archived in 2026-12-06
    years = cli(bucket, "check", URL, "--max-wal-age", "10000h", "--json")
    assert years.returncode == 0, years.stdout
    assert json.loads(years.stdout)["wal"]["segment"] == newest.removeprefix("pitr/")


@pytest.mark.parametrize(("timeline", "sequence"), [TARGETS[3], TARGETS[-5], TARGETS[-1]])
def test_a_restore_from_the_bucket_boots_to_what_aerodb_listed(
    bucket: MotoServer, tmp_path: Path, timeline: str, sequence: int
) -> None:
    restored = tmp_path / "restored"
    result = restore_point_in_time(
        URL, restored, Target(TargetKind.SEQUENCE, sequence, timeline), create=True, ops=REAL
    )
    assert (result.plan.timeline, result.plan.sequence) == (timeline, sequence)
    expected = listed(timeline, sequence)
    assert boot(restored) == expected
    assert boot(restored) == expected


def test_restore_and_drill_by_the_command_line_from_the_bucket(bucket: MotoServer, tmp_path: Path) -> None:
    restored = tmp_path / "restored"
    dry = cli(bucket, "restore", URL, str(restored), "--to-sequence", "33", "--timeline", A, "--create")
    assert dry.returncode == 0 and not restored.exists(), dry.stderr
    done = cli(bucket, "restore", URL, str(restored), "--to-sequence", "33", "--timeline", A, "--create", "--yes")
    assert done.returncode == 0, done.stderr
    assert boot(restored) == listed(A, 33)
    drilled = cli(bucket, "drill", URL, "--to-time", (T0 + timedelta(minutes=4)).isoformat(), "--json")
    assert drilled.returncode == 0, drilled.stdout + drilled.stderr
    assert json.loads(drilled.stdout)["ok"] is True
    latest = drill_point_in_time(URL, Target(TargetKind.LATEST), ops=REAL)
    assert latest.ok and latest.documents == len(listed(B, 35))


def test_archive_wal_into_a_bucket_refuses_a_rewritten_wal(other: MotoServer, tmp_path: Path) -> None:
    server = other
    env = s3_environment(server.endpoint)
    server.reset()
    server.client().create_bucket(Bucket="backups")
    data = stage_copy(1, tmp_path / "data")
    first = run_cli("archive-wal", str(data), "-o", "s3://backups/w/", "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["last"] == 30
    nothing = run_cli("archive-wal", str(data), "-o", "s3://backups/w/", "--json", env=env)
    assert nothing.returncode == 0 and json.loads(nothing.stdout)["segment"] is None
    # Records 31..55 appended, but record 30's bytes changed under the archive: refused.
    changed = bytearray(full_wal(A))
    changed[end_of(A, 30) - 5] ^= 0xFF
    (data / "wal/wal.log").write_bytes(bytes(changed))
    before = objects(server, "w/")
    refused = run_cli("archive-wal", str(data), "-o", "s3://backups/w/", env=env)
    assert refused.returncode == 2 and "AERO_WAL_ARCHIVE_DIVERGED" in refused.stderr, refused.stderr
    assert objects(server, "w/") == before
    missing = run_cli("archive-wal", str(data), "-o", "s3://nobucket/w/", env=env)
    assert missing.returncode != 0 and "s3://nobucket/w/" in missing.stderr, missing.stderr
    for done in (first, nothing, refused, missing):
        assert SECRET_KEY not in done.stdout + done.stderr and ACCESS_KEY not in done.stdout + done.stderr


def test_prune_removes_the_segments_no_kept_base_needs_from_the_bucket(
    other: MotoServer, tmp_path: Path, local_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = other
    aim_at(server.endpoint, monkeypatch.setenv)
    try:
        objectstore.reset_stores()
        server.reset()
        server.client().create_bucket(Bucket="backups")
        build_bucket(tmp_path, "s3://backups/p/")
        local = tmp_path / "local"
        shutil.copytree(local_folder, local)
        dry = cli(server, "prune", "s3://backups/p/", "--keep-last", "1", "--no-progress")
        assert "WAL SEGMENTS: 2 kept, 2 would remove" in unwrapped(dry.stdout), dry.stdout
        now = T0 + timedelta(minutes=10)
        done = prune("s3://backups/p/", Policy(last=1), yes=True, now=now, ops=REAL)
        local_done = prune(local, Policy(last=1), yes=True, now=now, ops=REAL)
        left = sorted(k.removeprefix("p/") for k in objects(server, "p/"))
        assert left == sorted(p.name for p in local.iterdir())
        assert not any(f"-{A}-" in name for name in left) and any(f"-{B}-" in name for name in left)
        assert sorted(done.removed) == sorted(local_done.removed)
        assert [(d.file, d.keep) for d in done.segments] == [(d.file, d.keep) for d in local_done.segments]
    finally:
        objectstore.reset_stores()


# --- faults ---------------------------------------------------------------------------------------


@pytest.fixture
def proxy(other: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    with proxied(other, monkeypatch.setenv) as found:
        yield found


def segment_put(method: str, path: str) -> bool:
    """The one PUT of a segment smaller than a part (not its sidecar's)."""
    return method == "PUT" and path.split("?")[0].endswith(".wal")


def test_a_segment_upload_that_fails_publishes_nothing_and_the_next_pass_everything_once(
    other: MotoServer, proxy: FaultProxy, tmp_path: Path
) -> None:
    server = other
    data = stage_copy(2, tmp_path / "data")
    proxy.faults = [Fault("drop", segment_put, times=-1)]
    with pytest.raises(RemoteUnavailableError) as raised:
        archive_wal(data, "s3://backups/w/", now=T0, ops=REAL)
    assert "s3://backups/w/wal-" in raised.value.message and "4 times" in raised.value.message
    assert SECRET_KEY not in str(raised.value) and ACCESS_KEY not in str(raised.value)
    assert objects(server, "w/") == {} and uploads(server) == []  # no segment, no sidecar, no upload
    proxy.faults = [Fault("503", segment_put, times=2)]
    done = archive_wal(data, "s3://backups/w/", now=T0 + timedelta(minutes=1), ops=REAL)
    assert proxy.faults[0].hits == 2 and (done.first, done.last) == (1, 55)
    left = objects(server, "w/")
    assert sorted(left) == [f"w/{done.segment}", f"w/{done.segment}.b3"]
    assert left[f"w/{done.segment}"] == full_wal(A)


BIG_WAL = DemoSpec(seed=11, wal_records=30_000, snapshots=1, storage_bytes=1 << 20)  # a 13 MB WAL: two parts


def test_a_multipart_segment_survives_a_503_and_a_dropped_part_leaves_nothing(
    other: MotoServer, proxy: FaultProxy, tmp_path: Path
) -> None:
    server = other
    data = tmp_path / "db"
    make_demo_datadir(data, BIG_WAL, ops=REAL)
    wal = (data / "wal/wal.log").read_bytes()
    assert len(wal) > objectstore.PART_SIZE
    proxy.faults = [Fault("drop", upload_part(2), times=-1)]
    with pytest.raises(RemoteUnavailableError):
        archive_wal(data, "s3://backups/big/", now=T0, ops=REAL)
    assert objects(server, "big/") == {} and uploads(server) == []  # the upload aborted, its marker gone
    proxy.faults = [Fault("503", upload_part(2), times=1), Fault("503", upload_part(1), times=1)]
    done = archive_wal(data, "s3://backups/big/", now=T0 + timedelta(minutes=1), ops=REAL)
    assert [f.hits for f in proxy.faults] == [1, 1]
    assert objects(server, "big/")[f"big/{done.segment}"] == wal
    assert uploads(server) == []
    verified = run_cli("verify", f"s3://backups/big/{done.segment}", env=s3_environment(server.endpoint))
    assert verified.returncode == 0, verified.stdout


def test_a_pass_killed_mid_upload_leaves_no_segment_and_the_next_pass_cleans_up(
    other: MotoServer, proxy: FaultProxy, tmp_path: Path
) -> None:
    server = other
    data = stage_copy(1, tmp_path / "data")
    archive_wal(data, "s3://backups/k/", now=T0, ops=REAL)
    move_to_stage(data, 2)
    proxy.faults = [Fault("stall", segment_put)]
    killed_at_stall(proxy, "archive-wal", str(data), "-o", "s3://backups/k/")
    # The killed pass wrote its sidecar (segments go up after theirs): its segment never appeared.
    killed = objects(server, "k/")
    assert len([k for k in killed if k.endswith(".wal")]) == 1 and len(killed) == 3
    proxy.faults = []
    done = archive_wal(data, "s3://backups/k/", now=T0 + timedelta(hours=1), ops=REAL)
    assert (done.first, done.last) == (31, 55)
    left = objects(server, "k/")
    assert len(left) == 4 and all(k.endswith((".wal", ".wal.b3")) for k in left)  # the orphan sidecar went
    assert b"".join(left[k] for k in sorted(left) if k.endswith(".wal")) == full_wal(A)
    assert describe_folder("s3://backups/k/", ops=REAL).segments[1].name.first == 31


def test_a_bucket_the_credentials_cannot_reach_fails_each_verb_cleanly(other: MotoServer, tmp_path: Path) -> None:
    server = other
    env = s3_environment(server.endpoint)
    for args in (
        ("inventory", "s3://nobucket/x/", "--wal"),
        ("check", "s3://nobucket/x/", "--max-wal-age", "5m"),
        ("verify", f"s3://nobucket/x/wal-{A}-000000000001-000000000030-20261206T210000Z-00000000.wal"),
        ("restore", "s3://nobucket/x/", str(tmp_path / "r"), "--latest", "--create", "--yes"),
        ("drill", "s3://nobucket/x/", "--latest"),
        ("prune", "s3://nobucket/x/", "--keep-last", "1", "--yes"),
    ):
        done = run_cli(*args, env=env)
        assert done.returncode != 0, args
        assert "nobucket" in done.stdout + done.stderr, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        assert SECRET_KEY not in done.stdout + done.stderr and ACCESS_KEY not in done.stdout + done.stderr
    assert not (tmp_path / "r").exists()


def test_the_point_in_time_panel_over_the_bucket(bucket: MotoServer, tmp_path: Path) -> None:
    from aeroops.panels.pitr_panel import PitrPanel

    data = stage_copy(4, tmp_path / "data")
    panel = PitrPanel(URL, data, "seq 18")
    panel.timeline_input.value = B
    report = panel.coverage()
    assert report is not None and report.ok and panel.error is None, panel.error_box.value
    assert {row.timeline for row in report.timelines} == {A, B}
    drilled = panel.drill()
    assert drilled is not None and drilled.ok, panel.error_box.value
    assert panel.request_restore() and panel.error is None
    done = panel.confirm()
    assert done is not None and panel.error is None, panel.error_box.value
    assert boot(data) == listed(B, 18)
    shown = panel.coverage_html.value + panel.plan_html.value + panel.drill_html.value + panel.result_html.value
    assert SECRET_KEY not in shown and ACCESS_KEY not in shown


def test_the_audit_panel_shows_the_buckets_wal_archive(bucket: MotoServer, local_folder: Path) -> None:
    from aeroops.executor.pitr import wal_archive
    from aeroops.panels import AuditPanel

    panel = AuditPanel(URL)
    assert panel.error is None, panel.error_box.value
    local = wal_archive(local_folder, checked=False, ops=REAL)
    shown = panel.wal_report
    assert shown is not None and {row.timeline for row in shown.timelines} == {A, B}
    assert (shown.timelines, shown.coverage, shown.problems) == (local.timelines, local.coverage, local.problems)
    assert panel.wal_box.layout.display is None and panel.coverage_chart.value  # shown, with its chart
    shown_text = panel.wal_summary.value + panel.error_box.value
    assert SECRET_KEY not in shown_text and ACCESS_KEY not in shown_text
