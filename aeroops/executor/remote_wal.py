"""WAL segments in object storage: the folder of bases and segments as a URL
(``s3://bucket/prefix/``) as well as a path, and ``archive-wal`` publishing into a bucket.

The readers (`aeroops.executor.pitr`: describe, verify, check, restore, drill) see a folder
through `list_files`, `open_location` and `aeroops.executor.audit.in_folder`, whichever it is.
A segment in a bucket is streamed by ranged GETs with read-ahead
(`aeroops.executor.objectstore.ObjectStore.open_read`), never copied to a local file first.

`archive_wal_remote` is one pass into a bucket, with the local pass's guarantees: the data
directory locked and only read, the archived prefix compared with the WAL (a rewrite is
refused), every record checked. A bucket has no rename, and a multipart upload needs its key
before its first part, so the pass reads the new WAL bytes twice (both from the page cache):
once to find the last whole record (the segment's name), then again into the upload, each
record checked again on the way and the digest taken. The upload completes only after its
sidecar is written, with ``If-None-Match: *``: the segment is in the bucket whole or not at all,
never over another, never without its sidecar. A failed pass aborts its upload and removes its
sidecar; a killed one leaves an upload (aborted by the next run, by its marker) and perhaps a
sidecar without its segment (removed by the next pass, as a local pass's).

Imports fsspec only for a URL: a local folder's run never loads it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypeVar

from aeroops.errors import Code, FormatError, RemoteError, WalArchiveError, WalArchiveIOError, io_error
from aeroops.executor import log
from aeroops.executor.fileops import FileOps, not_a_folder
from aeroops.executor.location import is_url, url_join, url_name
from aeroops.formats.sidecar import DEFAULT, SUFFIXES, Algorithm, render_sidecar

if TYPE_CHECKING:
    from aeroops.core.wal_archive import ArchivedSegment
    from aeroops.executor.objectstore import ObjectStore


T = TypeVar("T")
TimelineReader = Callable[[Path, FileOps], str]


# --- a folder, local or in object storage -------------------------------------------------------


def location_name(location: Path | str) -> str:
    """The file name of a path, or the last part of a URL's key."""
    return url_name(location) if isinstance(location, str) and is_url(location) else Path(location).name


def list_files(folder: Path | str, ops: FileOps) -> list[tuple[str, int]]:
    """The regular files directly in ``folder`` (name, size), sorted by name. A folder URL:
    the objects directly under its prefix (one paginated listing; a bucket that does not
    exist fails with AERO_REMOTE_FAILED naming the URL)."""
    if isinstance(folder, str) and is_url(folder):
        from aeroops.executor.objectstore import store_for

        root = folder if folder.endswith("/") else folder + "/"
        return sorted((url_name(info.url), info.size) for info in store_for(root).list(root, recursive=False))
    found = []
    for entry in ops.scandir(Path(folder)):
        if entry.is_file(follow_symlinks=False):
            found.append((entry.name, entry.stat(follow_symlinks=False).st_size))
    return sorted(found)


def folder_refusal(folder: Path | str, ops: FileOps) -> str | None:
    """Why ``folder`` is no folder to read (a path only: a prefix in a bucket always is one,
    and a missing bucket is said by its listing), or None."""
    if isinstance(folder, str) and is_url(folder):
        return None
    return None if ops.is_dir(Path(folder)) else not_a_folder(Path(folder), ops)


def in_folder(folder: Path | str, name: str) -> Path | str:
    """The file ``name`` of ``folder``: a URL inside a folder URL, else a path."""
    return url_join(folder, name) if isinstance(folder, str) and is_url(folder) else Path(folder) / name


@contextlib.contextmanager
def open_location(
    location: Path | str, ops: FileOps, size: int | None = None, *, head: bool = False
) -> Iterator[BinaryIO]:
    """A file through the FileOps seam, or an object streamed with read-ahead (``size`` saves
    a HEAD when the listing gave it; ``head``: only its start will be read, by small ranged
    GETs without read-ahead, as an inventory reads an archive's manifest)."""
    if isinstance(location, str) and is_url(location):
        from aeroops.executor.objectstore import store_for
        from aeroops.executor.remote_audit import HEAD_CHUNK

        store = store_for(location)
        options = {"chunk": HEAD_CHUNK, "read_ahead": 0} if head else {}
        with store.open_read(location, size, **options) as stream:
            yield stream
        return
    with ops.open_read(Path(location)) as stream:
        yield stream


def object_size(url: str) -> int | None:
    """The size of the object at ``url``; None when there is none."""
    from aeroops.executor.objectstore import store_for

    found = store_for(url).info(url)
    return None if found is None else found.size


# --- archive-wal into a bucket --------------------------------------------------------------------


def list_remote_segments(folder: str) -> list[ArchivedSegment]:
    """`aeroops.executor.archive_wal.list_segments` of a folder URL."""
    from aeroops.core.wal_archive import ArchivedSegment
    from aeroops.formats.segment import parse_segment_name

    found = []
    for name, size in list_files(folder, FileOps()):
        parsed = parse_segment_name(name)
        if parsed is not None:
            found.append(ArchivedSegment(parsed, size))
    return found


def archive_wal_remote(
    data_dir: Path | str,
    folder: str,
    *,
    now: datetime | None = None,
    digest: Algorithm = DEFAULT,
    ops: FileOps,
    read_timeline: TimelineReader,
    result: Callable[..., T],
) -> T:
    """`aeroops.executor.archive_wal.archive_wal` into a folder URL, which calls it with its own
    ``read_timeline`` and ``ArchivePass`` (``result``): this module never imports that one, which
    hands a URL over to it."""
    from aeroops.executor.lock import DirectoryLock, aerodb_serving
    from aeroops.executor.objectstore import store_for

    started = time.monotonic()
    root = Path(data_dir)
    out = folder if folder.endswith("/") else folder + "/"
    if not ops.is_dir(root):
        raise WalArchiveError(f"the data directory {not_a_folder(root, ops)}", path=root)
    if aerodb_serving(root, ops):
        raise WalArchiveError(
            "AeroDB is serving this data directory (.lock is present): a checkpoint could truncate the WAL "
            "under the pass (the rule backups follow); archive while it is stopped",
            path=root,
        )
    store = store_for(out)
    lock = DirectoryLock(root, WalArchiveError, "archive-wal", ops)
    lock.acquire()
    try:
        ops.crash_point("archive-locked")
        fields = _remote_pass(root, out, store, (now or datetime.now(UTC)), digest, ops, read_timeline)
    except RemoteError:
        raise  # AERO_REMOTE_FAILED / AERO_REMOTE_UNAVAILABLE, naming the URL, as a backup's
    except OSError as exc:
        raise io_error(WalArchiveIOError, exc, getattr(exc, "aeroops_operation", None)) from exc
    finally:
        lock.release()
    return result(**fields, seconds=time.monotonic() - started)


def _remote_pass(
    root: Path,
    out: str,
    store: ObjectStore,
    now: datetime,
    digest: Algorithm,
    ops: FileOps,
    read_timeline: TimelineReader,
) -> dict[str, object]:
    """The pass under the lock: the fields of its `ArchivePass` (but its time)."""
    from aeroops.core.wal_archive import ArchivedSegment, PassRefusal, plan_pass
    from aeroops.formats.framing import U32
    from aeroops.formats.layout import WAL
    from aeroops.formats.segment import SegmentName, looks_like_segment, parse_segment_name

    now = now.astimezone(UTC).replace(microsecond=0)
    timeline = read_timeline(root, ops)
    listed = dict(list_files(out, ops))
    _remove_remote_leftovers(store, out, listed, looks_like_segment)
    segments = [ArchivedSegment(n, size) for name, size in listed.items() if (n := parse_segment_name(name))]
    wal = root / WAL
    try:
        wal_size = ops.stat(wal).st_size
    except FileNotFoundError:
        wal_size = 0
    start = plan_pass(timeline, segments, wal_size, now)
    if isinstance(start, PassRefusal):
        raise WalArchiveError(start.message, path=root, code=start.code)
    link = start.link
    for segment_file, seg_offset, wal_offset, length in start.compare:
        archived = store.read_range(url_join(out, segment_file), seg_offset, seg_offset + length)
        with ops.open_read(wal) as stream:
            stream.seek(wal_offset)
            current = ops.read(stream, length)
        if archived != current:
            raise WalArchiveError(
                f"the WAL's bytes {wal_offset}..{wal_offset + length} differ from what {segment_file} archived, "
                f"and checkpoint.json still names timeline {timeline}: the WAL was rewritten under the archive. "
                "Nothing was archived; find out what rewrote it before archiving again (into a new folder)",
                path=wal,
                code=Code.WAL_ARCHIVE_DIVERGED,
            )
        link = U32.unpack_from(archived, len(archived) - 4)[0] if len(archived) >= 4 else link
    notes = []
    if start.new_timeline and start.ended_timelines:
        notes.append(
            f"a checkpoint began timeline {timeline}; timeline {start.ended_timelines[-1]} ends at its last "
            "archived record (any written after the previous pass went with the checkpoint)"
        )

    def passed(
        segment: str | None = None, first: int | None = None, last: int | None = None, end: int = 0
    ) -> dict[str, object]:
        return {
            "data_dir": str(root),
            "folder": out,
            "timeline": timeline,
            "segment": segment,
            "first": first,
            "last": last,
            "records": 0 if first is None or last is None else last - first + 1,
            "bytes": end,
            "archived_at": now,
            "wal_size": wal_size,
            "new_timeline": start.new_timeline,
            "notes": tuple(notes),
        }

    if wal_size == start.offset:
        return passed()
    first, last, end = _scan(ops, wal, start.offset, wal_size, start.first_sequence, None)
    if end == 0:
        notes.append(
            f"{wal_size - start.offset} bytes after the last archived record are not a whole record yet "
            "(a record being written, or a torn tail): left for the next pass"
        )
        return passed()
    assert first is not None and last is not None and link is not None
    name = SegmentName(timeline, first, last, now, link)
    segment = url_join(out, name.file_name)
    sidecar = segment + SUFFIXES[digest]
    sidecar_written = False
    try:
        with store.upload(segment, overwrite=False) as upload:
            hasher = _UploadSink(upload, digest)
            again = _scan(ops, wal, start.offset, start.offset + end, start.first_sequence, hasher)
            if again != (first, last, end) or hasher.written != end:
                raise WalArchiveError(
                    f"the WAL changed while the pass read it (records {first}..{last}, then {again[0]}..{again[1]}): "
                    "nothing was archived",
                    path=wal,
                )
            ops.crash_point("archive-temp-written")
            store.put(sidecar, render_sidecar(hasher.tagged(), archive_name=name.file_name).encode(), overwrite=False)
            sidecar_written = True
            ops.crash_point("archive-sidecar-published")
            upload.commit()
        ops.crash_point("archive-published")
    except FileExistsError:
        _unwind(store, segment, sidecar, sidecar_written)
        raise WalArchiveError(
            f"{name.file_name} (or its sidecar) is already in the archive folder: another pass published these "
            "records; nothing was archived",
            path=None,
        ) from None
    except BaseException:
        _unwind(store, segment, sidecar, sidecar_written)
        raise
    if end < wal_size - start.offset:
        notes.append(f"{wal_size - start.offset - end} bytes after record {last} are not a whole record yet: next pass")
    return passed(name.file_name, first, last, end)


def _unwind(store: ObjectStore, segment: str, sidecar: str, sidecar_written: bool) -> None:
    """After a failed pass: the sidecar it wrote goes, unless its segment is there after all
    (a completion the service did, whose answer was lost)."""
    from aeroops.executor.objectstore import log_failure

    if not sidecar_written:
        return
    with log_failure("removing the sidecar of a failed archive-wal pass", sidecar):
        if store.info(segment) is None:
            store.remove(sidecar)


def _remove_remote_leftovers(store: ObjectStore, out: str, listed: dict[str, int], looks_like_segment: object) -> None:
    """A killed pass's multipart upload (aborted by its marker, as a backup's) and sidecars
    whose segment never got its name. The data directory's lock keeps this host's other
    passes out; two hosts archiving one data directory into one prefix is not a setup."""
    from aeroops.executor.objectstore import log_failure

    for aborted in store.abort_stale_uploads(out):
        log.info("aborted the upload a killed run left for %s", aborted)
    for name in list(listed):
        for suffix in SUFFIXES.values():
            segment = name.removesuffix(suffix)
            if segment != name and looks_like_segment(segment) and segment not in listed:  # type: ignore[operator]
                with log_failure("removing a sidecar whose segment was never published:", url_join(out, name)):
                    store.remove(url_join(out, name))
                    del listed[name]
                    log.info("removed %s: its segment was never published", url_join(out, name))


class _UploadSink:
    """The scanned WAL bytes, hashed and handed to the upload."""

    def __init__(self, upload: object, algorithm: Algorithm) -> None:
        from aeroops.hashing import Digest

        self._upload = upload
        self._hash = Digest(algorithm)
        self.written = 0

    def write(self, data: bytes) -> None:
        self._hash.update(data)
        self._upload.write(data)  # type: ignore[attr-defined]
        self.written += len(data)

    def tagged(self) -> str:
        return self._hash.tagged_digest()


class _Limited:
    """The WAL's bytes from where the stream stands up to ``remaining``; each also handed to
    ``sink`` (None: only read)."""

    def __init__(self, ops: FileOps, source: BinaryIO, remaining: int, sink: _UploadSink | None) -> None:
        self._ops, self._source, self._remaining, self._sink = ops, source, remaining, sink

    def read(self, n: int = -1, /) -> bytes:
        if self._remaining <= 0:
            return b""
        want = self._remaining if n < 0 else min(n, self._remaining)
        data = self._ops.read(self._source, want)
        self._remaining -= len(data)
        if data and self._sink is not None:
            self._sink.write(data)
        return data


def _scan(
    ops: FileOps, wal: Path, offset: int, size: int, first_sequence: int, sink: _UploadSink | None
) -> tuple[int | None, int | None, int]:
    """The first and last sequence of the whole records in the WAL's bytes ``offset..size``,
    and where the last ends (relative to ``offset``; 0: none), each record checked (framing,
    CRC, sequence from ``first_sequence``). A torn tail ends the scan; damage, or a record
    that is not the expected one, refuses the pass as the local pass does."""
    from aeroops.formats.wal import iter_wal_batches

    first = last = None
    end = 0
    with ops.open_read(wal) as source:
        source.seek(offset)
        reader = _Limited(ops, source, size - offset, sink)
        try:
            for batch in iter_wal_batches(reader, path=wal, first_sequence=first_sequence):
                if first is None:
                    first = batch[0].sequence
                last = batch[-1].sequence
                end = batch[-1].offset + batch[-1].length
        except FormatError as exc:
            if exc.code is Code.WAL_TORN_TAIL:
                pass  # a record being appended (or torn): whole records go now, the rest next pass
            elif exc.code is Code.WAL_SEQUENCE and first is None:
                raise WalArchiveError(
                    f"the WAL's record after the archived ones has sequence {exc.sequence}, not {first_sequence}, "
                    "and checkpoint.json names no new checkpoint: the WAL was rewritten under the archive. Nothing "
                    "was archived",
                    path=wal,
                    code=Code.WAL_ARCHIVE_DIVERGED,
                ) from None
            else:
                raise WalArchiveError(
                    f"the WAL is damaged after record {last or first_sequence - 1} ({exc.code}: {exc.message}); "
                    "AeroDB's own boot refuses it too. Nothing was archived by this pass",
                    path=wal,
                    offset=(exc.offset or 0) + offset,
                    code=exc.code,
                ) from None
    return first, last, end


__all__ = [
    "archive_wal_remote",
    "folder_refusal",
    "in_folder",
    "list_files",
    "list_remote_segments",
    "location_name",
    "object_size",
    "open_location",
]
