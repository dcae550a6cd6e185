"""What every panel shares: the progress renderer, the error box, paged HTML tables, and the
`Panel` base that runs an action, shows its error (never swallowing it) and keeps it.

Nothing here decides anything about backups: panels call the plain functions of
`aeroops.executor` and render their results; tables come from `aeroops.views.tables`.
"""

from __future__ import annotations

import html
import time
import traceback
from collections.abc import Callable
from typing import TypeVar, overload

import ipywidgets as widgets
import pandas as pd

from aeroops.errors import AeroError
from aeroops.progress import Progress
from aeroops.views.html import frame_html, notice_html
from aeroops.views.progress import Speedometer, describe_progress

T = TypeVar("T")

PAGE_SIZE = 25  # rows per page of a paged table


def full_width() -> widgets.Layout:
    """A new Layout filling the width of a panel's column. Never share a Layout (or a Style)
    between widgets: it is one model in the front end, so hiding one widget
    (``layout.display = "none"``) would hide every widget that shares it.

    The width is ``auto``, stretched by the column, not ``100%``: a widget's 2 px margins come on
    top of 100%, and the column would scroll sideways by those 4 px."""
    return widgets.Layout(width="auto")


def filling_width() -> widgets.Layout:
    """A new Layout for a widget in a row that takes the room its neighbours leave."""
    return widgets.Layout(width="auto", flex="1 1 auto")


# --- progress -------------------------------------------------------------------------------


class WidgetProgress(widgets.VBox):
    """A `ProgressCallback` drawn as two bars (the step, and the bytes of the step) and a label
    that says the amounts, the rate and the time left (as the terminal line does).

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
        self._speed = Speedometer(clock)
        self._drawn_at = float("-inf")
        self._drawn_key: tuple[str, str, int] | None = None
        self.last: Progress | None = None  # the latest event, drawn or not
        self.events = 0  # events received
        self.draws = 0  # events drawn

    def __call__(self, event: Progress) -> None:
        self.last = event
        self.events += 1
        self._speed.update(event)
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
        self.label.value = describe_progress(event, self._speed)

    def start(self, text: str = "") -> None:
        """Empty bars, ready for a new job."""
        self.last, self.events, self.draws = None, 0, 0
        self._drawn_at, self._drawn_key = float("-inf"), None
        self._speed = Speedometer(self._clock)
        self.step_bar.bar_style = self.bytes_bar.bar_style = ""
        self.step_bar.value, self.bytes_bar.value = 0, 0.0
        self.label.value = text

    def finish(self, text: str | None = None, *, failed: bool = False, refused: bool = False) -> None:
        """Draw the last event (throttling may have skipped it), then mark the job: done (full
        green bars), failed (red), or refused (amber, the bars where the job stopped: a refusal
        is not a job done)."""
        if self.last is not None:
            self._draw(self.last)
        if not (failed or refused):
            self.step_bar.value = self.step_bar.max
            self.bytes_bar.value = 1.0
        style = "danger" if failed else "warning" if refused else "success"
        self.step_bar.bar_style = self.bytes_bar.bar_style = style
        if text is not None:
            self.label.value = text


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


# --- tables ---------------------------------------------------------------------------------


class PagedTable(widgets.VBox):
    """A DataFrame shown ``page_size`` rows at a time, with previous/next buttons.

    Only the current page is rendered and sent to the front end, however big the frame.
    """

    def __init__(
        self,
        frame: pd.DataFrame | None = None,
        *,
        page_size: int = PAGE_SIZE,
        title: str = "",
        leave_out: tuple[str, ...] = (),
    ) -> None:
        self.title = widgets.HTML(f"<b>{html.escape(title)}</b>" if title else "")
        self.leave_out = leave_out  # columns the shown table leaves out to fit (the frame keeps them)
        self.html = widgets.HTML(layout=widgets.Layout(overflow="auto", width="auto"))
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
            self.html.value = frame_html(rows, leave_out=self.leave_out)
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
            if progress is not None:  # the error box says what failed: the label does not say it again
                progress.finish("failed", failed=True)
            return None

    def show_error(self, error: BaseException) -> None:
        self.error = error
        self.error_box.value = error_html(error)

    def clear_error(self) -> None:
        self.error = None
        self.error_box.value = ""

    def raise_for_error(self) -> None:
        """Raise the exception the last action ended with, if any: a runbook stops at the panel
        that failed. Under the cell, IPython then shows the error's one line (what a headless run
        logs), not its traceback again: the panel's error box shows that for an unexpected error."""
        if self.error is not None:
            error = self.error
            line = f"stopped here: {error_text(error)}"
            # IPython renders an exception that has `_render_traceback_` with the lines it returns.
            setattr(error, "_render_traceback_", lambda: [line])  # noqa: B010
            raise error

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
