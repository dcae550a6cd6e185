"""`PitrPanel`: a folder's restorable coverage, then a point-in-time plan, drill and restore
(after an explicit confirmation). Each button is a method a notebook or a script calls.

The target box takes a time (``2026-12-06T14:01:00Z``), ``seq N`` (with the timeline box, empty:
the newest timeline) or ``latest``.
"""

from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as widgets

from aeroops.core.pitr import PitrRefusal, Target, TargetKind, WalArchiveReport
from aeroops.errors import UsageError
from aeroops.executor.fileops import REAL
from aeroops.executor.pitr import (
    PitrDrill,
    PitrPreview,
    PitrResult,
    drill_point_in_time,
    preview_point_in_time,
    restore_point_in_time,
    wal_archive,
)
from aeroops.formats.ids import parse_user_time
from aeroops.panels.common import ConfirmBox, Panel, TextField, full_width, path_input, section
from aeroops.views.pitr import render_pitr_drill, render_pitr_plan, render_wal_archive
from aeroops.views.restore import render_result


def _pre(text: str) -> str:
    return f"<pre style='white-space: pre-wrap; margin: 4px 0'>{html.escape(text)}</pre>"


def parse_target(text: str, timeline: str = "") -> Target:
    """The panel's target box: a time, ``seq N`` or ``latest``."""
    words = text.strip().split()
    if not words or words == ["latest"]:
        return Target(TargetKind.LATEST)
    if words[0] == "seq" and len(words) == 2 and words[1].isdigit():
        return Target(TargetKind.SEQUENCE, int(words[1]), timeline.strip() or None)
    return Target(TargetKind.TIME, time=parse_user_time(text.strip()))


class PitrPanel(Panel):
    folder = TextField("folder_input")
    data_dir = TextField("data_dir_input")
    target_text = TextField("target_input")
    timeline = TextField("timeline_input")

    def __init__(self, folder: Path | str | None = None, data_dir: Path | str | None = None, target: str = "") -> None:
        super().__init__()
        self.folder_input = path_input("backup folder", None if folder is None else str(folder), "/backups")
        self.data_dir_input = path_input("data directory", None if data_dir is None else str(data_dir), "/srv/aerodb")
        self.target_input = path_input("target", target, "2026-12-06T14:01:00Z, seq 1234, or latest")
        self.timeline_input = path_input("timeline", "", "with seq N: the timeline (empty: the newest)")
        self.coverage_button = widgets.Button(description="Coverage", icon="chart-bar")
        self.preview_button = widgets.Button(description="Preview plan", icon="search")
        self.drill_button = widgets.Button(description="Drill", icon="flask")
        self.restore_button = widgets.Button(description="Restore…", icon="undo", button_style="warning")
        self.coverage_button.on_click(lambda _: self.coverage())
        self.preview_button.on_click(lambda _: self.preview())
        self.drill_button.on_click(lambda _: self.drill())
        self.restore_button.on_click(lambda _: self.request_restore())
        self.coverage_html = widgets.HTML("", layout=full_width())
        self.chart = widgets.Image(format="png", layout=widgets.Layout(display="none"))
        self.plan_html = widgets.HTML("", layout=full_width())
        self.drill_html = widgets.HTML("", layout=full_width())
        self.result_html = widgets.HTML("", layout=full_width())
        self.confirm_box = ConfirmBox(self.confirm, self.cancel)
        self.report: WalArchiveReport | None = None
        self.last_preview: PitrPreview | None = None
        self.last_drill: PitrDrill | None = None
        self.result: PitrResult | None = None
        self.children = [
            widgets.HTML("<h3 style='margin: 4px 0'>AeroDB point-in-time restore</h3>"),
            self.folder_input,
            self.data_dir_input,
            self.target_input,
            self.timeline_input,
            widgets.HBox([self.coverage_button, self.preview_button, self.drill_button, self.restore_button]),
            self.error_box,
            self.status,
            section("Coverage"),
            self.coverage_html,
            self.chart,
            section("Plan"),
            self.plan_html,
            self.drill_html,
            self.confirm_box,
            self.result_html,
        ]
        self.layout = full_width()
        for box in (self.folder_input, self.target_input, self.timeline_input, self.data_dir_input):
            box.observe(lambda _: self.cancel(), names="value")

    def _target(self) -> Target:
        return parse_target(self.target_text, self.timeline)

    def coverage(self) -> WalArchiveReport | None:
        """Read every segment and show the timelines, problems and each base's range, and the chart."""

        def run() -> WalArchiveReport:
            from aeroops.views.pitr_chart import coverage_chart

            report = wal_archive(self.folder, checked=True, ops=REAL)
            self.coverage_html.value = _pre(render_wal_archive(report))
            if report.coverage or report.timelines:
                self.chart.value = coverage_chart(report).png()
                self.chart.layout.display = None
            return report

        # What another folder showed goes first: a failed read must not leave it under the error.
        self.coverage_html.value, self.chart.value, self.chart.layout.display = "", b"", "none"
        self.set_status("")
        self.report = self.attempt(run)
        return self.report

    def preview(self) -> PitrPreview | None:
        def run() -> PitrPreview:
            found = preview_point_in_time(self.folder, self.data_dir or None, self._target(), ops=REAL)
            self.plan_html.value = _pre(render_pitr_plan(found.plan))
            return found

        self.last_preview = self.attempt(run)
        return self.last_preview

    def drill(self) -> PitrDrill | None:
        def run() -> PitrDrill:
            found = drill_point_in_time(self.folder, self._target(), ops=REAL)
            self.drill_html.value = _pre(render_pitr_drill(found))
            return found

        self.last_drill = self.attempt(run)
        return self.last_drill

    def request_restore(self) -> bool:
        """Preview, and ask for confirmation when the plan can be carried out; True when asked."""
        found = self.preview()
        if found is None or isinstance(found.plan, PitrRefusal):
            return False
        if not self.data_dir:
            self.show_error(UsageError("name the data directory to restore"))
            return False
        plan = found.plan
        self.confirm_box.ask(
            f"Replace <b>{html.escape(self.data_dir)}</b> with base {html.escape(plan.base.file)} and WAL "
            f"records 1..{plan.sequence} of timeline {html.escape(plan.timeline)}? Everything it holds now goes."
        )
        return True

    def confirm(self) -> PitrResult | None:
        self.confirm_box.hide()

        def run() -> PitrResult:
            done = restore_point_in_time(self.folder, self.data_dir, self._target(), ops=REAL)
            self.result_html.value = _pre(render_pitr_plan(done.plan) + "\n" + render_result(done.restore))
            self.set_status(f"Restored to timeline {done.plan.timeline}, sequence {done.plan.sequence}", kind="success")
            return done

        self.result = self.attempt(run)
        return self.result

    def cancel(self) -> None:
        self.confirm_box.hide()
