"""The counting WAL read (aeroops.formats.wal_tally): its C walk gives what the record readers
give, on clean, damaged, truncated and hostile logs alike: the same count, first and last
sequence, end of the last whole record, the same error (code, offset, sequence, message), the
same gaps handed to on_gap, and the same schemas named. And verify, which counts with it when no
record sink is given, reports exactly what it reports when it builds every record."""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Iterator

import pytest
from helpers.archives import build, fixture_bytes, read_members, replace_member, verify_bytes
from hypothesis import given, settings
from hypothesis import strategies as st
from test_speedups import BASE_LOG, Dribble, mutations

from aeroops.core.verify_report import VerifyReport
from aeroops.errors import FormatError
from aeroops.formats import schemas, wal, wal_tally
from aeroops.formats.readable import Readable
from aeroops.formats.wal import DocumentChange, WalRecord, WalType, encode_document_change, encode_wal_record
from aeroops.formats.wal_tally import WalTally, tally_batches, tally_wal

needs_c = pytest.mark.skipif(wal_tally._speedups is None, reason="aeroops.formats._speedups is not built")

Outcome = tuple[int, int | None, int | None, int, object, list[tuple[int, int, int]], set[tuple[str, str]], object]


def _summary(tally: WalTally, gaps: list[tuple[int, int, int]], refs: set[tuple[str, str]]) -> Outcome:
    error = tally.error
    failure = None if error is None else (error.code, error.offset, error.sequence, error.message, error.path)
    return tally.records, tally.first, tally.last, tally.end, failure, gaps, refs, tally.until_end


def by_c(stream: Readable, first: int | None, with_gaps: bool, until: int = 0) -> Outcome:
    """The C walk."""
    gaps: list[tuple[int, int, int]] = []
    refs: set[tuple[str, str]] = set()
    on_gap = (lambda r, e: gaps.append((r.offset, r.sequence, e))) if with_gaps else None
    tally = tally_wal(stream, path="w", first_sequence=first, on_gap=on_gap, refs=refs, tally=WalTally(until))
    return _summary(tally, gaps, refs)


def by_records(
    stream: Readable,
    first: int | None,
    with_gaps: bool,
    batches: Callable[..., Iterator[list[WalRecord]]] = wal._wal_batches_python,
    until: int = 0,
) -> Outcome:
    """The reference: the records a record reader builds, counted by hand, their schemas found
    by the pure-Python walk of schemas.py, the end of the first record of sequence ``until``."""
    gaps: list[tuple[int, int, int]] = []
    refs: set[tuple[str, str]] = set()
    on_gap = (lambda r, e: gaps.append((r.offset, r.sequence, e))) if with_gaps else None
    records: list[WalRecord] = []
    error = None
    saved = schemas._speedups
    schemas._speedups = None
    try:
        for batch in batches(stream, "w", first, on_gap):
            records += batch
            schemas.add_wal_schema_refs(batch, refs)
    except FormatError as raised:
        error = raised
    finally:
        schemas._speedups = saved
    tally = WalTally(until)
    if records:
        tally.records, tally.first, tally.last = len(records), records[0].sequence, records[-1].sequence
        tally.end = records[-1].offset + records[-1].length
    tally.error = error
    wanted = [r for r in records if until and r.sequence == until]
    tally.until_end = wanted[0].offset + wanted[0].length if wanted else None
    return _summary(tally, gaps, refs)


def agree(
    data: bytes, first: int | None = 1, *, with_gaps: bool = True, dribble: int | None = None, until: int = 0
) -> Outcome:
    def stream() -> Readable:
        return io.BytesIO(data) if dribble is None else Dribble(data, dribble)

    expected = by_records(stream(), first, with_gaps, until=until)
    assert by_records(stream(), first, with_gaps, wal._wal_batches_c, until=until) == expected
    assert by_c(stream(), first, with_gaps, until) == expected
    # The Python batches' tally (the fallback where the extension is missing) says the same.
    python = WalTally(until)
    saved = schemas._speedups
    schemas._speedups = None
    try:
        tally_batches(
            wal._wal_batches_python(stream(), "w", first, None if not with_gaps else lambda r, e: None), set(), python
        )
    except FormatError:
        pass
    finally:
        schemas._speedups = saved
    assert (python.records, python.last, python.end, python.until_end) == (
        expected[0],
        expected[2],
        expected[3],
        expected[7],
    )
    return expected


def change(i: int, schema: str = "users", version: str = "v1") -> bytes:
    return encode_document_change(DocumentChange(f"c{i % 3}", f"id-{i}", schema, version, b'{"n":%d}' % i))


@needs_c
def test_the_clean_fixture_log_is_counted_whole() -> None:
    records, first, last, end, error, gaps, refs, _ = agree(BASE_LOG)
    assert (records, first, last, end, error, gaps) == (1000, 1, 1000, len(BASE_LOG), None, [])
    assert refs  # the fixture's inserts name their schemas


@needs_c
@pytest.mark.parametrize("seed", range(3))
def test_damaged_and_truncated_logs_give_the_same_tally_and_error(seed: int) -> None:
    errors = 0
    for data in mutations(100 + seed, 120):
        for first in (1, None, 7):
            for with_gaps in (True, False):
                outcome = agree(data, first, with_gaps=with_gaps, until=[0, 1, 500, 1000][(first or 0) % 4])
                errors += outcome[4] is not None
    assert errors > 100  # the mutations do damage: the errors were compared, not only clean reads


@needs_c
def test_short_reads_and_records_across_reads_change_nothing() -> None:
    damaged = bytearray(BASE_LOG)
    damaged[len(damaged) // 2] ^= 0x40
    for data in (BASE_LOG, bytes(damaged), BASE_LOG[:-3]):
        clean = agree(data)
        for seed in range(3):
            assert agree(data, dribble=seed) == clean


@needs_c
@pytest.mark.parametrize(
    "sequences, first",
    [
        ([1, 2, 5, 6, 6, 3, 4], 1),
        ([7, 8, 9], 1),
        ([1, 2**64 - 1, 1, 2, 2**64 - 1, 2**64 - 1, 0], 1),
        # reached in order: nothing may follow the largest sequence, the walk hands over there
        ([2**64 - 3, 2**64 - 2, 2**64 - 1, 0, 1, 2**64 - 1], 2**64 - 3),
        ([*range(1, 3000), 5000, *range(5001, 7000)], 1),
    ],
)
def test_gaps_are_handed_out_alike_and_the_read_goes_on(sequences: list[int], first: int) -> None:
    data = b"".join(encode_wal_record(WalType.INSERT, s, change(s, f"s{s % 11}")) for s in sequences)
    records, _, last, end, error, gaps, _, _ = agree(data, first)
    assert (records, last, end, error) == (len(sequences), sequences[-1], len(data), None)
    assert gaps  # every case has at least one
    for until in {*sequences[:3], sequences[-1], 2**64 - 1}:  # found where the records put it
        agree(data, first, until=until)
    without = agree(data, first, with_gaps=False)  # the first gap is the error, after the records before it
    assert without[4] is not None and without[4][0] == "AERO_WAL_SEQUENCE"


@needs_c
def test_the_schemas_named_are_those_of_inserts_and_updates_only() -> None:
    # More schemas than the C side caches, interleaved; ids too long to cache; text that is not
    # UTF-8; payloads whose fields do not decode; deletes and MVCC records, which name none.
    long_id = "x" * 150
    records = []
    named = set()
    for s in range(1, 400):
        kind = [WalType.INSERT, WalType.UPDATE, WalType.DELETE, WalType.MVCC_COMMIT][s % 4]
        schema, version = (long_id if s % 7 == 0 else f"schema-{s % 13}"), f"v{s % 2}"
        if kind == WalType.DELETE:
            schema = f"schema-deleted-{s}"  # a delete is stored as a tombstone: its schema is not needed
        payload = change(s, schema, version) if kind <= WalType.DELETE else wal.encode_mvcc_commit(wal.MvccCommit(s))
        if s % 17 == 0:
            payload = payload.replace(b"schema-", b"\xff\xfeema-")  # not UTF-8: named by nobody
        elif s % 19 == 0:
            payload = payload[:-3]  # the fields run past the payload
        elif kind in (WalType.INSERT, WalType.UPDATE):
            named.add((schema, version))
        records.append(encode_wal_record(kind, s, payload))
    refs = agree(b"".join(records))[6]
    assert refs == named and len(named) > 16 and any(schema == long_id for schema, _ in named)


@needs_c
def test_bad_lengths_types_and_tails_stop_both_at_the_same_byte() -> None:
    good = b"".join(encode_wal_record(WalType.INSERT, s, change(s)) for s in range(1, 6))
    cases = {
        "impossible length": good + (3).to_bytes(4, "little") + b"\x00" * 20,
        "huge length": good + (1 << 31).to_bytes(4, "little") + b"\x00" * 20,
        "unknown type": good + encode_wal_record(9, 6, b""),
        "torn tail": good + encode_wal_record(WalType.INSERT, 6, change(6))[:-1],
        "three trailing bytes": good + b"\x01\x02\x03",
        "empty": b"",
    }
    for label, data in cases.items():
        records, _, last, end, error, _, _, _ = agree(data, until=5)
        if label == "empty":
            assert (records, last, end, error) == (0, None, 0, None)
        else:
            assert (records, last, end) == (5, 5, len(good)) and error is not None, label
        assert agree(data, until=6)[7] is None  # past the damage: not found


@needs_c
@settings(max_examples=150, deadline=None)
@given(
    plan=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 12), st.binary(max_size=40)), min_size=0, max_size=40),
    cut=st.integers(0, 1 << 16),
    flip=st.integers(0, 1 << 16),
    first=st.sampled_from([1, None, 3]),
    until=st.integers(0, 45),
)
def test_any_log_of_records_any_cut_any_flip(
    plan: list[tuple[int, int, bytes]], cut: int, flip: int, first: int | None, until: int
) -> None:
    data = bytearray()
    for i, (kind, jump, junk) in enumerate(plan, start=1):
        payload = change(i, f"s{jump}") if kind <= 2 and not junk else junk
        data += encode_wal_record(kind, i + (jump if jump > 9 else 0), payload)
    if data and flip % 3 == 0:
        data[flip % len(data)] ^= 1 << (flip % 8)
    if cut % 2:
        del data[cut % (len(data) + 1) :]
    agree(bytes(data), first, until=until)


# --- verify counts with it: the same report as when it builds every record ---------------------


def _verify_both_ways(archive: bytes) -> VerifyReport:
    counted = verify_bytes(archive)
    built = verify_bytes(archive, wal_sink=lambda record: None)  # a sink: every record built and handed out
    assert counted == built
    return counted


@needs_c
def test_verify_reports_the_same_whether_it_counts_or_builds_the_records() -> None:
    original = fixture_bytes("backup-1000.tar")
    members = read_members(original)
    log = dict(members)["wal/wal.log"]
    assert log is not None
    rng = random.Random(2026)
    cases = [original]
    for _ in range(60):  # single-byte changes, cuts and splices of the log, in the archive
        damaged = bytearray(log)
        at = rng.randrange(len(damaged))
        if rng.random() < 0.5:
            damaged[at] ^= rng.randrange(1, 256)
        elif rng.random() < 0.5:
            del damaged[at:]
        else:
            damaged[at:at] = rng.randbytes(rng.randint(1, 30))
        cases.append(build(replace_member(members, "wal/wal.log", bytes(damaged))))
    gappy = b"".join(encode_wal_record(WalType.INSERT, s, change(s)) for s in [1, 2, 4, 4, 9])
    cases.append(build(replace_member(members, "wal/wal.log", gappy)))
    cases += [original[:cut] for cut in rng.sample(range(len(original)), 20)]  # the tar broken mid-member
    reports = [_verify_both_ways(case) for case in cases]
    assert reports[0].ok and reports[0].wal_record_count == 1000
    assert sum(not r.ok for r in reports) > 40
    assert [f.sequence for f in reports[61].findings if f.code == "AERO_WAL_SEQUENCE"] == [4, 4, 9]


def test_the_pure_python_tally_serves_where_the_extension_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wal_tally, "_speedups", None)
    monkeypatch.setattr(wal, "_speedups", None)
    damaged = bytearray(BASE_LOG)
    damaged[len(damaged) // 3] ^= 1
    for data in (BASE_LOG, bytes(damaged)):
        assert by_c(io.BytesIO(data), 1, True) == by_records(io.BytesIO(data), 1, True)
    report = _verify_both_ways(fixture_bytes("backup-1000.tar"))
    assert report.ok and report.wal_record_count == 1000
