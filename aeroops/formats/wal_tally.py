"""A WAL read that counts and checks without building the records: what `iter_wal_batches`
would hand out, summed up (how many, first and last sequence, where the whole records end, the
schemas inserts and updates name) and the damage that stopped it. For the readers that need no
record itself: verify without a record sink, archive-wal. Same checks, same errors, same gaps:
the C walk (`_speedups.wal_tally`) where built, else the batches of the Python reader."""

from __future__ import annotations

from collections.abc import Iterable

from aeroops.errors import FormatError
from aeroops.formats.framing import MAX_RECORD_LENGTH, U32, Buffers, checksum_error
from aeroops.formats.readable import Readable
from aeroops.formats.schemas import add_wal_schema_refs
from aeroops.formats.wal import (
    _LAST_SEQUENCE,
    _TYPES,
    WAL_FRAMING,
    BatchStatus,
    SequenceGap,
    WalRecord,
    _sequence_error,
    _type_error,
    _wal_batches_python,
    load_speedups,
)

_speedups = load_speedups()


class WalTally:
    """What a read has counted so far. Updated as the read goes: when the stream itself raises
    (a broken tar under a member), what was counted before stays here."""

    __slots__ = ("end", "error", "first", "last", "records", "until", "until_end")

    def __init__(self, until: int = 0) -> None:
        self.records = 0  # whole records checked (those before the damage, if any)
        self.first: int | None = None  # the first one's sequence
        self.last: int | None = None  # the last one's sequence
        self.end = 0  # offset in the stream just past the last whole record (0: none)
        self.error: FormatError | None = None  # what stopped the read (None: the stream ended cleanly)
        self.until = until  # a sequence whose record's end is wanted (0: none)
        self.until_end: int | None = None  # where the first record of sequence `until` ends

    def add(self, count: int, first: int, last: int, end: int) -> None:
        if count:
            self.records += count
            if self.first is None:
                self.first = first
            self.last, self.end = last, end
            if self.until and last == self.until and self.until_end is None:  # the C walk stops right after it
                self.until_end = end

    def __repr__(self) -> str:
        return (
            f"WalTally({self.records}, {self.first}, {self.last}, {self.end}, {self.error!r}, "
            f"{self.until}, {self.until_end})"
        )


def tally_wal(
    stream: Readable,
    *,
    path: object = None,
    first_sequence: int | None = 1,
    on_gap: SequenceGap | None = None,
    refs: set[tuple[str, str]] | None = None,
    tally: WalTally | None = None,
) -> WalTally:
    """Read the log as `iter_wal_batches` does (same arguments, same ``on_gap`` calls) and count
    it into ``tally`` (a new one by default), which is returned; the `FormatError` it would
    raise is kept in ``tally.error``, after the records before it were counted. ``refs``:
    `add_wal_schema_refs` of every record counted. ``tally.until_end`` (when ``tally.until`` is
    a sequence): where the first record of that sequence ends, as a record reader would say."""
    tally = WalTally() if tally is None else tally
    try:
        if _speedups is None:
            tally_batches(_wal_batches_python(stream, path, first_sequence, on_gap), refs, tally)
        else:
            _tally_c(stream, path, first_sequence, on_gap, refs, tally)
    except FormatError as error:
        tally.error = error
    return tally


def tally_batches(batches: Iterable[list[WalRecord]], refs: set[tuple[str, str]] | None, tally: WalTally) -> None:
    """Count records handed out in batches (the pure-Python path)."""
    for batch in batches:
        if tally.until and tally.until_end is None:
            found = next((r for r in batch if r.sequence == tally.until), None)
            if found is not None:
                tally.until_end = found.offset + found.length
        tally.add(len(batch), batch[0].sequence, batch[-1].sequence, batch[-1].offset + batch[-1].length)
        if refs is not None:
            add_wal_schema_refs(batch, refs)


def _tally_c(
    stream: Readable,
    path: object,
    first_sequence: int | None,
    on_gap: SequenceGap | None,
    refs: set[tuple[str, str]] | None,
    tally: WalTally,
) -> None:
    """`wal._wal_batches_c`'s loop, step for step, with the records counted in C; a record is
    built only for a sequence gap (``on_gap`` takes it) and past the last u64 sequence."""
    assert _speedups is not None
    expected = first_sequence or 0  # 0: no sequence check
    buffers = Buffers(stream, WAL_FRAMING, path)
    buf, pos, base = buffers.first()
    while True:
        if expected > _LAST_SEQUENCE:  # no u64 follows 2**64 - 1: any record here is a gap
            records, pos, status, sequence = _speedups.wal_batch(
                buf, pos, base, 0, MAX_RECORD_LENGTH, WalRecord, _TYPES, 1
            )
            if records:
                if on_gap is None:
                    raise _sequence_error(records[0].sequence, expected, path, records[0].offset)
                on_gap(records[0], expected)
                if refs is not None:
                    _speedups.wal_schema_refs(records, refs)
            count = len(records)
            first = last = records[0].sequence if records else 0
        else:
            count, first, last, pos, status, sequence = _speedups.wal_tally(
                buf, pos, expected, MAX_RECORD_LENGTH, refs, tally.until if tally.until_end is None else 0
            )
        if count:
            tally.add(count, first, last, base + pos)
            if expected:
                expected = last + 1
        if status == BatchStatus.FULL:
            continue
        if status == BatchStatus.SEQUENCE_GAP and on_gap is not None:
            # Whole and checked but for its sequence: built, handed to on_gap, counted.
            (gap,), pos, _, _ = _speedups.wal_batch(buf, pos, base, 0, MAX_RECORD_LENGTH, WalRecord, _TYPES, 1)
            on_gap(gap, expected)
            if refs is not None:
                _speedups.wal_schema_refs([gap], refs)
            tally.add(1, gap.sequence, gap.sequence, base + pos)
            expected = gap.sequence + 1
            continue
        if status == BatchStatus.BAD_CHECKSUM:
            (length,) = U32.unpack_from(buf, pos)
            raise checksum_error(buf, pos, pos + length, WAL_FRAMING, path, base)
        if status == BatchStatus.BAD_TYPE:
            raise _type_error(buf[pos + 4], path, base + pos, sequence)
        if status == BatchStatus.SEQUENCE_GAP:
            raise _sequence_error(sequence, expected, path, base + pos)
        following = buffers.after(buf, pos, base)  # raises for a bad length or a torn tail
        if following is None:
            return
        buf, pos, base = following


__all__ = ["WalTally", "tally_batches", "tally_wal"]
