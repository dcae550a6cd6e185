"""Verification: AeroDB's own archives verify to exactly their known shortcomings; every
single-byte change and every truncation is detected; hostile archives are flagged and nothing
is written; memory stays bounded; pandas stays out."""

from __future__ import annotations

import io
import json
import random
import shutil
import subprocess
import sys
import tracemalloc
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.archives import (
    FIXTURE_ARCHIVES,
    SIDECARS,
    build,
    codes,
    file_entry,
    fixture_bytes,
    header,
    hex_digest,
    read_members,
    replace_member,
    tagged,
    verify_bytes,
    wal_log,
    without,
)
from helpers.data import AERODB_FIXTURES, tree_state

from aeroops.core import verify_findings, verify_pass
from aeroops.core.verify import FINDINGS_PER_CODE, verify_archive_stream
from aeroops.errors import FormatError, Severity, UsageError
from aeroops.executor.audit import verify_archive
from aeroops.executor.fileops import REAL
from aeroops.formats.checksum import format_crc_tag
from aeroops.formats.sidecar import format_digest, parse_sidecar, render_sidecar, split_digest
from aeroops.formats.tar import BLOCK, TarReader, member_header, padding
from aeroops.formats.wal import WalType
from aeroops.hashing import BackgroundDigest, Digest
from aeroops.progress import Progress
from aeroops.views.serialise import report_json

FLIP_SEED = 20261126


def _errors(report: object, *, ignore: tuple[str, ...] = ()) -> list[str]:
    return [
        f.code
        for f in report.findings  # type: ignore[attr-defined]
        if f.severity in (Severity.ERROR, Severity.FATAL) and f.code not in ignore
    ]


# --- AeroDB's own archives --------------------------------------------------------------------

NO_SIDECAR = ("AERO_VERIFY_NO_SIDECAR", Severity.WARNING, None)  # AeroDB writes none
KNOWN_SHORTCOMINGS = {
    "backup-1000.tar": [NO_SIDECAR],
    "backup-3snap.tar": [NO_SIDECAR],
    # AeroDB leaves wal/ out when there is no WAL; its own restore then rejects the archive.
    "backup-nowal.tar": [NO_SIDECAR, ("AERO_VERIFY_NO_WAL_DIR", Severity.WARNING, "wal")],
}


@pytest.mark.parametrize("name", FIXTURE_ARCHIVES)
def test_aerodb_archives_verify_to_exactly_their_known_shortcomings(name: str) -> None:
    report = verify_archive(AERODB_FIXTURES / name, ops=REAL)
    assert [(f.code, f.severity, f.path) for f in report.findings] == KNOWN_SHORTCOMINGS[name]
    assert report.ok
    assert report.bytes_read == (AERODB_FIXTURES / name).stat().st_size
    assert report.backup_manifest is not None and report.snapshot_manifest is not None
    assert report.backup_manifest.backup_id == report.snapshot_manifest.snapshot_id
    json.dumps(report_json(report))  # the JSON view holds only JSON values


def test_fixture_reports_count_what_the_archives_hold() -> None:
    full = verify_archive(AERODB_FIXTURES / "backup-1000.tar", ops=REAL)
    assert full.member_count == 10 and full.wal_record_count == 1000
    assert (full.wal_first_sequence, full.wal_last_sequence) == (1, 1000)
    assert full.backup_manifest is not None and full.backup_manifest.wal_present
    nowal = verify_archive(AERODB_FIXTURES / "backup-nowal.tar", ops=REAL)
    assert nowal.member_count == 8 and nowal.wal_record_count == 0 and nowal.wal_first_sequence is None
    assert nowal.backup_manifest is not None and nowal.backup_manifest.wal_present is False


def test_rebuilt_archives_accept_both_directory_spellings_and_an_empty_wal_dir() -> None:
    members = read_members(fixture_bytes("backup-1000.tar"))
    assert not verify_bytes(build(members)).findings
    slashed = [(n + "/" if d is None else n, d) for n, d in members]  # DESIGN.md §3 spells snapshot/
    assert not verify_bytes(build(slashed)).findings
    nowal = read_members(fixture_bytes("backup-nowal.tar"))
    assert not verify_bytes(build([*nowal, ("wal", None)])).findings  # what aeroops writes without a WAL


def test_the_data_sink_gets_every_layout_file_byte_for_byte_and_nothing_else() -> None:
    # Restore writes files with what the sink gets: it must be each file's exact bytes, and
    # never a directory, an unexpected name, an unsafe one or a link.
    members = read_members(fixture_bytes("backup-1000.tar"))
    hostile = [
        *members,
        file_entry("snapshot/extra.bin", b"not in the layout"),
        file_entry("../escape.json", b"{}"),
        header("snapshot/schemas/l.json", typeflag=b"2", linkname="/etc/passwd"),
    ]
    got: dict[str, bytearray] = {}
    sizes: dict[str, int] = {}

    def sink(name: str, size: int) -> Callable[[bytes], None]:
        sizes[name] = size
        got[name] = bytearray()
        return got[name].extend

    report = verify_bytes(build(hostile), data_sink=sink)
    expected = {name: data for name, data in members if data is not None}
    assert {name: bytes(data) for name, data in got.items()} == expected
    assert sizes == {name: len(data) for name, data in expected.items()}
    assert not report.ok  # the hostile members are flagged, and never reached the sink
    clean = verify_bytes(build(members), data_sink=lambda name, size: None)
    assert clean.ok


# --- the sidecar ------------------------------------------------------------------------------

ALGORITHMS = ("blake3", "sha256")
NAMED = {"blake3": "BLAKE3", "sha256": "SHA-256"}
TOOLS = {"blake3": "b3sum", "sha256": "sha256sum"}


def archive_copy(folder: Path, name: str = "b.tar") -> Path:
    archive = folder / name
    archive.write_bytes(fixture_bytes("backup-1000.tar"))
    return archive


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_sidecar_matches_and_mismatches(tmp_path: Path, algorithm: str) -> None:
    archive = archive_copy(tmp_path)
    sidecar = tmp_path / f"b.tar{SIDECARS[algorithm][0]}"
    digest = hex_digest(algorithm, archive.read_bytes())
    sidecar.write_text(f"{digest}  b.tar\n")
    good = verify_archive(archive, ops=REAL)
    assert good.ok and good.findings == ()
    assert good.digest == good.sidecar_digest == f"{algorithm}:{digest}"
    sidecar.write_text(f"{'0' * 64}  b.tar\n")
    bad = verify_archive(archive, ops=REAL)
    assert codes(bad) == ["AERO_VERIFY_SIDECAR"] and not bad.ok
    assert f"{NAMED[algorithm]} digest is {digest}" in bad.findings[0].message
    sidecar.write_text(f"{digest}  other.tar\n")
    elsewhere = verify_archive(archive, ops=REAL)
    assert codes(elsewhere) == ["AERO_VERIFY_SIDECAR"] and not elsewhere.ok
    assert "other.tar" in elsewhere.findings[0].message and sidecar.name in elsewhere.findings[0].message
    sidecar.write_text("not a digest\n")
    garbage = verify_archive(archive, ops=REAL)
    assert codes(garbage) == ["AERO_VERIFY_SIDECAR"] and not garbage.ok
    assert f"not {TOOLS[algorithm]} output" in garbage.findings[0].message
    assert garbage.digest is None and garbage.sidecar_digest is None


def test_the_other_algorithms_digest_in_a_sidecar_is_a_mismatch(tmp_path: Path) -> None:
    # Both digests are 64 hex digits: only the suffix says which algorithm a sidecar holds.
    archive = archive_copy(tmp_path)
    (tmp_path / "b.tar.b3").write_text(f"{hex_digest('sha256', archive.read_bytes())}  b.tar\n")
    report = verify_archive(archive, ops=REAL)
    assert codes(report) == ["AERO_VERIFY_SIDECAR"] and "BLAKE3" in report.findings[0].message


def test_an_old_archive_with_only_a_sha256sum_sidecar_still_verifies(tmp_path: Path) -> None:
    archive = archive_copy(tmp_path)
    listing = subprocess.run(["sha256sum", archive.name], cwd=tmp_path, capture_output=True, text=True, check=True)
    (tmp_path / "b.tar.sha256").write_text(listing.stdout)
    report = verify_archive(archive, ops=REAL)
    assert report.ok and report.findings == ()
    assert report.sidecar_digest == report.digest == tagged("sha256", archive.read_bytes())


@pytest.mark.skipif(shutil.which("b3sum") is None, reason="b3sum is not installed")
def test_a_sidecar_that_b3sum_writes_verifies(tmp_path: Path) -> None:
    archive = archive_copy(tmp_path)
    listing = subprocess.run(["b3sum", archive.name], cwd=tmp_path, capture_output=True, text=True, check=True)
    (tmp_path / "b.tar.b3").write_text(listing.stdout)
    report = verify_archive(archive, ops=REAL)
    assert report.ok and report.sidecar_digest == report.digest == tagged("blake3", archive.read_bytes())


def test_the_b3_sidecar_counts_before_the_sha256_one(tmp_path: Path) -> None:
    archive = archive_copy(tmp_path)
    data = archive.read_bytes()
    b3, sha = tmp_path / "b.tar.b3", tmp_path / "b.tar.sha256"
    b3.write_text(f"{hex_digest('blake3', data)}  b.tar\n")
    sha.write_text(f"{'0' * 64}  b.tar\n")
    report = verify_archive(archive, ops=REAL)
    assert report.ok and report.digest == tagged("blake3", data)  # the wrong .sha256 is not read
    # A damaged .b3 is reported, not passed over for the .sha256 that would agree.
    sha.write_text(f"{hex_digest('sha256', data)}  b.tar\n")
    for text in (f"{'0' * 64}  b.tar\n", "garbage\n"):
        b3.write_text(text)
        assert codes(verify_archive(archive, ops=REAL)) == ["AERO_VERIFY_SIDECAR"], text


def test_an_unreadable_sidecar_is_a_finding(tmp_path: Path) -> None:
    archive = archive_copy(tmp_path)
    (tmp_path / "b.tar.b3").mkdir()  # exists, but cannot be read as a file
    report = verify_archive(archive, ops=REAL)
    assert codes(report) == ["AERO_VERIFY_SIDECAR"] and "b.tar.b3 cannot be read" in report.findings[0].message


def test_without_a_sidecar_no_hash_is_computed_unless_asked() -> None:
    data = fixture_bytes("backup-1000.tar")
    assert verify_bytes(data).digest is None
    for algorithm in ALGORITHMS:
        assert verify_bytes(data, compute_digest=algorithm).digest == tagged(algorithm, data)
        # With a sidecar, its own algorithm is the default.
        assert verify_bytes(data, sidecar=tagged(algorithm, data)).digest == tagged(algorithm, data)


def test_a_digest_the_sidecar_cannot_be_compared_with_is_refused() -> None:
    data = fixture_bytes("backup-1000.tar")
    with pytest.raises(UsageError, match="cannot be checked with sha256"):
        verify_bytes(data, sidecar=tagged("blake3", data), compute_digest="sha256")
    with pytest.raises(UsageError, match="unknown digest algorithm"):
        verify_bytes(data, compute_digest="md5")
    with pytest.raises(UsageError, match="cannot be checked with no digest"):  # the caller hands the sink
        verify_archive_stream(io.BytesIO(data), name="x.tar", sidecar_digest=tagged("blake3", data))
    with pytest.raises(FormatError):
        verify_bytes(data, sidecar=hex_digest("blake3", data))  # untagged


def test_sidecar_digests_compare_in_lower_case() -> None:
    data = fixture_bytes("backup-1000.tar")
    shouted = f"blake3:{hex_digest('blake3', data).upper()}"
    report = verify_bytes(data, sidecar=shouted)
    assert report.ok and report.sidecar_digest == report.digest == tagged("blake3", data)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(
    ("text", "digest"),
    [
        (f"{'a' * 64}  x.tar\n", "a" * 64),
        (f"{'A' * 64} *x.tar", "a" * 64),  # binary-mode marker, upper case
        (f"{'b' * 64}  y.tar\n{'c' * 64}  dir/x.tar\n", "c" * 64),  # one sidecar for several files
        (f"{'d' * 64}  x.tar\r\n", "d" * 64),  # written on Windows
    ],
)
def test_parse_sidecar(text: str, digest: str, algorithm: str) -> None:
    assert parse_sidecar(text, archive_name="x.tar", algorithm=algorithm) == f"{algorithm}:{digest}"  # type: ignore[arg-type]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_render_sidecar_is_what_the_tools_write(algorithm: str) -> None:
    digest = tagged(algorithm, b"abc")
    text = render_sidecar(digest, archive_name="x.tar")
    assert text == f"{hex_digest(algorithm, b'abc')}  x.tar\n"
    assert parse_sidecar(text, archive_name="x.tar", algorithm=algorithm) == digest  # type: ignore[arg-type]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_background_digest_is_the_librarys_over_any_mix_of_update_sizes(algorithm: str) -> None:
    rng = random.Random(FLIP_SEED)
    pieces = [rng.randbytes(rng.choice([0, 1, 512, 65535, 65536, 1 << 20])) for _ in range(40)]
    with BackgroundDigest(algorithm) as hasher:  # type: ignore[arg-type]
        for piece in pieces:
            hasher.update(piece)
        assert hasher.tagged_digest() == tagged(algorithm, b"".join(pieces))
    with pytest.raises(UsageError):
        BackgroundDigest("md5")  # type: ignore[arg-type]


def test_tagged_digests_split_and_refuse_what_is_not_one() -> None:
    hexdigest = hex_digest("blake3", b"abc")
    assert split_digest(f"blake3:{hexdigest.upper()}") == ("blake3", hexdigest)
    assert format_digest("sha256", "AB" * 32) == "sha256:" + "ab" * 32
    for bad in ("crc32:deadbeef", f"md5:{hexdigest}", f"blake3:{hexdigest[:-1]}", hexdigest, f"blake3: {hexdigest}"):
        with pytest.raises(FormatError):
            split_digest(bad)


# --- every single-byte change -----------------------------------------------------------------


def _regions(archive: bytes) -> dict[str, list[tuple[int, int, str]]]:
    """Byte ranges by kind: (start, end, member)."""
    regions: dict[str, list[tuple[int, int, str]]] = {
        "header": [],
        "storage": [],
        "schema": [],
        "snapshot_manifest": [],
        "wal": [],
        "end_blocks": [],
    }
    tar = TarReader(io.BytesIO(archive))
    for entry in tar:
        regions["header"].append((entry.header_offset, entry.data_offset, entry.name))
        end = entry.data_offset + entry.size
        if entry.name == "snapshot/storage.dat":
            regions["storage"].append((entry.data_offset, end, entry.name))
        elif entry.name.startswith("snapshot/schemas/"):
            regions["schema"].append((entry.data_offset, end, entry.name))
        elif entry.name == "snapshot/manifest.json":
            regions["snapshot_manifest"].append((entry.data_offset, end, entry.name))
        elif entry.name == "wal/wal.log":
            regions["wal"].append((entry.data_offset, end, entry.name))
    assert tar.end_offset is not None
    regions["end_blocks"].append((tar.end_offset - 2 * BLOCK, tar.end_offset, ""))
    return regions


def _positions(rng: random.Random, ranges: list[tuple[int, int, str]], count: int) -> list[tuple[int, str]]:
    everywhere = [(p, member) for start, end, member in ranges for p in range(start, end)]
    return rng.sample(everywhere, min(count, len(everywhere)))


def _tar_number(field: bytes) -> bytes:
    return field.split(b"\x00", 1)[0].strip(b" ")


def test_every_single_byte_change_is_detected() -> None:
    original = fixture_bytes("backup-1000.tar")
    digest = tagged("blake3", original)
    rng = random.Random(FLIP_SEED)
    plan = {"header": 300, "storage": 250, "wal": 250, "schema": 120, "snapshot_manifest": 130, "end_blocks": 50}
    regions = _regions(original)
    tried = 0
    sidecar_only = 0
    for kind, count in plan.items():
        for position, member in _positions(rng, regions[kind], count):
            damaged = bytearray(original)
            damaged[position] ^= rng.randrange(1, 256)
            report = verify_bytes(bytes(damaged), sidecar=digest)
            tried += 1
            where = f"{kind} byte {position} ({member})"
            # The sidecar catches every change, whatever it is...
            assert "AERO_VERIFY_SIDECAR" in codes(report), where
            # ...and the checks of meaning catch every change of meaning, pointing at it.
            others = [f for f in report.findings if f.code != "AERO_VERIFY_SIDECAR"]
            if kind in ("header", "end_blocks"):
                block = position - position % BLOCK
                if not others:
                    # Only an equivalent spelling of the header checksum field means the same.
                    assert 148 <= position % BLOCK < 156, where
                    old, new = original[block + 148 : block + 156], damaged[block + 148 : block + 156]
                    assert int(_tar_number(old), 8) == int(_tar_number(bytes(new)), 8), where
                    sidecar_only += 1
                    continue
                assert any(f.offset == block and f.code.startswith("AERO_TAR_") for f in others), where
                assert not report.ok
            elif kind == "snapshot_manifest":
                # A changed checksum shows as a mismatch of the file it names; edits that keep
                # the meaning (white space, hex case) or touch only created_at give a warning.
                assert others, where
            else:
                assert any(f.path == member and f.severity == Severity.ERROR for f in others), where
    assert tried >= 1000
    assert sidecar_only < tried // 50  # the equivalent spellings are a rare corner


def test_changes_that_keep_the_meaning_are_caught_by_the_sidecar_alone() -> None:
    original = fixture_bytes("backup-1000.tar")
    tar = TarReader(io.BytesIO(original))
    padding_ranges = []
    for entry in tar:
        end = entry.data_offset + entry.size
        if end % BLOCK:
            padding_ranges.append((end, end + (-end % BLOCK)))
    rng = random.Random(FLIP_SEED + 1)
    positions = rng.sample([p for start, end in padding_ranges for p in range(start, end)], 100)
    for position in positions:
        damaged = bytearray(original)
        damaged[position] ^= rng.randrange(1, 256)
        assert verify_bytes(bytes(damaged)).findings == ()  # zero padding carries no meaning
        for algorithm in ALGORITHMS:
            assert codes(verify_bytes(bytes(damaged), sidecar=tagged(algorithm, original))) == ["AERO_VERIFY_SIDECAR"]
    # The backup manifest's created_at is free to be any time after the snapshot's.
    later = original.replace(
        b'"created_at": "2026-11-26T21:48:24Z",\n  "snapshot_id"',
        b'"created_at": "2026-11-26T21:48:34Z",\n  "snapshot_id"',
    )
    assert later != original and len(later) == len(original)
    assert verify_bytes(later).findings == ()


@pytest.mark.parametrize("change", ["padding", "created_at"])
def test_without_a_sidecar_the_file_verify_says_what_is_unprotected(change: str, tmp_path: Path) -> None:
    """What only the sidecar catches is unseen without one: a file's verify says so, as a
    WARNING (the verdict stays ok, verify exits 0); with the sidecar the change is an ERROR."""
    original = fixture_bytes("backup-1000.tar")
    if change == "padding":
        entry = next(e for e in TarReader(io.BytesIO(original)) if (e.data_offset + e.size) % BLOCK)
        damaged = bytearray(original)
        damaged[entry.data_offset + entry.size] = 0x55
    else:
        damaged = bytearray(
            original.replace(
                b'"created_at": "2026-11-26T21:48:24Z",\n  "snapshot_id"',
                b'"created_at": "2026-11-26T21:48:34Z",\n  "snapshot_id"',
            )
        )
    archive = tmp_path / "a.tar"
    archive.write_bytes(bytes(damaged))
    report = verify_archive(archive, ops=REAL)
    assert report.ok and [(f.code, f.severity) for f in report.findings] == [
        ("AERO_VERIFY_NO_SIDECAR", Severity.WARNING)
    ]
    assert "padding" in report.findings[0].message and "created_at" in report.findings[0].message
    assert "a.tar.b3 or a.tar.sha256" in report.findings[0].message
    (tmp_path / "a.tar.b3").write_text(f"{hex_digest('blake3', original)}  a.tar\n")
    assert codes(verify_archive(archive, ops=REAL)) == ["AERO_VERIFY_SIDECAR"]


# --- truncation -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURE_ARCHIVES)
def test_truncation_at_any_offset_is_detected(name: str) -> None:
    original = fixture_bytes(name)
    boundaries = {e.header_offset for e in TarReader(io.BytesIO(original))}
    offsets = set(range(0, len(original), 257))
    offsets |= {b + d for b in boundaries | {len(original) - 2 * BLOCK} for d in (-1, 0, 1, 511, 512)}
    offsets = {o for o in offsets if 0 <= o < len(original)}
    for offset in sorted(offsets):
        report = verify_bytes(original[:offset])
        assert not report.ok, offset
        assert "AERO_TAR_TRUNCATED" in codes(report), offset
        assert report.bytes_read == offset
    assert len(offsets) > 100


def test_zero_padding_after_the_end_is_fine_and_garbage_is_not() -> None:
    original = fixture_bytes("backup-1000.tar")
    assert verify_bytes(original + bytes(10 * BLOCK)).findings == ()
    garbage = verify_bytes(original + b"\x00" * 100 + b"x")
    assert codes(garbage) == ["AERO_VERIFY_TRAILING_DATA"]


def test_a_lone_zero_block_is_not_the_end() -> None:
    original = fixture_bytes("backup-nowal.tar")
    damaged = bytearray(original)
    damaged[-BLOCK + 7] = 1  # the second end-of-archive block
    report = verify_bytes(bytes(damaged))
    assert codes(report) == ["AERO_TAR_HEADER", "AERO_VERIFY_STOPPED"]
    assert report.findings[0].offset == len(original) - BLOCK


def test_tar_damage_stops_the_pass_without_noise_about_missing_members() -> None:
    original = bytearray(fixture_bytes("backup-1000.tar"))
    original[1024 + 20] ^= 0xFF  # the header of "snapshot"
    report = verify_bytes(bytes(original))
    assert codes(report) == ["AERO_TAR_CHECKSUM", "AERO_VERIFY_STOPPED"]
    assert report.findings[0].offset == 1024
    assert report.member_count == 1 and report.bytes_read == len(original)  # drained for the hash


# --- hostile archives -------------------------------------------------------------------------


def _hostile_cases() -> dict[str, bytes]:
    evil = b"owned\n"
    return {
        "../escape.txt": file_entry("../escape.txt", evil),
        "/tmp/absolute.txt": file_entry("/tmp/absolute.txt", evil),
        "snapshot/../../climb.txt": file_entry("snapshot/../../climb.txt", evil),
        "snapshot/schemas/link.json": header("snapshot/schemas/link.json", typeflag=b"2", linkname="/etc/passwd"),
        "snapshot/hard": header("snapshot/hard", typeflag=b"1", linkname="snapshot/storage.dat"),
        "snapshot/chardev": header("snapshot/chardev", typeflag=b"3"),
        "snapshot/blockdev": header("snapshot/blockdev", typeflag=b"4"),
        "snapshot/fifo": header("snapshot/fifo", typeflag=b"6"),
        "snapshot/schemas/setuid.json": header("snapshot/schemas/setuid.json", 2, mode=0o104755) + b"{}" + padding(2),
        "pax": header("pax", 18, typeflag=b"x") + b"18 path=../../x\n\x00\x00" + padding(18),
    }


@pytest.mark.parametrize("case", list(_hostile_cases()))
def test_hostile_members_are_flagged_unsafe(case: str) -> None:
    members = read_members(fixture_bytes("backup-1000.tar"))
    # Put the hostile entry where its name sorts, so only it is wrong.
    hostile = _hostile_cases()[case]
    archive = build([*members[:3], hostile, *members[3:]])
    report = verify_bytes(archive)
    flagged = [f for f in report.findings if f.code == "AERO_VERIFY_UNSAFE_MEMBER"]
    assert len(flagged) == 1 and flagged[0].path == case, report.findings
    assert not report.ok


def test_a_link_in_place_of_a_required_member_is_unsafe_and_the_member_missing() -> None:
    members = read_members(fixture_bytes("backup-1000.tar"))
    i = [n for n, _ in members].index("snapshot/storage.dat")
    link = header("snapshot/storage.dat", typeflag=b"2", linkname="/dev/zero")
    report = verify_bytes(build([*members[:i], link, *members[i + 1 :]]))
    assert sorted(codes(report)) == ["AERO_VERIFY_MISSING_MEMBER", "AERO_VERIFY_UNSAFE_MEMBER"]


def test_duplicates_unknown_names_and_wrong_types_are_flagged() -> None:
    members = read_members(fixture_bytes("backup-1000.tar"))
    storage = dict(members)["snapshot/storage.dat"]
    doubled = build([*members, ("wal/wal.log", dict(members)["wal/wal.log"])])
    report = verify_bytes(doubled)
    assert [(f.code, f.path) for f in report.findings if f.severity == Severity.ERROR] == [
        ("AERO_VERIFY_DUPLICATE_MEMBER", "wal/wal.log")
    ]
    slash_twin = verify_bytes(build([*members[:2], ("snapshot/", None), *members[2:]]))
    assert "AERO_VERIFY_DUPLICATE_MEMBER" in codes(slash_twin)
    extra = verify_bytes(build([*members, ("zzz.txt", b"hello")]))
    assert [(f.code, f.path) for f in extra.findings] == [("AERO_VERIFY_UNEXPECTED_MEMBER", "zzz.txt")]
    as_dir = verify_bytes(build(replace_member(members, "snapshot/storage.dat", None)))
    assert "AERO_VERIFY_UNEXPECTED_MEMBER" in codes(as_dir) and "AERO_VERIFY_MISSING_MEMBER" in codes(as_dir)
    nested = verify_bytes(build([*members[:4], ("snapshot/schemas/sub/x.json", storage)]))
    assert "AERO_VERIFY_UNEXPECTED_MEMBER" in codes(nested)


def test_hostile_archives_write_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    (work / "inner").mkdir(parents=True)
    members = read_members(fixture_bytes("backup-1000.tar"))
    for i, hostile in enumerate(_hostile_cases().values()):
        (work / "inner" / f"h{i}.tar").write_bytes(build([*members[:3], hostile, *members[3:]]))
    monkeypatch.chdir(work / "inner")
    before = tree_state(tmp_path)
    for archive in sorted((work / "inner").glob("*.tar")):
        assert not verify_archive(archive, ops=REAL).ok
    assert tree_state(tmp_path) == before


# --- manifests and layout ---------------------------------------------------------------------


def _manifest(members: list[tuple[str, bytes | None]], name: str) -> bytes:
    data = dict(members)[name]
    assert data is not None
    return data


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        (b'"format_version": 1', b'"format_version": 2', "AERO_VERIFY_MANIFEST"),
        (b'"backup_id": "20261126T214824Z"', b'"backup_id": "20261126T214825Z"', "AERO_VERIFY_MANIFEST"),
        (b'"wal_present": true', b'"wal_present": false', "AERO_VERIFY_MANIFEST"),
        (b'"backup_id"', b'"backup-id"', "AERO_VERIFY_MANIFEST"),
        (b"{", b"[", "AERO_VERIFY_MANIFEST"),
    ],
)
def test_backup_manifest_problems(old: bytes, new: bytes, code: str) -> None:
    members = read_members(fixture_bytes("backup-1000.tar"))
    manifest = _manifest(members, "backup_manifest.json")
    assert old in manifest
    report = verify_bytes(build(replace_member(members, "backup_manifest.json", manifest.replace(old, new, 1))))
    assert code in _errors(report)


def test_both_ids_changed_together_still_disagree_with_the_snapshot() -> None:
    members = read_members(fixture_bytes("backup-1000.tar"))
    manifest = _manifest(members, "backup_manifest.json").replace(b"20261126T214824Z", b"20261126T214825Z")
    report = verify_bytes(build(replace_member(members, "backup_manifest.json", manifest)))
    assert [(f.code, f.path) for f in report.findings] == [("AERO_VERIFY_MANIFEST", "snapshot/manifest.json")]


def test_wal_present_must_agree_with_the_members() -> None:
    members = read_members(fixture_bytes("backup-1000.tar"))
    report = verify_bytes(build(without(members, "wal/wal.log")))
    assert [(f.code, f.path) for f in report.findings] == [("AERO_VERIFY_MANIFEST", "backup_manifest.json")]
    nowal = read_members(fixture_bytes("backup-nowal.tar"))
    extra_log = verify_bytes(build([*nowal, ("wal", None), ("wal/wal.log", wal_log([1, 2]))]))
    assert [(f.code, f.path) for f in extra_log.findings] == [("AERO_VERIFY_MANIFEST", "backup_manifest.json")]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (b"crc32:e6bf1eff", b"crc32:e6bf1efe", ["AERO_VERIFY_CHECKSUM"]),
        (b"crc32:e6bf1eff", b"crc32:E6BF1EFF", ["AERO_VERIFY_MANIFEST_FORM"]),  # same meaning
        (
            b'"schema_users_v1.json"',
            b'"schema_userz_v1.json"',
            ["AERO_VERIFY_SCHEMA_UNLISTED", "AERO_VERIFY_MISSING_MEMBER"],
        ),
        (b'"format_version": 1', b'"format_version": 3', ["AERO_VERIFY_MANIFEST"]),
        (b'"format_version": 1', b'"format_version": 2', ["AERO_VERIFY_MANIFEST"]),  # 2 needs commit_boundary
        (
            b'"created_at": "2026-11-26T21:48:24Z"',
            b'"created_at": "2026-11-26T21:48:25Z"',
            ["AERO_VERIFY_CREATED_AT"] * 2,
        ),  # id; backup older
        (
            b'"snapshot_id": "20261126T214824Z"',
            b'"snapshot_id": "20261126T214823Z"',
            ["AERO_VERIFY_MANIFEST", "AERO_VERIFY_CREATED_AT"],
        ),
        (b"  ", b" \t", ["AERO_VERIFY_MANIFEST_FORM"]),  # same meaning
    ],
)
def test_snapshot_manifest_problems(old: bytes, new: bytes, expected: list[str]) -> None:
    members = read_members(fixture_bytes("backup-1000.tar"))
    manifest = _manifest(members, "snapshot/manifest.json")
    assert old in manifest
    changed = manifest.replace(old, new, 1)
    report = verify_bytes(build(replace_member(members, "snapshot/manifest.json", changed)))
    assert sorted(codes(report)) == sorted(expected)


def test_missing_members_and_out_of_order_members() -> None:
    members = read_members(fixture_bytes("backup-1000.tar"))
    gone = verify_bytes(build(without(members, "snapshot/storage.dat", "snapshot/schemas/schema_orders_v1.json")))
    assert sorted((f.code, f.path) for f in gone.findings) == [
        ("AERO_VERIFY_MISSING_MEMBER", "snapshot/schemas/schema_orders_v1.json"),
        ("AERO_VERIFY_MISSING_MEMBER", "snapshot/storage.dat"),
    ]
    no_manifest = verify_bytes(build(without(members, "backup_manifest.json")))
    assert [(f.code, f.path) for f in no_manifest.findings] == [("AERO_VERIFY_MISSING_MEMBER", "backup_manifest.json")]
    shuffled = verify_bytes(build([*members[1:], members[0]]))
    assert [(f.code, f.severity) for f in shuffled.findings] == [("AERO_VERIFY_MEMBER_ORDER", Severity.WARNING)]


def test_oversized_manifest_is_refused_without_reading_it_whole() -> None:
    members = read_members(fixture_bytes("backup-1000.tar"))
    huge = b" " * (5 << 20)
    report = verify_bytes(build(replace_member(members, "snapshot/manifest.json", huge)))
    assert "AERO_VERIFY_MANIFEST" in codes(report) and "5242880 bytes" in report.findings[0].message


# --- the WAL ----------------------------------------------------------------------------------


def _with_wal(log: bytes) -> bytes:
    members = read_members(fixture_bytes("backup-1000.tar"))
    return build(replace_member(members, "wal/wal.log", log))


def test_every_sequence_gap_is_reported_and_reading_goes_on() -> None:
    report = verify_bytes(_with_wal(wal_log([1, 2, 4, 5, 9, 10, 10])))
    gaps = [(f.code, f.sequence) for f in report.findings]
    assert gaps == [("AERO_WAL_SEQUENCE", 4), ("AERO_WAL_SEQUENCE", 9), ("AERO_WAL_SEQUENCE", 10)]
    assert "1 record missing" in report.findings[0].message and "3 records missing" in report.findings[1].message
    assert report.wal_record_count == 7
    late_start = verify_bytes(_with_wal(wal_log([5, 6])))
    assert [(f.code, f.sequence) for f in late_start.findings] == [("AERO_WAL_SEQUENCE", 5)]
    assert "starts at sequence 5" in late_start.findings[0].message


def test_wal_framing_damage_is_reported_once_with_its_place() -> None:
    log = wal_log(range(1, 11))
    record = len(log) // 10
    members = read_members(fixture_bytes("backup-1000.tar"))
    wal_data_offset = next(e.data_offset for e in TarReader(io.BytesIO(_with_wal(log))) if e.name == "wal/wal.log")
    corrupt = bytearray(log)
    corrupt[3 * record + 20] ^= 1
    report = verify_bytes(build(replace_member(members, "wal/wal.log", bytes(corrupt))))
    assert [(f.code, f.path, f.offset) for f in report.findings] == [
        ("AERO_WAL_CHECKSUM", "wal/wal.log", wal_data_offset + 3 * record)
    ]
    assert report.wal_record_count == 3
    torn = verify_bytes(_with_wal(log[:-5]))
    assert [f.code for f in torn.findings] == ["AERO_WAL_TORN_TAIL"]
    unknown = wal_log([1, 2], kinds=[WalType.INSERT, WalType.INSERT])
    from aeroops.formats.wal import encode_wal_record

    bad_type = verify_bytes(_with_wal(unknown + encode_wal_record(9, 3, b"")))
    assert [(f.code, f.sequence) for f in bad_type.findings] == [("AERO_WAL_TYPE", 3)]


def test_every_finding_is_reported_not_only_the_first() -> None:
    members = read_members(fixture_bytes("backup-1000.tar"))
    storage = bytearray(_manifest(members, "snapshot/storage.dat"))
    storage[100] ^= 1
    schema = b'{"changed": true}'
    damaged = replace_member(members, "snapshot/storage.dat", bytes(storage))
    damaged = replace_member(damaged, "snapshot/schemas/schema_users_v1.json", schema)
    damaged = replace_member(damaged, "wal/wal.log", wal_log([1, 3]))
    report = verify_bytes(build([*damaged, ("zzz", b"")]))
    assert sorted((f.code, f.path) for f in report.findings) == [
        ("AERO_VERIFY_CHECKSUM", "snapshot/schemas/schema_users_v1.json"),
        ("AERO_VERIFY_CHECKSUM", "snapshot/storage.dat"),
        ("AERO_VERIFY_UNEXPECTED_MEMBER", "zzz"),
        ("AERO_WAL_SEQUENCE", "wal/wal.log"),
    ]


def test_findings_of_one_code_are_capped_and_counted() -> None:
    sequences = range(1, 2 * (FINDINGS_PER_CODE + 5), 2)  # a gap before every record but the first
    report = verify_bytes(_with_wal(wal_log(sequences)))
    assert codes(report).count("AERO_WAL_SEQUENCE") == FINDINGS_PER_CODE
    assert report.findings[-1].code == "AERO_VERIFY_TOO_MANY" and "4 more" in report.findings[-1].message


# --- streaming, progress, imports --------------------------------------------------------------


class _ReadRecorder(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.largest = 0

    def read(self, n: int | None = -1) -> bytes:
        data = super().read(n)
        self.largest = max(self.largest, len(data))
        return data


def test_large_members_are_streamed_in_bounded_memory() -> None:
    members = read_members(fixture_bytes("backup-1000.tar"))
    storage = random.Random(FLIP_SEED).randbytes(12 << 20)
    manifest = _manifest(members, "snapshot/manifest.json").replace(
        b"crc32:e6bf1eff", format_crc_tag(zlib.crc32(storage)).encode()
    )
    log = wal_log(range(1, 30_001))
    changed = replace_member(members, "snapshot/storage.dat", storage)
    changed = replace_member(changed, "wal/wal.log", log)
    archive = build(replace_member(changed, "snapshot/manifest.json", manifest))
    stream = _ReadRecorder(archive)
    tracemalloc.start()
    try:
        report = verify_archive_stream(stream, name="big.tar", digest=Digest("blake3"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.findings == () and report.wal_record_count == 30_000
    assert stream.largest <= 1 << 20  # 1 MiB reads
    assert len(archive) > 14 << 20 and peak < 6 << 20  # no member is held whole


def test_progress_reports_bytes_up_to_the_total() -> None:
    events: list[Progress] = []
    data = fixture_bytes("backup-1000.tar") + bytes(3 << 20)  # zero padding: more than one chunk
    verify_archive_stream(io.BytesIO(data), name="p.tar", progress=events.append, total_bytes=len(data))
    assert events and all(e.job == "verify" for e in events)
    assert [e.done_bytes for e in events] == sorted(e.done_bytes for e in events)
    assert events[-1].done_bytes == events[-1].total_bytes == len(data)


def test_the_reader_raises_format_errors_only_through_findings() -> None:
    report = verify_bytes(b"")
    assert codes(report) == ["AERO_TAR_TRUNCATED", "AERO_VERIFY_STOPPED"]
    with pytest.raises(FormatError):
        parse_sidecar("", archive_name="x.tar", algorithm="blake3")


def test_unreadable_archive_is_a_fatal_finding(tmp_path: Path) -> None:
    report = verify_archive(tmp_path / "missing.tar", ops=REAL)
    assert [(f.code, f.severity) for f in report.findings] == [("AERO_VERIFY_IO", Severity.FATAL)]
    assert not report.ok


def test_verification_does_not_import_pandas() -> None:
    archive = AERODB_FIXTURES / "backup-1000.tar"
    code = (
        "import sys\n"
        "from aeroops.executor.audit import verify_archive\n"
        "from aeroops.executor.fileops import REAL\n"
        f"assert verify_archive({str(archive)!r}, ops=REAL).ok\n"
        "from aeroops.cli.main import main\n"
        f"for fmt in ('table', 'json', 'csv'): assert main(['verify', {str(archive)!r}, '--format', fmt]) == 0\n"
        "print('HEAVY', [m for m in ('pandas', 'numpy') if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "HEAVY []"


def test_member_header_rebuilds_are_what_the_reader_reads() -> None:
    # Guard for the helpers above: a rebuilt archive keeps names, sizes and contents.
    original = fixture_bytes("backup-3snap.tar")
    rebuilt = build(read_members(original))
    assert read_members(rebuilt) == read_members(original)
    assert len(rebuilt) == len(original)
    assert member_header("x", 1)[:1] == b"x"


@pytest.mark.parametrize("datadir", ["datadir-1000", "datadir-nowal"])
def test_aeroops_own_backups_verify_clean_with_their_sidecar(datadir: str, tmp_path: Path) -> None:
    from helpers.data import copy_fixture

    from aeroops.executor.backup import run_backup

    source = copy_fixture(datadir, tmp_path / datadir)
    result = run_backup(source, tmp_path / "out.tar", created_at=datetime(2026, 12, 1, tzinfo=UTC), ops=REAL)
    report = verify_archive(result.archive, ops=REAL)
    assert report.findings == ()  # an empty wal/ where AeroDB would leave it out
    assert report.sidecar_digest == report.digest == tagged("blake3", Path(result.archive).read_bytes())


def test_long_schema_names_use_gnu_long_name_records() -> None:
    members = read_members(fixture_bytes("backup-1000.tar"))
    long_name = "schema_" + "x" * 120 + "_v1.json"
    schema = b'{"schema_id": "users", "schema_version": "v1"}'  # storage and WAL name it
    manifest = _manifest(members, "snapshot/manifest.json").replace(
        b'"schema_users_v1.json"', f'"{long_name}"'.encode()
    )
    manifest = manifest.replace(b"crc32:8a6c2a6b", format_crc_tag(zlib.crc32(schema)).encode())
    changed = [(n, d) for n, d in replace_member(members, "snapshot/manifest.json", manifest) if "users" not in n]
    i = [n for n, _ in changed].index("snapshot/storage.dat")
    archive = build([*changed[:i], (f"snapshot/schemas/{long_name}", schema), *changed[i:]])
    assert len(member_header(f"snapshot/schemas/{long_name}", len(schema))) > BLOCK
    report = verify_bytes(archive)
    assert report.findings == () and f"snapshot/schemas/{long_name}" in {m.name for m in report.members}


MEMBERS_1000 = read_members(fixture_bytes("backup-1000.tar"))


# --- bounded memory: caps, and saying what was cut ------------------------------------------------


def test_a_name_longer_than_any_layout_name_is_a_finding_and_is_kept_short() -> None:
    long_schema = "snapshot/schemas/" + "n" * 300  # a schema file name past NAME_MAX cannot exist
    report = verify_bytes(build([*MEMBERS_1000, (long_schema, b"{}")]))
    (finding,) = [f for f in report.findings if f.code == "AERO_VERIFY_UNEXPECTED_MEMBER"]
    assert "317 bytes" in finding.message and "no name in a backup archive is longer than 272" in finding.message
    assert "AERO_VERIFY_SCHEMA_UNLISTED" not in codes(report)
    assert max(len(m.name) for m in report.members) < 130 and finding.path is not None and len(finding.path) < 130


def test_members_names_and_findings_past_the_caps_are_counted_and_the_report_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(verify_pass, "MEMBERS_KEPT", 5)
    monkeypatch.setattr(verify_pass, "MEMBER_NAMES_KEPT", 8)
    monkeypatch.setattr(verify_findings, "FINDINGS_KEPT", 12)
    extra = [(f"snapshot/extra-{i:02d}", b"x") for i in range(20)]
    members = sorted([*MEMBERS_1000, *extra], key=lambda m: m[0])
    report = verify_bytes(build(members))
    assert report.member_count == len(members) and len(report.members) == 5 and report.members_not_kept == 25
    listed = [f for f in report.findings if f.code != "AERO_VERIFY_TOO_MANY"]
    assert len(listed) == 12 and "AERO_VERIFY_TOO_MANY_MEMBERS" in codes(report) and not report.ok
    cut = [f.message for f in report.findings if f.code == "AERO_VERIFY_TOO_MANY"]
    assert "25 more members were checked but not listed (the first 5 are)" in cut
    assert any(m.endswith("AERO_VERIFY_UNEXPECTED_MEMBER findings were counted but not listed") for m in cut)
    # The layout's own names are still checked past the cap: wal/ and wal/wal.log are not missing.
    assert "AERO_VERIFY_MISSING_MEMBER" not in codes(report) and report.wal_record_count == 1000
