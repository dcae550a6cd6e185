"""The documents of an archive, the fast way (C: `_speedups_documents.h`): the first pass is
the verify pass the careful path runs, with the storage and WAL bytes handed to a C index that
keeps, per key, only where its winning record is (no Python object per record); the second
reads the two members again (straight from the file for a plain archive, through the verify
pass for a layered one) and builds exactly the winning documents, each record's CRC checked.

Anything unusual in the records (damage, fields that do not fill a record, text that is not
UTF-8, storage after the WAL) makes `index_archive` answer None: the caller then reads the
archive the careful way, which names what is wrong exactly as before. The fast path only ever
handles clean archives, and hands out what the careful path would, in the same order.

A data directory goes the same way (`index_datadir`, `pick_datadir`): its storage file, then its
WAL, read through FileOps up to their sizes when first opened, every record's CRC checked here
(no verify pass does it), with the same fallback.
"""

from __future__ import annotations

import bisect
import contextlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aeroops.core.documents import Document
from aeroops.core.pitr import PitrPlan
from aeroops.core.verify_report import VerifyReport
from aeroops.errors import FormatError
from aeroops.executor.fileops import FileOps
from aeroops.executor.keys import IdentityFiles
from aeroops.executor.location import is_url
from aeroops.formats.framing import MAX_RECORD_LENGTH, U32
from aeroops.formats.layout import STORAGE, WAL_LOG
from aeroops.formats.wal import load_speedups
from aeroops.progress import Progress, ProgressCallback, no_progress

_speedups: Any = load_speedups()

# How a second pass that reads on a thread of its own hands its documents out (documents._pushed).
Pushed = Callable[[Callable[[Callable[[Document], None]], None]], Iterator[Document]]

MORE, ODD, FULL, DONE = 0, 1, 2, 3  # the C side's enum doc_status
BATCH = 1024  # documents built per call
CHUNK = 1 << 20
_MIN_LENGTH = {False: 25, True: 17}  # a storage record, a WAL record


def available() -> bool:
    return _speedups is not None and hasattr(_speedups, "doc_index_new")


class _Odd(Exception):
    """Records the fast path does not take: the careful path reads the source instead."""


class _Feed:
    """A member's bytes, a chunk at a time, handed to a C walker whole records at a time: only a
    record that straddles two chunks is copied, alone."""

    def __init__(self, wal: bool) -> None:
        self.wal = wal
        self._carry = bytearray()

    def _walk(self, buf: bytes | bytearray, pos: int) -> tuple[int, bool]:
        """Walk the whole records of buf from pos; (where it stopped, whether to go on)."""
        raise NotImplementedError

    def feed(self, chunk: bytes | bytearray) -> bool:
        """False once no more bytes are needed."""
        pos = 0
        carry = self._carry
        if carry:
            if len(carry) < 4:
                pos = min(4 - len(carry), len(chunk))
                carry += chunk[:pos]
                if len(carry) < 4:
                    return True
            (length,) = U32.unpack_from(carry)
            if length < _MIN_LENGTH[self.wal] or length > MAX_RECORD_LENGTH:
                raise _Odd
            take = min(length - len(carry), len(chunk) - pos)
            carry += chunk[pos : pos + take]
            pos += take
            if len(carry) < length:
                return True
            end, going = self._walk(carry, 0)
            if end != length:
                raise _Odd
            self._carry = bytearray()
            if not going:
                return False
        end, going = self._walk(chunk, pos)
        if not going:
            return False
        self._carry = bytearray(chunk[end:])
        return True

    def finish(self) -> None:
        if self._carry:  # a torn tail
            raise _Odd


class _IndexFeed(_Feed):
    def __init__(self, index: Any, wal: bool, check_wal: bool = False) -> None:
        super().__init__(wal)
        self._index = index
        self._check = check_wal or not wal

    def _walk(self, buf: bytes | bytearray, pos: int) -> tuple[int, bool]:
        # An archive's verify pass checks every WAL record's CRC itself; storage records' only
        # here (and a data directory's WAL records too: nothing else reads them).
        end, status = _speedups.doc_index_feed(self._index, buf, pos, self.wal, self._check)
        if status != MORE:
            raise _Odd
        return end, True


class _PickFeed(_Feed):
    """``first``: the ordinal of the first record fed (a segment's records follow those before it)."""

    def __init__(self, wanted: bytes, wal: bool, path: object, kind: str = "archive", first: int = 0) -> None:
        super().__init__(wal)
        self._wanted = wanted
        self._path = path
        self._kind = kind
        self._ordinal = first
        self._index = 0
        self.out: list[Document] = []

    @property
    def done(self) -> bool:
        return self._index * 8 >= len(self._wanted)

    def _walk(self, buf: bytes | bytearray, pos: int) -> tuple[int, bool]:
        while True:
            docs, pos, self._ordinal, self._index, status = _speedups.doc_pick(
                buf, pos, self._ordinal, self._wanted, self._index, self.wal, Document, BATCH
            )
            self.out += docs
            if status == DONE:
                return pos, False
            if status == ODD:
                raise FormatError(f"the {self._kind} changed while it was read: a record differs", path=self._path)
            if status == MORE:
                return pos, True


class _Behind:
    """The index is built on a thread of its own, a few chunks behind the verify pass that reads
    them (the C walk lets go of the interpreter's lock): on the second core. One thread, so the
    chunks are walked in the order read."""

    QUEUED = 4  # chunks (a megabyte each) read but not yet walked, at most

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(1, thread_name_prefix="aeroops-documents-index")
        self._pending: deque[Future[bool]] = deque()

    def put(self, walk: Callable[[bytes], bool], chunk: bytes) -> bool:
        """False once a walk found the records unusual."""
        while len(self._pending) >= self.QUEUED:
            if not self._done(self._pending.popleft()):
                return False
        self._pending.append(self._pool.submit(walk, chunk))
        return True

    def finish(self) -> bool:
        while self._pending:
            if not self._done(self._pending.popleft()):
                return False
        return True

    def close(self) -> None:
        for pending in self._pending:
            pending.cancel()
        self._pool.shutdown(wait=True)

    @staticmethod
    def _done(future: Future[bool]) -> bool:
        try:
            future.result()
        except _Odd:
            return False
        return True


@dataclass(frozen=True, slots=True)
class Indexed:
    """An archive's first pass: its verify report and which records win."""

    source: str
    report: VerifyReport | None  # None for a data directory
    storage: bytes  # ordinals of the winning storage records, u64 little-endian, sorted
    wal: bytes  # of the winning WAL records
    counts: dict[str, int]  # live documents per collection (every collection)

    @property
    def expected(self) -> int:
        return (len(self.storage) + len(self.wal)) // 8


def _trusted(
    feeds: Iterable[_Feed],
    odd: list[bool],
    source: object,
    report: VerifyReport,
    refuse: Callable[[object, VerifyReport], None],
) -> bool:
    """Whether a fast first pass may be believed: every feed ended on a whole record and none
    met anything odd. Only then is the report's damage refused: otherwise the careful path reads
    the source again and names a damaged record, not only its member's CRC."""
    try:
        for feed in feeds:
            feed.finish()
    except _Odd:
        return False
    if odd:
        return False
    refuse(source, report)
    return True


def _indexed_pass(
    source: str | os.PathLike[str],
    feed_for: Callable[[str], _Feed],
    *,
    progress: ProgressCallback,
    ops: FileOps,
    identities: IdentityFiles | None,
    refuse: Callable[[object, VerifyReport], None],
) -> VerifyReport | None:
    """The verify pass of an archive, its storage and WAL members' bytes walked by the feed
    ``feed_for(name)`` makes, a few chunks behind on a thread of their own: its report when the
    walk may be believed (``refuse`` has raised for its damage), None when the archive's records
    need the careful path."""
    from aeroops.executor.audit import stream_archive

    feeds: dict[str, _Feed] = {}
    odd: list[bool] = []
    behind = _Behind()

    def data_sink(name: str, size: int) -> Callable[[bytes], None] | None:
        if name not in (STORAGE, WAL_LOG) or odd:
            return None
        if name in feeds or (name == STORAGE and WAL_LOG in feeds):
            odd.append(True)  # a second member, or storage after the WAL: the careful path judges it
            return None
        feed = feeds[name] = feed_for(name)

        def tee(chunk: bytes) -> None:
            if not odd and not behind.put(feed.feed, chunk):
                odd.append(True)

        return tee

    try:
        report = stream_archive(
            source, data_sink=data_sink, progress=progress, ops=ops, identities=identities, sidecar=False
        )
        if not behind.finish():
            odd.append(True)
    finally:
        behind.close()
    return report if _trusted(feeds.values(), odd, source, report, refuse) else None


def index_archive(
    source: str | os.PathLike[str],
    collections: set[str] | None,
    *,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
    identities: IdentityFiles | None,
    refuse: Callable[[object, VerifyReport], None],
) -> Indexed | None:
    """The first pass over an archive; None when its records need the careful path. ``refuse``
    raises for a report whose damage makes the documents untrustworthy."""
    index = _speedups.doc_index_new()
    report = _indexed_pass(
        source,
        lambda name: _IndexFeed(index, name == WAL_LOG),
        progress=progress,
        ops=ops,
        identities=identities,
        refuse=refuse,
    )
    if report is None:
        return None
    storage, wal, counts = _speedups.doc_index_winners(index, collections)
    return Indexed(str(source), report, storage, wal, counts)


def pick_documents(
    indexed: Indexed,
    *,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
    identities: IdentityFiles | None,
    refuse: Callable[[object, VerifyReport], None],
    pushed: Pushed,
) -> Iterator[Document]:
    """The second pass: the winning documents, storage's first, each side in its order."""
    members = None if is_url(indexed.source) else _plain_members(indexed.report)
    if members is None:  # layered, or in a bucket: streamed again
        return pushed(lambda emit: _pick_layered(indexed, emit, progress, ops, identities, refuse))
    return _pick_plain(indexed, members, ops, progress)


def _plain_members(report: VerifyReport | None) -> dict[str, tuple[int, int]] | None:
    """(data offset, size) of the storage and WAL members of a plain archive; None when layered."""
    if report is None or report.layers or not report.opened:
        return None
    found: dict[str, tuple[int, int]] = {}
    for member in report.members:
        if member.type == "file" and member.name in (STORAGE, WAL_LOG):
            found[member.name] = (member.data_offset, member.size)
    return found


def _pick_plain(
    indexed: Indexed, members: dict[str, tuple[int, int]], ops: FileOps, progress: ProgressCallback
) -> Iterator[Document]:
    path = Path(indexed.source)
    sides = ((STORAGE, indexed.storage), (WAL_LOG, indexed.wal))
    total = sum(members.get(name, (0, 0))[1] for name, wanted in sides if wanted)
    done = 0
    with ops.open_read(path) as stream:
        for name, wanted in sides:
            if not wanted:
                continue
            if name not in members:
                raise FormatError(f"the archive changed while it was read: {name} is gone", path=path)
            offset, size = members[name]
            stream.seek(offset)
            feed = _PickFeed(wanted, name == WAL_LOG, path)
            for document, read in _picked(stream, size, feed, done, "archive", path):
                if document is None:  # a chunk read
                    done = read
                    progress(Progress("documents", "read the documents", 1, 1, done, total))
                else:
                    yield document


def _pick_layered(
    indexed: Indexed,
    emit: Callable[[Document], None],
    progress: ProgressCallback,
    ops: FileOps,
    identities: IdentityFiles | None,
    refuse: Callable[[object, VerifyReport], None],
) -> None:
    from aeroops.executor.audit import stream_archive

    def data_sink(name: str, size: int) -> Callable[[bytes], None] | None:
        wanted = {STORAGE: indexed.storage, WAL_LOG: indexed.wal}.get(name)
        if not wanted:
            return None
        feed = _PickFeed(wanted, name == WAL_LOG, indexed.source)
        going = [True]

        def tee(chunk: bytes) -> None:
            if not going[0]:
                return
            try:
                going[0] = feed.feed(chunk)
            except _Odd:
                raise FormatError(
                    "the archive changed while it was read: a record differs", path=indexed.source
                ) from None
            for document in feed.out:
                emit(document)
            feed.out = []

        return tee

    report = stream_archive(
        indexed.source, data_sink=data_sink, progress=progress, ops=ops, identities=identities, sidecar=False
    )
    refuse(indexed.source, report)


class _MatchFeed(_Feed):
    def __init__(self, key: tuple[bytes, bytes], wal: bool) -> None:
        super().__init__(wal)
        self._key = key
        self.last: tuple[bool, Document | None] | None = None  # (deleted, document) of the key's last record

    def _walk(self, buf: bytes | bytearray, pos: int) -> tuple[int, bool]:
        end, status, matches = _speedups.doc_match(buf, pos, self.wal, *self._key, not self.wal, Document)
        if status != MORE:
            raise _Odd
        if matches:
            self.last = matches[-1]
        return end, True


def find_in_archive(
    source: str | os.PathLike[str],
    key: tuple[str, str],
    *,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
    identities: IdentityFiles | None,
    refuse: Callable[[object, VerifyReport], None],
) -> tuple[Document | None, VerifyReport] | None:
    """The document ``key`` of an archive after AeroDB's boot rules (its last WAL record if the
    WAL has one, else its last storage record; a delete or tombstone: None), in one pass that
    builds nothing for any other key; None when the records need the careful path."""
    from aeroops.executor.audit import stream_archive

    feeds: dict[str, _MatchFeed] = {}
    odd: list[bool] = []
    wanted = (key[0].encode("utf-8", "surrogatepass"), key[1].encode("utf-8", "surrogatepass"))

    def data_sink(name: str, size: int) -> Callable[[bytes], None] | None:
        if name not in (STORAGE, WAL_LOG) or odd:
            return None
        if name in feeds or (name == STORAGE and WAL_LOG in feeds):
            odd.append(True)  # a second member, or storage after the WAL: the careful path judges it
            return None
        feed = feeds[name] = _MatchFeed(wanted, name == WAL_LOG)

        def tee(chunk: bytes) -> None:
            if not odd:
                try:
                    feed.feed(chunk)
                except _Odd:
                    odd.append(True)

        return tee

    report = stream_archive(
        source, data_sink=data_sink, progress=progress, ops=ops, identities=identities, sidecar=False
    )
    if not _trusted(feeds.values(), odd, source, report, refuse):
        return None
    last = next((f.last for f in (feeds.get(WAL_LOG), feeds.get(STORAGE)) if f is not None and f.last), None)
    return (None if last is None else last[1]), report


@dataclass(frozen=True, slots=True)
class IndexedDir:
    """A data directory's first pass: which records win, and the files' sizes when it began (a
    WAL AeroDB still appends to is read up to that size, as the careful path does)."""

    indexed: Indexed
    files: tuple[tuple[Path, int, bool], ...]  # (path, size, is the WAL), storage first


def index_datadir(
    root: Path,
    storage: Path,
    wal: Path,
    collections: set[str] | None,
    *,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
) -> IndexedDir | None:
    """The first pass over a data directory (``storage``, then ``wal`` when it exists, each up to
    its size when opened), every record's CRC checked; None when its records need the careful
    path (anything unusual, a torn WAL tail included). OSError as the careful path's."""
    files: list[tuple[Path, int, bool]] = []
    index = _speedups.doc_index_new()
    with contextlib.ExitStack() as opened:
        streams = []
        for path, is_wal in ((wal, True), (storage, False)):  # opened in the careful path's order
            if is_wal and not ops.exists(path):
                continue
            stream = opened.enter_context(ops.open_read(path))
            streams.append((path, stream, is_wal))
        streams.sort(key=lambda item: item[2])  # storage's records are indexed first
        total = sum(ops.fstat(stream).st_size for _, stream, _ in streams)
        done = 0
        progress(Progress("read", "read the data directory", 1, 1, 0, total))
        for path, stream, is_wal in streams:
            size = ops.fstat(stream).st_size
            files.append((path, size, is_wal))
            feed = _IndexFeed(index, is_wal, check_wal=True)
            left = size
            try:
                while left:
                    chunk = stream.read(min(CHUNK, left))
                    if not chunk:
                        return None  # shorter than it was: the careful path says what
                    left -= len(chunk)
                    done += len(chunk)
                    progress(Progress("read", "read the data directory", 1, 1, done, total))
                    feed.feed(chunk)
                feed.finish()
            except _Odd:
                return None
    winners, wal_winners, counts = _speedups.doc_index_winners(index, collections)
    return IndexedDir(Indexed(str(root), None, winners, wal_winners, counts), tuple(files))


def _picked(
    stream: Any, size: int, feed: _PickFeed, done: int, kind: str, source: object
) -> Iterator[tuple[Document | None, int]]:
    """The documents ``feed`` picks from the next ``size`` bytes of ``stream``, and after each
    chunk a None with the bytes read so far (from ``done``), for progress. Every wanted record
    must be found: else the ``kind`` changed since the first pass."""
    left = size
    going = True
    while going and left:
        chunk = stream.read(min(CHUNK, left))
        if not chunk:
            break
        left -= len(chunk)
        done += len(chunk)
        try:
            going = feed.feed(chunk)
        except _Odd:
            raise FormatError(f"the {kind} changed while it was read: a record differs", path=source) from None
        yield None, done
        for document in feed.out:
            yield document, done
        feed.out = []
    if not feed.done:
        raise FormatError(f"the {kind} changed while it was read: records are missing", path=source)


def pick_datadir(found: IndexedDir, *, ops: FileOps, progress: ProgressCallback = no_progress) -> Iterator[Document]:
    """The second pass over a data directory: the winning documents, storage's first."""
    indexed = found.indexed
    wanted = {False: indexed.storage, True: indexed.wal}
    total = sum(size for _, size, is_wal in found.files if wanted[is_wal])
    done = 0
    for path, size, is_wal in found.files:
        if not wanted[is_wal]:
            continue
        feed = _PickFeed(wanted[is_wal], is_wal, indexed.source, "data directory")
        with ops.open_read(path) as stream:
            for document, read in _picked(stream, size, feed, done, "data directory", indexed.source):
                if document is None:  # a chunk read
                    done = read
                    progress(Progress("documents", "read the documents", 1, 1, done, total))
                else:
                    yield document


# --- a point in time: a base archive and the WAL segments after it ------------------------------


class _WalFeed(_Feed):
    """A point in time's WAL (`doc_index_wal`): sequences from ``expected``, records up to
    ``upto`` indexed (when ``index_them``), those up to ``crc_upto`` folded into ``crc``; the
    record after ``upto`` checked and the walk ended (later chunks ignored)."""

    def __init__(
        self, index: Any, expected: int, upto: int, *, index_them: bool, crc_upto: int, crc: int, check: bool
    ) -> None:
        super().__init__(True)
        self._index = index
        self.expected = expected
        self._upto = upto
        self._index_them = index_them
        self._crc_upto = min(crc_upto, upto)
        self.crc = crc
        self._check = check
        self.stopped = False

    @property
    def reached(self) -> int:
        """The last sequence walked up to ``upto`` (first - 1: none)."""
        return min(self.expected - 1, self._upto)

    def feed(self, chunk: bytes | bytearray) -> bool:
        return not self.stopped and super().feed(chunk)

    def _walk(self, buf: bytes | bytearray, pos: int) -> tuple[int, bool]:
        end, self.expected, self.crc, status = _speedups.doc_index_wal(
            self._index, buf, pos, self.expected, self._upto, self._index_them, self._crc_upto, self.crc, self._check
        )
        if status == DONE:
            self.stopped = True
            return end, False
        if status != MORE:
            raise _Odd
        return end, True


@dataclass(frozen=True, slots=True)
class IndexedPoint:
    """A point in time's first pass: the base archive's (its storage's winners, and its own WAL's
    when the plan takes no segment) and, per segment the plan reads, where it is, the ordinal of
    its first record among the WAL records and the winners among them."""

    base: Indexed
    segments: tuple[tuple[Path | str, int, int, bytes], ...]  # (location, size, first ordinal, winners)
    counts: dict[str, int]

    @property
    def expected(self) -> int:
        return self.base.expected + sum(len(wanted) for *_, wanted in self.segments) // 8


def index_point(
    plan: PitrPlan,
    collections: set[str] | None,
    *,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
    identities: IdentityFiles | None,
    refuse: Callable[[object, VerifyReport], None],
) -> IndexedPoint | None:
    """The first pass over a restore target, `documents.read_plan`'s reading the fast way: the base
    verified (``refuse`` raises for its damage), its storage indexed, then its own WAL's records
    1..plan.base_records, or the segments' records up to each one's ``upto``, every record's CRC
    and sequence checked, and the base's WAL and the segments checked to be one history (the same
    running CRC over the shared records). None when anything needs the careful path: unusual
    records, a file that cannot be read, a history that differs (that path names each)."""
    from aeroops.executor.remote_wal import in_folder, open_location

    base = in_folder(plan.folder, plan.base.file)
    index = _speedups.doc_index_new()
    segments = bool(plan.segments)
    # The base's WAL: records 1..base_records indexed, or 1..plan.sequence only folded into the CRC
    # the segments' records must match.
    upto = plan.sequence if segments else plan.base_records
    wal = _WalFeed(index, 1, upto, index_them=not segments, crc_upto=upto if segments else 0, crc=0, check=False)
    storage = _IndexFeed(index, False)
    report = _indexed_pass(
        base,
        lambda name: wal if name == WAL_LOG else storage,
        progress=progress,
        ops=ops,
        identities=identities,
        refuse=refuse,
    )
    if report is None or (not segments and wal.reached < upto):
        return None
    last_of_base, shared = wal.reached, wal.crc
    ordinal = 0
    placed: list[tuple[Path | str, int, int, int]] = []  # (location, size, first ordinal, records)
    crc = 0
    for use in plan.segments:
        where = in_folder(plan.folder, use.segment.file)
        first = use.segment.name.first
        feed = _WalFeed(index, first, use.upto, index_them=True, crc_upto=last_of_base, crc=crc, check=True)
        try:
            with open_location(where, ops, use.segment.size) as stream:
                while not feed.stopped and (chunk := stream.read(CHUNK)):
                    feed.feed(chunk)
            feed.finish()
        except (OSError, _Odd):
            return None
        if feed.reached < use.upto:
            return None
        crc = feed.crc
        placed.append((where, use.segment.size, ordinal, use.upto - first + 1))
        ordinal += use.upto - first + 1
    if segments and crc != shared:
        return None  # not one history: the careful path refuses, naming both
    winners, wal_winners, counts = _speedups.doc_index_winners(index, collections)
    if not segments:
        return IndexedPoint(Indexed(str(base), report, winners, wal_winners, counts), (), counts)
    ordinals = memoryview(wal_winners).cast("Q")
    split = []
    for where, size, start, records in placed:
        low, high = bisect.bisect_left(ordinals, start), bisect.bisect_left(ordinals, start + records)
        split.append((where, size, start, wal_winners[low * 8 : high * 8]))
    return IndexedPoint(Indexed(str(base), report, winners, b"", counts), tuple(split), counts)


def pick_point(
    found: IndexedPoint,
    *,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
    identities: IdentityFiles | None,
    refuse: Callable[[object, VerifyReport], None],
    pushed: Pushed,
) -> Iterator[Document]:
    """The second pass over a restore target: the base's winning documents (storage's, then its
    own WAL's), then the segments', each in its order."""
    from aeroops.executor.remote_wal import open_location

    yield from pick_documents(
        found.base, progress=progress, ops=ops, identities=identities, refuse=refuse, pushed=pushed
    )
    for where, size, start, wanted in found.segments:
        if not wanted:
            continue
        feed = _PickFeed(wanted, True, where, "segment", first=start)
        with open_location(where, ops, size) as stream:
            for document, _ in _picked(stream, size, feed, 0, "segment", where):
                if document is not None:
                    yield document
