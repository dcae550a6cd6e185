"""Manifests AeroDB's parser refuses are refused here too, and never installed.

AeroDB reads its three JSON files with ``serde_json::from_str`` into structs whose fields are
``String``, ``HashMap<String, String>``, ``bool``, ``u8`` (format_version) and
``Option<u64>`` (commit_boundary), after ``read_to_string`` (which refuses invalid UTF-8).
Python's `json` is more lenient than that in ways that matter: each case below is bytes that
`json.loads` accepts and serde_json refuses, with serde_json's reason. Every one must fail to
parse, be an ERROR finding in an archive (so restore refuses it and writes nothing), and make
a data directory's snapshot invalid (so no backup packs it). What serde_json does accept
(unknown fields, a repeated key inside schema_checksums, ``"commit_boundary": null``, a lone
surrogate inside an unknown field) parses.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.archives import build, codes, fixture_bytes, read_members, replace_member, verify_bytes
from helpers.data import AERODB_FIXTURES, copy_fixture, tree_state

from aeroops.core.description import Verdict
from aeroops.core.inspect import inspect_archive_stream
from aeroops.errors import FormatError, RestoreError, Severity
from aeroops.executor.fileops import REAL
from aeroops.executor.restore import restore
from aeroops.executor.scan import scan
from aeroops.formats.manifests import parse_backup_manifest, parse_checkpoint, parse_snapshot_manifest

SNAPSHOT = "snapshot/manifest.json"
BACKUP = "backup_manifest.json"
MEMBERS = read_members(fixture_bytes("backup-1000.tar"))
GOOD = {name: data for name, data in MEMBERS if name in (SNAPSHOT, BACKUP)}
GOOD_CHECKPOINT = (AERODB_FIXTURES / "datadir-checkpoint" / "checkpoint.json").read_bytes()
PARSERS: dict[str, Callable[..., object]] = {
    SNAPSHOT: parse_snapshot_manifest,
    BACKUP: parse_backup_manifest,
    "checkpoint.json": parse_checkpoint,
}


def _first_field(data: bytes) -> bytes:
    """The first ``"key": value`` line of a manifest AeroDB wrote (its first field)."""
    return data.split(b"\n")[1].rstrip(b",")


def _number_field(data: bytes, value: bytes) -> bytes:
    return data.replace(b'"format_version": 1', b'"format_version": ' + value)


# label -> (change to a manifest's bytes, serde_json's message for it)
REFUSED: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "UTF-8 byte order mark": (lambda d: b"\xef\xbb\xbf" + d, "expected value at line 1 column 1"),
    "UTF-16": (lambda d: d.decode().encode("utf-16-le"), "invalid UTF-8 (read_to_string)"),
    "invalid UTF-8": (lambda d: d.replace(b'"20', b'"\xff20', 1), "invalid UTF-8 (read_to_string)"),
    "encoded surrogate": (lambda d: d.replace(b'"20', b'"\xed\xa0\x8020', 1), "invalid UTF-8 (read_to_string)"),
    "lone surrogate escape": (lambda d: d.replace(b'"20', b'"\\ud80020', 1), "lone leading surrogate in hex escape"),
    "trailing garbage": (lambda d: d + b"x", "trailing characters"),
    "a second value": (lambda d: d + b"{}", "trailing characters"),
    "NaN": (lambda d: _number_field(d, b"NaN"), "expected value"),
    "Infinity": (lambda d: _number_field(d, b"-Infinity"), "expected value"),
    "float": (lambda d: _number_field(d, b"1.0"), "invalid type: floating point, expected u8"),
    "beyond u8": (lambda d: _number_field(d, b"257"), "invalid value: integer `257`, expected u8"),
    "beyond u64": (lambda d: _number_field(d, b"18446744073709551617"), "invalid type: floating point"),
    "negative": (lambda d: _number_field(d, b"-1"), "invalid value: integer `-1`, expected u8"),
    "string number": (lambda d: _number_field(d, b'"1"'), "invalid type: string"),
    "duplicate field": (lambda d: d.replace(b"{", b"{\n" + _first_field(d) + b",", 1), "duplicate field"),
    "not an object": (lambda d: b"[" + d + b"]", "invalid type: sequence, expected struct"),
}


@pytest.mark.parametrize("label", REFUSED)
@pytest.mark.parametrize("member", PARSERS)
def test_what_serde_json_refuses_does_not_parse(member: str, label: str) -> None:
    good = GOOD_CHECKPOINT if member == "checkpoint.json" else GOOD[member]
    assert good is not None
    change, _ = REFUSED[label]
    bad = change(good)
    assert bad != good
    PARSERS[member](good)
    with pytest.raises(FormatError) as caught:
        PARSERS[member](bad, path=member)
    assert caught.value.code == "AERO_MANIFEST_INVALID"
    assert "\\" not in caught.value.message or "\\u" not in repr(caught.value.message)  # printable as is
    caught.value.message.encode()  # never a raw surrogate in a message


def test_a_lone_surrogate_in_a_schema_file_name_is_refused() -> None:
    data = GOOD[SNAPSHOT]
    assert data is not None
    obj = json.loads(data)
    obj["schema_checksums"]["\ud800.json"] = "crc32:00000000"
    with pytest.raises(FormatError, match="lone UTF-16 surrogate"):
        parse_snapshot_manifest(json.dumps(obj).encode())


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.replace(b"{", b'{\n  "future_field": {"x": [1, "\\ud800", null]},', 1),  # unknown: ignored
        lambda d: d.replace(b"}", b'},\n  "commit_boundary": null', 1) if b"schema_checksums" in d else d,
        lambda d: d + b" \n\t\r",  # JSON whitespace after the value
    ],
    ids=["unknown field", "null commit_boundary", "trailing whitespace"],
)
def test_what_serde_json_accepts_parses(change: Callable[[bytes], bytes]) -> None:
    for member, parse in PARSERS.items():
        good = GOOD_CHECKPOINT if member == "checkpoint.json" else GOOD[member]
        assert good is not None
        parse(change(good))


def test_a_repeated_schema_file_name_keeps_the_last_as_serde_does() -> None:
    data = GOOD[SNAPSHOT]
    assert data is not None
    name, tag = next(iter(json.loads(data)["schema_checksums"].items()))
    repeated = data.replace(
        b'"schema_checksums": {', b'"schema_checksums": {\n    "%s": "crc32:00000000",' % name.encode()
    )
    assert parse_snapshot_manifest(repeated).schema_checksum_map[name] == int(tag[6:], 16)


@pytest.mark.parametrize("label", REFUSED)
@pytest.mark.parametrize("member", [SNAPSHOT, BACKUP])
def test_an_archive_with_such_a_manifest_is_an_error_and_is_never_installed(
    member: str, label: str, tmp_path: Path
) -> None:
    good = GOOD[member]
    assert good is not None
    archive = build(replace_member(MEMBERS, member, REFUSED[label][0](good)))
    report = verify_bytes(archive)
    assert not report.ok and "AERO_VERIFY_MANIFEST" in codes(report)
    assert any(f.code == "AERO_VERIFY_MANIFEST" and f.severity is Severity.ERROR for f in report.findings)
    assert not inspect_archive_stream(io.BytesIO(archive), name="a.tar").ok
    path = tmp_path / "a.tar"
    path.write_bytes(archive)
    target = copy_fixture("datadir-nowal", tmp_path / "work" / "target")
    before = tree_state(target)
    with pytest.raises(RestoreError):
        restore(path, target, ops=REAL)
    assert tree_state(target) == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["target"]


@pytest.mark.parametrize("label", REFUSED)
def test_a_snapshot_with_such_a_manifest_is_not_valid_and_a_checkpoint_not_read(label: str, tmp_path: Path) -> None:
    data_dir = copy_fixture("datadir-checkpoint", tmp_path / "d")
    (manifest,) = data_dir.glob("snapshots/*/manifest.json")
    change = REFUSED[label][0]
    manifest.write_bytes(change(manifest.read_bytes()))
    checkpoint = data_dir / "checkpoint.json"
    checkpoint.write_bytes(change(checkpoint.read_bytes()))
    description = scan(data_dir, ops=REAL)
    (snapshot,) = description.snapshots
    assert snapshot.verdict is not Verdict.VALID and snapshot.manifest is None and snapshot.manifest_error
    assert description.checkpoint is None and description.checkpoint_error
