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

import contextlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aeroops.core.documents import Document
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
    def __init__(self, wanted: bytes, wal: bool, path: object, kind: str = "archive") -> None:
        super().__init__(wal)
        self._wanted = wanted
        self._path = path
        self._kind = kind
        self._ordinal = 0
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
    from aeroops.executor.audit import stream_archive

    index = _speedups.doc_index_new()
    feeds: dict[str, _IndexFeed] = {}
    odd: list[bool] = []
    behind = _Behind()

    def data_sink(name: str, size: int) -> Callable[[bytes], None] | None:
        if name not in (STORAGE, WAL_LOG) or name in feeds or odd:
            if name in feeds:
                odd.append(True)  # a second storage or WAL member: the careful path judges it
            return None
        feed = feeds[name] = _IndexFeed(index, name == WAL_LOG)

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
    if not _trusted(feeds.values(), odd, source, report, refuse):
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
    pushed: Callable[[Callable[[Callable[[Document], None]], None]], Iterator[Document]],
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
