"""Backup folders and archives in object storage: the same backup, verify, inspect and inventory
as local folders, against moto's standalone S3 server over HTTP (tests/helpers/s3.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import run_cli
from helpers.s3 import ACCESS_KEY, SECRET_KEY, MotoServer, aim_at, moto_server, s3_environment

from aeroops.executor import objectstore
from aeroops.executor.audit import inventory, verify_archive
from aeroops.executor.backup import run_backup
from aeroops.executor.fileops import REAL

CREATED = "2026-12-01T03:00:00Z"


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    with moto_server() as found:
        yield found


@pytest.fixture
def s3(server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    """The server, emptied, with one bucket ``backups`` and this process's environment pointing at it."""
    server.reset()
    aim_at(server.endpoint, monkeypatch.setenv)
    server.client().create_bucket(Bucket="backups")
    yield server
    objectstore.reset_stores()


def cli(server: MotoServer, *args: str, **env: str):  # type: ignore[no-untyped-def]
    return run_cli(*args, env={**s3_environment(server.endpoint), **env}, timeout=120)


def no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET_KEY not in text
        assert ACCESS_KEY not in text


def test_backup_into_a_bucket_then_verify_inspect_inventory(s3: MotoServer, datadir_1000: Path, tmp_path: Path) -> None:
    done = cli(s3, "backup", str(datadir_1000), "-o", "s3://backups/db1/", "--created-at", CREATED, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    url = result["archive"]
    assert url.startswith("s3://backups/db1/") and url.endswith(".tar")
    assert result["sidecar"] == url + ".b3"
    # The same bytes as a local backup of the same data at the same time.
    local = run_backup(datadir_1000, tmp_path, created_at=_created(), ops=REAL)
    body = s3.client().get_object(Bucket="backups", Key=url.removeprefix("s3://backups/"))["Body"].read()
    assert body == Path(local.archive).read_bytes()
    sidecar = s3.client().get_object(Bucket="backups", Key=url.removeprefix("s3://backups/") + ".b3")["Body"].read()
    assert sidecar == Path(local.sidecar).read_bytes()
    # Nothing was left beside the data directory (staging) or in the bucket (upload markers).
    assert sorted(p.name for p in datadir_1000.parent.iterdir() if p.name.startswith(".aeroops")) == []
    keys = [o["Key"] for o in s3.client().list_objects_v2(Bucket="backups")["Contents"]]
    assert sorted(keys) == sorted([url.removeprefix("s3://backups/"), url.removeprefix("s3://backups/") + ".b3"])

    verified = cli(s3, "verify", url)
    assert verified.returncode == 0, verified.stderr
    inspected = cli(s3, "inspect", url, "--format", "json")
    assert inspected.returncode == 0, inspected.stderr
    listed = cli(s3, "inventory", "s3://backups/", "-r", "--verify", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [row["file"] for row in rows] == [url.removeprefix("s3://backups/")]
    assert rows[0]["sidecar"] == "b3" and rows[0]["ok"] is True and rows[0]["errors"] == 0
    no_secret(done.stdout, done.stderr, verified.stdout, verified.stderr, inspected.stdout, listed.stdout)


def test_a_damaged_archive_in_the_bucket_fails_verify(s3: MotoServer, datadir_1000: Path) -> None:
    result = run_backup(datadir_1000, "s3://backups/x/", created_at=_created(), ops=REAL)
    key = result.archive.removeprefix("s3://backups/")
    body = bytearray(s3.client().get_object(Bucket="backups", Key=key)["Body"].read())
    body[len(body) // 2] ^= 0xFF
    s3.client().put_object(Bucket="backups", Key=key, Body=bytes(body))
    report = verify_archive(result.archive, ops=REAL)
    assert not report.ok
    assert any(f.code == "AERO_VERIFY_SIDECAR" for f in report.findings)


def test_existing_archive_is_not_replaced_without_overwrite(s3: MotoServer, datadir_1000: Path) -> None:
    first = run_backup(datadir_1000, "s3://backups/", created_at=_created(), ops=REAL)
    again = cli(s3, "backup", str(datadir_1000), "-o", first.archive, "--created-at", CREATED)
    assert again.returncode == 2
    assert "AERO_BACKUP_FAILED" in again.stderr and first.archive in again.stderr
    replaced = cli(s3, "backup", str(datadir_1000), "-o", first.archive, "--created-at", CREATED, "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    assert verify_archive(first.archive, ops=REAL).ok


def test_inventory_of_a_bucket_reads_heads_and_names_unreadable(s3: MotoServer, datadir_1000: Path) -> None:
    made = [run_backup(datadir_1000, f"s3://backups/host{i}/", created_at=_created(), ops=REAL) for i in range(3)]
    s3.client().put_object(Bucket="backups", Key="host0/junk.tar", Body=b"not a tar at all" * 10)
    found = inventory("s3://backups/", recursive=True, ops=REAL)
    files = [row.file for row in found.rows]
    assert files == sorted([m.archive.removeprefix("s3://backups/") for m in made] + ["host0/junk.tar"])
    junk = next(row for row in found.rows if row.file == "host0/junk.tar")
    assert junk.reason is not None
    flat = inventory("s3://backups/host1/", ops=REAL)
    assert [row.file for row in flat.rows] == [made[1].archive.rsplit("/", 1)[1]]


def test_missing_bucket_and_missing_object_name_the_url(s3: MotoServer, datadir_1000: Path) -> None:
    backup = cli(s3, "backup", str(datadir_1000), "-o", "s3://no-such-bucket/x/")
    assert backup.returncode == 2
    assert "AERO_REMOTE_FAILED" in backup.stderr and "s3://no-such-bucket/" in backup.stderr
    assert "Traceback" not in backup.stderr
    verified = cli(s3, "verify", "s3://backups/nothing.tar")
    assert verified.returncode != 0
    assert "s3://backups/nothing.tar" in verified.stdout + verified.stderr
    listed = cli(s3, "inventory", "s3://no-such-bucket/")
    assert listed.returncode == 2 and "no-such-bucket" in listed.stderr
    no_secret(backup.stderr, verified.stdout, verified.stderr, listed.stderr)


def test_keys_with_spaces_and_non_ascii(s3: MotoServer, datadir_1000: Path) -> None:
    url = "s3://backups/fleet a/dé jà vu ☃.tar"
    done = cli(s3, "backup", str(datadir_1000), "-o", url, "--created-at", CREATED)
    assert done.returncode == 0, done.stderr
    assert verify_archive(url, ops=REAL).ok
    rows = inventory("s3://backups/fleet a/", ops=REAL).rows
    assert [r.file for r in rows] == ["dé jà vu ☃.tar"] and rows[0].sidecar == "b3"


def _created():  # type: ignore[no-untyped-def]
    from aeroops.cli.arguments import creation_time

    return creation_time(CREATED)


def test_local_runs_never_import_fsspec(tmp_path: Path, datadir_1000: Path) -> None:
    code = (
        "import sys; from aeroops.cli.main import main; "
        f"main(['backup', {str(datadir_1000)!r}, '-o', {str(tmp_path)!r}, '--no-progress']); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fsspec', 's3fs', 'dask', 'distributed', 'botocore')))"
    )
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr


def test_restore_and_drill_from_a_bucket(s3: MotoServer, datadir_1000: Path, tmp_path: Path) -> None:
    made = run_backup(datadir_1000, "s3://backups/db/", created_at=_created(), ops=REAL)
    target = tmp_path / "restored"
    dry = cli(s3, "restore", made.archive, str(target), "--create")
    assert dry.returncode == 0, dry.stderr
    assert not target.exists()
    done = cli(s3, "restore", made.archive, str(target), "--create", "--yes", "--json")
    assert done.returncode == 0, done.stderr
    # What a local restore of the same archive gives, file for file.
    local = run_backup(datadir_1000, tmp_path, created_at=_created(), ops=REAL)
    from aeroops.executor.restore import restore

    restore(local.archive, tmp_path / "from-local", create=True, ops=REAL)
    assert _tree(target) == _tree(tmp_path / "from-local")
    drilled = cli(s3, "drill", made.archive, "--source", str(datadir_1000), "--json")
    assert drilled.returncode == 0, drilled.stderr
    assert json.loads(drilled.stdout)["ok"] is True
    missing = cli(s3, "restore", "s3://backups/db/none.tar", str(tmp_path / "x"), "--create", "--yes")
    assert missing.returncode == 3 and "does not exist" in missing.stderr
    no_secret(dry.stdout, dry.stderr, done.stdout, done.stderr, drilled.stdout, drilled.stderr, missing.stderr)


def test_prune_and_check_a_bucket(s3: MotoServer, datadir_1000: Path) -> None:
    from datetime import timedelta

    from aeroops.cli.arguments import creation_time

    first = creation_time("2026-11-01T03:00:00Z")
    made = [
        run_backup(datadir_1000, "s3://backups/p/", created_at=first + timedelta(days=i), ops=REAL) for i in range(4)
    ]
    dry = cli(s3, "prune", "s3://backups/p/", "--keep-last", "2", "--format", "json")
    assert dry.returncode == 0, dry.stderr
    assert len(s3.client().list_objects_v2(Bucket="backups", Prefix="p/")["Contents"]) == 8
    done = cli(s3, "prune", "s3://backups/p/", "--keep-last", "2", "--yes")
    assert done.returncode == 0, done.stderr
    left = sorted(o["Key"] for o in s3.client().list_objects_v2(Bucket="backups", Prefix="p/")["Contents"])
    kept = [m.archive.removeprefix("s3://backups/") for m in made[2:]]
    assert left == sorted(kept + [k + ".b3" for k in kept])
    fresh = cli(s3, "check", "s3://backups/p/", "--max-age", "400d", "--json")
    assert fresh.returncode == 0, fresh.stderr
    stale = cli(s3, "check", "s3://backups/p/", "--max-age", "1h")
    assert stale.returncode == 1 and stale.stdout.startswith("STALE")
    no_secret(dry.stdout, done.stdout, done.stderr, fresh.stdout, stale.stdout)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_another_fsspec_protocol_goes_through_the_same_code(datadir_1000: Path, tmp_path: Path) -> None:
    """fsspec's memory:// (no conditional write: the generic path, README says what that lacks)."""
    made = run_backup(datadir_1000, "memory://backups/db/", created_at=_created(), ops=REAL)
    try:
        assert made.archive.startswith("memory://backups/db/") and verify_archive(made.archive, ops=REAL).ok
        rows = inventory("memory://backups/", recursive=True, ops=REAL).rows
        assert [(r.file, r.sidecar) for r in rows] == [("db/" + made.archive.rsplit("/", 1)[1], "b3")]
        from aeroops.executor.restore import restore

        restore(made.archive, tmp_path / "restored", create=True, ops=REAL)
        assert (tmp_path / "restored" / "wal" / "wal.log").is_file()
        from aeroops.errors import BackupError

        with pytest.raises(BackupError, match="already exists"):
            run_backup(datadir_1000, made.archive, created_at=_created(), ops=REAL)
    finally:
        import fsspec

        fsspec.filesystem("memory").rm("/backups", recursive=True)


def test_layered_archives_stream_into_the_bucket(s3: MotoServer, datadir_1000: Path, tmp_path: Path) -> None:
    """zstd and age layers around the tar go into the multipart upload as locally (no local copy),
    with their record beside; verify (with and without the identity), inventory and restore read
    them from the bucket."""
    import subprocess

    subprocess.run(["age-keygen", "-o", str(tmp_path / "key.txt")], check=True, capture_output=True)
    recipient = next(
        line.split(": ")[1] for line in (tmp_path / "key.txt").read_text().splitlines() if "public key" in line
    )
    zstd = run_backup(datadir_1000, "s3://backups/z/", created_at=_created(), compress="zstd", ops=REAL)
    aged = run_backup(
        datadir_1000, "s3://backups/a/", created_at=_created(), compress="zstd", encrypt_to=[recipient], ops=REAL
    )
    assert zstd.archive.endswith(".tar.zst") and aged.archive.endswith(".tar.zst.age")
    local = run_backup(datadir_1000, tmp_path, created_at=_created(), compress="zstd", ops=REAL)
    key = zstd.archive.removeprefix("s3://backups/")
    assert s3.client().get_object(Bucket="backups", Key=key)["Body"].read() == Path(local.archive).read_bytes()
    assert verify_archive(zstd.archive, ops=REAL).ok
    unopened = verify_archive(aged.archive, ops=REAL)
    assert unopened.ok and any(f.code == "AERO_LAYER_UNOPENED" for f in unopened.findings)
    assert verify_archive(aged.archive, identities=[tmp_path / "key.txt"], ops=REAL).ok
    rows = {row.file: row for row in inventory("s3://backups/", recursive=True, ops=REAL).rows}
    assert rows[key].layers == "tar+zstd" and rows[key].reason is None
    aged_row = rows[aged.archive.removeprefix("s3://backups/")]
    assert aged_row.layers == "tar+zstd+age" and aged_row.backup_id is not None  # from its record
    from aeroops.executor.restore import restore

    restore(aged.archive, tmp_path / "restored", create=True, identities=[tmp_path / "key.txt"], ops=REAL)
    assert (tmp_path / "restored" / "wal" / "wal.log").is_file()


def test_part_sizes_reach_past_s3s_largest_object_within_its_part_limit() -> None:
    sizes = [objectstore.part_size(number) for number in range(1, 10_001)]
    assert sizes[0] == sizes[999] == 8 << 20 and sizes[1000] == 16 << 20
    assert all(5 << 20 <= size <= 5 << 30 for size in sizes)
    assert sizes == sorted(sizes)
    assert sum(sizes) >= 5 << 40  # S3's largest object, in its 10,000 parts


def test_growing_parts_upload_byte_for_byte(s3: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(objectstore, "PARTS_PER_SIZE", 1)  # the size doubles at every part
    sent: list[int] = []
    upload_part = objectstore.MultipartUpload._upload_part

    def recording(self, number, data):  # type: ignore[no-untyped-def]
        sent.append(len(data.getbuffer()))
        return upload_part(self, number, data)

    monkeypatch.setattr(objectstore.MultipartUpload, "_upload_part", recording)
    payload = bytes(range(256)) * (30 << 12)  # 30 MiB
    upload = objectstore.store_for("s3://backups/grow.tar").upload("s3://backups/grow.tar", overwrite=False)
    for start in range(0, len(payload), 3 << 20):
        upload.write(payload[start : start + (3 << 20)])
    upload.commit()
    assert sorted(sent) == sorted([8 << 20, 16 << 20, 6 << 20])
    assert s3.client().get_object(Bucket="backups", Key="grow.tar")["Body"].read() == payload
