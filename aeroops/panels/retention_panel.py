"""The retention panel: a policy, the plan for a backup folder (a table and the timeline), and
removal behind a confirmation, as the restore panel asks before it restores.

`plan()` (the *Plan* button) is a dry run of `aeroops.executor.prune.prune`; `request_remove()`
(*Remove…*) shows what would go and asks; only `confirm()` (*Confirm*) removes, and only what was
shown: if the folder changed meanwhile, the removal is refused and the plan shown again.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from aeroops.core.results import PruneResult
from aeroops.core.retention import (
    COUNT_RULES,
    UNLIMITED,
    WITHIN_PERIOD_RULES,
    Duration,
    Policy,
    RetentionPlan,
    parse_duration,
)
from aeroops.errors import UsageError
from aeroops.executor.fileops import REAL
from aeroops.executor.prune import prune
from aeroops.panels.common import (
    ConfirmBox,
    PagedTable,
    Panel,
    TextField,
    WidgetProgress,
    full_width,
    path_input,
    section,
)
from aeroops.views.charts import retention_svg
from aeroops.views.html import notice_html
from aeroops.views.tables import retention_frame
from aeroops.views.units import human_bytes

RULES = COUNT_RULES


class RetentionPanel(Panel):
    """Plan the retention of a backup folder; remove what the plan removes after confirming.

    State for code and tests: ``plan_result`` (the last dry run's `PruneResult`), ``pending``
    (True while a removal awaits confirmation), ``result`` (the last removal's `PruneResult`),
    ``error``.
    """

    def __init__(
        self,
        folder: Path | str | None = None,
        policy: Policy | None = None,
        *,
        verify: bool = True,
        recursive: bool = False,
    ) -> None:
        super().__init__()
        policy = policy or Policy()
        self.recursive = recursive
        self.plan_result: PruneResult | None = None
        self.result: PruneResult | None = None
        self.pending = False

        self.folder_input = path_input("backup folder", str(folder) if folder else None, "/path/to/backups")
        self.count_inputs = {
            rule: widgets.BoundedIntText(
                value=policy.count(rule),
                min=UNLIMITED,
                max=10_000,
                description=f"keep {rule.value}",
                tooltip="-1: unlimited (every period)",
                style={"description_width": "90px"},
                layout=widgets.Layout(width="170px"),
            )
            for rule in RULES
        }
        self.within_input = widgets.Text(
            value="" if policy.within is None else str(policy.within),
            description="keep within",
            placeholder="e.g. 7d, 36h",
            style={"description_width": "90px"},
            layout=widgets.Layout(width="220px"),
        )
        self.within_period_inputs = {
            rule: widgets.Text(
                value="" if policy.duration(rule) is None else str(policy.duration(rule)),
                description=f"{rule.value.split()[0]} within",
                placeholder="e.g. 1m",
                style={"description_width": "105px"},
                layout=widgets.Layout(width="215px"),
            )
            for rule in WITHIN_PERIOD_RULES
        }
        self.zone_input = widgets.Text(
            value=policy.time_zone or "",
            description="time zone",
            placeholder="UTC",
            style={"description_width": "90px"},
            layout=widgets.Layout(width="260px"),
        )
        self.damaged_box = widgets.Checkbox(
            value=policy.remove_damaged, description="remove damaged archives too", indent=False
        )
        self.verify_box = widgets.Checkbox(value=verify, description="verify every archive first", indent=False)
        self.plan_button = widgets.Button(description="Plan", icon="search", tooltip="a dry run: nothing is removed")
        self.remove_button = widgets.Button(description="Remove…", icon="trash", button_style="warning", disabled=True)
        self.confirm_box = ConfirmBox(self.confirm, self.cancel)
        self.plan_button.on_click(lambda _: self.plan())
        self.remove_button.on_click(lambda _: self.request_remove())
        controls = [
            self.folder_input,
            *self.count_inputs.values(),
            self.within_input,
            *self.within_period_inputs.values(),
            self.zone_input,
            self.damaged_box,
            self.verify_box,
        ]
        for control in controls:
            control.observe(lambda _: self._forget_plan(), names="value")

        self.progress = WidgetProgress()
        self.summary_html = widgets.HTML("")
        self.chart = widgets.HTML("", layout=widgets.Layout(overflow="auto", width="auto"))
        self.plan_table = PagedTable(title="Every file: keep or remove, and why")
        self.result_html = widgets.HTML("")
        self.children = [
            widgets.HTML("<h3 style='margin: 4px 0'>AeroDB backup retention</h3>"),
            self.folder_input,
            widgets.HBox(list(self.count_inputs.values())[:3]),
            widgets.HBox(list(self.count_inputs.values())[3:]),
            widgets.HBox([self.within_input, self.zone_input]),
            widgets.HBox(list(self.within_period_inputs.values())[:3]),
            widgets.HBox(list(self.within_period_inputs.values())[3:]),
            widgets.HBox([self.damaged_box, self.verify_box]),
            widgets.HBox([self.plan_button, self.remove_button]),
            self.confirm_box,
            self.status,
            self.error_box,
            self.progress,
            section("Plan"),
            self.summary_html,
            self.chart,
            self.plan_table,
            self.result_html,
        ]
        self.layout = full_width()

    folder = TextField("folder_input")
    within_text = TextField("within_input")
    time_zone = TextField("zone_input")

    def policy(self) -> Policy:
        """The policy the controls describe (raises `UsageError` for a bad duration or zone)."""
        within: Duration | None = parse_duration(self.within_text) if self.within_text else None
        rules: dict[str, Any] = {rule.value: int(self.count_inputs[rule].value) for rule in RULES}
        for rule, field in self.within_period_inputs.items():
            rules[rule.option] = parse_duration(field.value.strip()) if field.value.strip() else None
        return Policy(
            **rules,
            within=within,
            time_zone=self.time_zone or None,
            remove_damaged=self.damaged_box.value,
        )

    # --- what the buttons do ----------------------------------------------------------------

    def plan(self) -> RetentionPlan | None:
        """A dry run: the plan, shown as a table and on the timeline. Nothing is removed."""
        self.cancel()
        self.result_html.value = ""
        if not self.folder:
            self.show_error(UsageError("choose a backup folder first"))
            return None
        self.progress.start("planning …")
        result = self.attempt(
            lambda: prune(
                self.folder,
                self.policy(),
                verify=self.verify_box.value,
                recursive=self.recursive,
                progress=self.progress,
                ops=REAL,
            ),
            progress=self.progress,
        )
        self.plan_result = result
        if result is None:
            self._show_plan()
            return None
        self.progress.finish(f"{len(result.plan.decisions)} files planned")
        self._show_plan()
        return result.plan

    def request_remove(self) -> bool:
        """Put the removal of what the plan removes up for confirmation; True if asked."""
        self.cancel()
        if self.plan_result is None and self.plan() is None:
            return False
        assert self.plan_result is not None
        removed = self.plan_result.plan.removed
        if not removed:
            self.set_status("Nothing to remove: every archive is kept by the policy.", kind="success")
            return False
        names = "".join(f"<li>{html.escape(d.file)} <i>({html.escape(d.why)})</i></li>" for d in removed)
        warnings = "".join(f"<li><b>{html.escape(str(copy))}</b></li>" for copy in self.plan_result.plan.last_copies())
        question = (
            f"<b>Remove {len(removed)} archives ({human_bytes(self.plan_result.plan.removed_bytes())}) and their "
            f"sidecars from {html.escape(self.folder)}?</b><ul>{names}</ul>"
            + (f"<div style='color: #b71c1c'>Snapshots this loses:<ul>{warnings}</ul></div>" if warnings else "")
        )
        self.pending = True
        self.confirm_box.ask(question)
        return True

    def confirm(self) -> PruneResult | None:
        """Remove what was shown, and only that."""
        pending, self.pending = self.pending, False
        self.confirm_box.hide()
        if not pending or self.plan_result is None:
            self.show_error(UsageError("nothing awaits confirmation: press Remove… first"))
            return None
        shown = frozenset(d.file for d in self.plan_result.plan.removed)
        self.progress.start("removing …")
        result = self.attempt(
            lambda: prune(
                self.folder,
                self.policy(),
                yes=True,
                verify=self.verify_box.value,
                recursive=self.recursive,
                expect=shown,
                progress=self.progress,
                ops=REAL,
            ),
            progress=self.progress,
        )
        self.plan_result = None
        if result is not None:
            self.result = result
            self.progress.finish(f"removed {len(result.plan.removed)} archives")
            self.result_html.value = notice_html(
                f"Removed {len(result.plan.removed)} archives ({human_bytes(result.plan.removed_bytes())}), "
                f"{len(result.removed)} files with their sidecars.",
                kind="success",
            )
        self._show_plan(done=result)
        return result

    def cancel(self) -> None:
        """Withdraw the question; nothing is removed."""
        self.pending = False
        self.confirm_box.hide()

    # --- rendering --------------------------------------------------------------------------

    def _forget_plan(self) -> None:
        self.cancel()
        self.plan_result = None
        self._show_plan()

    def _show_plan(self, done: PruneResult | None = None) -> None:
        """The dry run's plan, or ``done``: the plan a removal carried out (what was kept and
        removed, and why, stays in view after Confirm)."""
        planned = self.plan_result
        self.remove_button.disabled = planned is None or not planned.plan.removed or planned.refusal is not None
        result = done or planned
        if result is None:
            self.summary_html.value = self.chart.value = ""
            self.plan_table.set_frame(None)
            return
        plan = result.plan
        text = (
            f"{html.escape(str(plan.policy))}: <b>{len(plan.kept)} kept, {len(plan.removed)} "
            f"{'removed' if done else 'to remove'}</b> "
            f"({human_bytes(plan.removed_bytes())})" + ("" if result.verified else "; archives not verified")
        )
        copies = plan.last_copies()
        if copies:
            text += "<br>" + "<br>".join(html.escape(str(copy)) for copy in copies)
        if result.refusal is not None and not done:
            text += f"<br><b>Remove would be refused</b>: {html.escape(result.refusal)}"
        self.summary_html.value = notice_html(text, kind="warning" if copies or result.refusal else "info")
        self.chart.value = retention_svg(plan)
        self.plan_table.set_frame(retention_frame(plan))
