"""Any JSON that parses, in any manifest, is judged or is a finding.

Hypothesis writes arbitrary JSON values into the fields of a snapshot manifest, a backup
manifest and ``checkpoint.json`` (strings with lone surrogates, huge and negative numbers,
NaN, nested containers, extra and repeated keys, a BOM, non-UTF-8 spellings), in an archive
and in a data directory, and runs every reader: verify, inspect, inventory --verify (with a
good archive beside the hostile one), scan, the backup plan, and their views. No exception
may escape, none may be caught by verify's last-resort net (AERO_VERIFY_INTERNAL), and every
message must be printable as UTF-8.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers.archives import build, fixture_bytes, read_members, replace_member, verify_bytes, wal_log
from helpers.data import AERODB_FIXTURES, copy_fixture
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aeroops.core.backup_plan import BackupOptions, plan_backup
from aeroops.core.inspect import inspect_archive_stream
from aeroops.executor.audit import inspect_archive, inventory, verify_archive
from aeroops.executor.fileops import REAL
from aeroops.executor.scan import scan
from aeroops.views.backup import render_description, render_plan
from aeroops.views.serialise import backup_plan_json, description_json, inspect_json, inventory_json, report_json
from aeroops.views.text import render_inspect, render_inventory, render_report

EXAMPLES = int(os.environ.get("AEROOPS_FUZZ_EXAMPLES", "0"))
# AeroDB's archive with a WAL of three records: the manifests are what is tried here.
MEMBERS = replace_member(read_members(fixture_bytes("backup-1000.tar")), "wal/wal.log", wal_log(range(1, 4)))
SNAPSHOT = "snapshot/manifest.json"
BACKUP = "backup_manifest.json"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def fuzz(examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return settings(
        max_examples=EXAMPLES or examples,
        deadline=timedelta(seconds=5),
        derandomize=os.environ.get("AEROOPS_FUZZ_RANDOM") != "1",
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    )


# Text of any code point, lone surrogates included (hypothesis leaves them out by default).
SURROGATES = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff", "\ud83d"])
ANY_TEXT = st.lists(st.one_of(st.characters(), SURROGATES, SURROGATES), max_size=8).map("".join)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(1 << 70), max_value=1 << 70),
    st.sampled_from([0, 1, 2, 255, 256, (1 << 64) - 1, 1 << 64, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    ANY_TEXT,
    st.sampled_from(["20260204T113000Z", "2026-02-04T11:30:00Z", "crc32:deadbeef", "CRC32:DEADBEEF", "."]),
)
ANY_JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(ANY_TEXT, inner, max_size=4)),
    max_leaves=12,
)
MISSING = object()


@st.composite
def manifest_bytes(draw: st.DrawFn, good: bytes) -> bytes:
    """A manifest AeroDB wrote, with a few changes (a field dropped, replaced by any JSON value,
    repeated or added; a schema file name added), spelled in any of the ways JSON can be spelled
    and a few it cannot. Few changes at a time, so that most manifests still parse and reach the
    code that uses their values."""
    obj: dict[str, Any] = json.loads(good)
    repeated: list[tuple[str, Any]] = []
    for change in draw(st.lists(st.sampled_from(["drop", "any", "schema", "schema", "extra", "repeat"]), max_size=3)):
        key = draw(st.sampled_from(sorted(obj))) if obj else "x"
        if change == "drop":
            obj.pop(key, None)
        elif change == "any":
            obj[key] = draw(ANY_JSON)
        elif change == "schema" and isinstance(obj.get("schema_checksums"), dict):
            tag = draw(st.sampled_from(["crc32:00000000", "crc32:00000000", MISSING]))
            tag = draw(ANY_JSON) if tag is MISSING else tag
            obj["schema_checksums"][draw(st.one_of(ANY_TEXT, ANY_TEXT.map(lambda t: t + ".json")))] = tag
        elif change == "extra":
            obj[draw(st.one_of(ANY_TEXT, st.just("commit_boundary")))] = draw(ANY_JSON)
        elif change == "repeat":  # a field twice, as a hand edit might leave it
            repeated.append((key, draw(ANY_JSON)))
    text = json.dumps(obj, indent=draw(st.sampled_from([None, 2])), ensure_ascii=draw(st.booleans()))
    for key, value in repeated:
        text = text.replace("{", "{" + json.dumps(key) + ": " + json.dumps(value) + ",", 1)
    data = text.encode("utf-8", "surrogatepass")  # ensure_ascii=False spells lone surrogates as bytes
    prefix = draw(st.sampled_from([b""] * 6 + [b"\xef\xbb\xbf", b" \n"]))
    suffix = draw(st.sampled_from([b""] * 6 + [b"\n", b"x", b"\x00", b"\xff"]))
    return prefix + data + suffix


def assert_printable(*texts: str) -> None:
    for text in texts:
        text.encode("utf-8")  # a lone surrogate in a message would crash printing it
        assert "AERO_VERIFY_INTERNAL" not in text


GOOD_SNAPSHOT = dict(MEMBERS)[SNAPSHOT]
GOOD_BACKUP = dict(MEMBERS)[BACKUP]
assert GOOD_SNAPSHOT is not None and GOOD_BACKUP is not None


@fuzz(80)
@given(snapshot=manifest_bytes(GOOD_SNAPSHOT), backup=manifest_bytes(GOOD_BACKUP), which=st.sampled_from("sbt"))
def test_any_manifest_in_an_archive_is_judged_by_verify_and_inspect(snapshot: bytes, backup: bytes, which: str) -> None:
    members = MEMBERS
    if which in "st":
        members = replace_member(members, SNAPSHOT, snapshot)
    if which in "bt":
        members = replace_member(members, BACKUP, backup)
    archive = build(members)
    report = verify_bytes(archive)
    assert_printable(render_report(report), json.dumps(report_json(report), ensure_ascii=False))
    result = inspect_archive_stream(io.BytesIO(archive), name="test.tar")
    assert_printable(render_inspect(result, wal=True), json.dumps(inspect_json(result), ensure_ascii=False))
    assert result.ok == report.ok


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of two archives: AeroDB's good one, and one the test rewrites."""
    root = tmp_path_factory.mktemp("inventory")
    (root / "good.tar").write_bytes(build(MEMBERS))
    return root


@fuzz(20)
@given(snapshot=manifest_bytes(GOOD_SNAPSHOT), backup=manifest_bytes(GOOD_BACKUP))
def test_any_manifest_in_a_folder_gets_its_row_and_the_audit_goes_on(
    folder: Path, snapshot: bytes, backup: bytes
) -> None:
    hostile = folder / "hostile.tar"
    hostile.write_bytes(build(replace_member(replace_member(MEMBERS, SNAPSHOT, snapshot), BACKUP, backup)))
    report = verify_archive(hostile, ops=REAL)
    assert_printable(render_report(report))
    assert_printable(render_inspect(inspect_archive(hostile, ops=REAL)))
    taken = inventory(folder, verify=True, now=NOW, ops=REAL)
    assert [row.file for row in taken.rows] == ["good.tar", "hostile.tar"]
    assert taken.rows[0].ok is True and taken.rows[1].ok is report.ok
    assert_printable(render_inventory(taken), json.dumps(inventory_json(taken), ensure_ascii=False))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_fixture("datadir-checkpoint", tmp_path_factory.mktemp("datadirs") / "d")


CHECKPOINT_DIR = AERODB_FIXTURES / "datadir-checkpoint"
(SNAPSHOT_MANIFEST_PATH,) = (p.relative_to(CHECKPOINT_DIR) for p in CHECKPOINT_DIR.glob("snapshots/*/manifest.json"))
GOOD_DATADIR_SNAPSHOT = (CHECKPOINT_DIR / SNAPSHOT_MANIFEST_PATH).read_bytes()
GOOD_CHECKPOINT = (CHECKPOINT_DIR / "checkpoint.json").read_bytes()


@fuzz(50)
@given(snapshot=manifest_bytes(GOOD_DATADIR_SNAPSHOT), checkpoint=manifest_bytes(GOOD_CHECKPOINT), second=st.booleans())
def test_any_manifest_in_a_data_directory_is_judged_by_scan_and_the_plan(
    data_dir: Path, snapshot: bytes, checkpoint: bytes, second: bool
) -> None:
    manifest = data_dir / SNAPSHOT_MANIFEST_PATH
    manifest.write_bytes(snapshot)
    (data_dir / "checkpoint.json").write_bytes(checkpoint)
    extra = data_dir / "snapshots" / "20270101T000000Z"
    if second:  # a second snapshot, newer, with the same manifest: scan compares the two
        shutil.copytree(manifest.parent, extra, dirs_exist_ok=True)
    else:
        shutil.rmtree(extra, ignore_errors=True)
    description = scan(data_dir, ops=REAL)
    plan = plan_backup(description, BackupOptions(NOW))
    assert_printable(
        render_description(description),
        render_plan(plan),
        json.dumps({"scan": description_json(description), "plan": backup_plan_json(plan)}, ensure_ascii=False),
    )
