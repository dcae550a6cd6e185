"""The optional C reader (aeroops/formats/_speedups.c) and the pure-Python one agree on every
input: the same records, the same decoded payloads, the same damage reports; the C CRC-32 gives
what zlib's does."""

from __future__ import annotations

import io
import os
import random
import shutil
import struct
import sysconfig
import zlib
from collections.abc import Callable, Iterator
from itertools import chain

import pytest
from helpers.data import AERODB_FIXTURES
from hypothesis import given, settings
from hypothesis import strategies as st
from isal import isal_zlib

from aeroops.errors import FormatError
from aeroops.formats import checksum, wal

BASE_LOG = (AERODB_FIXTURES / "datadir-1000/wal/wal.log").read_bytes()


class Dribble(io.BytesIO):
    """A stream that returns short reads, as a pipe or a tar member reader may."""

    def __init__(self, data: bytes, seed: int) -> None:
        super().__init__(data)
        self._rng = random.Random(seed)

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            return super().read()
        return super().read(max(1, min(n, self._rng.randint(1, 4096))))


def c_reader(stream: io.BytesIO, first: int | None) -> Iterator[wal.WalRecord]:
    return chain.from_iterable(wal._wal_batches_c(stream, "w", first, None))


def python_reader(stream: io.BytesIO, first: int | None) -> Iterator[wal.WalRecord]:
    return chain.from_iterable(wal._wal_batches_python(stream, "w", first, None))


def outcome(read: Callable[[], Iterator[wal.WalRecord]]) -> tuple[list[object], tuple[object, ...] | None]:
    records: list[object] = []
    try:
        for record in read():
            try:
                payload: object = wal.decode_payload(record)
            except FormatError as error:
                payload = ("payload error", error.code, error.offset, error.message)
            records.append((tuple(record), payload))
    except FormatError as error:
        return records, (error.code, error.offset, error.sequence, error.message)
    return records, None


def mutations(seed: int, count: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    for _ in range(count):
        data = bytearray(BASE_LOG)
        kind = rng.randrange(5)
        at = rng.randrange(len(data))
        if kind == 0:
            data[at] ^= 1 << rng.randrange(8)
        elif kind == 1:
            del data[at:]
        elif kind == 2:
            data[at:at] = rng.randbytes(rng.randint(1, 40))
        elif kind == 3:
            data[at : at + 4] = rng.randbytes(4)
        else:
            del data[at : at + rng.randint(1, 300)]
        yield bytes(data)


@pytest.fixture
def python_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wal, "_speedups", None)
    monkeypatch.setattr(wal, "_decode_document", wal._decode_document_python)
    monkeypatch.setattr(wal, "decode_payload", wal._decode_payload_python)


def c_compiler() -> str | None:
    """The C compiler setuptools builds the extension with ($CC, else the one Python was built
    with, sysconfig's CC), where it is on PATH."""
    command = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    return shutil.which(command.split()[0])


# Without the extension the tests that compare it with the Python readers have nothing to compare.
needs_c = pytest.mark.skipif(wal._speedups is None, reason="aeroops.formats._speedups is not built")


@pytest.mark.skipif(
    wal._speedups is None and c_compiler() is None,
    reason="no C compiler (neither $CC nor sysconfig's CC is on PATH): pip skipped the optional extension",
)
def test_the_c_reader_is_built() -> None:
    # `pip install -e .` builds it wherever a C compiler exists (it needs no other header); a
    # compiler without the extension means the build failed (pip only warns: it is optional).
    assert wal._speedups is not None, "aeroops.formats._speedups was not built: pure-Python readers in use"


@needs_c
def test_the_c_reader_checks_crcs_with_the_isal_packages_isa_l() -> None:
    # The fast path comes from `pip install` alone: ISA-L found in the isal package's extension.
    assert wal._speedups is not None and wal._speedups.crc_path.startswith("ISA-L crc32_gzip_refl"), (
        wal._speedups.crc_path if wal._speedups else None
    )


@needs_c
@pytest.mark.parametrize("seed", range(4))
def test_both_readers_agree_on_damaged_logs(seed: int) -> None:
    assert wal._speedups is not None
    for data in mutations(seed, 150):
        for first in (1, None):
            fast = outcome(lambda d=data, f=first: c_reader(io.BytesIO(d), f))
            slow = outcome(lambda d=data, f=first: python_reader(io.BytesIO(d), f))
            assert fast == slow


@needs_c
def test_short_reads_change_nothing() -> None:
    expected = outcome(lambda: python_reader(io.BytesIO(BASE_LOG), 1))
    for seed in range(3):
        assert outcome(lambda s=seed: c_reader(Dribble(BASE_LOG, s), 1)) == expected
        assert outcome(lambda s=seed: python_reader(Dribble(BASE_LOG, s), 1)) == expected


@needs_c
def test_decoders_agree_including_damage() -> None:
    assert wal._speedups is not None
    rng = random.Random(7)
    records = list(wal.iter_wal(io.BytesIO(BASE_LOG)))
    for record in records[:300]:
        payload = bytearray(record.payload)
        if rng.random() < 0.7:
            payload[rng.randrange(len(payload))] = rng.choice([0xFF, 0x00, 0x7F, 0xC3])
        for decode in (wal._speedups.decode_document, wal._decode_document_python):
            try:
                result: object = decode(bytes(payload), wal.DocumentChange)
            except (ValueError, UnicodeDecodeError, struct.error) as error:
                result = type(error).__name__ if isinstance(error, UnicodeDecodeError) else "ValueError"
            if decode is wal._speedups.decode_document:
                fast = result
            else:
                slow = result
        assert fast == slow


def test_the_python_reader_alone_still_reads_everything(python_only: None) -> None:
    assert wal._speedups is None
    records = list(wal.iter_wal(io.BytesIO(BASE_LOG)))
    assert len(records) == 1000 and all(isinstance(wal.decode_payload(r), wal.DocumentChange) for r in records)


def test_aeroops_checksums_with_isal() -> None:
    assert checksum.crc32 is isal_zlib.crc32


@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=3000), start=st.integers(0, 63), value=st.integers(0, 2**32 - 1))
def test_crc32_is_zlibs(data: bytes, start: int, value: int) -> None:
    # Every length around the folding steps, at every alignment, from any running value (the
    # CRC of earlier chunks), from memoryviews as the readers pass them.
    view = memoryview(data)[start:]
    for crc32 in (checksum.crc32, checksum.crc32_held):
        assert crc32(view) == zlib.crc32(view)
        assert crc32(view, value) == zlib.crc32(view, value)


@pytest.mark.parametrize("crc32", [checksum.crc32, checksum.crc32_held], ids=["isal", "held"])
def test_crc32_is_zlibs_on_large_buffers_and_in_pieces(crc32: Callable[..., int]) -> None:
    data = random.Random(3).randbytes(3 << 20)
    assert crc32(data) == zlib.crc32(data)
    running = 0
    for at in range(0, len(data), 100_003):
        running = crc32(data[at : at + 100_003], running)
    assert running == zlib.crc32(data)
    assert crc32(bytearray(data[:70_000]), 5) == zlib.crc32(data[:70_000], 5)


@needs_c
def test_the_crc_verify_holds_the_lock_with_is_the_c_extensions() -> None:
    assert checksum.crc32_held is wal.load_speedups().crc32  # type: ignore[union-attr]
    with pytest.raises(TypeError):
        checksum.crc32_held("text")  # type: ignore[arg-type]


def _decoded(decode: Callable[..., object], record: wal.WalRecord) -> object:
    try:
        return decode(record, path="w.log")
    except FormatError as error:
        return ("error", error.code, error.path, error.offset, error.sequence, error.message)


@needs_c
def test_c_decode_payload_agrees_with_python_on_every_type_and_damage() -> None:
    assert wal._speedups is not None and wal.decode_payload is wal._speedups.decode_payload
    rng = random.Random(11)
    originals = list(wal.iter_wal(io.BytesIO(BASE_LOG)))[:200]
    mvcc = [
        wal.encode_payload(wal.MvccCommit(7)),
        wal.encode_payload(wal.MvccVersion(7, "users:1", False, b"{}")),
        b"\x01\x02",
    ]
    cases = []
    for i, record in enumerate(originals):
        payload = bytearray(record.payload if i % 4 else rng.choice(mvcc))
        if rng.random() < 0.5:
            payload[rng.randrange(len(payload))] = rng.choice([0xFF, 0x00, 0x7F, 0xC3, 0x80])
        kind = wal.WalType(rng.randrange(6)) if i % 3 == 0 else record.type
        cases.append(record._replace(type=kind, payload=bytes(payload)))
    for record in cases:
        assert _decoded(wal._speedups.decode_payload, record) == _decoded(wal._decode_payload_python, record)


def test_c_text_cache_never_hands_out_a_stale_field() -> None:
    # Same length, other bytes; longer than the cache holds; non-ASCII; empty: each decodes as itself.
    names = ["users", "usera", "users", "x" * 200, "x" * 199 + "y", "ünïcødé", "", "users"]
    for i, name in enumerate(names):
        change = wal.DocumentChange(name, f"id{i}", name[::-1], f"v{len(name)}", b"{}")
        record = wal.WalRecord(0, 0, wal.WalType.INSERT, i + 1, wal.encode_document_change(change))
        assert wal.decode_payload(record) == change


def _with_gaps(batches: Callable[..., Iterator[list[wal.WalRecord]]], data: bytes, first: int | None) -> object:
    gaps: list[tuple[int, int]] = []
    records: list[int] = []
    try:
        for batch in batches(Dribble(data, 5), "w", first, lambda r, e: gaps.append((r.sequence, e))):
            records.extend(r.sequence for r in batch)
    except FormatError as error:
        return records, gaps, (error.code, error.offset, error.sequence)
    return records, gaps, None


@needs_c
@pytest.mark.parametrize(
    "sequences",
    [
        [1, 2, 5, 6, 6, 3, 4],
        [7, 8, 9],  # the first is not 1
        [1, 2**64 - 1, 1, 2, 2**64 - 1, 2**64 - 1, 0],  # nothing follows the largest sequence
        [*range(1, 3000), 5000, *range(5001, 7000)],  # a gap past a full batch
    ],
)
def test_both_readers_report_the_same_gaps_and_go_on(sequences: list[int]) -> None:
    data = b"".join(wal.encode_wal_record(wal.WalType.MVCC_GC, s, b"x" * (s % 7)) for s in sequences)
    for first in (1, None):
        fast = _with_gaps(wal._wal_batches_c, data, first)
        assert fast == _with_gaps(wal._wal_batches_python, data, first)
        records, gaps, error = fast  # type: ignore[misc]
        assert records == sequences and error is None
        if first is None:
            assert gaps == []
        else:
            expected = [1] + [s + 1 for s in sequences[:-1]]
            assert gaps == [(s, e) for s, e in zip(sequences, expected, strict=True) if s != e]
    # Without on_gap, the first gap is an error after every record before it.
    for read in (c_reader, python_reader):
        assert outcome(lambda r=read: r(io.BytesIO(data), 1)) == outcome(lambda: python_reader(io.BytesIO(data), 1))


@needs_c
def test_glibc_keeps_freed_memory_when_asked() -> None:
    # What verify asks for (aeroops.executor.audit.keep_freed_memory): glibc's mallopt accepts it.
    speedups = wal.load_speedups()
    assert speedups is not None
    assert speedups.keep_freed_memory(32 << 20, 16 << 20) is True
    with pytest.raises(TypeError):
        speedups.keep_freed_memory("32 MiB", 16 << 20)  # type: ignore[arg-type]
