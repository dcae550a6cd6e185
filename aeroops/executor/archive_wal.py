"""``archive-wal``: copy the WAL records appended since the last pass into a new segment.

One pass: lock the data directory (as a backup does) and share-lock the folder (a prune waits)
→ read ``checkpoint.json`` (the timeline) → list the timeline's segments → stat the WAL →
plan (`aeroops.core.wal_archive.plan_pass`) → compare the archived prefix's first and last
4 KiB with the WAL (a rewrite is refused, never forked) → stream the new bytes into a
temporary file while the WAL reader checks every record (framing, CRC, sequence from the
expected one), cutting after the last whole record (a record being appended waits for the
next pass) → fsync → digest sidecar published first, then the segment renamed to its name
(never over another) → fsync the folder.

AeroDB may be serving the data directory meanwhile (its ``.lock`` present): a WAL archiver runs
beside the live database, as pgBackRest's archive-push runs beside Postgres. aeroops' own lock
still keeps a restore or a second pass away. A checkpoint writes ``checkpoint.json`` before it
truncates the WAL (and again, ``wal_truncated: true``, after): a pass that finds the marker as it
began has read the timeline it names; else it publishes nothing and the next pass starts the new
timeline. The WAL is fsynced before it is read (as a backup does): no record is archived that a
power loss could take back from AeroDB's own WAL.

A kill at any point leaves at most a temporary file (``.wal-…tmp``, removed by the next pass)
or a sidecar without its segment (removed by the next pass): never a segment without its
sidecar, never a torn record, never a record twice (the next pass starts after the last
published segment). The data directory is only read.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aeroops.core.wal_archive import ArchivedSegment, PassRefusal, PassStart, plan_pass
from aeroops.errors import Code, FormatError, WalArchiveError, WalArchiveIOError, io_error
from aeroops.executor.fileops import FileOps, is_within, logged_cleanup, not_a_folder, read_head
from aeroops.executor.location import is_url, local_path
from aeroops.executor.lock import DirectoryLock, FolderLock
from aeroops.formats.framing import U32
from aeroops.formats.layout import CHECKPOINT, WAL
from aeroops.formats.manifests import parse_checkpoint
from aeroops.formats.segment import ORIGIN, SegmentName, looks_like_segment, parse_segment_name
from aeroops.formats.sidecar import DEFAULT, SUFFIXES, Algorithm, render_sidecar, sidecar_path
from aeroops.formats.wal_tally import tally_wal
from aeroops.hashing import BackgroundDigest, Digest

TEMP_PREFIX = ".wal-"
TEMP_SUFFIX = ".tmp"
READ_CHUNK = 1 << 20
DROP_BEHIND = 64 << 20  # bytes written behind which the segment's pages are dropped from the cache

KILL_POINTS = (
    "archive-locked",
    "archive-temp-written",  # the new records are in the temporary file, fsynced
    "archive-sidecar-published",  # the sidecar has its name; the segment not yet
    "archive-published",  # the segment has its name; the folder not yet fsynced
)


@dataclass(frozen=True, slots=True)
class ArchivePass:
    """What one pass did: the segment it published (None: nothing new), and why not more."""

    data_dir: str
    folder: str
    timeline: str
    segment: str | None
    first: int | None
    last: int | None
    records: int
    bytes: int
    archived_at: datetime
    wal_size: int
    new_timeline: bool = False
    notes: tuple[str, ...] = ()
    seconds: float = 0.0


def list_segments(folder: Path, ops: FileOps) -> list[ArchivedSegment]:
    """The segments in ``folder`` whose names parse, with their sizes."""
    found = []
    for entry in ops.scandir(folder):
        name = parse_segment_name(entry.name)
        if name is not None and entry.is_file(follow_symlinks=False):
            found.append(ArchivedSegment(name, entry.stat(follow_symlinks=False).st_size))
    return found


def read_timeline(data_dir: Path, ops: FileOps) -> str:
    """The snapshot id ``checkpoint.json`` names (`ORIGIN` without one)."""
    return _timeline_of(_read_marker(data_dir, ops), data_dir / CHECKPOINT)


def _read_marker(data_dir: Path, ops: FileOps) -> bytes | None:
    """``checkpoint.json``'s bytes (None: there is none)."""
    try:
        return read_head(ops, data_dir / CHECKPOINT, 1 << 16)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise io_error(WalArchiveIOError, exc, "read checkpoint.json") from exc


def _timeline_of(marker: bytes | None, path: Path) -> str:
    """The timeline a marker names. AeroDB's checkpoint writes it with ``wal_truncated: false``,
    truncates the WAL, then writes it again with ``true`` (src/checkpoint/coordinator.rs): until
    then the WAL still holds the previous timeline's records, which must not be archived as the
    new one's."""
    if marker is None:
        return ORIGIN
    try:
        checkpoint = parse_checkpoint(marker, path=path)
    except FormatError as exc:
        raise WalArchiveError(
            f"checkpoint.json does not parse ({exc.message}): the timeline is unknown (a checkpoint writing it "
            "right now? the next pass reads it again)",
            path=path,
        ) from None
    if not checkpoint.wal_truncated:
        raise WalArchiveError(
            f"checkpoint.json names timeline {checkpoint.snapshot_id} but says the WAL is not truncated yet (a "
            "checkpoint under way, or one interrupted before it truncated the WAL): the WAL may still hold the "
            "previous timeline's records. Nothing was archived; the next pass reads it again",
            path=path,
        )
    return checkpoint.snapshot_id


def archive_wal(
    data_dir: Path | str,
    folder: Path | str,
    *,
    now: datetime | None = None,
    digest: Algorithm = DEFAULT,
    ops: FileOps,
) -> ArchivePass:
    """One pass: publish the complete records appended since the last pass as one segment
    (into a folder URL too: `_pass_on_remote`)."""
    started = time.monotonic()
    local_path(data_dir, "the data directory")
    if isinstance(folder, str) and is_url(folder):
        return _archive_remote(Path(data_dir), folder, now, digest, ops, started)
    root, out = Path(data_dir), Path(folder)
    if not ops.is_dir(root):
        raise WalArchiveError(f"the data directory {not_a_folder(root, ops)}", path=root)
    if not ops.is_dir(out):
        raise WalArchiveError(f"the archive folder {not_a_folder(out, ops)}", path=out)
    if is_within(out, root, ops):
        raise WalArchiveError("the archive folder must not be inside the data directory", path=out)
    lock = DirectoryLock(root, WalArchiveError, "archive-wal", ops)
    folder_lock = FolderLock(out, WalArchiveError, exclusive=False, ops=ops)
    lock.acquire()
    try:
        folder_lock.acquire()
        try:
            ops.crash_point("archive-locked")
            result = _pass(root, out, now or datetime.now(UTC), digest, ops)
        finally:
            folder_lock.release()
    except OSError as exc:
        raise io_error(WalArchiveIOError, exc, getattr(exc, "aeroops_operation", None)) from exc
    finally:
        lock.release()
    return replace(result, seconds=time.monotonic() - started)


def _archive_remote(
    root: Path, out: str, now: datetime | None, digest: Algorithm, ops: FileOps, started: float
) -> ArchivePass:
    """`archive_wal` into a folder URL: the data directory's lock as locally; a bucket has no
    folder lock (a prune plans from a fresh listing and removes only what it planned)."""
    from aeroops.errors import RemoteError

    if not ops.is_dir(root):
        raise WalArchiveError(f"the data directory {not_a_folder(root, ops)}", path=root)
    lock = DirectoryLock(root, WalArchiveError, "archive-wal", ops)
    lock.acquire()
    try:
        ops.crash_point("archive-locked")
        result = _pass(root, out if out.endswith("/") else out + "/", now or datetime.now(UTC), digest, ops)
    except RemoteError:
        raise  # AERO_REMOTE_FAILED / AERO_REMOTE_UNAVAILABLE, naming the URL, as a backup's
    except OSError as exc:
        raise io_error(WalArchiveIOError, exc, getattr(exc, "aeroops_operation", None)) from exc
    finally:
        lock.release()
    return replace(result, seconds=time.monotonic() - started)


def _pass(root: Path, out: Path | str, now: datetime, digest: Algorithm, ops: FileOps) -> ArchivePass:
    """One pass, beside a live AeroDB or not. A checkpoint rewrites ``checkpoint.json`` before it
    truncates the WAL, so a pass that finds the marker as it began has read the timeline it
    names; one that finds it changed (before it publishes, or when the WAL looked rewritten or
    damaged) publishes nothing: the next pass starts the new timeline."""
    now = now.astimezone(UTC).replace(microsecond=0)
    marker = _read_marker(root, ops)
    try:
        if isinstance(out, str):
            return _pass_on_remote(root, out, now, digest, ops, marker)
        return _pass_on(root, out, now, digest, ops, marker)
    except WalArchiveError as exc:
        if exc.code is Code.WAL_ARCHIVE_CLOCK or _read_marker(root, ops) == marker:
            raise
        timeline = read_timeline(root, ops)
        return _nothing(root, out, timeline, now, 0, False, [_checkpoint_note(timeline)])


def _checkpoint_note(timeline: str) -> str:
    return (
        f"a checkpoint (timeline {timeline}) ran during the pass: nothing was published, the next pass archives "
        "the new timeline from record 1 (records written after the previous pass went with the checkpoint)"
    )


@dataclass(frozen=True, slots=True)
class _Start:
    """Where a pass picks up, checked against what the folder archived."""

    timeline: str
    wal: Path
    wal_size: int
    plan: PassStart
    link: int | None
    notes: list[str]


def _pass_on(
    root: Path, out: Path, now: datetime, digest: Algorithm, ops: FileOps, marker: bytes | None
) -> ArchivePass:
    timeline = _timeline_of(marker, root / CHECKPOINT)
    _remove_leftovers(out, ops)
    begun = _begin(root, timeline, list_segments(out, ops), lambda f, o, n: _read_range(ops, out / f, o, n), now, ops)
    start, wal, wal_size, link, notes = begun.plan, begun.wal, begun.wal_size, begun.link, begun.notes
    if wal_size == start.offset:
        return _nothing(root, out, timeline, now, wal_size, start.new_timeline, notes)

    temp = out / f"{TEMP_PREFIX}{timeline}-{os.getpid()}{TEMP_SUFFIX}"
    try:
        with ops.create(temp, 0o644) as target:
            first, last, end, tagged = _copy_records(
                ops, wal, start.offset, wal_size, start.first_sequence, target, digest
            )
            if end == 0:
                ops.remove(temp)
                notes.append(
                    f"{wal_size - start.offset} bytes after the last archived record are not a whole record yet "
                    "(a record being written, or a torn tail): left for the next pass"
                )
                return _nothing(root, out, timeline, now, wal_size, start.new_timeline, notes)
            ops.truncate(target, end)
            ops.fsync(target)
        ops.crash_point("archive-temp-written")
        if _read_marker(root, ops) != marker:  # the WAL may have been truncated while it was read
            ops.remove(temp)
            new = read_timeline(root, ops)
            return _nothing(root, out, new, now, wal_size, False, [_checkpoint_note(new)])
        assert first is not None and last is not None and link is not None
        name = SegmentName(timeline, first, last, now, link)
        segment = out / name.file_name
        if tagged is None:
            tagged = _digest_file(ops, temp, digest)
        sidecar = sidecar_path(segment, digest)
        sidecar_temp = out / f"{TEMP_PREFIX}{timeline}-{os.getpid()}{SUFFIXES[digest]}{TEMP_SUFFIX}"
        with ops.create(sidecar_temp, 0o644) as stream:
            ops.write(stream, render_sidecar(tagged, archive_name=segment.name).encode())
            ops.fsync(stream)
        ops.rename_noreplace(sidecar_temp, sidecar)
        ops.crash_point("archive-sidecar-published")
        ops.rename_noreplace(temp, segment)
        ops.crash_point("archive-published")
        ops.fsync_path(out)
    except BaseException:
        for path in (temp, out / f"{TEMP_PREFIX}{timeline}-{os.getpid()}{SUFFIXES[digest]}{TEMP_SUFFIX}"):
            with logged_cleanup("after a failed archive-wal pass, removing", path):
                if ops.exists(path):
                    ops.remove(path)
        raise
    if end < wal_size - start.offset:
        notes.append(f"{wal_size - start.offset - end} bytes after record {last} are not a whole record yet: next pass")
    return ArchivePass(
        str(root), str(out), timeline, segment.name, first, last, last - first + 1, end, now, wal_size,
        start.new_timeline, tuple(notes),
    )  # fmt: skip


def _pass_on_remote(
    root: Path, out: str, now: datetime, digest: Algorithm, ops: FileOps, marker: bytes | None
) -> ArchivePass:
    """`_pass_on` into a folder URL. A multipart upload needs its key before its first part and
    a bucket has no rename, so the new WAL bytes are read twice (the second time from the page
    cache): once to find the last whole record (the segment's name), then into the upload,
    every record checked again and the digest taken. The marker is read again before anything
    is published; then the sidecar, then the segment (`SegmentUpload`: whole or nothing, never
    over another)."""
    from aeroops.executor.remote_wal import SegmentUpload, prepare_remote_folder, read_remote_range

    timeline = _timeline_of(marker, root / CHECKPOINT)
    segments = prepare_remote_folder(out)
    begun = _begin(root, timeline, segments, lambda f, o, n: read_remote_range(out, f, o, n), now, ops)
    start, wal, wal_size, link, notes = begun.plan, begun.wal, begun.wal_size, begun.link, begun.notes
    if wal_size == start.offset:
        return _nothing(root, out, timeline, now, wal_size, start.new_timeline, notes)
    first, last, end, _ = _copy_records(ops, wal, start.offset, wal_size, start.first_sequence, _Discard(), digest)
    if end == 0:
        notes.append(
            f"{wal_size - start.offset} bytes after the last archived record are not a whole record yet "
            "(a record being written, or a torn tail): left for the next pass"
        )
        return _nothing(root, out, timeline, now, wal_size, start.new_timeline, notes)
    assert first is not None and last is not None and link is not None
    name = SegmentName(timeline, first, last, now, link)
    with SegmentUpload(out, name.file_name, digest) as upload:
        again = _copy_records(ops, wal, start.offset, start.offset + end, start.first_sequence, upload, digest)
        if again[:3] != (first, last, end) or again[3] is None:
            raise WalArchiveError(
                f"the WAL changed while the pass read it twice (records {first}..{last}, then {again[0]}..{again[1]}): "
                "nothing was archived",
                path=wal,
            )
        ops.crash_point("archive-temp-written")
        if _read_marker(root, ops) != marker:  # the WAL may have been truncated while it was read
            upload.abort()
            new = read_timeline(root, ops)
            return _nothing(root, out, new, now, wal_size, False, [_checkpoint_note(new)])
        upload.publish(render_sidecar(again[3], archive_name=name.file_name).encode(), ops.crash_point)
    ops.crash_point("archive-published")
    if end < wal_size - start.offset:
        notes.append(f"{wal_size - start.offset - end} bytes after record {last} are not a whole record yet: next pass")
    return ArchivePass(
        str(root), out, timeline, name.file_name, first, last, last - first + 1, end, now, wal_size,
        start.new_timeline, tuple(notes),
    )  # fmt: skip


class _Discard:
    """A target that keeps nothing: the first read of a pass into a bucket."""

    def write(self, data: bytes | memoryview) -> int:
        return len(data)


def _begin(
    root: Path,
    timeline: str,
    segments: list[ArchivedSegment],
    read_archived: Callable[[str, int, int], bytes],
    now: datetime,
    ops: FileOps,
) -> _Start:
    """The pass's plan, the archived prefix compared with the WAL (a rewrite refused), the link
    to the last archived record, and the notes so far."""
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
        archived = read_archived(segment_file, seg_offset, length)
        current = _read_range(ops, wal, wal_offset, length)
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
    return _Start(timeline, wal, wal_size, start, link, notes)


def _nothing(
    root: Path, out: Path | str, timeline: str, now: datetime, wal_size: int, new: bool, notes: list[str]
) -> ArchivePass:
    return ArchivePass(str(root), str(out), timeline, None, None, None, 0, 0, now, wal_size, new, tuple(notes))


def _read_range(ops: FileOps, path: Path, offset: int, length: int) -> bytes:
    with ops.open_read(path) as stream:
        stream.seek(offset)
        return ops.read(stream, length)


class _Tee:
    """The WAL's bytes from ``offset`` up to ``limit``, each also written to ``target`` and
    hashed (on the second core, as verify's digest): the segment gets exactly the bytes the
    reader checked. Every `DROP_BEHIND` bytes the written pages are dropped from the page cache
    (as restore does: allocating fresh cache pages was most of the copy's time)."""

    def __init__(self, ops: FileOps, source: Any, target: Any, remaining: int, hasher: BackgroundDigest) -> None:
        self._ops, self._source, self._target, self._remaining = ops, source, target, remaining
        self.hasher = hasher
        self.written = 0
        self._dropped = 0

    def read(self, n: int = -1, /) -> bytes:
        if self._remaining <= 0:
            return b""
        want = self._remaining if n < 0 else min(n, self._remaining)
        data = self._ops.read(self._source, want)
        self._remaining -= len(data)
        if data:
            self._ops.write(self._target, data)
            self.hasher.update(data)
            self.written += len(data)
            if self.written - self._dropped >= 2 * DROP_BEHIND:
                self._dropped = self.written - DROP_BEHIND
                self._ops.drop_cached(self._target, self._dropped)
        return data


def _copy_records(
    ops: FileOps, wal: Path, offset: int, size: int, first_sequence: int, target: Any, algorithm: Algorithm
) -> tuple[int | None, int | None, int, str | None]:
    """Stream the WAL's bytes ``offset..size`` into ``target``, checking every record; returns
    the first and last sequence, the bytes of whole records (the file is cut there) and their
    digest (None when bytes past the last whole record were read too: hash the cut file)."""
    with ops.open_read(wal) as source, BackgroundDigest(algorithm) as hasher:
        ops.fsync(source)  # as a backup does: what is read up to the size seen is on disk (AeroDB may be serving)
        source.seek(offset)
        tee = _Tee(ops, source, target, size - offset, hasher)
        tally = tally_wal(tee, path=wal, first_sequence=first_sequence)  # every record checked, none built
        first, last, end, exc = tally.first, tally.last, tally.end, tally.error
        if exc is not None:
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
        digest = hasher.tagged_digest() if tee.written == end else None
    return first, last, end, digest


def _digest_file(ops: FileOps, path: Path, algorithm: Algorithm) -> str:
    hasher = Digest(algorithm)
    with ops.open_read(path) as stream:
        while chunk := ops.read(stream, READ_CHUNK):
            hasher.update(chunk)
    return hasher.tagged_digest()


def _remove_leftovers(out: Path, ops: FileOps) -> None:
    """A killed pass's temporary files (theirs: the pid they name is gone) and sidecars whose
    segment never got its name."""
    names = {entry.name for entry in ops.scandir(out)}
    for name in names:
        if name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX):
            pid = name[: -len(TEMP_SUFFIX)].split("-")[-1].split(".")[0]
            if pid.isdigit() and not _alive(int(pid)):
                with logged_cleanup("removing a killed archive-wal pass's", out / name):
                    ops.remove(out / name)
        for suffix in SUFFIXES.values():
            segment = name.removesuffix(suffix)
            if segment != name and looks_like_segment(segment) and segment not in names:
                with logged_cleanup("removing a sidecar whose segment was never published:", out / name):
                    ops.remove(out / name)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process holds the data directory's lock: none of its passes runs
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- --every ------------------------------------------------------------------------------------


@dataclass
class Every:
    """Passes every ``period`` until ``stop`` is set (SIGTERM and SIGINT set it in the CLI)."""

    period: timedelta
    stop: threading.Event = field(default_factory=threading.Event)

    def passes(
        self,
        data_dir: Path | str,
        folder: Path | str,
        run: Callable[..., ArchivePass | None] = archive_wal,
        **options: Any,
    ) -> Iterator[ArchivePass | None]:
        while not self.stop.is_set():
            began = time.monotonic()
            yield run(data_dir, folder, **options)
            self.stop.wait(max(0.0, self.period.total_seconds() - (time.monotonic() - began)))


def stop_on_signals(stop: threading.Event) -> Callable[[], None]:
    """SIGTERM and SIGINT set ``stop`` (a pass under way finishes); returns the undo."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, lambda *_: stop.set())

    def undo() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return undo


__all__ = ["KILL_POINTS", "ArchivePass", "Every", "archive_wal", "list_segments", "read_timeline", "stop_on_signals"]
