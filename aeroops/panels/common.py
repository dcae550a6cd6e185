"""What every panel shares: the progress renderer, the error box, paged HTML tables, and the
`Panel` base that runs an action, shows its error (never swallowing it) and keeps it.

Nothing here decides anything about backups: panels call the plain functions of
`aeroops.executor` and render their results; tables come from `aeroops.views.tables`.
"""

from __future__ import annotations

import html
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, overload

import ipywidgets as widgets
import pandas as pd

from aeroops.errors import AeroError
from aeroops.progress import Progress
from aeroops.views.records import display_spec
from aeroops.views.units import display, human_bytes

T = TypeVar("T")

PAGE_SIZE = 25  # rows per page of a paged table

# The notebook's table styles (jp-RenderedHTMLCommon) do not reach inside a widget: a small,
# scoped copy keeps the tables readable in JupyterLab, classic Notebook and VS Code alike.
TABLE_STYLE = """<style>
.aeroops-table table {border-collapse: collapse; font-size: 12px; font-family: var(--jp-code-font-family, monospace);}
.aeroops-table table th, .aeroops-table table td {padding: 2px 8px; border-bottom: 1px solid #ddd;
  text-align: left !important; vertical-align: top; white-space: nowrap;}
.aeroops-table table th {background: rgba(127, 127, 127, 0.12);}
.aeroops-table .aeroops-long {display: inline-block; white-space: normal; overflow-wrap: break-word;
  min-width: 24em; max-width: 48em;}
.aeroops-kv table td:first-child {font-weight: bold; padding-right: 12px;}
</style>"""
LONG_CELL_CHARS = 72  # text longer than this wraps in its cell; shorter text stays on one line


def full_width() -> widgets.Layout:
    """A new Layout filling the width. Never share a Layout (or a Style) between widgets: it is
    one model in the front end, so hiding one widget (``layout.display = "none"``) would hide
    every widget that shares it."""
    return widgets.Layout(width="100%")


# --- progress -------------------------------------------------------------------------------


class WidgetProgress(widgets.VBox):
    """A `ProgressCallback` drawn as two bars (the step, and the bytes of the step) and a label.

    Updates are throttled to one every ``interval`` seconds (each sends a message to the
    front end); a new step, a step's last byte and `finish` are always drawn.
    """

    def __init__(self, *, interval: float = 0.1, clock: Callable[[], float] = time.monotonic) -> None:
        self.step_bar = widgets.IntProgress(value=0, min=0, max=1, description="step", layout=full_width())
        self.bytes_bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="bytes", layout=full_width())
        self.label = widgets.Label("")
        super().__init__([self.step_bar, self.bytes_bar, self.label])
        self._interval = interval
        self._clock = clock
        self._drawn_at = float("-inf")
        self._drawn_key: tuple[str, str, int] | None = None
        self.last: Progress | None = None  # the latest event, drawn or not
        self.events = 0  # events received
        self.draws = 0  # events drawn

    def __call__(self, event: Progress) -> None:
        self.last = event
        self.events += 1
        key = (event.job, event.step, event.step_index)
        now = self._clock()
        finished = bool(event.total_bytes) and event.done_bytes >= event.total_bytes
        if key == self._drawn_key and now - self._drawn_at < self._interval and not finished:
            return
        self._drawn_at, self._drawn_key = now, key
        self._draw(event)

    def _draw(self, event: Progress) -> None:
        self.draws += 1
        self.step_bar.max = max(event.step_count, 1)
        self.step_bar.value = min(event.step_index, self.step_bar.max)
        self.bytes_bar.value = min(event.fraction, 1.0)
        self.label.value = describe_progress(event)

    def start(self, text: str = "") -> None:
        """Empty bars, ready for a new job."""
        self.last, self.events, self.draws = None, 0, 0
        self._drawn_at, self._drawn_key = float("-inf"), None
        self.step_bar.bar_style = self.bytes_bar.bar_style = ""
        self.step_bar.value, self.bytes_bar.value = 0, 0.0
        self.label.value = text

    def finish(self, text: str | None = None, *, failed: bool = False) -> None:
        """Draw the last event (throttling may have skipped it), then mark the job done or failed."""
        if self.last is not None:
            self._draw(self.last)
        if not failed:
            self.step_bar.value = self.step_bar.max
            self.bytes_bar.value = 1.0
        style = "danger" if failed else "success"
        self.step_bar.bar_style = self.bytes_bar.bar_style = style
        if text is not None:
            self.label.value = text


def describe_progress(event: Progress) -> str:
    """``[3/10] choose the snapshot`` and, with a byte count, ``1.0 MiB of 4.0 MiB (25%)``."""
    text = f"[{event.step_index}/{event.step_count}] {event.step}"
    if event.total_bytes:
        text += f": {human_bytes(event.done_bytes)} of {human_bytes(event.total_bytes)} ({event.fraction:.0%})"
    return text


# --- errors ---------------------------------------------------------------------------------


def error_text(error: BaseException) -> str:
    """``[SEVERITY] CODE: message (where)`` for an `AeroError`, else ``Type: message``."""
    if isinstance(error, AeroError):
        return str(error.finding)
    return f"{type(error).__name__}: {error}"


def error_html(error: BaseException) -> str:
    """A red box with the error line; an unexpected exception gets its traceback too."""
    body = f"<b>{html.escape(error_text(error))}</b>"
    if not isinstance(error, AeroError):
        trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        body += f"<pre style='white-space: pre-wrap; margin: 4px 0 0 0'>{html.escape(trace)}</pre>"
    return (
        "<div class='aeroops-error' style='border: 1px solid #c62828; background: #ffebee; color: #b71c1c; "
        f"padding: 6px 10px; border-radius: 3px'>{body}</div>"
    )


def notice_html(text: str, *, kind: str = "info") -> str:
    """A coloured box for a message that is not an error: kind is info, warning or success."""
    colours = {"info": ("#1565c0", "#e3f2fd"), "warning": ("#e65100", "#fff3e0"), "success": ("#2e7d32", "#e8f5e9")}
    border, background = colours[kind]
    return (
        f"<div class='aeroops-{kind}' style='border: 1px solid {border}; background: {background}; color: {border}; "
        f"padding: 6px 10px; border-radius: 3px'>{text}</div>"
    )


# --- tables ---------------------------------------------------------------------------------


def frame_html(frame: pd.DataFrame, *, max_rows: int | None = None) -> str:
    """A DataFrame as an HTML table (no index), each value in its column's unit (`display_frame`);
    rows past ``max_rows`` are left out, and said so."""
    shown = frame if max_rows is None else frame.head(max_rows)
    # Cells become HTML first: to_html writes missing values of each dtype its own way.
    cells = display_frame(shown).map(_text_html)
    table = cells.to_html(index=False, border=0, escape=False, classes="aeroops-frame")
    note = ""
    if max_rows is not None and len(frame) > max_rows:
        note = f"<div><i>first {max_rows} of {len(frame)} rows</i></div>"
    return f"{TABLE_STYLE}<div class='aeroops-table'>{table}{note}</div>"


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` as people read it, as text: sizes in KiB/MiB/GiB, ages in days and
    hours, modes as 0644, times in AeroDB's notation (`aeroops.views.units`, the terminal's
    units too), missing values blank (or as the column says, "none"). ``frame`` keeps the raw
    values."""
    return pd.DataFrame(
        {name: [_cell(value, name) for value in frame[name].astype(object)] for name in frame.columns},
        columns=frame.columns,
        index=frame.index,
    )


def _cell(value: object, column: str) -> str:
    spec = display_spec(column)
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return spec.missing
    return display(value, spec.unit, spec.missing)


def _text_html(text: str) -> str:
    """Text escaped; long text wraps in its cell, between words (never cut)."""
    escaped = html.escape(text)
    return f"<span class='aeroops-long'>{escaped}</span>" if len(text) > LONG_CELL_CHARS else escaped


def key_values_html(pairs: Sequence[tuple[str, Any]]) -> str:
    """A two-column table of labelled values (escaped here)."""
    rows = "".join(
        f"<tr><td>{html.escape(str(key))}</td><td>{_text_html('' if value is None else str(value))}</td></tr>"
        for key, value in pairs
    )
    return f"{TABLE_STYLE}<div class='aeroops-table aeroops-kv'><table>{rows}</table></div>"


class PagedTable(widgets.VBox):
    """A DataFrame shown ``page_size`` rows at a time, with previous/next buttons.

    Only the current page is rendered and sent to the front end, however big the frame.
    """

    def __init__(self, frame: pd.DataFrame | None = None, *, page_size: int = PAGE_SIZE, title: str = "") -> None:
        self.title = widgets.HTML(f"<b>{html.escape(title)}</b>" if title else "")
        self.html = widgets.HTML(layout=widgets.Layout(overflow="auto", width="100%"))
        self.previous_button = widgets.Button(description="◀ previous", layout=widgets.Layout(width="auto"))
        self.next_button = widgets.Button(description="next ▶", layout=widgets.Layout(width="auto"))
        self.position = widgets.Label("")
        self.pager = widgets.HBox([self.previous_button, self.position, self.next_button])
        self.page = 0
        self.previous_button.on_click(lambda _: self.show_page(self.page - 1))
        self.next_button.on_click(lambda _: self.show_page(self.page + 1))
        super().__init__([self.title, self.html, self.pager])
        self.page_size = page_size
        self.page = 0
        self.frame = pd.DataFrame()
        self.set_frame(frame)

    @property
    def page_count(self) -> int:
        return max(1, -(-len(self.frame) // self.page_size))

    def set_frame(self, frame: pd.DataFrame | None) -> None:
        """Show ``frame`` from its first page; None clears the table."""
        self.frame = pd.DataFrame() if frame is None else frame
        self.layout.display = None if frame is not None else "none"
        self.show_page(0)

    def show_page(self, page: int) -> None:
        self.page = min(max(page, 0), self.page_count - 1)
        start = self.page * self.page_size
        rows = self.frame.iloc[start : start + self.page_size]
        if len(self.frame) == 0:
            self.html.value = "<i>(no rows)</i>" if len(self.frame.columns) else ""
        else:
            self.html.value = frame_html(rows)
        many = len(self.frame) > self.page_size
        self.pager.layout.display = None if many else "none"
        self.previous_button.disabled = self.page == 0
        self.next_button.disabled = self.page >= self.page_count - 1
        end = min(start + self.page_size, len(self.frame))
        self.position.value = f"rows {start + 1}–{end} of {len(self.frame)} (page {self.page + 1}/{self.page_count})"


# --- panels ---------------------------------------------------------------------------------


class Panel(widgets.VBox):
    """Base of the panels: an error box, and `attempt`, which runs one action and shows what
    it raised. The exception is kept on ``error`` (and `raise_for_error` raises it again), so a
    notebook run headlessly fails loudly where a person would see the red box."""

    def __init__(self) -> None:
        super().__init__()
        self.error_box = widgets.HTML("", layout=full_width())
        self.status = widgets.HTML("")
        self.error: BaseException | None = None

    def attempt(self, action: Callable[[], T], *, progress: WidgetProgress | None = None) -> T | None:
        """Run ``action``: its value, or None once its exception is shown and kept on ``error``."""
        self.clear_error()
        try:
            return action()
        except Exception as error:  # shown in the panel and kept, never swallowed
            self.show_error(error)
            if progress is not None:
                progress.finish(error_text(error), failed=True)
            return None

    def show_error(self, error: BaseException) -> None:
        self.error = error
        self.error_box.value = error_html(error)

    def clear_error(self) -> None:
        self.error = None
        self.error_box.value = ""

    def raise_for_error(self) -> None:
        """Raise the exception the last action ended with, if any."""
        if self.error is not None:
            raise self.error

    def set_status(self, text: str, *, kind: str = "info") -> None:
        self.status.value = notice_html(html.escape(text), kind=kind) if text else ""


class ConfirmBox(widgets.VBox):
    """A question with *Confirm* and *Cancel*, hidden until `ask`: what a panel shows before
    anything destructive (a restore, a removal) happens."""

    def __init__(self, on_confirm: Callable[[], object], on_cancel: Callable[[], object]) -> None:
        self.text = widgets.HTML("")
        self.confirm_button = widgets.Button(description="Confirm", icon="exclamation-triangle", button_style="danger")
        self.cancel_button = widgets.Button(description="Cancel", icon="times")
        self.confirm_button.on_click(lambda _: on_confirm())
        self.cancel_button.on_click(lambda _: on_cancel())
        super().__init__(
            [self.text, widgets.HBox([self.confirm_button, self.cancel_button])],
            layout=widgets.Layout(display="none", border="2px solid #c62828", padding="6px", margin="6px 0"),
        )

    def ask(self, question_html: str) -> None:
        self.text.value = question_html
        self.layout.display = None

    def hide(self) -> None:
        self.text.value = ""
        self.layout.display = "none"


def path_input(description: str, value: str | None, placeholder: str) -> widgets.Text:
    """A path box that reports its value when Enter is pressed or focus leaves it."""
    return widgets.Text(
        value=value or "",
        description=description,
        placeholder=placeholder,
        continuous_update=False,
        style={"description_width": "110px"},
        layout=full_width(),
    )


class TextField:
    """A panel attribute that reads one of the panel's Text widgets: what it holds, without the
    white space around it (a pasted path often ends in a space or a newline)."""

    def __init__(self, widget: str) -> None:
        self.widget = widget  # the attribute holding the widget

    @overload
    def __get__(self, panel: None, owner: type) -> TextField: ...
    @overload
    def __get__(self, panel: object, owner: type | None = None) -> str: ...
    def __get__(self, panel: object, owner: type | None = None) -> TextField | str:
        if panel is None:
            return self
        return str(getattr(panel, self.widget).value).strip()


def section(title: str) -> widgets.HTML:
    return widgets.HTML(f"<h4 style='margin: 10px 0 4px 0'>{html.escape(title)}</h4>")
