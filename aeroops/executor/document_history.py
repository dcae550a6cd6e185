"""A document's history in a folder of backups: its state in every archive and, where the WAL is
archived (``aeroops archive-wal``), each record of the segments that touched it, in the order
of the database's history.

A point of that history is ``(timeline, sequence)`` (`aeroops.core.pitr`). A base backup whose
snapshot starts an archived timeline sits at ``(its timeline, the last record of its WAL)``: it
holds every record up to there, so a record of the segments comes before it when its sequence
is at most that, after it otherwise. An archive of no archived timeline sits after the last
record archived at or before its creation. Timelines follow each other in the order of their
ids (checkpoint times).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aeroops.core.documents import (
    CHANGED,
    UNREADABLE,
    Document,
    FieldChange,
    HistoryEntry,
    changed_fields,
    history_event,
    split_key,
)
from aeroops.errors import AeroError, FormatError, UsageError
from aeroops.executor.fileops import FileOps
from aeroops.executor.keys import IdentityFiles
from aeroops.executor.location import is_url
from aeroops.executor.remote_wal import in_folder
from aeroops.formats.wal import DOCUMENT_TYPES, DocumentChange, WalType, decode_payload, iter_wal
from aeroops.progress import Progress, ProgressCallback, no_progress, within_step


@dataclass(frozen=True, slots=True)
class _WalState:
    """A record of the segments that touched the document: its body after it (None: deleted)."""

    timeline: str
    sequence: int
    segment: str
    archived_at: datetime
    schema: str
    version: str
    body: bytes | None


@dataclass(frozen=True, slots=True)
class _ArchiveState:
    file: str
    backup_id: str
    created_at: datetime | None
    schema: str | None
    version: str | None
    body: bytes | None
    position: tuple[str, int] | None  # (timeline, last WAL record) when it starts an archived timeline
    error: str = ""


def wal_states(
    folder: Path | str, key: tuple[str, str], ops: FileOps, progress: ProgressCallback = no_progress
) -> tuple[list[_WalState], list[str], set[str]]:
    """Every record of the folder's segments (a path, or a folder URL) that touched ``key``, in
    (timeline, sequence) order (a record two segments hold, once); notes on segments that could
    not be read; the timelines."""
    from aeroops.executor.remote_wal import list_files, open_location
    from aeroops.formats.segment import parse_segment_name

    found: dict[tuple[str, int], _WalState] = {}
    notes: list[str] = []
    sizes = dict(list_files(folder, ops))
    parsed = (parse_segment_name(file) for file in sizes)
    names = sorted((n for n in parsed if n is not None), key=lambda n: (n.timeline, n.first, n.file_name))
    for index, name in enumerate(names, start=1):
        path = in_folder(folder, name.file_name)
        progress(Progress("history", f"read {name.file_name}", index, len(names)))
        try:
            with open_location(path, ops, sizes[name.file_name]) as stream:
                for record in iter_wal(stream, path=path, first_sequence=name.first):
                    if record.type not in DOCUMENT_TYPES:
                        continue
                    change = decode_payload(record)
                    if not isinstance(change, DocumentChange) or (change.collection, change.document_id) != key:
                        continue
                    body = None if record.type == WalType.DELETE else change.body
                    found.setdefault(
                        (name.timeline, record.sequence),
                        _WalState(
                            name.timeline, record.sequence, name.file_name, name.archived_at,
                            change.schema_id, change.schema_version, body,
                        ),
                    )  # fmt: skip
        except (OSError, FormatError) as error:
            why = error.message if isinstance(error, FormatError) else (error.strerror or str(error))
            notes.append(f"the segment {name.file_name} cannot be read whole: {why}")
    return [found[k] for k in sorted(found)], notes, {n.timeline for n in names}


def ordered(archives: Sequence[_ArchiveState], records: Sequence[_WalState]) -> list[_ArchiveState | _WalState]:
    """Archives and records in the order of the database's history (the module's doc)."""

    def where(item: _ArchiveState | _WalState) -> tuple[str, int, int, str]:
        if isinstance(item, _WalState):
            return (item.timeline, item.sequence, 0, "")
        moment = _time(item.created_at)
        if item.position is not None:
            return (*item.position, 1, moment)
        before = [r for r in records if item.created_at is not None and r.archived_at <= item.created_at]
        if before:
            last = max(before, key=lambda r: (r.timeline, r.sequence))
            return (last.timeline, last.sequence, 1, moment)
        return ("", 0, 1, moment)

    return sorted([*archives, *records], key=where)


Find = Callable[..., tuple[Document | None, str, int]]  # `aeroops.executor.documents.find_in_archive`


def history(
    folder: str | os.PathLike[str],
    key: str,
    find_in_archive: Find,
    *,
    collection: str | None = None,
    progress: ProgressCallback = no_progress,
    ops: FileOps,
    identities: IdentityFiles | None = None,
) -> tuple[HistoryEntry, ...]:
    """The document ``key`` in every archive of ``folder`` and, where the WAL is archived, in
    each record of the segments that touched it: first seen, each change (the top-level
    fields), deleted; each state with the archive or segment it comes from. An archive that
    cannot be read is an ``unreadable`` entry, with why; the history goes on."""
    from aeroops.executor.audit import inventory

    try:
        wanted = split_key(key, collection)
    except ValueError as error:
        raise UsageError(str(error)) from None
    root: Path | str = str(folder) if is_url(folder) else Path(folder)  # a folder URL keeps its //
    rows = [r for r in inventory(folder, ops=ops).rows if r.backup_id is not None]
    rows.sort(key=lambda r: (r.created_at or datetime.min, r.file))
    records, notes, timelines = wal_states(root, wanted, ops)
    archives: list[_ArchiveState] = []
    for index, row in enumerate(rows, start=1):
        progress(Progress("history", f"read {row.file}", index, len(rows)))
        inner = within_step(progress, "history", f"read {row.file}", index, len(rows))
        try:
            document, snapshot_id, wal_last = find_in_archive(
                in_folder(root, row.file), wanted, progress=inner, ops=ops, identities=identities
            )
        except AeroError as error:  # one damaged archive does not end the history
            archives.append(
                _ArchiveState(row.file, row.backup_id or "", row.created_at, None, None, None, None, error.message)
            )
            continue
        position = (snapshot_id, wal_last) if snapshot_id in timelines else None
        archives.append(
            _ArchiveState(
                row.file,
                row.backup_id or "",
                row.created_at,
                None if document is None else document.schema,
                None if document is None else document.version,
                None if document is None else document.body,
                position,
            )
        )
    entries: list[HistoryEntry] = []
    before: bytes | None = None
    seen = False
    for item in ordered(archives, records):
        if isinstance(item, _ArchiveState) and item.error:
            entries.append(
                HistoryEntry(
                    item.file, item.backup_id, _time(item.created_at), UNREADABLE, None, None, None, (), item.error
                )
            )
            continue
        after = item.body
        event = history_event(before, after, seen)
        fields: tuple[FieldChange, ...] = ()
        note = ""
        if event == CHANGED and before is not None and after is not None:
            fields, note = changed_fields(before, after)
        if isinstance(item, _WalState):  # named short, so a table keeps its event in view
            where = f"record {item.sequence} of timeline {item.timeline}, in {item.segment}"
            entries.append(
                HistoryEntry(
                    f"WAL {item.timeline}:{item.sequence}", "", _time(item.archived_at), event, item.schema,
                    item.version if after else None, after, fields, "; ".join(n for n in (where, note) if n),
                )
            )  # fmt: skip
        else:
            entries.append(
                HistoryEntry(
                    item.file, item.backup_id, _time(item.created_at), event, item.schema, item.version,
                    after, fields, note,
                )
            )  # fmt: skip
        seen = seen or after is not None
        before = after
    if notes:
        entries.append(HistoryEntry("", "", "", UNREADABLE, None, None, None, (), "; ".join(notes)))
    return tuple(entries)


def _time(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")
