"""Fuzzing the readers of hostile bytes with hypothesis: the WAL (C and Python readers, and
payload decoding), storage, the three manifests, the sidecar, the tar reader, and verify,
inspect and inventory over whole archives.

Each gets random bytes and mutations of valid bytes (bit flips, length fields set to anything,
cuts, insertions, deletions). Properties: a reader either succeeds or raises `FormatError`
(an AeroError), never anything else; verify and inspect never raise at all (damage is a
finding) and, given the sidecar of the undamaged archive, never pass a changed one; a
hypothesis deadline catches a slow input; tracemalloc checks that hostile length fields cost
no memory. Examples are derandomized: CI sees the same inputs every run. AEROOPS_FUZZ_EXAMPLES
sets the examples per property (the slow test runs this file again with 1000 each);
AEROOPS_FUZZ_RANDOM=1 draws fresh inputs, for long local runs. tests/fuzz/fuzz_readers.py fuzzes
the same readers coverage-guided, with atheris.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import struct
import subprocess
import sys
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from itertools import chain
from pathlib import Path

import pytest
from helpers.archives import build, fixture_bytes, read_members, replace_member, tagged
from helpers.data import AERODB_FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aeroops.core.inspect import inspect_archive_stream
from aeroops.core.inventory import read_leading_manifest
from aeroops.core.verify import verify_archive_stream
from aeroops.errors import FormatError
from aeroops.formats import wal
from aeroops.formats.framing import MAX_RECORD_LENGTH
from aeroops.formats.manifests import parse_backup_manifest, parse_checkpoint, parse_snapshot_manifest
from aeroops.formats.sidecar import Algorithm, parse_sidecar, split_digest
from aeroops.formats.storage import iter_storage
from aeroops.formats.tar import BLOCK, TarReader, member_header
from aeroops.hashing import Digest

SCALE = int(os.environ.get("AEROOPS_FUZZ_EXAMPLES", "0"))
RANDOM = os.environ.get("AEROOPS_FUZZ_RANDOM") == "1"
TRIED: Counter[str] = Counter()  # examples run per property, printed at the end of the module


def fuzz(examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Hypothesis settings for one property: ``examples`` inputs (or AEROOPS_FUZZ_EXAMPLES),
    each within a deadline."""
    return settings(
        max_examples=SCALE or examples,
        deadline=timedelta(seconds=2),
        derandomize=not RANDOM,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@pytest.fixture(scope="module", autouse=True)
def report_counts() -> Iterator[None]:
    yield
    print(f"\nfuzz inputs tried: {sum(TRIED.values())} {dict(TRIED)}")


# --- valid bytes to start from ------------------------------------------------------------------


def _wal_base() -> tuple[bytes, list[int]]:
    """The first 40 records of AeroDB's own WAL, then MVCC records (types 3, 4, 5); and the
    offset of every record (where mutations set length fields)."""
    log = (AERODB_FIXTURES / "datadir-1000/wal/wal.log").read_bytes()
    records = list(wal.iter_wal(io.BytesIO(log)))[:40]
    data = bytearray(log[: records[-1].offset + records[-1].length])
    sequence = records[-1].sequence
    for kind, payload in [
        (wal.WalType.MVCC_COMMIT, wal.encode_mvcc_commit(wal.MvccCommit(7))),
        (wal.WalType.MVCC_VERSION, wal.encode_mvcc_version(wal.MvccVersion(7, "users:u1", False, b'{"a":1}'))),
        (wal.WalType.MVCC_VERSION, wal.encode_mvcc_version(wal.MvccVersion(8, "users:u1", True, b""))),
        (wal.WalType.MVCC_GC, b"\x01\x02\x03"),
    ]:
        sequence += 1
        data += wal.encode_wal_record(kind, sequence, payload)
    offsets = [r.offset for r in wal.iter_wal(io.BytesIO(bytes(data)))]
    return bytes(data), offsets


WAL_BASE, WAL_OFFSETS = _wal_base()
_storage = (AERODB_FIXTURES / "datadir-1000/snapshots/20261126T214824Z/storage.dat").read_bytes()
STORAGE_OFFSETS = [r.offset for r in iter_storage(io.BytesIO(_storage))][:41]
STORAGE_BASE = _storage[: STORAGE_OFFSETS[-1]]
STORAGE_OFFSETS = STORAGE_OFFSETS[:-1]
SNAPSHOT_MANIFEST = (AERODB_FIXTURES / "datadir-1000/snapshots/20261126T214824Z/manifest.json").read_bytes()
CHECKPOINT = (AERODB_FIXTURES / "datadir-checkpoint/checkpoint.json").read_bytes()
ARCHIVE = fixture_bytes("backup-nowal.tar")
ARCHIVE_MEMBERS = read_members(ARCHIVE)
BACKUP_MANIFEST = dict(ARCHIVE_MEMBERS)["backup_manifest.json"]
assert BACKUP_MANIFEST is not None
ARCHIVE_HEADERS = [e.header_offset for e in TarReader(io.BytesIO(ARCHIVE))]
# A small archive with a WAL too: backup-1000's members, its WAL cut to WAL_BASE's records.
_members = read_members(fixture_bytes("backup-1000.tar"))
WAL_ARCHIVE = build(replace_member(_members, "wal/wal.log", WAL_BASE[: WAL_OFFSETS[20]]))
WAL_ARCHIVE_HEADERS = [e.header_offset for e in TarReader(io.BytesIO(WAL_ARCHIVE))]

U32_VALUES = st.sampled_from([0, 1, 4, 16, 17, 24, 31, 255, 4096, 1 << 20, MAX_RECORD_LENGTH, MAX_RECORD_LENGTH + 1])


@st.composite
def mutated(draw: st.DrawFn, base: bytes, fields: list[int]) -> bytes:
    """``base`` with 1 to 4 mutations; ``fields`` are offsets of u32 length fields (record
    starts, or tar headers' size fields) that a mutation may set to a chosen or random value."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "byte", "length", "cut", "insert", "delete"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "length" and fields:
            field = draw(st.sampled_from(fields))
            value = draw(U32_VALUES | st.integers(0, 0xFFFFFFFF))
            data[field : field + 4] = struct.pack("<I", value)
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
    return bytes(data)


def wal_inputs() -> st.SearchStrategy[bytes]:
    return st.binary(max_size=2048) | mutated(WAL_BASE, WAL_OFFSETS)


# --- the WAL ------------------------------------------------------------------------------------


def wal_outcome(reader: Callable[[io.BytesIO], Iterator[wal.WalRecord]], data: bytes) -> tuple[object, ...]:
    """Every record with its decoded payload, then the damage: only FormatError may be raised."""
    seen: list[object] = []
    try:
        for record in reader(io.BytesIO(data)):
            try:
                seen.append((record.offset, record.sequence, wal.decode_payload(record)))
            except FormatError as error:
                seen.append((record.offset, record.sequence, error.code))
    except FormatError as error:
        assert error.code.startswith("AERO_WAL_"), error.code
        seen.append((error.code, error.offset, error.sequence))
    return tuple(seen)


def python_reader(stream: io.BytesIO) -> Iterator[wal.WalRecord]:
    return chain.from_iterable(wal._wal_batches_python(stream, None, 1, None))


@fuzz(600)
@given(wal_inputs())
def test_wal_readers_raise_only_format_errors_and_agree(data: bytes) -> None:
    TRIED["wal"] += 1
    assert wal_outcome(wal.iter_wal, data) == wal_outcome(python_reader, data)


@fuzz(300)
@given(st.binary(max_size=512), st.sampled_from(list(wal.WalType)))
def test_payload_decoding_raises_only_format_errors(payload: bytes, kind: wal.WalType) -> None:
    TRIED["wal payload"] += 1
    record = wal.WalRecord(0, len(payload) + 17, kind, 1, payload)
    try:
        wal.decode_payload(record)
    except FormatError as error:
        assert error.code == "AERO_WAL_PAYLOAD"


# --- storage ------------------------------------------------------------------------------------


@fuzz(400)
@given(st.binary(max_size=2048) | mutated(STORAGE_BASE, STORAGE_OFFSETS))
def test_storage_reader_raises_only_format_errors(data: bytes) -> None:
    TRIED["storage"] += 1
    try:
        for _ in iter_storage(io.BytesIO(data)):
            pass
    except FormatError as error:
        assert error.code.startswith("AERO_STORAGE_")


# --- manifests and the sidecar ------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=24),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
plausible = (
    st.sampled_from(["20261126T214824Z", "20261326T214824Z", "2026-11-26T21:48:24Z", "crc32:deadbeef", "CRC32:0"])
    | st.integers(-1, 3)
    | st.just(1 << 64)
    | json_values
)
KEYS = [
    "snapshot_id",
    "created_at",
    "storage_checksum",
    "schema_checksums",
    "format_version",
    "commit_boundary",
    "backup_id",
    "wal_present",
    "wal_truncated",
]
manifest_objects = st.fixed_dictionaries(
    {},
    optional={key: plausible for key in KEYS}
    | {"schema_checksums": st.dictionaries(st.text(max_size=12), plausible, max_size=3)},
)
deep = st.integers(1, 200_000).map(lambda depth: b"[" * depth + b"]" * (depth % 3))


def text_mutated(base: bytes) -> st.SearchStrategy[bytes]:
    return mutated(base, [])


manifest_inputs = (
    st.binary(max_size=512)
    | manifest_objects.map(lambda obj: json.dumps(obj).encode())
    | text_mutated(SNAPSHOT_MANIFEST)
    | text_mutated(BACKUP_MANIFEST)
    | text_mutated(CHECKPOINT)
    | deep
)


@fuzz(500)
@given(manifest_inputs)
def test_manifest_parsers_raise_only_format_errors(data: bytes) -> None:
    TRIED["manifests"] += 1
    for parse in (parse_snapshot_manifest, parse_backup_manifest, parse_checkpoint):
        try:
            parse(data, path="m.json")
        except FormatError as error:
            assert error.code == "AERO_MANIFEST_INVALID"


@fuzz(200)
@given(
    st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("utf-8", "replace")),
    st.sampled_from(["blake3", "sha256"]),
)
def test_sidecar_parser_raises_only_format_errors(text: str, algorithm: Algorithm) -> None:
    TRIED["sidecar"] += 1
    with contextlib.suppress(FormatError):
        digest = parse_sidecar(text, archive_name="a.tar", algorithm=algorithm)
        assert split_digest(digest)[0] == algorithm  # whatever parses is a well-formed tagged digest


# --- tar and whole archives ---------------------------------------------------------------------

SIZE_FIELDS = [h + 124 for h in ARCHIVE_HEADERS]  # mutations there set the size field's bytes


@st.composite
def hostile_headers(draw: st.DrawFn) -> bytes:
    """ARCHIVE with one header's fields set to hostile values (and its checksum fixed, so the
    reader gets past it): huge sizes in octal and base-256, odd type flags, long-name records."""
    data = bytearray(ARCHIVE)
    at = draw(st.sampled_from(ARCHIVE_HEADERS))
    field = draw(st.sampled_from([(124, 12), (100, 8), (136, 12), (156, 1), (0, 100), (157, 100), (257, 8)]))
    start, width = field
    data[at + start : at + start + width] = draw(
        st.binary(min_size=width, max_size=width)
        | st.sampled_from([b"\x80" + b"\xff" * (width - 1), b"7" * (width - 1) + b"\x00", b"\x00" * width]).filter(
            lambda v: len(v) == width
        )
    )
    data[at + 148 : at + 156] = b" " * 8
    data[at + 148 : at + 156] = b"%06o\x00 " % sum(data[at : at + BLOCK])
    return bytes(data)


archive_inputs = (
    st.binary(max_size=4096)
    | mutated(ARCHIVE, SIZE_FIELDS)
    | hostile_headers()
    | mutated(WAL_ARCHIVE, [h + 124 for h in WAL_ARCHIVE_HEADERS])
)


@fuzz(400)
@given(archive_inputs)
def test_tar_reader_raises_only_format_errors(data: bytes) -> None:
    TRIED["tar"] += 1
    try:
        reader = TarReader(io.BytesIO(data), chunk_size=4096)
        for _ in reader:
            for _ in reader.chunks():
                pass
        reader.trailing_bytes()
    except FormatError as error:
        assert error.code.startswith("AERO_TAR_")


@fuzz(300)
@given(archive_inputs)
def test_verify_and_inspect_never_raise_and_the_sidecar_catches_every_change(data: bytes) -> None:
    TRIED["verify+inspect"] += 1
    original = WAL_ARCHIVE if len(data) > len(ARCHIVE) + 4096 else ARCHIVE
    digest = tagged("blake3", original)
    report = verify_archive_stream(io.BytesIO(data), name="f.tar", sidecar_digest=digest, digest=Digest("blake3"))
    assert report.ok == (data == original)
    inspect_archive_stream(io.BytesIO(data), name="f.tar")
    with contextlib.suppress(FormatError):
        read_leading_manifest(io.BytesIO(data), name="f.tar")


# --- memory and time on hostile lengths -----------------------------------------------------------


def peak_bytes(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        with contextlib.suppress(FormatError):
            action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def drain(reader: Callable[[io.BufferedIOBase], Iterator[object]], path: Path) -> Callable[[], object]:
    def run() -> object:
        with path.open("rb") as stream:
            return list(reader(stream))  # type: ignore[arg-type]

    return run


@pytest.mark.parametrize("declared", [0xFFFFFFFF, MAX_RECORD_LENGTH + 1, MAX_RECORD_LENGTH, 200 << 20])
@pytest.mark.parametrize("reader", ["wal-c", "wal-python", "storage"])
def test_a_hostile_record_length_costs_no_memory(tmp_path: Path, declared: int, reader: str) -> None:
    """A 12-byte file whose length field declares up to 4 GiB: the reader neither allocates
    the declared size (it is capped at MAX_RECORD_LENGTH) nor reads more than is there."""
    path = tmp_path / "hostile.log"
    path.write_bytes(struct.pack("<I", declared) + b"\x00" * 8)
    read = {"wal-c": wal.iter_wal, "wal-python": python_reader, "storage": iter_storage}[reader]
    assert peak_bytes(drain(read, path)) < 4 << 20  # two read chunks at most, whatever was declared


def test_hostile_tar_sizes_cost_no_memory() -> None:
    """Members declaring 2^88 bytes (GNU base-256) or a 1 GiB long name, in a small stream."""
    huge = bytearray(member_header("snapshot/storage.dat", 0))
    huge[124:136] = b"\x80" + b"\xff" * 11
    huge[148:156] = b" " * 8
    huge[148:156] = b"%06o\x00 " % sum(huge)
    long_name = bytearray(member_header("x" * 200, 0)[:BLOCK])
    long_name[124:136] = b"%011o\x00" % (1 << 30)
    long_name[148:156] = b" " * 8
    long_name[148:156] = b"%06o\x00 " % sum(long_name)
    for archive in (bytes(huge) + bytes(8 * BLOCK), bytes(long_name) + bytes(8 * BLOCK)):

        def read(archive: bytes = archive) -> object:
            reader = TarReader(io.BytesIO(archive))
            return [list(reader.chunks()) for _ in reader]

        assert peak_bytes(read) < 2 << 20
        report = verify_archive_stream(io.BytesIO(archive), name="h.tar")
        assert not report.ok


def test_deeply_nested_manifests_are_refused_not_a_recursion_error() -> None:
    members = read_members(fixture_bytes("backup-1000.tar"))
    for name in ("backup_manifest.json", "snapshot/manifest.json"):
        report = verify_archive_stream(io.BytesIO(build(replace_member(members, name, b"[" * 60_000))), name="n.tar")
        assert ("AERO_VERIFY_MANIFEST", name) in [(f.code, f.path) for f in report.findings]
    with pytest.raises(FormatError, match="nested too deeply"):
        parse_snapshot_manifest(b"[" * 60_000)


def test_a_stream_of_endless_zero_blocks_ends_the_archive_at_once() -> None:
    class Zeros(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            buffer[:] = bytes(len(buffer))
            return len(buffer)

    reader = TarReader(Zeros())  # type: ignore[arg-type]
    assert list(reader) == [] and reader.end_offset == 2 * BLOCK


def test_a_wal_in_a_real_file_behind_a_hostile_tar_member(tmp_path: Path) -> None:
    """The same hostile length inside an archive: verify reports it and reads on in chunks."""
    log = struct.pack("<I", 200 << 20) + b"\x00" * 8
    archive = build([*replace_member(_members, "wal/wal.log", log)])
    path = tmp_path / "w.tar"
    path.write_bytes(archive)

    def run() -> object:
        with path.open("rb") as stream:
            return verify_archive_stream(stream, name=str(path))

    assert peak_bytes(run) < 8 << 20
    with path.open("rb") as stream:
        codes = [f.code for f in verify_archive_stream(stream, name=str(path)).findings]
    assert "AERO_WAL_TORN_TAIL" in codes


@pytest.mark.slow
def test_the_properties_again_with_a_thousand_inputs_each() -> None:
    """This file's properties in a child pytest, 1000 inputs each (7000 in all)."""
    env = dict(os.environ, AEROOPS_FUZZ_EXAMPLES="1000")
    env.pop("AEROOPS_FUZZ_RANDOM", None)
    command = [sys.executable, "-m", "pytest", __file__, "-q", "-s", "-m", "not slow", "-p", "no:cacheprovider"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-4000:]
    tried = re.search(r"fuzz inputs tried: (\d+)", done.stdout)
    assert tried is not None and int(tried.group(1)) == 7000
    print(f"\n{tried.group(0)} (1000 per property)")
