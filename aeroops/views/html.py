"""Tables as HTML for notebooks: what the panels show, and what a runbook shows with
``display(readable(frame))``. Plain functions of a DataFrame (no widgets here), so a script or a
saved notebook gets the same tables as the panels.

A table fits the notebook's output area (about 970 px wide in JupyterLab beside its file
browser) without sideways scrolling:

- each value in its column's unit, as people read it (`aeroops.views.tables.display_frame`);
- text wraps between words; names and paths may also wrap after ``/``, ``_`` and ``-`` (a
  ``<wbr>``: a break allowed there, never one inside a word); values (sizes, times, ages,
  numbers, ids) stay on one line;
- the columns a caller leaves out of the shown copy (`aeroops.views.tables.shown_frame`) are
  named under the table; the DataFrame keeps every column.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from aeroops.core.results import DrillResult
from aeroops.core.verify_report import VerifyReport
from aeroops.views.tables import ShownFrame, findings_frame, shown_frame
from aeroops.views.units import human_bytes

# The notebook's table styles (jp-RenderedHTMLCommon) do not reach inside a widget, and differ
# between JupyterLab, classic Notebook and VS Code: a small, scoped style makes them one.
TABLE_STYLE = """<style>
.aeroops-table table {border-collapse: collapse; font-size: 12px; font-family: var(--jp-code-font-family, monospace);
  margin: 0; table-layout: auto; max-width: 100%;}
.aeroops-table table th, .aeroops-table table td {padding: 2px 5px; border-bottom: 1px solid #ddd;
  text-align: left !important; vertical-align: top; white-space: normal; overflow-wrap: break-word;
  word-break: normal; max-width: none; line-height: 1.4;}
.aeroops-table table th {background: rgba(127, 127, 127, 0.12);}
.aeroops-table .aeroops-value {white-space: nowrap;}
.aeroops-table .aeroops-long {max-width: 42ch;}
.aeroops-table .aeroops-note {font-style: italic; font-size: 12px;}
.aeroops-kv table td:first-child {font-weight: bold; padding-right: 12px; white-space: nowrap;}
</style>"""

LONG_TEXT_CHARS = 42  # prose longer than this wraps within 42 characters' width (.aeroops-long)
_BREAK_AFTER = re.compile(r"(?<=[/_\-])(?=[^/_\-\s])")  # after these, unless another or a space follows
_RUN = re.compile(r"[^/_\-\s]{33,}")  # a run no separator breaks: a digest, not a word
_RUN_PIECE = 16


def breakable(text: str) -> str:
    """``text`` escaped, with a line break allowed (``<wbr>``) after each ``/``, ``_`` and ``-``
    inside a word: file names, paths and codes wrap at their separators, never mid-part. A run
    of over 32 characters without one (a hex digest) may break every 16 characters."""
    parts = _BREAK_AFTER.split(_RUN.sub(_split_run, text))
    return "<wbr>".join(html.escape(part).replace("\0", "<wbr>") for part in parts)


def _split_run(match: re.Match[str]) -> str:
    run = match.group()
    return "\0".join(run[i : i + _RUN_PIECE] for i in range(0, len(run), _RUN_PIECE))


def _value_html(text: str) -> str:
    """A value that stays on one line (a size, a time, a number)."""
    breaks = any(mark in text for mark in " -/")  # where a browser might break it
    return f"<span class='aeroops-value'>{html.escape(text)}</span>" if breaks else html.escape(text)


def _text_html(text: str) -> str:
    """Text that wraps between words; long prose no wider than LONG_TEXT_CHARS, so that a long
    message does not take the room the other columns need (a name stays on one line if it can)."""
    shown = breakable(text)
    prose = len(text) > LONG_TEXT_CHARS and " " in text
    return f"<div class='aeroops-long'>{shown}</div>" if prose else shown


def shown_html(shown: ShownFrame) -> str:
    """The shown copy of a frame as an HTML table, with the note of what was left out."""
    cells = shown.frame.copy()
    for name in cells.columns:
        wrap = _text_html if name in shown.text_columns else _value_html
        cells[name] = [wrap(value) for value in cells[name]]
    cells.columns = [breakable(str(name)) for name in cells.columns]
    table = cells.to_html(index=False, border=0, escape=False, classes="aeroops-frame")
    notes = "".join(f"<div class='aeroops-note'>{breakable(note)}</div>" for note in shown.notes)
    return f"{TABLE_STYLE}<div class='aeroops-table'>{table}{notes}</div>"


def frame_html(frame: pd.DataFrame, *, max_rows: int | None = None, leave_out: Iterable[str] = ()) -> str:
    """A DataFrame as an HTML table (no index) that fits a notebook: each value in its
    column's unit, long text wrapped between words, ``leave_out`` columns left out (and named
    under it); rows past ``max_rows`` are left out, and said so."""
    return shown_html(shown_frame(frame, max_rows=max_rows, leave_out=leave_out))


@dataclass(frozen=True, repr=False)
class ReadableTable:
    """A DataFrame as a notebook shows it with `frame_html`; ``frame`` keeps every column."""

    frame: pd.DataFrame
    leave_out: tuple[str, ...] = ()
    max_rows: int | None = None

    def __repr__(self) -> str:  # as text (a log, a terminal): the frame's own
        return repr(self.frame)

    def _repr_html_(self) -> str:
        return frame_html(self.frame, max_rows=self.max_rows, leave_out=self.leave_out)


def readable(frame: pd.DataFrame, *, leave_out: Iterable[str] = (), max_rows: int | None = None) -> ReadableTable:
    """``display(readable(frame))`` in a notebook: the table in people's units, fitting the
    output area (see the module's description); the frame itself is unchanged."""
    return ReadableTable(frame, tuple(leave_out), max_rows)


def key_values_html(pairs: Sequence[tuple[str, Any]]) -> str:
    """A two-column table of labelled values (escaped here); long values wrap."""
    rows = "".join(
        f"<tr><td>{html.escape(str(key))}</td><td>{breakable('' if value is None else str(value))}</td></tr>"
        for key, value in pairs
    )
    return f"{TABLE_STYLE}<div class='aeroops-table aeroops-kv'><table>{rows}</table></div>"


def notice_html(text: str, *, kind: str = "info") -> str:
    """A coloured box for a message (``text`` is HTML): kind is info, warning or success."""
    colours = {"info": ("#1565c0", "#e3f2fd"), "warning": ("#e65100", "#fff3e0"), "success": ("#2e7d32", "#e8f5e9")}
    border, background = colours[kind]
    return (
        f"<div class='aeroops-{kind}' style='border: 1px solid {border}; background: {background}; color: {border}; "
        f"padding: 6px 10px; border-radius: 3px; overflow-wrap: break-word'>{text}</div>"
    )


def verdict_html(report: VerifyReport) -> str:
    """A verification's verdict in one box: clean or NOT CLEAN, its findings by severity, the
    archive, what was read."""
    counts = ", ".join(f"{n} {s}" for s, n in report.counts().items() if n)
    if report.ok:
        text = f"<b>VERIFY: clean</b> ({html.escape(counts) or 'no findings'})"
    else:
        text = f"<b>VERIFY: NOT CLEAN</b> ({html.escape(counts)})"
    return notice_html(
        f"{text}: {breakable(report.archive)}, {report.member_count} members, "
        f"{report.wal_record_count} WAL records, {human_bytes(report.bytes_read)} read",
        kind="success" if report.ok else "warning",
    )


def report_html(report: VerifyReport) -> str:
    """A verification as a notebook shows it: the verdict, then its findings (if any)."""
    findings = frame_html(findings_frame(report)) if report.findings else ""
    return verdict_html(report) + findings


def drill_html(result: DrillResult) -> str:
    """A drill as a notebook shows it: the verdict, then what was restored and how it compared.
    The documents per collection are left to the drill's chart (`charts.drill_comparison`) and
    the panel's table: the terminal's text (`render_drill`) lists them, and a notebook showed
    them three times."""
    against = f" against {breakable(result.source)}" if result.source else ""
    verdict = notice_html(
        f"<b>DRILL: {'PASSED' if result.ok else 'FAILED'}</b>: {breakable(result.archive)}{against}",
        kind="success" if result.ok else "warning",
    )
    facts: list[tuple[str, Any]] = []
    if result.backup_id:
        facts.append(("backup", f"{result.backup_id}, snapshot {result.snapshot_id}"))
    if result.error is not None:
        facts.append(("error", result.error))
    if result.restore is not None:
        facts.append(
            (
                "restore",
                f"{result.restore.duration_seconds:.3f} s (verification included), "
                f"{human_bytes(result.restore.restored_bytes)}; whole drill {result.duration_seconds:.3f} s",
            )
        )
    if result.missing_schemas:
        facts.append(("boot", f"FAILS: {result.missing_schemas.describe()}"))
    elif result.restore is not None and result.error is None:
        facts.append(("boot", "ready: metadata/schemas/ holds every schema its documents and WAL records name"))
    if result.collections:
        facts.append(("documents", f"{result.documents} in {len(result.collections)} collections"))
    for comparison in result.comparisons:
        where = comparison.reference
        if where == "source" and result.source_snapshot:
            where += f" (snapshot {result.source_snapshot} + its WAL)"
        diff = comparison.diff
        listed = [
            f"{label}: {', '.join(f'{c}:{d}' for c, d in keys[:5])}" + (f" … ({len(keys)} in all)" * (len(keys) > 5))
            for label, keys in (("added", diff.added), ("removed", diff.removed), ("changed", diff.changed))
            if keys
        ]
        facts.append((f"restored vs {where}", "; ".join([diff.summary(), *listed])))
    facts.append(("scratch", f"{result.scratch} {'removed' if result.scratch_removed else 'kept'}"))
    return verdict + key_values_html(facts)
