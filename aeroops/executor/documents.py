"""The documents of an archive or a data directory (read-only), streamed with bounded memory;
their export, the diff of two sources and a document's history (README: Looking inside backups).

Two passes over the source, both through the readers verify and drill use: the first is the
logical state of DESIGN.md §8 (`aeroops.core.logical`, digests only) with the place of each live
document's winning record; the second hands out the body of exactly those records. Memory
follows the number of documents (a key and a few numbers each), never their bytes.

An archive is verified on the first pass; damage that makes its records untrustworthy (tar,
storage or WAL damage, a storage checksum that does not match) refuses with that finding,
while findings that leave the documents readable (a missing schema, no sidecar) do not.
"""

from __future__ import annotations

import base64
import io
import os
import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from aeroops.core.documents import (
    DiffResult,
    Document,
    HistoryEntry,
    boot_listing_line,
)
from aeroops.core.logical import LogicalState, LogicalStateBuilder, place
from aeroops.core.pitr import PitrPlan, PitrRefusal, Target, TargetKind
from aeroops.core.verify_report import VerifyReport
from aeroops.errors import (
    Category,
    Code,
    Finding,
    FormatError,
    OutputError,
    RemoteError,
    Severity,
    UsageError,
    io_error,
    most_severe_first,
)
from aeroops.executor.document_table import SeamWriter
from aeroops.executor.fileops import FileOps, is_within, logged_cleanup, not_a_file
from aeroops.executor.keys import IdentityFiles
from aeroops.executor.location import is_url
from aeroops.formats.checksum import crc32
from aeroops.formats.layout import STORAGE
from aeroops.formats.storage import StorageRecord
from aeroops.formats.wal import DOCUMENT_TYPES, DocumentChange, WalRecord, WalType, decode_payload, iter_wal
from aeroops.progress import Progress, ProgressCallback, no_progress

FORMATS = ("parquet", "jsonl", "csv")
FIELDS_COMPARED = 100_000  # changed documents whose fields a diff compares; past these, counted

ARCHIVE, DATADIR, POINT_IN_TIME = "archive", "data directory", "restore target"
WalSink = Callable[[WalRecord], None]
StorageSink = Callable[[StorageRecord], None]
READ_STEPS = ("read the keys", "read the documents")
BATCH_DOCUMENTS = 1024  # documents handed from the reading thread at a time
BATCH_BYTES = 8 << 20  # or this many body bytes
QUEUED_BATCHES = 4

# Findings that leave an archive's documents readable: about schemas, manifests' form and times,
# the sidecar. Any other ERROR or FATAL finding refuses. (So the documents' passes take no
# digest for the sidecar, `stream_archive(sidecar=False)`: every record has its own CRC.)
_HARMLESS = frozenset(
    {
        Code.VERIFY_SCHEMA_MISSING,
        Code.VERIFY_SCHEMA_UNLISTED,
        Code.VERIFY_SIDECAR,
        Code.VERIFY_CREATED_AT,
        Code.VERIFY_MANIFEST_FORM,
        Code.SCHEMA_INVALID,
    }
)


@dataclass(frozen=True, slots=True)
class PointInTime:
    """A restore target of a folder of base backups and WAL segments as a source: the documents
    AeroDB's boot would list after ``aeroops restore FOLDER --to-sequence N`` (or ``--to-time``,
    ``--latest``), read from the plan's base archive and segments without restoring anything."""

    folder: str
    target: Target

    def __str__(self) -> str:
        return f"{self.folder} at {self.target.describe()}"


Source = str | os.PathLike[str] | PointInTime


def point_in_time(
    folder: str | os.PathLike[str],
    *,
    to_sequence: int | None = None,
    timeline: str | None = None,
    to_time: datetime | str | None = None,
    latest: bool = False,
) -> PointInTime:
    """The source ``restore FOLDER --to-sequence N [--timeline ID]`` (``to_time``, ``latest``)
    would restore: exactly one of ``to_sequence``, ``to_time``, ``latest``."""
    chosen = [to_sequence is not None, to_time is not None, latest]
    if sum(chosen) != 1:
        raise UsageError("name one point in time: to_sequence, to_time or latest")
    if timeline is not None and to_sequence is None:
        raise UsageError("a timeline goes with to_sequence")
    if to_sequence is not None:
        if to_sequence < 0:
            raise UsageError("a sequence is 0 or more")
        return PointInTime(str(folder), Target(TargetKind.SEQUENCE, to_sequence, timeline))
    if to_time is not None:
        from aeroops.formats.ids import parse_user_time

        moment = parse_user_time(to_time) if isinstance(to_time, str) else to_time
        return PointInTime(str(folder), Target(TargetKind.TIME, time=moment))
    return PointInTime(str(folder), Target(TargetKind.LATEST))


def parse_source(text: str, ops: FileOps) -> Source:
    """A source as a command line names it: a path, or ``FOLDER@POINT`` for a restore target of a
    folder of base backups and WAL segments, POINT being ``N`` (record N of the newest timeline),
    ``TIMELINE:N``, ``latest`` or an ISO 8601 time. A path that exists is always a path."""
    folder, at, point = text.rpartition("@")
    if is_url(text):
        from aeroops.executor.remote_sources import is_archive_url, is_folder_url

        if not at or not folder or is_archive_url(text) or not is_folder_url(folder):
            return text  # an object whose key holds an @, or none: reported as one that does not exist
    elif not at or ops.exists(Path(text)) or not folder:
        return text
    elif not ops.is_dir(Path(folder)):
        return text  # not a folder: reported as a path that does not exist
    return point_at(folder, point)


def point_at(folder: str | os.PathLike[str], point: str) -> PointInTime:
    """The restore target POINT of ``folder`` (a folder of base backups and WAL segments), as the
    command line's ``FOLDER@POINT`` names it: ``N`` (record N of the newest timeline),
    ``TIMELINE:N``, ``latest`` or an ISO 8601 time. The Explore panel's point in time."""
    point = point.strip()
    if point == "latest":
        return point_in_time(folder, latest=True)
    numbered = re.fullmatch(r"(?:([^:\-]+):)?([0-9]{1,18})", point)
    if numbered:
        return point_in_time(folder, to_sequence=int(numbered[2]), timeline=numbered[1])
    try:
        return point_in_time(folder, to_time=point)
    except UsageError:
        raise UsageError(
            f"{point!r} is not a point in time: write N, TIMELINE:N, latest or a time such as "
            "2026-12-06T21:04:00Z (FOLDER@N, FOLDER@TIMELINE:N, ... on a command line)",
            path=folder,
        ) from None


@dataclass(frozen=True, slots=True)
class SourceState:
    """A source's logical state, with the archive's verify report (None for a data directory)."""

    source: str
    kind: str  # ARCHIVE, DATADIR or POINT_IN_TIME
    state: LogicalState
    report: VerifyReport | None = None
    identities: IdentityFiles | None = None  # what opened an encrypted archive, for the second pass
    plan: PitrPlan | None = None  # a restore target's plan


def source_kind(source: Source, ops: FileOps) -> str:
    """ARCHIVE for a file, DATADIR for a folder, POINT_IN_TIME; `UsageError` for anything else."""
    if isinstance(source, PointInTime):
        return POINT_IN_TIME
    if is_url(source):
        from aeroops.executor.remote_sources import check_archive_url

        check_archive_url(str(source))
        return ARCHIVE
    path = Path(source)
    if ops.is_dir(path):
        return DATADIR
    if ops.is_file(path):
        return ARCHIVE
    what = "does not exist" if not ops.exists(path) else "is neither an archive nor a folder"
    raise UsageError(f"the source {what}", path=path)


def damage(report: VerifyReport) -> Finding | None:
    """The worst finding that makes an archive's documents untrustworthy, or None."""
    for finding in most_severe_first(report.findings):
        if finding.severity in (Severity.ERROR, Severity.FATAL) and finding.code not in _HARMLESS:
            if finding.code is Code.VERIFY_MISSING_MEMBER and STORAGE not in finding.message:
                continue  # a schema file the manifest lists: the documents are all there
            if finding.code is Code.VERIFY_CHECKSUM and finding.path != STORAGE:
                continue  # a schema file's bytes: the records carry their own CRCs
            if finding.code.category is Category.MANIFEST or finding.code is Code.VERIFY_MANIFEST:
                continue
            return finding
    return None


def read_state(
    source: Source,
    *,
    places: bool = False,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
    identities: IdentityFiles | None = None,
) -> SourceState:
    """The logical state of an archive (verified on the way), a data directory or a restore target."""
    kind = source_kind(source, ops)
    if isinstance(source, PointInTime):
        plan = plan_of(source, ops)
        builder = LogicalStateBuilder(places=places)
        report = read_plan(
            plan, builder.add_wal, builder.add_storage, progress=progress, ops=ops, identities=identities
        )
        return SourceState(str(source), kind, builder.build(), report, identities, plan)
    if kind == DATADIR:
        from aeroops.executor.drill import datadir_logical_state

        try:
            state = datadir_logical_state(Path(source), places=places, ops=ops, progress=progress)
        except FileNotFoundError as error:
            raise UsageError(
                f"not an AeroDB data directory: {Path(str(error.filename)).name} is missing", path=source
            ) from None
        except OSError as error:
            raise UsageError(f"cannot read the data directory: {error.strerror or error}", path=source) from None
        return SourceState(str(source), kind, state)
    from aeroops.executor.audit import stream_archive

    builder = LogicalStateBuilder(places=places)

    def on_wal(record: WalRecord) -> None:
        builder.add_wal(record)  # a payload that does not decode: a finding (refused below)

    report = stream_archive(
        source,
        wal_sink=on_wal,
        storage_sink=builder.add_storage,
        progress=progress,
        ops=ops,
        identities=identities,
        sidecar=False,
    )
    _refuse_damage(source, report)
    return SourceState(str(source), kind, builder.build(), report, identities)


def iter_documents(
    source: Source,
    *,
    collections: Iterable[str] | None = None,
    keys: Iterable[tuple[str, str]] | None = None,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
    identities: IdentityFiles | None = None,
) -> Iterator[Document]:
    """Every live document of ``source`` (an archive, or a data directory: read only), as
    AeroDB's boot would list them, in the order the source holds them; only those of
    ``collections`` and of ``keys`` (``(collection, key)`` pairs) when given.

    Raises `UsageError` for a source that is not one, `FormatError` for a damaged one."""
    _, found = _documents(source, collections, keys, progress, ops, identities)
    yield from found


def _documents(
    source: Source,
    collections: Iterable[str] | None,
    keys: Iterable[tuple[str, str]] | None,
    progress: ProgressCallback,
    ops: FileOps,
    identities: IdentityFiles | None,
) -> tuple[dict[str, int], Iterator[Document]]:
    """The source's live documents per collection (every collection) after the first pass, and
    `iter_documents`' documents. A clean archive is read the fast way (`document_index`)."""
    fast = None if keys is not None else _fast_documents(source, collections, progress, ops, identities)
    if fast is not None:
        return fast
    known = read_state(source, places=True, progress=_step(progress, 0), ops=ops, identities=identities)
    counts = {collection: len(docs) for collection, docs in known.state.documents.items()}
    found = documents_of(known, collections=collections, keys=keys, progress=_step(progress, 1), ops=ops)
    return counts, _coded_read_errors(found, known.kind, str(source))


def _fast_documents(
    source: Source,
    collections: Iterable[str] | None,
    progress: ProgressCallback,
    ops: FileOps,
    identities: IdentityFiles | None,
) -> tuple[dict[str, int], Iterator[Document]] | None:
    """`_documents` the fast way (`document_index`: a clean archive, data directory or restore
    target), or None when the source needs the careful path (unusual records, no C extension)."""
    from aeroops.executor import document_index

    if not document_index.available():
        return None
    chosen = None if collections is None else set(collections)
    if isinstance(source, PointInTime):
        point = document_index.index_point(
            plan_of(source, ops),
            chosen,
            progress=_step(progress, 0),
            ops=ops,
            identities=identities,
            refuse=_refuse_damage,
        )
        if point is None:
            return None
        found_here = document_index.pick_point(
            point, progress=_step(progress, 1), ops=ops, identities=identities, refuse=_refuse_damage, pushed=_pushed
        )
        return point.counts, _counted(found_here, point.expected, POINT_IN_TIME, str(source))
    kind = source_kind(source, ops)
    if kind == ARCHIVE:
        indexed = document_index.index_archive(
            source, chosen, progress=_step(progress, 0), ops=ops, identities=identities, refuse=_refuse_damage
        )
        if indexed is not None:
            picked = document_index.pick_documents(
                indexed,
                progress=_step(progress, 1),
                ops=ops,
                identities=identities,
                refuse=_refuse_damage,
                pushed=_pushed,
            )
            return indexed.counts, _counted(picked, indexed.expected, ARCHIVE, str(source))
    elif kind == DATADIR:
        found = _index_datadir(source, chosen, _step(progress, 0), ops)
        if found is not None:
            picked = document_index.pick_datadir(found, ops=ops, progress=_step(progress, 1))
            return found.indexed.counts, _counted(picked, found.indexed.expected, DATADIR, str(source))
    return None


def _index_datadir(source: Source, collections: set[str] | None, progress: ProgressCallback, ops: FileOps) -> Any:
    """A data directory's fast first pass (`document_index.index_datadir`); None when the careful
    path must read it (unusual records, or a file it cannot read: that path names the problem)."""
    from aeroops.executor import document_index
    from aeroops.formats.layout import DOCUMENTS, WAL

    root = Path(str(source))
    try:
        return document_index.index_datadir(root, root / DOCUMENTS, root / WAL, collections, progress=progress, ops=ops)
    except OSError:
        return None


def documents_of(
    known: SourceState,
    *,
    collections: Iterable[str] | None = None,
    keys: Iterable[tuple[str, str]] | None = None,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
) -> Iterator[Document]:
    """`iter_documents`' second pass, over a source whose state (with places) is known."""
    wanted = _wanted(known.state, collections, keys)
    yield from _counted(_second_pass(known, wanted, progress, ops), len(wanted), known.kind, known.source)


def _counted(found: Iterable[Document], expected: int, kind: str, source: str) -> Iterator[Document]:
    """The documents of a second pass, which must be as many as the first pass found."""
    handed = 0
    for document in _coded_read_errors(found, kind, source):
        handed += 1
        yield document
    if handed != expected:
        raise FormatError(
            f"the {kind} changed while it was read: {expected:,} documents were expected, {handed:,} found",
            path=source,
        )


def _coded_read_errors(found: Iterable[Document], kind: str, source: str) -> Iterator[Document]:
    """``found``, a read failing in it (a file gone or unreadable since the first pass) one coded error."""
    try:
        yield from found
    except OSError as error:  # only ``found`` raises here: nothing is thrown into a documents' reader
        reason = error.strerror or str(error)
        if kind == DATADIR:  # as the first pass says it
            raise UsageError(f"cannot read the data directory: {reason}", path=source) from None
        raise UsageError(f"cannot read {source}: {reason}", path=source) from None  # as audit's reader says it


def find_in_archive(
    source: str | os.PathLike[str],
    key: tuple[str, str],
    *,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
    identities: IdentityFiles | None = None,
) -> tuple[Document | None, str, int]:
    """`find_document` in an archive, with the archive's snapshot id and the last sequence of
    its WAL (where it sits in its timeline's history)."""
    report: list[VerifyReport] = []
    found = find_document(source, key, progress=progress, ops=ops, identities=identities, _report=report)
    manifest = report[0].backup_manifest if report else None
    return found, "" if manifest is None else manifest.snapshot_id, report[0].wal_last_sequence or 0 if report else 0


def find_document(
    source: Source,
    key: tuple[str, str],
    *,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
    identities: IdentityFiles | None = None,
    _report: list[VerifyReport] | None = None,
) -> Document | None:
    """The document ``key`` (``(collection, key)``) of ``source`` after AeroDB's boot rules, or
    None: one pass, the replay fed only that key's records (history reads many archives)."""
    kind = source_kind(source, ops)
    from aeroops.executor import document_index

    if kind == ARCHIVE and document_index.available():
        assert not isinstance(source, PointInTime)
        found = document_index.find_in_archive(
            source, key, progress=progress, ops=ops, identities=identities, refuse=_refuse_damage
        )
        if found is not None:  # else records the careful pass below names
            if _report is not None:
                _report.append(found[1])
            return found[0]
    builder = LogicalStateBuilder(places=True)
    last: list[Document | None] = [None, None]  # the last record of the key in storage, in the WAL

    def on_storage(record: StorageRecord) -> None:
        if (record.collection, record.document_id) == key:
            builder.add_storage(record)
            last[0] = Document(*key, record.schema_id, record.schema_version, record.body)

    def on_wal(record: WalRecord) -> None:
        if record.type not in DOCUMENT_TYPES:
            return
        change = decode_payload(record)  # a payload that does not decode: a finding (refused below)
        if isinstance(change, DocumentChange) and (change.collection, change.document_id) == key:
            builder.add_wal(record, change)
            last[1] = Document(*key, change.schema_id, change.schema_version, change.body)

    read_records(source, on_wal, on_storage, progress=progress, ops=ops, identities=identities, reports=_report)
    where = builder.build().places.get(key)
    return None if where is None else last[where % 2]


def _refuse_damage(source: object, report: VerifyReport) -> None:
    from aeroops.executor.audit import needs_contents  # an encrypted archive unopened: refused

    found = damage(needs_contents(report))
    if found is not None:
        where = f" ({found.where()})" if found.where() else ""
        raise FormatError(
            f"the archive's documents cannot be read: {found.message}{where}", path=source, code=found.code
        )


def read_records(
    source: Source,
    on_wal: Callable[[WalRecord], None],
    on_storage: Callable[[StorageRecord], None],
    *,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
    identities: IdentityFiles | None = None,
    reports: list[VerifyReport] | None = None,
) -> PitrPlan | None:
    """Hand every record of ``source`` to the callbacks (an archive verified on the way and
    refused when damaged, its report appended to ``reports``); a restore target's plan, else None."""
    if isinstance(source, PointInTime):
        plan = plan_of(source, ops)
        read_plan(plan, on_wal, on_storage, progress=progress, ops=ops, identities=identities)
        return plan
    if source_kind(source, ops) == DATADIR:
        from aeroops.executor.drill import read_datadir_records

        try:
            read_datadir_records(Path(source), on_wal, on_storage, ops=ops, progress=progress)
        except FileNotFoundError as error:
            raise UsageError(
                f"not an AeroDB data directory: {Path(str(error.filename)).name} is missing", path=source
            ) from None
        except OSError as error:
            raise UsageError(f"cannot read the data directory: {error.strerror or error}", path=source) from None
        return None
    from aeroops.executor.audit import stream_archive

    report = stream_archive(
        source,
        wal_sink=on_wal,
        storage_sink=on_storage,
        progress=progress,
        ops=ops,
        identities=identities,
        sidecar=False,
    )
    _refuse_damage(source, report)
    if reports is not None:
        reports.append(report)
    return None


def plan_of(source: PointInTime, ops: FileOps) -> PitrPlan:
    """The plan restore would follow to the target; `RestoreError` (AERO_PITR_UNREACHABLE) with
    every reason when the folder cannot reach it."""
    from aeroops.executor.pitr import plan_for, refusal_error
    from aeroops.executor.remote_wal import folder_refusal

    if folder_refusal(source.folder, ops) is not None:
        raise UsageError("a point in time needs the folder of base backups and WAL segments", path=source.folder)
    if is_url(source.folder):
        from aeroops.executor.remote_sources import check_folder_url

        check_folder_url(source.folder)
    _, plan = plan_for(source.folder, source.target, ops)
    if isinstance(plan, PitrRefusal):
        raise refusal_error(plan)
    return plan


def read_plan(
    plan: PitrPlan,
    wal_sink: Callable[[WalRecord], None],
    storage_sink: Callable[[StorageRecord], None],
    *,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
    identities: IdentityFiles | None = None,
) -> VerifyReport:
    """Hand the records of a restore target to the sinks, as restore would put them in place: the
    base archive's snapshot storage (verified on the way, refused when damaged), then its own WAL
    records 1..N, or records 1..N of the plan's segments (read whole by the planner, checked
    record by record here). The segments and the base's own WAL must tell one history, as
    restore checks: their common records are compared (a running CRC, constant memory)."""
    from aeroops.executor.audit import stream_archive
    from aeroops.executor.remote_wal import in_folder, open_location

    base = in_folder(plan.folder, plan.base.file)  # a path, or a URL in a bucket
    shared = [0, 0]  # CRC of the base's records, of the segments' records with the same sequences
    last_of_base = [0]

    def on_base_wal(record: WalRecord) -> None:
        if plan.segments:
            if record.sequence <= plan.sequence:  # the segments hold 1..plan.sequence
                shared[0] = _record_crc(record, shared[0])
                last_of_base[0] = record.sequence
        elif record.sequence <= plan.base_records:
            wal_sink(record)

    report = stream_archive(
        base,
        wal_sink=on_base_wal,
        storage_sink=storage_sink,
        progress=progress,
        ops=ops,
        identities=identities,
        sidecar=False,
    )
    _refuse_damage(base, report)
    for use in plan.segments:
        path = in_folder(plan.folder, use.segment.file)
        try:
            with open_location(path, ops, use.segment.size) as stream:
                for record in iter_wal(stream, path=path, first_sequence=use.segment.name.first):
                    if record.sequence > use.upto:
                        break
                    if record.sequence <= last_of_base[0]:
                        shared[1] = _record_crc(record, shared[1])
                    wal_sink(record)
        except RemoteError:
            raise  # its own code, naming the URL
        except OSError as error:
            raise UsageError(f"cannot read the segment: {error.strerror or error}", path=path) from None
        except FormatError as error:
            raise FormatError(
                f"the segment {use.segment.file} changed since it was planned: {error.message}",
                path=path,
                code=error.code,
            ) from None
    if shared[0] != shared[1]:
        raise FormatError(
            f"the base backup {plan.base.file}'s WAL and the segments of timeline {plan.timeline} differ: they "
            "are not one history (another data directory's, or a rewritten WAL)",
            path=plan.folder,
            code=Code.PITR_UNREACHABLE,
        )
    return report


def _record_crc(record: WalRecord, value: int) -> int:
    return crc32(record.payload, crc32(record.sequence.to_bytes(8, "little") + bytes([record.type]), value))


def _wanted(
    state: LogicalState, collections: Iterable[str] | None, keys: Iterable[tuple[str, str]] | None
) -> dict[int, tuple[str, str]]:
    """Place → (collection, key) of the documents to hand out."""
    chosen = None if collections is None else set(collections)
    if keys is not None:
        return {state.places[k]: k for k in set(keys) if k in state.places and (chosen is None or k[0] in chosen)}
    return {where: k for k, where in state.places.items() if chosen is None or k[0] in chosen}


def _step(progress: ProgressCallback, index: int) -> ProgressCallback:
    step = READ_STEPS[index]

    def report(event: Progress) -> None:
        progress(Progress("documents", step, index + 1, len(READ_STEPS), event.done_bytes, event.total_bytes))

    return report


class _Picker:
    """Counts records as the first pass did and keeps those whose place is wanted."""

    def __init__(self, wanted: dict[int, tuple[str, str]], emit: Callable[[Document], None]) -> None:
        self._wanted = wanted
        self._emit = emit
        self._storage = 0
        self._wal = 0

    def storage(self, record: StorageRecord) -> None:
        where = place(self._storage, wal=False)
        self._storage += 1
        key = self._wanted.get(where)
        if key is not None and key == (record.collection, record.document_id) and not record.tombstone:
            self._emit(Document(key[0], key[1], record.schema_id, record.schema_version, record.body))

    def wal(self, record: WalRecord) -> None:
        where = place(self._wal, wal=True)
        self._wal += 1
        key = self._wanted.get(where)
        if key is None or record.type not in DOCUMENT_TYPES or record.type == WalType.DELETE:
            return
        change = decode_payload(record)
        if isinstance(change, DocumentChange) and key == (change.collection, change.document_id):
            self._emit(Document(key[0], key[1], change.schema_id, change.schema_version, change.body))


def _second_pass(
    known: SourceState, wanted: dict[int, tuple[str, str]], progress: ProgressCallback, ops: FileOps
) -> Iterator[Document]:
    if not wanted:
        return iter(())
    source, identities = known.source, known.identities

    def records(wal: Callable[..., Any], storage: Callable[..., Any]) -> None:
        """One more pass over the source's records, each handed to its sink."""
        if known.plan is not None:
            read_plan(known.plan, wal, storage, progress=progress, ops=ops, identities=identities)
        elif known.kind == DATADIR:
            from aeroops.executor.drill import read_datadir_records

            read_datadir_records(source, wal, storage, ops=ops, progress=progress)
        else:
            from aeroops.executor.audit import stream_archive

            report = stream_archive(
                source,
                wal_sink=wal,
                storage_sink=storage,
                progress=progress,
                ops=ops,
                identities=identities,
                sidecar=False,
            )
            _refuse_damage(source, report)

    def read(emit: Callable[[Document], None]) -> None:
        picker = _Picker(wanted, emit)
        records(picker.wal, picker.storage)

    return _pushed(read)


class _Stopped(BaseException):
    """Raised inside the reading thread once the consumer has gone (BaseException: the readers
    turn a FormatError from a sink into a finding, and must not swallow this)."""


def _pushed(read: Callable[[Callable[[Document], None]], None]) -> Iterator[Document]:
    """The documents a push-style reader hands to its callback, as an iterator: the reader runs
    in a thread, a few batches ahead at most (bounded memory); closing the iterator stops it."""
    batches: queue.Queue[list[Document] | BaseException | None] = queue.Queue(QUEUED_BATCHES)
    stop = threading.Event()
    batch: list[Document] = []
    size = 0

    def put(item: list[Document] | BaseException | None) -> None:
        while True:
            if stop.is_set():
                raise _Stopped
            try:
                batches.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def emit(document: Document) -> None:
        nonlocal batch, size
        batch.append(document)
        size += len(document.body)
        if len(batch) >= BATCH_DOCUMENTS or size >= BATCH_BYTES:
            put(batch)
            batch, size = [], 0

    def run() -> None:
        try:
            read(emit)
            if batch:
                put(batch)
            put(None)
        except _Stopped:
            return
        except BaseException as error:  # handed to the consumer, raised there
            try:
                put(error)
            except _Stopped:
                return

    thread = threading.Thread(target=run, name="aeroops-documents", daemon=True)
    thread.start()
    try:
        while True:
            item = batches.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        stop.set()
        thread.join()


# --- export ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What `export` wrote."""

    source: str
    output: str
    format: str
    documents: int
    bytes: int  # of the file written
    collections: tuple[tuple[str, int], ...]  # documents per collection


def export(
    source: Source,
    output: str | os.PathLike[str],
    *,
    collections: Sequence[str] | None = None,
    format: str | None = None,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
    identities: IdentityFiles | None = None,
) -> ExportResult:
    """Write the documents of ``source`` to ``output``, whole or not at all: a temporary file
    beside it, fsynced, renamed over it. ``format``: parquet, jsonl or csv (default: from the
    output's suffix, else parquet). JSON Lines are AeroDB's boot listing (``key``,
    ``schema_id``, ``schema_version``, ``body`` as JSON text: the body byte for byte), a body
    that is not UTF-8 as ``body_base64``; Parquet and CSV hold ``collection``, ``key``,
    ``schema``, ``version``, ``body`` (Parquet: the bytes), ``note``, then the bodies' fields
    flattened and typed as in the DataFrame (`aeroops.executor.document_table`)."""
    if is_url(output):
        raise UsageError(
            "export writes a local file (its source may be in object storage): name a local path, then copy "
            "it up if need be (aws s3 cp FILE URL)",
            path=output,
        )
    target = Path(output)
    chosen = format or _format_of(target)
    if chosen not in FORMATS:
        raise UsageError(f"format {chosen!r} is not one of {', '.join(FORMATS)}")
    if not ops.is_dir(target.parent):
        raise UsageError("the output's folder does not exist", path=target.parent)
    if (why := not_a_file(target, ops)) is not None:
        raise UsageError(f"the output {why}", path=target)
    if not isinstance(source, PointInTime) and not is_url(source):
        _refuse_writing_into(Path(source), target, ops)
    present, found = _documents(source, collections, None, progress, ops, identities)
    _refuse_missing_collections(collections, present, source)
    tmp = target.parent / f".{target.name}.aeroops-export-{os.getpid()}"
    counts: dict[str, int] = {}

    def counted(docs: Iterable[Document]) -> Iterator[Document]:
        for document in docs:
            counts[document.collection] = counts.get(document.collection, 0) + 1
            yield document

    try:
        with ops.create(tmp, 0o600) as stream:
            sink = SeamWriter(ops, stream)
            if chosen == "jsonl":
                _write_jsonl(counted(found), sink)
            else:  # the bodies' fields flattened into typed columns
                from aeroops.executor.document_table import write_flattened

                write_flattened(counted(found), sink, target, chosen, ops)
            ops.fsync(stream)
        ops.rename(tmp, target)
        ops.fsync_path(target.parent)
    except OSError as error:
        with logged_cleanup("removing the unfinished export", tmp):
            if ops.exists(tmp):
                ops.remove(tmp)
        if isinstance(error, RemoteError):
            raise  # reading a source in object storage failed: its own code, naming the URL
        raise io_error(OutputError, error, "writing the export") from None
    except BaseException:
        with logged_cleanup("removing the unfinished export", tmp):
            if ops.exists(tmp):
                ops.remove(tmp)
        raise
    return ExportResult(
        str(source), str(target), chosen, sum(counts.values()), ops.stat(target).st_size, tuple(sorted(counts.items()))
    )


def _refuse_missing_collections(chosen: Sequence[str] | None, present: dict[str, int], source: Source) -> None:
    """A collection the source has no document of: said, and nothing written (an empty file
    would look like an export of an empty collection, or of a name typed wrong)."""
    missing = sorted({c for c in chosen or () if not present.get(c)})
    if missing:
        has = ", ".join(sorted(c for c, n in present.items() if n)) or "none: it has no documents"
        names = ", ".join(repr(c) for c in missing)
        raise UsageError(f"the source has no document in collection {names}; its collections: {has}", path=source)


def _refuse_writing_into(source: Path, target: Path, ops: FileOps) -> None:
    """An export never replaces its own source, nor writes inside a data directory it reads."""
    try:
        one, other = ops.stat(target), ops.stat(source)
        same = (one.st_dev, one.st_ino) == (other.st_dev, other.st_ino)
    except OSError:
        same = False
    if same:
        raise UsageError("the output is the source itself: name another file", path=target)
    if ops.is_dir(source) and is_within(target, source, ops):
        raise UsageError("the output is inside the data directory, which aeroops never writes to", path=target)


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return {"jsonl": "jsonl", "ndjson": "jsonl", "csv": "csv"}.get(suffix, "parquet")


def _write_jsonl(found: Iterable[Document], sink: SeamWriter) -> None:
    import json

    buffered = io.BufferedWriter(cast(io.RawIOBase, sink), 1 << 20)
    for document in found:
        try:
            line = boot_listing_line(document)
        except UnicodeDecodeError:
            record = {
                "body_base64": base64.b64encode(document.body).decode(),
                "key": document.aerodb_key,
                "schema_id": document.schema,
                "schema_version": document.version,
            }
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
        buffered.write(line + b"\n")
    buffered.flush()


# --- diff --------------------------------------------------------------------------------------


def diff(
    a: Source,
    b: Source,
    *,
    collections: Sequence[str] | None = None,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
    identities: IdentityFiles | None = None,
) -> DiffResult:
    """How the documents of ``b`` differ from those of ``a`` (archives, data directories or
    restore targets): added, removed, changed (with the top-level fields that changed, old and
    new values), and per collection how many of each and how many are unchanged. Memory stays
    bounded whatever the sources' sizes (`aeroops.executor.document_diff`: DuckDB)."""
    from aeroops.executor.document_diff import engine_diff

    for source in (a, b):
        source_kind(source, ops)  # a source that is none refused before any reading

    def read(source: Source, on_wal: WalSink, on_storage: StorageSink, progress: ProgressCallback) -> None:
        read_records(source, on_wal, on_storage, progress=progress, ops=ops, identities=identities)

    def winners(source: Source, progress: ProgressCallback) -> Iterator[Document] | None:
        found = _fast_documents(source, collections, progress, ops, identities)
        return None if found is None else found[1]

    return engine_diff(a, b, read, collections=collections, progress=progress, ops=ops, winners=winners)


# --- history -----------------------------------------------------------------------------------


def history(
    folder: str | os.PathLike[str],
    key: str,
    *,
    collection: str | None = None,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
    identities: IdentityFiles | None = None,
) -> tuple[HistoryEntry, ...]:
    """The document ``key`` (``collection:id``, or an id with ``collection``) in every archive
    of ``folder`` and, where the WAL is archived, in each record of the segments that touched it,
    in the order of the database's history (`aeroops.executor.document_history`)."""
    from aeroops.executor import document_history

    return document_history.history(
        folder, key, find_in_archive, collection=collection, progress=progress, ops=ops, identities=identities
    )


__all__ = [
    "ARCHIVE",
    "DATADIR",
    "FORMATS",
    "ExportResult",
    "SourceState",
    "damage",
    "diff",
    "documents_of",
    "export",
    "find_document",
    "history",
    "iter_documents",
    "read_state",
    "source_kind",
]
