"""Documents, export, diff and history read object storage (issue 25, point 1, for the verbs of
"Looking inside backups"): the same folder, uploaded byte for byte into moto's server, gives the
same documents, the same export files, the same diff and the same history as the local copy,
at a point in time too (its base and WAL segments streamed from the bucket), and a compressed
and encrypted archive through the same layers. A missing key, a missing bucket and credentials
the service does not know give one coded line naming the URL, and no credential, for each verb.
The Explore panel takes a bucket's folder as it takes a local one."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import one_error_line, run_main
from helpers.data import copy_fixture
from helpers.pitr import T0, A, B
from helpers.s3 import ACCESS_KEY, SECRET_KEY, MotoServer, aim_at, moto_server
from test_documents import listing
from test_documents_pitr import listed
from test_pitr import build_folder

import aeroops
from aeroops.core.documents import boot_listing_line
from aeroops.errors import AeroError, Code
from aeroops.executor import objectstore
from aeroops.executor.backup import run_backup
from aeroops.executor.documents import iter_documents
from aeroops.executor.fileops import REAL

URL = "s3://backups/pitr/"
LAYERED = "s3://backups/layered/"
KEY = "users:users-000048"  # inserted at A 25, updated at A 53, deleted at B 25 (test_documents_pitr)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The point-in-time folder (two bases, WAL segments) and a folder with one archive of
    datadir-1000 compressed and encrypted, with the identity that opens it."""
    import pyrage

    root = tmp_path_factory.mktemp("s3-documents")
    pitr = build_folder(root / "pitr")
    identity = pyrage.x25519.Identity.generate()
    key_file = root / "key.txt"
    key_file.write_text(f"{identity}\n")
    key_file.chmod(0o600)
    layered = root / "layered"
    layered.mkdir()
    data = copy_fixture("datadir-1000", root / "data")
    made = run_backup(data, layered, created_at=T0, compress="zstd", encrypt_to=[str(identity.to_public())], ops=REAL)
    assert made.archive.endswith(".tar.zst.age")
    return {"pitr": pitr, "layered": layered, "key": key_file}


@pytest.fixture(scope="module")
def server(local: dict[str, Path]) -> Iterator[MotoServer]:
    """The server, its bucket holding both folders' files, object for object."""
    with moto_server() as found:
        client = found.client()
        client.create_bucket(Bucket="backups")
        for prefix in ("pitr", "layered"):
            for path in sorted(local[prefix].iterdir()):
                client.put_object(Bucket="backups", Key=f"{prefix}/{path.name}", Body=path.read_bytes())
        yield found


@pytest.fixture
def s3(server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    aim_at(server.endpoint, monkeypatch.setenv)
    yield server
    objectstore.reset_stores()


def lines(source: object, **options: object) -> list[bytes]:
    return sorted(boot_listing_line(d) for d in iter_documents(source, ops=REAL, **options))  # type: ignore[arg-type]


def no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET_KEY not in text and ACCESS_KEY not in text


def test_the_documents_of_an_archive_in_a_bucket_are_the_local_copys(s3: MotoServer, local: dict[str, Path]) -> None:
    for name in ("base-a.tar", "base-b.tar"):
        found = lines(URL + name)
        assert found == lines(local["pitr"] / name) and found
    frame = aeroops.documents(URL + "base-b.tar")
    assert frame.equals(aeroops.documents(local["pitr"] / "base-b.tar"))
    # Compressed and encrypted: the same layers verify reads, the same identity.
    (layered,) = sorted(p.name for p in local["layered"].iterdir() if p.name.endswith(".age"))
    with pytest.raises(AeroError) as refused:
        lines(LAYERED + layered, identities=())
    assert refused.value.code is Code.AGE_NO_IDENTITY
    opened = lines(LAYERED + layered, identities=[local["key"]])
    assert opened == lines(local["layered"] / layered, identities=[local["key"]])
    assert opened == listing("datadir-1000")  # what AeroDB's boot listed


def test_export_and_diff_of_a_layered_archive_in_a_bucket(
    s3: MotoServer, local: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (layered,) = sorted(p.name for p in local["layered"].iterdir() if p.name.endswith(".age"))
    key = ["--identity", str(local["key"]), "--no-progress"]
    written = {}
    for where, source in (("bucket", LAYERED + layered), ("local", str(local["layered"] / layered))):
        out = tmp_path / f"{where}.csv"
        code, stdout, stderr = run_main(capsys, "export", source, "-o", str(out), *key)
        assert code == 0, stderr
        written[where] = out.read_bytes()
        identity = local["key"].read_text().strip()
        assert identity not in stdout + stderr and identity.removeprefix("AGE-SECRET-KEY-1") not in stdout + stderr
    assert written["bucket"] == written["local"]
    code, stdout, _ = run_main(capsys, "diff", LAYERED + layered, str(local["layered"] / layered), *key)
    assert code == 0 and stdout.startswith("0 added, 0 removed, 0 changed, 443 unchanged")


@pytest.mark.parametrize("suffix", ["jsonl", "csv", "parquet"])
def test_export_from_a_bucket_writes_the_local_copys_file(
    s3: MotoServer, local: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    written = {}
    for where, source in (("bucket", URL + "base-b.tar"), ("local", str(local["pitr"] / "base-b.tar"))):
        out = tmp_path / f"{where}.{suffix}"
        code, stdout, stderr = run_main(capsys, "export", source, "-o", str(out), "--json", "--no-progress")
        assert code == 0, stderr
        assert json.loads(stdout)["source"] == source
        written[where] = out.read_bytes()
        no_secret(stdout, stderr)
    assert written["bucket"] == written["local"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"bucket.{suffix}", f"local.{suffix}"]  # no temporary left


def test_a_point_in_time_of_a_bucket_folder_is_aerodbs_boot_listing(
    s3: MotoServer, local: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The base and the segments stream from the bucket: what AeroDB's boot listed at B 18.
    assert lines(aeroops.point_in_time(URL, to_sequence=18, timeline=B)) == listed(B, 18)
    assert lines(aeroops.point_in_time(URL, latest=True)) == listed(B, 35)
    for arguments in ([f"{URL}@{B}:18"], [URL, "--to-sequence", "18", "--timeline", B]):
        out = tmp_path / "b18.jsonl"
        code, stdout, stderr = run_main(capsys, "export", *arguments, "-o", str(out), "--no-progress")
        assert code == 0, stderr
        assert sorted(out.read_bytes().splitlines()) == listed(B, 18)
        no_secret(stdout, stderr)
    code, _, stderr = run_main(capsys, "export", f"{URL}@{A}:99", "-o", str(tmp_path / "x.jsonl"), "--no-progress")
    assert code != 0 and "sequence 99" in one_error_line(stderr, "[FATAL] AERO_PITR_UNREACHABLE: ")
    assert not (tmp_path / "x.jsonl").exists()


def test_diff_and_history_over_a_bucket_say_what_they_say_locally(
    s3: MotoServer, local: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = str(local["pitr"])
    shown = {}
    for where, root in (("bucket", URL), ("local", folder + "/")):
        code, stdout, stderr = run_main(
            capsys, "diff", root + "base-a.tar", f"{root}@{B}:30", "--format", "json", "--no-progress"
        )
        assert code == 1, stderr  # they differ
        result = json.loads(stdout)
        assert result["a"] == root + "base-a.tar"
        shown[where] = {k: v for k, v in result.items() if k not in ("a", "b")}
        no_secret(stdout, stderr)
    assert shown["bucket"] == shown["local"] and shown["local"]["documents"]
    # A bucket's archive against the local copy of the same: identical.
    code, stdout, _ = run_main(capsys, "diff", URL + "base-b.tar", folder + "/base-b.tar", "--no-progress")
    assert code == 0 and stdout.startswith("0 added, 0 removed, 0 changed")

    histories = {}
    for where, root in (("bucket", URL), ("local", folder)):
        code, stdout, stderr = run_main(capsys, "history", root, KEY, "--format", "json", "--no-progress")
        assert code == 0, stderr
        histories[where] = json.loads(stdout)
        no_secret(stdout, stderr)
    assert histories["bucket"] == histories["local"]
    events = [e["event"] for e in histories["bucket"]]
    assert events == ["first seen", "unchanged", "changed", "unchanged", "deleted"]  # segments and archives
    assert aeroops.history(URL, KEY) == aeroops.history(local["pitr"], KEY)


def test_the_explore_panel_reads_a_buckets_folder(s3: MotoServer, local: dict[str, Path]) -> None:
    from aeroops.panels import ExplorePanel

    bucket, here = ExplorePanel(URL), ExplorePanel(local["pitr"])
    assert bucket.error is None, bucket.error_box.value
    assert bucket.archives == here.archives == ["base-a.tar", "base-b.tar"]
    shown = bucket.show_documents("base-a.tar")
    assert shown is not None and shown.equals(here.show_documents("base-a.tar")), bucket.error_box.value
    changes = bucket.diff("base-a.tar", "base-b.tar")
    assert changes is not None and changes.deltas == here.diff("base-a.tar", "base-b.tar").deltas  # type: ignore[union-attr]
    assert bucket.history(KEY) == here.history(KEY) and len(bucket.entries) == 5
    assert bucket.error is None and bucket.diff_chart.value
    texts = [bucket.error_box.value, bucket.status.value, bucket.diff_summary.value, bucket.documents_summary.value]
    no_secret(*texts)
    # The panel's point in time of the folder: the base and the segments stream from the bucket.
    at = bucket.show_documents(point=f"{B}:18")
    assert at is not None and at.equals(here.show_documents(point=f"{B}:18")), bucket.error_box.value
    assert sorted(at["collection"] + ":" + at["key"]) == sorted(json.loads(line)["key"] for line in listed(B, 18))
    missing = ExplorePanel("s3://no-such-bucket/x/")
    assert missing.archives == [] and "s3://no-such-bucket/x/" in missing.error_box.value
    no_secret(missing.error_box.value)


def test_a_damaged_archive_in_a_bucket_is_refused_as_the_local_copy_is(
    s3: MotoServer, local: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = bytearray((local["pitr"] / "base-a.tar").read_bytes())
    data[data.index(b'{"_id"') + 2] ^= 0xFF  # a body byte of the storage: its record's CRC fails
    (tmp_path / "damaged.tar").write_bytes(bytes(data))
    s3.client().put_object(Bucket="backups", Key="damaged/base-a.tar", Body=bytes(data))
    refusals = {}
    for where, source in (("bucket", "s3://backups/damaged/base-a.tar"), ("local", str(tmp_path / "damaged.tar"))):
        out = tmp_path / f"{where}.jsonl"
        code, stdout, stderr = run_main(capsys, "export", source, "-o", str(out), "--no-progress")
        line = one_error_line(stderr, "[ERROR] AERO_")
        assert code != 0 and stdout == "" and not out.exists()
        assert "documents cannot be read" in line and source in line
        refusals[where] = line.replace(source, "SOURCE")
    assert refusals["bucket"] == refusals["local"]


def test_a_folder_in_a_bucket_is_no_data_directory(s3: MotoServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, stderr = run_main(capsys, "diff", URL, URL + "base-a.tar", "--no-progress")
    line = one_error_line(stderr, "[ERROR] AERO_USAGE: ")
    assert code == 2 and stdout == "" and URL in line and "point in time" in line


# --- what cannot be read: one coded line naming the URL, never a credential -----------------------

MISSING = "s3://no-such-bucket/pitr/base-a.tar"


def verbs(archive: str, folder: str, out: Path) -> list[list[str]]:
    """Each verb of the documents reading ``archive`` (a URL) or ``folder`` (a folder URL)."""
    return [
        ["export", archive, "-o", str(out)],
        ["diff", archive, archive],
        ["history", folder, KEY],
        ["export", f"{folder}@{B}:18", "-o", str(out)],
        ["export", folder, "--latest", "-o", str(out)],
    ]


@pytest.mark.parametrize(
    ("archive", "folder"), [(URL + "nothing.tar", "s3://backups/nothing/"), (MISSING, "s3://no-such-bucket/pitr/")]
)
def test_a_missing_object_or_bucket_is_one_line_naming_it(
    s3: MotoServer, archive: str, folder: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.jsonl"
    for arguments in verbs(archive, folder, out):
        code, stdout, stderr = run_main(capsys, *arguments, "--no-progress")
        no_secret(stdout, stderr)
        assert not out.exists()
        if folder == "s3://backups/nothing/" and arguments[0] == "history":
            assert code == 0 and stdout == "no archive in the folder\n"  # a prefix holding nothing: empty
            continue
        line = one_error_line(stderr, "[")
        named = arguments[1].partition("@")[0]
        assert code == 2 and named in line, (arguments, line)
        assert line.startswith(("[ERROR] AERO_REMOTE_FAILED: ", "[ERROR] AERO_USAGE: ")), line
        assert "no such" in line or "does not exist" in line or "nothing is stored" in line, line
    with pytest.raises(AeroError) as raised:
        aeroops.documents(archive)
    assert raised.value.code is Code.REMOTE_FAILED and archive in raised.value.message


@pytest.fixture(scope="module")
def strict(local: dict[str, Path]) -> Iterator[MotoServer]:
    """A server that checks credentials (after its first two requests, the setup's): the tests'
    keys are none it knows."""
    with moto_server(no_auth_actions=2) as found:
        client = found.client()
        client.create_bucket(Bucket="backups")
        client.put_object(Bucket="backups", Key="pitr/base-a.tar", Body=(local["pitr"] / "base-a.tar").read_bytes())
        yield found


def test_credentials_the_service_refuses_are_one_line_for_each_verb(
    strict: MotoServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="aeroops")  # aeroops' own log, retries included
    aim_at(strict.endpoint, monkeypatch.setenv)
    out = tmp_path / "out.jsonl"
    try:
        for arguments in verbs(URL + "base-a.tar", URL, out):
            code, stdout, stderr = run_main(capsys, *arguments, "--no-progress")
            line = one_error_line(stderr, "[ERROR] AERO_")
            assert code == 2 and "s3://backups/pitr/" in line, (arguments, line)
            assert "access denied" in line or "not known" in line, line
            no_secret(stdout, stderr)
            assert not out.exists()
        with pytest.raises(AeroError) as raised:
            aeroops.documents(URL + "base-a.tar")
        assert raised.value.code is Code.REMOTE_FAILED
        no_secret(str(raised.value), caplog.text)
    finally:
        objectstore.reset_stores()


def test_a_point_in_time_in_a_bucket_reads_the_fast_way_as_the_careful_one(
    s3: MotoServer, local: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The base and the segments streamed from the bucket through the C reading (issue 24's
    document_index.index_point): the documents, in order, of the careful reading and of the
    local copy."""
    from aeroops.executor import document_index

    seen: list[bool] = []
    index = document_index.index_point

    def spied(*args: object, **kwargs: object) -> object:
        found = index(*args, **kwargs)  # type: ignore[arg-type]
        seen.append(found is not None)
        return found

    monkeypatch.setattr(document_index, "index_point", spied)
    for timeline, sequence in ((A, 17), (A, 55), (B, 1), (B, 35)):
        fast = list(iter_documents(aeroops.point_in_time(URL, to_sequence=sequence, timeline=timeline), ops=REAL))
        with monkeypatch.context() as patched:
            patched.setattr(document_index, "available", lambda: False)
            careful = list(
                iter_documents(aeroops.point_in_time(URL, to_sequence=sequence, timeline=timeline), ops=REAL)
            )
        here = aeroops.point_in_time(local["pitr"], to_sequence=sequence, timeline=timeline)
        assert fast and fast == careful == list(iter_documents(here, ops=REAL))
    assert seen == [True] * 8  # the bucket's and the local copy's, each the fast way
