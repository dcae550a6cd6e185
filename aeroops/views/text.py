"""Terminal and CSV renderings of verify reports, inspections and inventories (no pandas).

Text is for people: aligned columns, human sizes and ages, findings as ``[SEVERITY] CODE:
message (where)``. CSV is for machines: the columns of `aeroops.views.records`, one table per
call, times in AeroDB's notation (``YYYY-MM-DDTHH:MM:SSZ``), durations in whole seconds.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any, TextIO

from aeroops.core.inspect import InspectResult
from aeroops.core.inventory import Inventory
from aeroops.core.newest_good import Freshness, NewestGood
from aeroops.core.retention import RetentionPlan
from aeroops.core.verify_report import VerifyReport
from aeroops.formats.sidecar import split_digest
from aeroops.views import records as rec
from aeroops.views.backup import human_bytes

Formatter = Callable[[Any], str]


def human_age(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{sign}{days}d {hours}h"
    minutes = rest // 60
    return f"{sign}{hours}h {minutes}m" if hours else f"{sign}{minutes}m"


def _cell(value: Any) -> str:
    value = rec.plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def text_table(
    records: Sequence[rec.Record], columns: Iterable[str], formatters: Mapping[str, Formatter] | None = None
) -> str:
    """Aligned columns under a header; numbers right-aligned."""
    names = list(columns)
    formatters = formatters or {}
    cells = [[formatters.get(n, _cell)(r.get(n)) if r.get(n) is not None else "" for n in names] for r in records]
    widths = [max([len(n), *(len(row[i]) for row in cells)]) for i, n in enumerate(names)]
    numeric = [all(isinstance(r.get(n), int | float) or r.get(n) is None for r in records) for n in names]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(names), *(line(row) for row in cells)])


def write_csv(stream: TextIO, records: Sequence[rec.Record], columns: Iterable[str]) -> None:
    names = list(columns)
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(names)
    for record in records:
        writer.writerow(["" if (v := rec.plain(record.get(n))) is None else v for n in names])


# --- verify ------------------------------------------------------------------------------------


def render_report(report: VerifyReport) -> str:
    counts = report.counts()
    verdict = "OK" if report.ok else "NOT OK"
    details = [f"{report.member_count} members", human_bytes(report.bytes_read)]
    if report.wal_record_count:
        details.append(f"WAL {report.wal_first_sequence}..{report.wal_last_sequence}")
    if report.sidecar_digest is not None:
        details.append(f"{split_digest(report.sidecar_digest)[0]} sidecar checked")
    tally = ", ".join(f"{n} {s.lower()}" for s, n in counts.items() if n)
    lines = [f"{report.archive}: {verdict} ({', '.join(details)})" + (f": {tally}" if tally else "")]
    lines += [f"  {finding}" for finding in report.findings]
    return "\n".join(lines)


def render_reports(reports: Sequence[VerifyReport]) -> str:
    text = "\n".join(render_report(r) for r in reports)
    if len(reports) > 1:
        bad = sum(not r.ok for r in reports)
        text += f"\n{len(reports)} archives: {len(reports) - bad} OK, {bad} not OK"
    return text


# --- inspect -----------------------------------------------------------------------------------

_SIZES = {"size": human_bytes, "bytes": human_bytes, "live_bytes": human_bytes}


def render_inspect(result: InspectResult, *, wal: bool = False, documents: bool = False) -> str:
    sections = [
        render_report(result.report),
        "Members\n" + text_table(rec.member_records(result), rec.MEMBER_COLUMNS, {"mode": lambda m: f"{m:o}"}),
    ]
    backup = rec.backup_manifest_records(result.backup_manifest)
    if backup:
        sections.append("Backup manifest\n" + text_table(backup, rec.BACKUP_MANIFEST_COLUMNS))
    snapshot = rec.snapshot_manifest_records(result.snapshot_manifest)
    if snapshot:
        sections.append("Snapshot manifest\n" + text_table(snapshot, rec.SNAPSHOT_MANIFEST_COLUMNS))
    sections.append("Schemas\n" + text_table(rec.schema_records(result), rec.SCHEMA_COLUMNS))
    sections.append("Storage\n" + text_table(rec.storage_records(result), rec.STORAGE_COLUMNS, _SIZES))
    sections.append(
        _logical_heading(result)
        + text_table(rec.collection_records(result), rec.COLLECTION_COLUMNS, _SIZES)
        + f"\n{len(result.logical)} documents"
        + ("" if result.logical.complete else " (incomplete: more deletes came before storage than are remembered)")
    )
    if wal:
        summary = result.wal
        touched = f"{summary.documents}" if summary.documents_exact else f"at least {summary.documents}"
        head = f"WAL: {summary.records} records, {human_bytes(summary.bytes)}, {touched} documents touched"
        if summary.first_sequence is not None:
            head += f", sequences {summary.first_sequence}..{summary.last_sequence}"
        sections.append(head + "\n" + text_table(rec.wal_records(result), rec.WAL_COLUMNS, _SIZES))
    if documents:
        sections.append("Documents\n" + text_table(rec.document_records(result), rec.DOCUMENT_COLUMNS))
    return "\n\n".join(sections)


def _logical_heading(result: InspectResult) -> str:
    """The logical state's heading says what it is: after the WAL's replay only when the archive
    read clean (damage stops the reading, so the documents counted are those read before it)."""
    if result.ok:
        return "Logical state (after WAL replay)\n"
    return "Logical state (PARTIAL: the archive is not clean, so what follows is only what could be read)\n"


# --- inventory ---------------------------------------------------------------------------------

_INVENTORY_TEXT = ("file", "size", "backup_id", "created_at", "age", "wal_present", "format_version", "sidecar")


def render_inventory(inventory: Inventory) -> str:
    columns = list(_INVENTORY_TEXT)
    if inventory.verified:
        columns += ["ok", "warnings", "errors", "fatal"]
    columns.append("reason")
    formatters: dict[str, Formatter] = {"size": human_bytes, "age": human_age}
    if not inventory.rows:
        return f"{inventory.folder}: no *.tar files"
    return text_table(rec.inventory_records(inventory), columns, formatters)


# --- retention ---------------------------------------------------------------------------------

_RETENTION_TEXT = ("action", "file", "created_at", "size", "status", "why")


def render_retention(plan: RetentionPlan, *, dry_run: bool = True) -> str:
    if not plan.decisions:
        return "no *.tar files"
    columns = list(_RETENTION_TEXT)
    if any(d.row.source for d in plan.decisions):
        columns.insert(2, "source")
    table = text_table(rec.retention_records(plan), columns, {"size": human_bytes})
    verb = "would remove" if dry_run else "removed"
    summary = (
        f"{plan.policy}\n{len(plan.kept)} kept, {len(plan.removed)} {verb} ({human_bytes(plan.removed_bytes())})"
        + (": dry run, nothing removed (pass --yes to remove)" if dry_run else "")
    )
    return f"{table}\n{summary}"


def render_freshness(freshness: Freshness) -> str:
    """One line: which archive is the newest good one, and how old it is against the limit."""
    limit = str(freshness.max_age)
    if freshness.newest is None or freshness.age is None:
        seen = sum(freshness.counts().values())
        return f"STALE: no archive verifies clean ({seen} files looked at; limit {limit})"
    state = "OK" if freshness.fresh else "STALE"
    relation = "within" if freshness.fresh else "older than"
    return f"{state}: newest good backup {freshness.newest.file} is {human_age(freshness.age)} old ({relation} {limit})"


def render_newest_good(found: NewestGood) -> str:
    lines = [f"NEWEST GOOD: {found.overall.file}" if found.overall else "NEWEST GOOD: none verifies clean"]
    lines += [f"  snapshot {row.snapshot_id}: {row.file}" for row in found.per_snapshot]
    lines += [f"  snapshot {snapshot}: no archive verifies clean" for snapshot in found.without_good]
    return "\n".join(lines)
