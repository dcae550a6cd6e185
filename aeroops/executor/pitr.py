"""Point-in-time restore: describe the folder, plan (`aeroops.core.pitr`), then the same verified,
crash-safe restore as an archive's (`aeroops.executor.restore.restore`) with the WAL the plan
names in place of the archive's: the base's own records cut after the target, or the segments'
records 1..N, each segment checked against its sidecar and its name as it is copied, and the
result checked against the base's own WAL (one history, not two).

`describe_folder` is also what inventory, check, verify and prune read the WAL archive with.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
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
from aeroops.executor.location import is_url
from aeroops.executor.remote_wal import folder_refusal, in_folder, list_files, location_name, open_location
from aeroops.executor.restore import restore
from aeroops.formats.checksum import crc32
from aeroops.formats.framing import U32
from aeroops.formats.layout import snapshot_folder
from aeroops.formats.segment import looks_like_segment, parse_segment_name
from aeroops.formats.sidecar import SUFFIXES
from aeroops.formats.storage import iter_storage
from aeroops.formats.wal import iter_wal, iter_wal_batches
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
    # In a bucket a listing says which sidecars exist: an unchecked segment costs no GET.
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
    file_name = location_name(path)
    name = parse_segment_name(file_name)
    assert name is not None
    digest, findings = read_sidecar(path, ops)
    sidecar = digest is not None or any(f.code is Code.VERIFY_SIDECAR for f in findings)
    if not check:
        return SegmentInfo(file_name, name, size, sidecar)
    damage = None
    last_crc = None
    try:
        with open_location(path, ops, size) as stream:
            checked = _SegmentReader(ops, stream, digest)
            damage = checked.check(name.first, name.last)
            last_crc = checked.last_crc
    except OSError as exc:
        damage = f"cannot be read: {exc.strerror or exc}"
    if damage is None and findings and digest is None and sidecar:
        damage = findings[0].message
    return SegmentInfo(file_name, name, size, sidecar, True, damage, last_crc)


class _SegmentReader:
    """A segment read whole: its digest, its records' framing and sequences; optionally each
    byte also written to ``target`` (a restore's WAL)."""

    def __init__(self, ops: FileOps, stream: BinaryIO, expected_digest: str | None, target: Any = None) -> None:
        self._ops, self._stream, self._target = ops, stream, target
        self._expected = expected_digest
        self._hash = Digest(expected_digest.split(":")[0]) if expected_digest else None  # type: ignore[arg-type]
        self._tail = b""
        self.ends: dict[int, int] = {}
        self.last_crc: int | None = None

    def read(self, n: int = -1, /) -> bytes:
        data = self._ops.read(self._stream, READ_CHUNK if n < 0 else n)
        if data:
            if self._hash is not None:
                self._hash.update(data)
            if self._target is not None:
                self._ops.write(self._target, data)
            self._tail = (self._tail + data)[-4:]
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
                    self.ends[upto] = record.offset + record.length
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
    the segments no target needs."""
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


class _WalBuilder:
    """Writes the plan's WAL where the restore extracted the base's."""

    def __init__(self, plan: PitrPlan) -> None:
        self.plan = plan

    def __call__(self, wal: Path, ops: FileOps) -> tuple[int, int]:
        plan = self.plan
        if not plan.segments:
            return _cut_base_wal(wal, plan.sequence, ops)
        built = wal.with_name(wal.name + ".pitr")
        with ops.create(built, 0o644) as target:
            for use in plan.segments:
                path = in_folder(plan.folder, use.segment.file)
                start = target.tell()
                digest, _ = read_sidecar(path, ops)
                if digest is None:
                    raise RestoreCorruptionError(f"the segment {use.segment.file} has lost its sidecar", path=path)
                with open_location(path, ops, use.segment.size) as stream:
                    reader = _SegmentReader(ops, stream, digest, target)
                    damage = reader.check(use.segment.name.first, use.segment.name.last, upto=use.upto)
                if damage is not None:
                    raise RestoreCorruptionError(
                        f"the segment {use.segment.file} changed since it was planned: {damage}"
                    )
                if not use.whole:
                    ops.truncate(target, start + reader.ends[use.upto])
                    target.seek(0, os.SEEK_END)
            ops.fsync(target)
        _same_history(wal, built, plan, ops)
        ops.rename(built, wal)
        return _size_and_crc(wal, ops)


def _cut_base_wal(wal: Path, sequence: int, ops: FileOps) -> tuple[int, int]:
    """The base's own WAL, cut after record ``sequence``: a new file renamed over it."""
    end = 0
    if sequence:
        with ops.open_read(wal) as stream:
            for record in iter_wal(stream):
                if record.sequence == sequence:
                    end = record.offset + record.length
                    break
    built = wal.with_name(wal.name + ".pitr")
    with ops.open_read(wal) as source, ops.create(built, 0o644) as target:
        ops.copy_range(source, target, end)
        ops.fsync(target)
    ops.rename(built, wal)
    return _size_and_crc(wal, ops)


def _same_history(base_wal: Path, built: Path, plan: PitrPlan, ops: FileOps) -> None:
    """The base's own WAL and the segments must tell one history: the shorter is a byte prefix
    of the longer (else the base belongs to another data directory or a rewritten WAL)."""
    offset = 0
    with ops.open_read(base_wal) as a, ops.open_read(built) as b:
        while True:
            left, right = ops.read(a, READ_CHUNK), ops.read(b, READ_CHUNK)
            size = min(len(left), len(right))
            if left[:size] != right[:size]:
                at = offset + next(i for i in range(size) if left[i] != right[i])
                raise RestoreError(
                    f"the base backup {plan.base.file}'s WAL and the segments of timeline {plan.timeline} differ at "
                    f"byte {at}: they are not one history (another data directory's, or a rewritten WAL); nothing "
                    "was replaced",
                    code=Code.PITR_UNREACHABLE,
                )
            if size < READ_CHUNK:
                return
            offset += size


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
    """Restore ``data_dir`` to ``target`` from the folder's base backups and WAL segments."""
    _, plan = plan_for(folder, target, ops)
    if isinstance(plan, PitrRefusal):
        raise refusal_error(plan)
    result = restore(
        in_folder(str(folder), plan.base.file),
        data_dir,
        create=create,
        progress=progress,
        ops=ops,
        wal_builder=_WalBuilder(plan),
    )
    return PitrResult(plan, result)


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
    _, plan = plan_for(folder, target, ops)
    if isinstance(plan, PitrRefusal):
        return PitrDrill(plan, error=refusal_error(plan).finding.__str__())
    scratch = ops.make_temp_dir(None if scratch_parent is None else Path(scratch_parent), "aeroops-pitr-drill-")
    try:
        restored = scratch / "restored"
        restore(in_folder(str(folder), plan.base.file), restored, create=True, ops=ops, wal_builder=_WalBuilder(plan))
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
