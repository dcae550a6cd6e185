"""Point-in-time restore: describe the folder, plan (`aeroops.core.pitr`), then the same verified,
crash-safe restore as an archive's (`aeroops.executor.restore.restore`) with the WAL the plan
names in place of the archive's: the base's own records cut after the target, or the segments'
records 1..N, each segment checked against its sidecar and its name as it is copied, and the
result checked against the base's own WAL (one history, not two).

`describe_folder` is also what inventory, check, verify and prune read the WAL archive with.
"""

from __future__ import annotations

import io
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from aeroops.core.inventory import read_leading_manifest
from aeroops.core.logical import LogicalStateBuilder, diff, missing_schemas
from aeroops.core.pitr import (
    BaseBackup,
    FolderDescription,
    PitrPlan,
    PitrRefusal,
    SegmentInfo,
    Target,
    WalArchiveReport,
    WalFreshness,
    plan_point_in_time,
    wal_archive_report,
    wal_freshness,
)
from aeroops.core.results import RestoreResult
from aeroops.core.verify_report import VerifyReport
from aeroops.core.wal_archive import TAIL_CHECK
from aeroops.errors import (
    Code,
    Finding,
    FormatError,
    RestoreCorruptionError,
    RestoreError,
    UsageError,
)
from aeroops.executor.audit import ARCHIVE_SUFFIX, read_sidecar, verify_archive
from aeroops.executor.drill import datadir_logical_state, datadir_schemas
from aeroops.executor.fileops import FileOps, logged_cleanup
from aeroops.executor.location import is_url, local_path
from aeroops.executor.remote_wal import folder_refusal, in_folder, list_files, location_name, open_location
from aeroops.executor.restore import restore
from aeroops.formats.checksum import crc32
from aeroops.formats.framing import U32
from aeroops.formats.layout import snapshot_folder
from aeroops.formats.segment import looks_like_segment, parse_segment_name
from aeroops.formats.sidecar import SUFFIXES
from aeroops.formats.storage import iter_storage
from aeroops.formats.wal import iter_wal, iter_wal_batches
from aeroops.formats.wal_tally import WalTally, tally_wal
from aeroops.hashing import Digest
from aeroops.progress import ProgressCallback, no_progress

READ_CHUNK = 1 << 20


# --- describing the folder ------------------------------------------------------------------------


def describe_folder(
    folder: Path | str, *, check_segments: bool = True, verify_bases: bool = False, ops: FileOps
) -> FolderDescription:
    """The base backups (``*.tar``) and WAL segments of ``folder``.

    check_segments: read every segment whole (digest against its sidecar, records against its
    name); else only list them. verify_bases: verify every archive (its WAL's last sequence is
    then known); else read each one's manifest only, and a restore verifies the base it uses.
    A folder URL (``s3://bucket/prefix/``) is listed once and its objects streamed.
    """
    refusal = folder_refusal(folder, ops)
    if refusal is not None:
        raise UsageError(f"the backup folder {refusal}", path=Path(folder))
    root = folder if isinstance(folder, str) and is_url(folder) else str(Path(folder))
    bases: list[BaseBackup] = []
    segments: list[SegmentInfo] = []
    strays: list[str] = []
    files = list_files(root, ops)
    # In a bucket the listing says which sidecars exist: an unchecked segment costs no GET.
    listed = {name for name, _ in files} if is_url(root) else None
    for file_name, size in files:
        path = in_folder(root, file_name)
        if file_name.endswith(ARCHIVE_SUFFIX):
            base = _describe_base(path, verify_bases, ops, size)
            if base is not None:
                bases.append(base)
        elif looks_like_segment(file_name):
            name = parse_segment_name(file_name)
            if name is None:
                strays.append(file_name)
                continue
            if listed is not None and not check_segments:
                sidecar = any(file_name + suffix in listed for suffix in SUFFIXES.values())
                segments.append(SegmentInfo(file_name, name, size, sidecar))
                continue
            segments.append(_describe_segment(path, size, check_segments, ops))
    return FolderDescription(root, tuple(bases), tuple(segments), tuple(strays))


def _describe_base(path: Path | str, verify: bool, ops: FileOps, size: int | None = None) -> BaseBackup | None:
    if verify:
        report = verify_archive(path, ops=ops)
        manifest = report.backup_manifest
        if manifest is None:
            return None
        first_error = next((f.message for f in report.findings if f.severity in ("ERROR", "FATAL")), "")
        return BaseBackup(
            location_name(path),
            manifest.snapshot_id,
            manifest.created_at,
            report.wal_last_sequence or 0,
            report.ok,
            first_error,
        )
    try:
        with open_location(path, ops, size, head=True) as stream:
            manifest = read_leading_manifest(stream, name=location_name(path))
    except (OSError, FormatError):
        return None  # not a base anything can start from; inventory says why
    return BaseBackup(location_name(path), manifest.snapshot_id, manifest.created_at, None, True)


def _describe_segment(path: Path | str, size: int, check: bool, ops: FileOps) -> SegmentInfo:
    if not check:
        name = parse_segment_name(location_name(path))
        assert name is not None
        digest, findings = read_sidecar(path, ops)
        return SegmentInfo(location_name(path), name, size, digest is not None or _sidecar_unreadable(findings))
    return _read_segment(path, size, ops)[0]


def _sidecar_unreadable(findings: list[Finding] | tuple[Finding, ...]) -> bool:
    return any(f.code is Code.VERIFY_SIDECAR for f in findings)


def _read_segment(
    path: Path | str, size: int, ops: FileOps, take: Callable[[bytes], None] | None = None, upto: int | None = None
) -> tuple[SegmentInfo, int | None]:
    """The segment read whole and judged (digest against its sidecar, records against its name),
    and where record ``upto`` ends in it; its bytes up to there also go to ``take``."""
    name = parse_segment_name(location_name(path))
    assert name is not None
    digest, findings = read_sidecar(path, ops)
    sidecar = digest is not None or _sidecar_unreadable(findings)
    damage = None
    last_crc = None
    end = None
    try:
        with open_location(path, ops, size) as stream:
            checked = _SegmentReader(ops, stream, digest, take)
            damage = checked.check(name.first, name.last, upto=upto)
            last_crc = checked.last_crc
            end = checked.ends.get(upto) if upto is not None else None
    except OSError as exc:
        damage = f"cannot be read: {exc.strerror or exc}"
    if damage is None and findings and digest is None and sidecar:
        damage = findings[0].message
    return SegmentInfo(location_name(path), name, size, sidecar, True, damage, last_crc), end


class _SegmentReader:
    """A segment read whole: its digest, its records' framing and sequences; optionally its
    bytes up to the end of record ``upto`` (once that is known: a chunk read before may go
    further) handed to ``take`` (a restore's WAL)."""

    def __init__(
        self, ops: FileOps, stream: BinaryIO, expected_digest: str | None, take: Callable[[bytes], None] | None = None
    ) -> None:
        self._ops, self._stream, self._take = ops, stream, take
        self._expected = expected_digest
        self._hash = Digest(expected_digest.split(":")[0]) if expected_digest else None  # type: ignore[arg-type]
        self._tail = b""
        self._position = 0
        self._stop: int | None = None
        self.ends: dict[int, int] = {}
        self.last_crc: int | None = None

    def read(self, n: int = -1, /) -> bytes:
        data = self._ops.read(self._stream, READ_CHUNK if n < 0 else n)
        if data:
            if self._hash is not None:
                self._hash.update(data)
            if self._take is not None and (self._stop is None or self._position < self._stop):
                self._take(data if self._stop is None else data[: self._stop - self._position])
            self._position += len(data)
            self._tail = data[-4:] if len(data) >= 4 else (self._tail + data)[-4:]
        return data

    def check(self, first: int, last: int, *, upto: int | None = None) -> str | None:
        """None when the segment holds records first..last exactly and matches its sidecar;
        else what is wrong. ``upto``: remember where record ``upto`` ends (`ends`)."""
        count, seen_last = 0, None
        try:
            for batch in iter_wal_batches(self, first_sequence=first):
                count += len(batch)
                seen_last = batch[-1].sequence
                if upto is not None and batch[0].sequence <= upto <= batch[-1].sequence:
                    record = batch[upto - batch[0].sequence]
                    self.ends[upto] = self._stop = record.offset + record.length
        except FormatError as exc:
            return f"its records are damaged ({exc.code}: {exc.message})"
        while self.read(READ_CHUNK):
            pass
        if len(self._tail) == 4:
            self.last_crc = U32.unpack(self._tail)[0]
        if (count, seen_last) != (last - first + 1, last):
            held = f"{first}..{seen_last}" if seen_last is not None else "no record"
            return f"its name says records {first}..{last}, it holds {held}"
        if self._hash is not None and self._hash.tagged_digest() != self._expected:
            return "its bytes differ from its sidecar's digest"
        return None


# --- the plan and the WAL it builds -----------------------------------------------------------------


def plan_for(folder: Path | str, target: Target, ops: FileOps) -> tuple[FolderDescription, PitrPlan | PitrRefusal]:
    """Plan on the folder's listing, then read whole the segments the plan uses and plan again
    until every segment it uses has been read: a damaged one (or a broken link, which needs
    the segment before read) is refused as if every segment had been read, without reading
    the segments no target needs. (A restore reads them once, as it builds: `_WalBuilder`.)"""
    description = describe_folder(folder, check_segments=False, ops=ops)
    root = description.folder
    while True:
        plan = plan_point_in_time(description, target)
        if isinstance(plan, PitrRefusal):
            return description, plan
        unread = {u.segment.file: u.segment for u in plan.segments if not u.segment.checked}
        if not unread:
            return description, plan
        checked = {name: _describe_segment(in_folder(root, name), s.size, True, ops) for name, s in unread.items()}
        description = replace(description, segments=tuple(checked.get(s.file, s) for s in description.segments))


@dataclass(frozen=True, slots=True)
class _BaseWal:
    """The WAL the restore extracted (the base's own), scanned up to the target record."""

    size: int
    last: int  # the last sequence read (all of it when ``end`` is None)
    end: int | None  # where the target record ends (None: the WAL ends before it)
    crc: int  # CRC-32 of bytes 0..end


class _WalBuilder:
    """Gives the WAL the restore extracted (the base's own) the plan's records 1..N.

    Where the base's WAL holds record N it is cut there, in place (no segment needs reading;
    the first and last 4 KiB before the cut are compared with the segments' bytes at the same
    offsets, as archive-wal compares a WAL with what it archived). Else the segments are read
    once each, in order: checked against sidecar, name and link; their bytes within the base's
    WAL compared with it (one history), the rest appended up to the cut. A segment found bad
    here is refused as the planner would have refused it read (`plan_point_in_time` again).
    ``plan`` is then what was done."""

    def __init__(self, plan: PitrPlan, description: FolderDescription) -> None:
        self.plan, self.description = plan, description
        self.finder = _WalEndFinder(plan.sequence)  # the restore's wal_observer: fed as it extracts

    def __call__(self, wal: Path, ops: FileOps) -> tuple[int, int]:
        plan = self.plan
        base = self.finder.found(ops.stat(wal).st_size)
        if base is None:  # not fed (or not all of it): read the extracted WAL
            base = _scan_wal(wal, plan.sequence, ops)
        if base.end is not None and (not plan.segments or _witnessed(plan, base, wal, ops)):
            with ops.open_update(wal) as stream:
                ops.truncate(stream, base.end)
                ops.fsync(stream)
            self.plan = replace(plan, base_records=plan.sequence, segments=())
            return base.end, base.crc
        if not plan.segments:
            raise RestoreCorruptionError(
                f"the base backup {plan.base.file}'s WAL ends at record {base.last}, before record {plan.sequence}"
            )
        return self._from_segments(wal, base, ops)

    def _from_segments(self, wal: Path, base: _BaseWal, ops: FileOps) -> tuple[int, int]:
        plan = self.plan
        checked: dict[str, SegmentInfo] = {}
        position = end = 0  # the WAL offset of the next segment's first byte; of the cut
        previous: SegmentInfo | None = None
        with ops.open_update(wal) as out:
            splice = _Splice(ops, out, base.size)
            for use in plan.segments:
                splice.position = position
                info, upto_end = _read_segment(
                    in_folder(plan.folder, use.segment.file), use.segment.size, ops, splice.take, use.upto
                )
                checked[info.file] = info
                linked = previous is None or previous.last_crc is None or info.name.link == previous.last_crc
                if info.damage is not None or not info.sidecar or not linked:
                    raise self._refused(checked, info)
                end = position + (info.size if use.whole or upto_end is None else upto_end)
                position, previous = position + info.size, info
            if splice.differs is not None and splice.differs < min(end, base.size):
                raise RestoreError(
                    f"the base backup {plan.base.file}'s WAL and the segments of timeline {plan.timeline} differ at "
                    f"byte {splice.differs}: they are not one history (another data directory's, or a rewritten "
                    "WAL); nothing was replaced",
                    code=Code.PITR_UNREACHABLE,
                )
            ops.truncate(out, end)
            ops.fsync(out)
        return _size_and_crc(wal, ops)

    def _refused(self, checked: dict[str, SegmentInfo], bad: SegmentInfo) -> RestoreError:
        description = replace(
            self.description, segments=tuple(checked.get(s.file, s) for s in self.description.segments)
        )
        again = plan_point_in_time(description, self.plan.target)
        if isinstance(again, PitrRefusal):
            return refusal_error(again)
        return RestoreCorruptionError(
            f"the segment {bad.file} changed since it was planned: {bad.damage or 'it is not what was planned'}"
        )


class _Splice:
    """A segment's bytes at their WAL offsets (``position``, advanced as they come): within the
    base's WAL compared with it (``differs``: the first offset that differs), past it appended."""

    def __init__(self, ops: FileOps, out: BinaryIO, base_size: int) -> None:
        self._ops, self._out, self._base_size = ops, out, base_size
        self.position = 0
        self.differs: int | None = None

    def take(self, data: bytes) -> None:
        position, size = self.position, len(data)
        within = max(0, min(size, self._base_size - position))
        if within and self.differs is None:
            held = self._ops.pread(self._out.fileno(), within, position)
            if held != data[:within]:
                self.differs = position + next((i for i in range(len(held)) if held[i] != data[i]), len(held))
        if size > within and self.differs is None:
            self._out.seek(position + within)
            self._ops.write(self._out, memoryview(data)[within:])
        self.position += size


def _scan_wal(wal: Path, sequence: int, ops: FileOps) -> _BaseWal:
    """Read the extracted WAL up to record ``sequence`` (its framing, CRCs and sequences from 1),
    keeping the CRC-32 of what it read."""
    size = ops.stat(wal).st_size
    if sequence == 0:
        return _BaseWal(size, 0, 0, 0)
    last = 0
    with ops.open_read(wal) as stream:
        reader = _CrcReader(ops, stream)
        try:
            for batch in iter_wal_batches(reader, path=wal):
                if batch[-1].sequence >= sequence:
                    record = batch[sequence - batch[0].sequence]
                    end = record.offset + record.length
                    return _BaseWal(size, batch[-1].sequence, end, reader.crc_upto(end))
                last = batch[-1].sequence
        except FormatError as exc:
            raise RestoreCorruptionError(
                f"the restored WAL is damaged after record {last}: {exc.message}", path=wal
            ) from None
    return _BaseWal(size, last, None, 0)


class _WalEndFinder:
    """Fed the base's WAL as the restore extracts it (`restore`'s ``wal_observer``): where record
    ``sequence`` ends and the CRC-32 of the bytes up to there, or (the WAL ends before it) its
    last sequence. Each chunk, after the part of a record the one before left, is framed and
    checked as `iter_wal_batches` does (sequences from 1); nothing is read back from the disk,
    where the restore has already pushed the extracted WAL out of the page cache."""

    def __init__(self, sequence: int) -> None:
        self.sequence = sequence
        self.end: int | None = 0 if sequence == 0 else None
        self.crc = 0  # of the bytes before the carried part; once ``end`` is found, of 0..end
        self.size = 0  # bytes fed
        self.last = 0  # the last sequence of the whole records fed
        self.failed = False  # damage: the restore's verification reports it and refuses the archive
        self._carry = b""
        self._base = 0  # the WAL offset of the carried part

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.end is not None or self.failed:
            return
        buf = self._carry + chunk if self._carry else chunk
        # Counted in C, no record built; what follows the record wanted is not looked at.
        tally = tally_wal(io.BytesIO(buf), first_sequence=self.last + 1, tally=WalTally(until=self.sequence))
        if tally.until_end is not None:
            end = tally.until_end
            self.crc, self.end = crc32(memoryview(buf)[:end], self.crc), self._base + end
            return
        if tally.error is not None and tally.error.code is not Code.WAL_TORN_TAIL:
            self.failed = True  # a torn tail here is the next chunk's start
            return
        done = tally.end  # bytes of buf in whole records
        if tally.last is not None:
            self.last = tally.last
        self.crc = crc32(memoryview(buf)[:done], self.crc)
        self._carry, self._base = buf[done:], self._base + done

    def found(self, size: int) -> _BaseWal | None:
        """What was found in a WAL of ``size`` bytes (None: not all of it was fed, or damaged)."""
        if self.failed or self.size != size:
            return None
        if self.end is None and (self._carry or self._base != size):
            return None
        return _BaseWal(size, self.last, self.end, self.crc if self.end is not None else 0)


class _CrcReader:
    """A stream's bytes, with the CRC-32 of every prefix that ends in the last few chunks read
    at hand (a frame reader reads at most a chunk past the record it hands out)."""

    KEEP = 4

    def __init__(self, ops: FileOps, stream: BinaryIO) -> None:
        self._ops, self._stream = ops, stream
        self._chunks: deque[tuple[int, int, bytes]] = deque(maxlen=self.KEEP)  # (offset, CRC before, bytes)
        self._crc = self._position = 0
        self.rereads = 0

    def read(self, n: int = -1, /) -> bytes:
        data = self._ops.read(self._stream, READ_CHUNK if n < 0 else n)
        if data:
            self._chunks.append((self._position, self._crc, data))
            self._crc = crc32(data, self._crc)
            self._position += len(data)
        return data

    def crc_upto(self, end: int) -> int:
        for start, before, data in reversed(self._chunks):
            if start <= end:
                return crc32(memoryview(data)[: end - start], before)
        # Further back than kept (a record longer than the chunks kept): read the prefix again.
        self._stream.seek(0)
        value, left = 0, end
        while left and (chunk := self._ops.read(self._stream, min(left, READ_CHUNK))):
            value, left = crc32(chunk, value), left - len(chunk)
        return value


def _witnessed(plan: PitrPlan, base: _BaseWal, wal: Path, ops: FileOps) -> bool:
    """The base's WAL bytes within `TAIL_CHECK` of its start and of the cut are the segments'
    bytes at the same offsets (the plan's segments are the chain from sequence 1)."""
    assert base.end is not None
    starts, offset = [], 0
    for use in plan.segments:
        starts.append(offset)
        offset += use.segment.size
    if base.end > offset:
        return False
    for start in (0, max(0, base.end - TAIL_CHECK)):
        length = min(TAIL_CHECK, base.end - start)
        if _read_at(ops, wal, start, length) != _segment_bytes(plan, starts, start, length, ops):
            return False
    return True


def _segment_bytes(plan: PitrPlan, starts: list[int], offset: int, length: int, ops: FileOps) -> bytes:
    """Bytes ``offset..offset+length`` of the WAL the plan's segments hold, read from them."""
    found = b""
    for use, start in zip(plan.segments, starts, strict=True):
        stop = start + use.segment.size
        if stop <= offset or start >= offset + length:
            continue
        begin = max(offset, start)
        found += _read_at(
            ops, in_folder(plan.folder, use.segment.file), begin - start, min(stop, offset + length) - begin
        )
    return found


def _read_at(ops: FileOps, path: Path | str, offset: int, length: int) -> bytes:
    try:
        if isinstance(path, str):  # a segment in a bucket: one ranged GET
            from aeroops.executor.objectstore import store_for

            return store_for(path).read_range(path, offset, offset + length)
        with ops.open_read(path) as stream:
            stream.seek(offset)
            return ops.read(stream, length)
    except OSError:
        return b""  # unreadable: not a witness (the full read says why)


def _size_and_crc(path: Path, ops: FileOps) -> tuple[int, int]:
    value, size = 0, 0
    with ops.open_read(path) as stream:
        while chunk := ops.read(stream, READ_CHUNK):
            value = crc32(chunk, value)
            size += len(chunk)
    return size, value


# --- restore, preview, drill ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PitrPreview:
    folder: str
    data_dir: str | None
    plan: PitrPlan | PitrRefusal
    description: FolderDescription
    target_refusal: str | None = None  # why the data directory refuses the restore (serving, missing...)

    @property
    def would_restore(self) -> bool:
        return isinstance(self.plan, PitrPlan) and self.target_refusal is None


@dataclass(frozen=True, slots=True)
class PitrResult:
    plan: PitrPlan
    restore: RestoreResult


def refusal_error(refusal: PitrRefusal) -> RestoreError:
    return RestoreError(refusal.message, code=refusal.code)


def preview_point_in_time(
    folder: Path | str, data_dir: Path | str | None, target: Target, *, create: bool = False, ops: FileOps
) -> PitrPreview:
    """The plan, and (given a data directory) whether it would take the restore: what a dry run
    shows, changing nothing."""
    if data_dir is not None:
        local_path(data_dir, "the data directory")  # refused before the folder is read
    description, plan = plan_for(folder, target, ops)
    refusal = None
    if data_dir is not None and isinstance(plan, PitrPlan):
        from aeroops.core.restore_plan import check_target
        from aeroops.executor.restore_target import describe_target

        refused = check_target(describe_target(data_dir, ops), create=create)
        refusal = None if refused is None else refused.message
    return PitrPreview(str(folder), None if data_dir is None else str(data_dir), plan, description, refusal)


def restore_point_in_time(
    folder: Path | str,
    data_dir: Path | str,
    target: Target,
    *,
    create: bool = False,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
) -> PitrResult:
    """Restore ``data_dir`` to ``target`` from the folder's base backups and WAL segments.

    Planned on the folder's listing: the segments the WAL needs are read once, as it is built
    (a bad one refused then, the data directory untouched), and none when the base's own WAL
    holds the target (the restore verifies the base as it extracts it)."""
    local_path(data_dir, "the data directory")  # refused before the folder is read
    description = describe_folder(folder, check_segments=False, ops=ops)
    plan = plan_point_in_time(description, target)
    if isinstance(plan, PitrRefusal):
        raise refusal_error(plan)
    builder = _WalBuilder(plan, description)
    result = restore(
        in_folder(str(folder), plan.base.file),
        data_dir,
        create=create,
        progress=progress,
        ops=ops,
        wal_builder=builder,
        wal_observer=builder.finder.feed,
    )
    return PitrResult(builder.plan, result)


@dataclass(frozen=True, slots=True)
class PitrDrill:
    """A point-in-time restore rehearsed in a scratch folder: the documents the restored directory
    boots to against those the plan's sources give, read apart."""

    plan: PitrPlan | PitrRefusal
    documents: int = 0
    expected: int = 0
    differences: str = ""
    missing_schemas: str = ""
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return isinstance(self.plan, PitrPlan) and not self.differences and not self.missing_schemas and not self.error


def drill_point_in_time(
    folder: Path | str, target: Target, *, scratch_parent: Path | str | None = None, ops: FileOps
) -> PitrDrill:
    """Restore to ``target`` into a scratch folder, compare, clean up."""
    started = time.monotonic()
    if scratch_parent is not None:
        local_path(scratch_parent, "the scratch folder")
    description, plan = plan_for(folder, target, ops)
    if isinstance(plan, PitrRefusal):
        return PitrDrill(plan, error=refusal_error(plan).finding.__str__())
    scratch = ops.make_temp_dir(None if scratch_parent is None else Path(scratch_parent), "aeroops-pitr-drill-")
    try:
        restored = scratch / "restored"
        builder = _WalBuilder(plan, description)
        restore(
            in_folder(str(folder), plan.base.file),
            restored,
            create=True,
            ops=ops,
            wal_builder=builder,
            wal_observer=builder.finder.feed,
        )
        state = datadir_logical_state(restored, ops=ops)
        expected = _expected_state(plan, restored, ops)
        difference = diff(expected, state)
        missing = missing_schemas(state, datadir_schemas(restored, ops))
        return PitrDrill(
            plan,
            len(state),
            len(expected),
            "" if difference.identical else difference.summary(),
            missing.describe() if missing else "",
            time.monotonic() - started,
        )
    finally:
        with logged_cleanup("removing the drill's scratch folder", scratch):
            ops.remove_tree(scratch)


def _expected_state(plan: PitrPlan, restored: Path, ops: FileOps) -> Any:
    """The plan's documents read from its sources, not from the restored WAL: the snapshot's
    storage, then records 1..N of the segments (or of the base's WAL, as restored)."""
    builder = LogicalStateBuilder()
    with ops.open_read(restored / snapshot_folder(plan.base.snapshot_id) / "storage.dat") as stream:
        for record in iter_storage(stream):
            builder.add_storage(record)
    for record in _plan_records(plan, restored, ops):
        builder.add_wal(record)
    return builder.build()


def _plan_records(plan: PitrPlan, restored: Path, ops: FileOps) -> Iterator[Any]:
    if not plan.segments:
        with ops.open_read(restored / "wal/wal.log") as stream:
            yield from iter_wal(stream)
        return
    for use in plan.segments:
        with open_location(in_folder(plan.folder, use.segment.file), ops, use.segment.size) as stream:
            for record in iter_wal(stream, first_sequence=use.segment.name.first):
                if record.sequence > use.upto:
                    break
                yield record


# --- the WAL archive audited: verify, inventory, check -------------------------------------------------


def is_segment_path(path: Path | str) -> bool:
    """A path ``verify`` takes for a WAL segment: named ``wal-….wal``."""
    return looks_like_segment(location_name(path))


def verify_segment(path: Path | str, ops: FileOps) -> VerifyReport:
    """A segment's verdict, in the shape of an archive's: its digest against its sidecar, its
    records (framing, CRC, sequences) against its name."""
    segment: Path | str = path if isinstance(path, str) and is_url(path) else Path(path)
    name = parse_segment_name(location_name(segment))
    findings: list[Finding] = []
    size = 0
    found = _segment_size(segment, ops) if name is not None else None
    if name is None:
        findings.append(
            Finding.of(Code.SEGMENT_DAMAGED, "named like a WAL segment, but its name does not parse", str(segment))
        )
    elif found is None:
        findings.append(Finding.of(Code.VERIFY_IO, "the segment does not exist or is not a file", str(segment)))
    else:
        size = found
        info = _describe_segment(segment, size, True, ops)
        if not info.sidecar:
            findings.append(
                Finding.of(
                    Code.SEGMENT_NO_SIDECAR, "no digest sidecar beside it: nothing proves it whole", str(segment)
                )
            )
        if info.damage is not None:
            findings.append(Finding.of(Code.SEGMENT_DAMAGED, info.damage, str(segment)))
    first = name.first if name is not None and not findings else None
    last = name.last if name is not None and not findings else None
    return VerifyReport(
        str(segment),
        tuple(findings),
        bytes_read=size,
        wal_record_count=0 if first is None or last is None else last - first + 1,
        wal_first_sequence=first,
        wal_last_sequence=last,
    )


def _segment_size(segment: Path | str, ops: FileOps) -> int | None:
    """The segment's size; None when it is not a file (or no object)."""
    if isinstance(segment, str):
        from aeroops.executor.remote_wal import object_size

        return object_size(segment)
    return ops.stat(segment).st_size if ops.is_file(segment) else None


def wal_archive(folder: Path | str, *, checked: bool = False, ops: FileOps) -> WalArchiveReport:
    """The WAL archive of ``folder`` for inventory: its timelines, problems and coverage
    (``checked``: every segment read whole; else listed, and only names and sidecars judged)."""
    description = describe_folder(folder, check_segments=checked, verify_bases=checked, ops=ops)
    return wal_archive_report(description, checked=checked)


def check_wal(folder: Path | str, max_age: timedelta, *, now: datetime | None = None, ops: FileOps) -> WalFreshness:
    """``check --max-wal-age``: the newest archived segment (read whole, so a damaged one does
    not count: the next newest is tried) against ``max_age``."""
    taken_at = (now or datetime.now(UTC).replace(microsecond=0)).astimezone(UTC)
    description = describe_folder(folder, check_segments=False, ops=ops)
    listed, root = description.segments, description.folder
    for segment in sorted(listed, key=lambda s: (s.name.archived_at, s.name.timeline, s.name.last), reverse=True):
        checked = _describe_segment(in_folder(root, segment.file), segment.size, True, ops)
        if checked.damage is None and checked.sidecar:
            return wal_freshness([checked], max_age, taken_at)
    return wal_freshness([], max_age, taken_at)


__all__ = [
    "PitrDrill",
    "PitrPreview",
    "PitrResult",
    "describe_folder",
    "drill_point_in_time",
    "preview_point_in_time",
    "restore_point_in_time",
]
