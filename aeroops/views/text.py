"""Terminal and CSV renderings of verify reports, inspections and inventories (no pandas).

Text is for people: aligned columns, human sizes and ages, findings as ``[SEVERITY] CODE:
message (where)``. CSV is for machines: the columns of `aeroops.views.records`, one table per
call, times in AeroDB's notation (``YYYY-MM-DDTHH:MM:SSZ``), durations in whole seconds.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from aeroops.errors import most_severe_first
from aeroops.formats.sidecar import split_digest
from aeroops.terminal import TEXT_WIDTH
from aeroops.views import records as rec
from aeroops.views.units import display, human_age, human_bytes

if TYPE_CHECKING:  # what each renderer takes; `aeroops verify` imports none of the others
    from aeroops.core.inspect import InspectResult
    from aeroops.core.inventory import Inventory
    from aeroops.core.newest_good import Freshness, NewestGood
    from aeroops.core.retention import RetentionPlan
    from aeroops.core.verify_report import VerifyReport

Formatter = Callable[[Any], str]
TABLE_WIDTH = TEXT_WIDTH  # a terminal table's widest line: cells wrap, else columns are left out (and said so)
GAP = "  "
WRAP_FLOOR = 30  # a column of text wraps to no narrower than this (or its longest word)
LONG_WORD = 60  # no column widens past this for one word: a longer word runs past its column
LABEL_COLUMN = 10  # where the values of a label/value block start ("archive   /backups/x.tar")
GLUE = "\0"  # joins words `wrap_line` keeps on one line (no path or message holds a NUL)


def wrap_line(text: str, indent: str = "", *, hang: str | None = None, width: int = TABLE_WIDTH) -> str:
    """One line of text (a finding, a message, a label's value) wrapped to ``width`` between
    words: its first line after ``indent``, the following ones after ``hang`` (default: two more
    spaces than ``indent``). A word longer than the line stays whole, on a line of its own (or
    after ``indent``); words joined by `GLUE` wrap as one and print with a space between."""
    filled = textwrap.fill(
        text,
        width,
        initial_indent=indent,
        subsequent_indent=indent + "  " if hang is None else hang,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return (filled or indent.rstrip()).replace(GLUE, " ")


def labelled(label: str, value: str, column: int = LABEL_COLUMN, *, width: int = TABLE_WIDTH) -> str:
    """A line of a label/value block: ``label``, then ``value`` from ``column`` (so the values of
    one block start in one column, whatever their label), wrapped between words under itself."""
    head = label.ljust(column - 1) + " "
    return wrap_line(value, head, hang=" " * len(head), width=width)


def label_block(rows: Iterable[tuple[str, str]], column: int = LABEL_COLUMN) -> str:
    """A label/value block: each row `labelled`, the values from ``column``."""
    return "\n".join(labelled(label, value, column) for label, value in rows)


def _cell(name: str) -> Formatter:
    spec = rec.display_spec(name)
    return lambda value: display(value, spec.unit, spec.missing)


def text_table(
    records: Sequence[rec.Record],
    columns: Iterable[str],
    formatters: Mapping[str, Formatter] | None = None,
    *,
    width: int = TABLE_WIDTH,
    header: bool = True,
    indent: str = "",
) -> str:
    """Aligned columns (under a header, unless ``header`` is false), numbers right-aligned, each
    value in its column's unit (`aeroops.views.units`), every line after ``indent`` and at most
    ``width`` characters: long cells wrap between words. A word is never broken: one wider than
    its column can be (a long file name, say) runs past it on a line of its own, and the row's
    later cells go on the next line, in their columns. A column blank in every row is not shown.
    When even that is too wide, the last columns that are neither the verdict nor the first are
    left out, with a line that says so."""
    names = list(columns)
    formatters = formatters or {}
    inner = width - len(indent)
    cells = {n: [(formatters.get(n) or _cell(n))(r.get(n)) for r in records] for n in names}
    # A column blank in every row says nothing: it gives its room to one that does (inventory's
    # reason when every archive is fine; a format-1 snapshot's commit_boundary).
    names = [n for n in names if not records or any(cells[n]) or rec.display_spec(n).verdict]
    numeric = {n: all(_is_number(r.get(n)) or r.get(n) is None for r in records) for n in names}
    shown, left_out = _fit(names, cells, inner)
    widths = _widths(shown, cells, inner)
    text = [GAP.join(n.rjust(w) if numeric[n] else n.ljust(w) for n, w in widths.items())] if header else []
    for i in range(len(records)):
        text += _row_lines([cells[n][i] for n in shown], widths, numeric)
    text = [f"{indent}{line}".rstrip() for line in text]
    if left_out:
        note = f"(left out to fit {width} columns: {', '.join(left_out)}; the JSON output has every column)"
        text.append(wrap_line(note, indent, width=width))
    return "\n".join(text)


def _row_lines(values: Sequence[str], widths: Mapping[str, int], numeric: Mapping[str, bool]) -> list[str]:
    """One record's lines: each cell wrapped in its column between words. A word wider than its
    column ends its line, and the cells after it continue on the next line, in their columns."""
    wrapped = [
        (textwrap.wrap(v, w, break_long_words=False, break_on_hyphens=False) or [""]) if len(v) > w else [v]
        for v, w in zip(values, widths.values(), strict=True)
    ]
    starts, start = [], 0
    for w in widths.values():
        starts.append(start)
        start += w + len(GAP)
    out = []
    for i in range(max(len(parts) for parts in wrapped)):
        line = ""
        for parts, (name, w), column_start in zip(wrapped, widths.items(), starts, strict=True):
            part = parts[i] if i < len(parts) else ""
            if line.strip() and len(line.rstrip()) + len(GAP) > column_start:  # a long word ran into this column
                if not part:
                    continue
                out.append(line.rstrip())
                line = ""
            part = part.replace(GLUE, " ")
            line = line.ljust(column_start) + (part.rjust(w) if numeric[name] else part.ljust(w))
        out.append(line.rstrip())
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _narrowest(name: str, values: Sequence[str]) -> int:
    """The narrowest a column can be: its heading, or its longest word up to `LONG_WORD` (a
    longer one runs past its column); a value with a unit ("261.0 KiB", "2 d 20 h") or a time is
    one word."""
    spec = rec.display_spec(name)
    widest = max([len(name), *(len(v) for v in values)])
    if spec.unit or not spec.dtype.startswith(("string", "object")):
        return widest
    # Text wraps, but not into a sliver: rather leave a later column out.
    longest_word = max((len(word) for v in values for word in v.split()), default=0)
    return max(len(name), min(widest, WRAP_FLOOR), min(longest_word, LONG_WORD))


def _fit(names: list[str], cells: Mapping[str, Sequence[str]], width: int) -> tuple[list[str], list[str]]:
    """The columns that fit ``width``, each wrapped as far as it can be, and those left out: the
    verdict's columns and the first of the others always show; the rest, in order, while they
    fit."""
    verdict = [n for n in names if rec.display_spec(n).verdict]
    first = next((n for n in names if n not in verdict), None)
    kept = {*verdict, first}
    used = sum(_narrowest(n, cells[n]) for n in names if n in kept) + len(GAP) * (len(kept) - 1)
    for name in names:
        if name not in kept and used + len(GAP) + _narrowest(name, cells[name]) <= width:
            kept.add(name)
            used += len(GAP) + _narrowest(name, cells[name])
    return [n for n in names if n in kept], [n for n in names if n not in kept]


def _widths(shown: list[str], cells: Mapping[str, Sequence[str]], width: int) -> dict[str, int]:
    """Each column as wide as its widest cell; while the line is too wide, the widest column that
    can still wrap gives up a character."""
    widths = {n: max([len(n), *(len(v) for v in cells[n])]) for n in shown}
    floor = {n: _narrowest(n, cells[n]) for n in shown}
    excess = sum(widths.values()) + len(GAP) * (len(shown) - 1) - width
    while excess > 0:
        wide = max((n for n in shown if widths[n] > floor[n]), key=lambda n: widths[n], default=None)
        if wide is None:
            break
        widths[wide] -= 1
        excess -= 1
    return widths


def write_csv(stream: TextIO, records: Sequence[rec.Record], columns: Iterable[str]) -> None:
    import csv  # CSV output only

    from aeroops.views.serialise import plain  # CSV's values are JSON's; a plain verify needs neither

    names = list(columns)
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(names)
    for record in records:
        writer.writerow(["" if (v := plain(record.get(n))) is None else v for n in names])


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
    # The verdict stays on the line that names the archive: the rest wraps.
    head = GLUE.join([f"{report.archive}:", *verdict.split(), f"({details[0]},"])
    lines = [wrap_line(f"{head} {', '.join(details[1:])})" + (f": {tally}" if tally else ""))]
    lines += [wrap_line(str(finding), "  ") for finding in most_severe_first(report.findings)]
    return "\n".join(lines)


def render_reports(reports: Sequence[VerifyReport]) -> str:
    text = "\n".join(render_report(r) for r in reports)
    if len(reports) > 1:
        bad = sum(not r.ok for r in reports)
        text += f"\n{len(reports)} archives: {len(reports) - bad} OK, {bad} not OK"
    return text


# --- inspect -----------------------------------------------------------------------------------


def render_inspect(result: InspectResult, *, wal: bool = False, documents: bool = False) -> str:
    sections = [
        render_report(result.report),
        "Members\n" + text_table(rec.member_records(result), rec.MEMBER_COLUMNS),
    ]
    backup = rec.backup_manifest_records(result.backup_manifest)
    if backup:
        sections.append("Backup manifest\n" + text_table(backup, rec.BACKUP_MANIFEST_COLUMNS))
    snapshot = rec.snapshot_manifest_records(result.snapshot_manifest)
    if snapshot:
        sections.append("Snapshot manifest\n" + text_table(snapshot, rec.SNAPSHOT_MANIFEST_COLUMNS))
    sections.append("Schemas\n" + text_table(rec.schema_records(result), rec.SCHEMA_COLUMNS))
    sections.append("Storage\n" + text_table(rec.storage_records(result), rec.STORAGE_COLUMNS))
    sections.append(
        _logical_heading(result)
        + text_table(rec.collection_records(result), rec.COLLECTION_COLUMNS)
        + "\n"
        + wrap_line(
            f"{len(result.logical)} documents"
            + ("" if result.logical.complete else " (incomplete: more deletes came before storage than are remembered)")
        )
    )
    if wal:
        summary = result.wal
        touched = f"{summary.documents}" if summary.documents_exact else f"at least {summary.documents}"
        head = f"WAL: {summary.records} records, {human_bytes(summary.bytes)}, {touched} documents touched"
        if summary.first_sequence is not None:
            head += f", sequences {summary.first_sequence}..{summary.last_sequence}"
        sections.append(wrap_line(head) + "\n" + text_table(rec.wal_group_records(result), rec.WAL_COLUMNS))
    if documents:
        sections.append("Documents\n" + text_table(rec.document_records(result), rec.DOCUMENT_COLUMNS))
    return "\n\n".join(sections)


def _logical_heading(result: InspectResult) -> str:
    """The logical state's heading says what it is: after the WAL's replay only when the archive
    read clean (damage stops the reading, so the documents counted are those read before it)."""
    if result.ok:
        return "Logical state (after WAL replay)\n"
    return (
        wrap_line("Logical state (PARTIAL: the archive is not clean, so what follows is only what could be read)")
        + "\n"
    )


# --- inventory ---------------------------------------------------------------------------------

# The verdict first; then what people look for; the identifiers last (left out first when the
# table is too wide: the CSV and JSON views have every column).
_INVENTORY_VERDICT = ("ok", "fatal", "errors", "warnings")
_INVENTORY_TEXT = ("file", "reason", "size", "age", "sidecar", "created_at", "backup_id")


def render_inventory(inventory: Inventory) -> str:
    if not inventory.rows:
        return wrap_line(f"{inventory.folder}: no *.tar files")
    columns = [*(_INVENTORY_VERDICT if inventory.verified else ()), *_INVENTORY_TEXT]
    if any(row.layers not in (None, "tar") for row in inventory.rows):
        # a folder with layered archives: what each holds beside what it stores, after its size
        at = columns.index("size") + 1
        columns[at:at] = ["layers", "plain_size"]
    return text_table(rec.inventory_records(inventory), columns)


# --- retention ---------------------------------------------------------------------------------

_RETENTION_TEXT = ("action", "status", "file", "why", "size", "created_at")


def render_retention(plan: RetentionPlan, *, dry_run: bool = True) -> str:
    if not plan.decisions:
        return "no *.tar files"
    columns = list(_RETENTION_TEXT)
    if any(d.row.source for d in plan.decisions):
        columns.insert(columns.index("file") + 1, "source")
    table = text_table(rec.retention_records(plan), columns)
    verb = "would remove" if dry_run else "removed"
    counts = f"{len(plan.kept)} kept, {len(plan.removed)} {verb} ({human_bytes(plan.removed_bytes())})" + (
        ": dry run, nothing removed (pass --yes to remove)" if dry_run else ""
    )
    return "\n".join([table, wrap_line(str(plan.policy)), wrap_line(counts)])


def render_freshness(freshness: Freshness) -> str:
    """One line: which archive is the newest good one, and how old it is against the limit."""
    limit = str(freshness.max_age)
    if freshness.newest is None or freshness.age is None:
        seen = sum(freshness.counts().values())
        return wrap_line(f"STALE: no archive verifies clean ({seen} files looked at; limit {limit})")
    state = "OK" if freshness.fresh else "STALE"
    relation = "within" if freshness.fresh else "older than"
    return wrap_line(
        f"{state}: newest good backup {freshness.newest.file} is {human_age(freshness.age)} old ({relation} {limit})"
    )


def render_newest_good(found: NewestGood) -> str:
    lines = [labelled("NEWEST GOOD:", found.overall.file if found.overall else "none verifies clean", 13)]
    lines += [wrap_line(f"snapshot {row.snapshot_id}: {row.file}", "  ") for row in found.per_snapshot]
    lines += [wrap_line(f"snapshot {snapshot}: no archive verifies clean", "  ") for snapshot in found.without_good]
    return "\n".join(lines)
