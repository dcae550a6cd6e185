"""Object storage under faults: a proxy of our own in front of moto's server drops connections,
answers 503, cuts bodies and loses answers at chosen moments of an upload and of a download;
a backup killed mid-upload; credentials that may only read. Nothing half-published, nothing
lost, a clear error or a successful retry, and no credential in any output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.s3 import (
    ACCESS_KEY,
    SECRET_KEY,
    Fault,
    FaultProxy,
    MotoServer,
    complete_upload,
    killed_at_stall,
    moto_server,
    proxied,
    ranged_get,
    s3_environment,
    upload_part,
)

from aeroops.demo import DemoSpec, make_demo_datadir
from aeroops.errors import RemoteUnavailableError
from aeroops.executor.audit import verify_archive
from aeroops.executor.backup import run_backup
from aeroops.executor.fileops import REAL
from aeroops.executor.restore import restore

BIG = DemoSpec(seed=7, wal_records=1000, snapshots=2, storage_bytes=20 << 20)  # a 3-part upload


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    with moto_server() as found:
        yield found


@pytest.fixture(scope="module")
def big_datadir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "db"
    make_demo_datadir(path, BIG, ops=REAL)
    return path


@pytest.fixture
def proxy(server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    with proxied(server, monkeypatch.setenv) as found:
        yield found


def keys(server: MotoServer, prefix: str = "") -> list[str]:
    return sorted(
        o["Key"] for o in server.client().list_objects_v2(Bucket="backups", Prefix=prefix).get("Contents", ())
    )


def uploads(server: MotoServer) -> list[str]:
    return [u["Key"] for u in server.client().list_multipart_uploads(Bucket="backups").get("Uploads", ())]


def test_503_and_dropped_connections_during_an_upload_are_retried(
    server: MotoServer, proxy: FaultProxy, big_datadir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    # Every retry on aeroops' logger, and no credential in any of it. (botocore's own DEBUG log
    # prints request headers, the access key among them: README says so.)
    caplog.set_level(logging.DEBUG, logger="aeroops")
    proxy.faults = [
        Fault("503", upload_part(2), times=2),
        Fault("drop", upload_part(3)),
        Fault("slowdown", complete_upload),
    ]
    made = run_backup(big_datadir, "s3://backups/db/", ops=REAL)
    assert [f.hits for f in proxy.faults] == [2, 1, 1]
    assert verify_archive(made.archive, ops=REAL).ok
    assert uploads(server) == []
    assert "transient failure" in caplog.text
    assert SECRET_KEY not in caplog.text and ACCESS_KEY not in caplog.text
    assert keys(server) == sorted(
        [made.archive.removeprefix("s3://backups/"), made.archive.removeprefix("s3://backups/") + ".b3"]
    )


def test_a_completion_whose_answer_is_lost_is_not_published_twice(
    server: MotoServer, proxy: FaultProxy, big_datadir: Path
) -> None:
    proxy.faults = [Fault("lost", complete_upload)]
    made = run_backup(big_datadir, "s3://backups/db/", ops=REAL)
    assert proxy.faults[0].hits == 1
    assert verify_archive(made.archive, ops=REAL).ok


def test_an_upload_that_keeps_failing_leaves_nothing(server: MotoServer, proxy: FaultProxy, big_datadir: Path) -> None:
    proxy.faults = [Fault("drop", upload_part(2), times=-1)]
    with pytest.raises(RemoteUnavailableError) as raised:
        run_backup(big_datadir, "s3://backups/db/x.tar", ops=REAL)
    assert "s3://backups/db/x.tar" in raised.value.message and "4 times" in raised.value.message
    assert keys(server) == [] and uploads(server) == []  # no archive, no marker, no parts
    assert not any(p.name.startswith(".aeroops") for p in big_datadir.parent.iterdir())
    proxy.faults = []
    assert verify_archive(run_backup(big_datadir, "s3://backups/db/x.tar", ops=REAL).archive, ops=REAL).ok


def test_reads_retry_cut_bodies_and_503s_then_fail_with_their_own_code(
    server: MotoServer, proxy: FaultProxy, big_datadir: Path, tmp_path: Path
) -> None:
    made = run_backup(big_datadir, "s3://backups/db/", ops=REAL)
    proxy.faults = [Fault("cut", ranged_get), Fault("503", ranged_get), Fault("drop", ranged_get)]
    assert verify_archive(made.archive, ops=REAL).ok
    assert [f.hits for f in proxy.faults] == [1, 1, 1]
    restore(made.archive, tmp_path / "r1", create=True, ops=REAL)
    assert (tmp_path / "r1" / "wal" / "wal.log").exists()
    # Past every retry: the verdict names the URL and the transient failure; a restore fails with
    # AERO_REMOTE_UNAVAILABLE and leaves the old data directory as it was.
    proxy.faults = [Fault("503", ranged_get, times=-1)]
    report = verify_archive(made.archive, ops=REAL)
    assert not report.ok and made.archive in report.findings[0].message and "transient" in report.findings[0].message
    before = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "r1").rglob("*"))
    from aeroops.errors import RemoteUnavailableError as Unavailable

    with pytest.raises(Unavailable):
        restore(made.archive, tmp_path / "r1", ops=REAL)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "r1").rglob("*")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r1"]


def test_cli_error_for_an_unavailable_service_is_one_line_with_its_code(
    server: MotoServer, proxy: FaultProxy, big_datadir: Path
) -> None:
    proxy.faults = [Fault("503", lambda method, path: True, times=-1)]
    env = {**os.environ}
    done = subprocess.run(
        [sys.executable, "-m", "aeroops", "backup", str(big_datadir), "-o", "s3://backups/db/"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("[ERROR] AERO_REMOTE_UNAVAILABLE: s3://backups/db/")
    assert SECRET_KEY not in done.stderr + done.stdout and ACCESS_KEY not in done.stderr + done.stdout


def test_a_backup_killed_mid_upload_leaves_no_archive_and_the_next_run_cleans_up(
    server: MotoServer, proxy: FaultProxy, big_datadir: Path
) -> None:
    proxy.faults = [Fault("stall", upload_part(2))]
    killed_at_stall(proxy, "backup", str(big_datadir), "-o", "s3://backups/db/a.tar", "--no-progress")
    assert "db/a.tar" not in keys(server)
    assert uploads(server) == ["db/a.tar"]  # the killed run's upload, with its marker
    [marker] = [k for k in keys(server) if ".aeroops-upload-" in k]
    # Someone else's upload into the same folder: never touched.
    foreign = server.client().create_multipart_upload(Bucket="backups", Key="db/theirs.tar")["UploadId"]
    proxy.faults = []
    made = run_backup(big_datadir, "s3://backups/db/a.tar", ops=REAL)
    # The killed run's staging folder beside the data directory, and its upload.
    assert [Path(p).name.startswith(".aeroops-staging-") for p in made.removed_stale] == [True, False]
    assert made.removed_stale[1] == "s3://backups/db/a.tar"
    assert uploads(server) == ["db/theirs.tar"]
    assert marker not in keys(server)
    assert verify_archive(made.archive, ops=REAL).ok
    server.client().abort_multipart_upload(Bucket="backups", Key="db/theirs.tar", UploadId=foreign)
    assert not any(p.name.startswith(".aeroops") for p in big_datadir.parent.iterdir() if p.name != "db")


def test_read_only_credentials_cannot_back_up_and_can_verify(tmp_path: Path, datadir_1000: Path) -> None:
    # A created_at of its own: an archive named for this second would make the refused backup
    # below meet "already exists" before it ever tries to write.
    made = run_backup(datadir_1000, tmp_path, created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), ops=REAL)
    body = Path(made.archive).read_bytes()
    sidecar = Path(made.sidecar).read_bytes()
    with moto_server(no_auth_actions=6) as server:
        admin = server.client()
        admin.create_bucket(Bucket="backups")
        name = Path(made.archive).name
        admin.put_object(Bucket="backups", Key=f"db/{name}", Body=body)
        admin.put_object(Bucket="backups", Key=f"db/{name}.b3", Body=sidecar)
        import boto3

        iam = boto3.client(
            "iam",
            endpoint_url=server.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
        )
        iam.create_user(UserName="reader")
        # Read, list and nothing that writes (moto maps HEAD and listings less finely than AWS).
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                {"Effect": "Deny", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": "*"},
            ],
        }
        iam.put_user_policy(UserName="reader", PolicyName="read", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        env = {
            **os.environ,
            **s3_environment(server.endpoint),
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
        }
        run = [sys.executable, "-m", "aeroops"]
        backup = subprocess.run(
            [*run, "backup", str(datadir_1000), "-o", "s3://backups/db/"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert backup.returncode == 2, backup.stderr
        assert (
            backup.stderr.startswith("[ERROR] AERO_REMOTE_FAILED: s3://backups/db/")
            and "access denied" in backup.stderr
        )
        verified = subprocess.run(
            [*run, "verify", f"s3://backups/db/{name}"], capture_output=True, text=True, env=env, timeout=120
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr
        for text in (backup.stdout, backup.stderr, verified.stdout, verified.stderr):
            assert key["SecretAccessKey"] not in text


def test_verify_restore_and_drill_read_an_archive_in_one_get(
    server: MotoServer, proxy: FaultProxy, big_datadir: Path
) -> None:
    from aeroops.executor.drill import drill

    made = run_backup(big_datadir, "s3://backups/db/", ops=REAL)
    key = made.archive.removeprefix("s3://")

    def gets() -> int:
        return sum(1 for method, path in proxy.seen if method == "GET" and path.split("?")[0] == "/" + key)

    proxy.seen.clear()
    assert verify_archive(made.archive, ops=REAL).ok
    assert gets() == 1  # one streaming GET of the whole object, not a ranged GET per 8 MiB
    proxy.seen.clear()
    result = drill(made.archive, source=big_datadir, ops=REAL)
    assert result.ok, result.error
    assert gets() == 1  # the drill's archive state is parsed in the restore's pass: read once
    assert {c.reference for c in result.comparisons} == {"archive", "source"}
    assert all(c.diff.identical for c in result.comparisons)
