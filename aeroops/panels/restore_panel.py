"""`RestorePanel`: rehearse a restore (a drill), preview a restore, and carry it out only after
an explicit confirmation; recover from an interrupted restore the same way.

A thin layer: `drill` is `aeroops.executor.drill.drill`, `preview` is `preview_restore`,
`confirm` runs `restore` (or `recover`) for what `request_restore` (or `request_recover`) put up
for confirmation. The buttons call these same methods.
"""

from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as widgets

from aeroops.core.recovery import RecoveryPlan
from aeroops.core.restore_plan import RestorePlan, RestoreRefusal, RestoreRule
from aeroops.core.restore_target import RestoreMode
from aeroops.core.results import DrillResult, RecoveryResult, RestorePreview, RestoreResult
from aeroops.errors import UsageError
from aeroops.executor.check import newest_good_archive
from aeroops.executor.drill import drill
from aeroops.executor.fileops import REAL
from aeroops.executor.recover import preview_recovery, recover
from aeroops.executor.restore import preview_restore, refusal_error, restore
from aeroops.formats.ids import format_timestamp
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
from aeroops.views import charts, records
from aeroops.views.html import drill_html as drill_box
from aeroops.views.html import key_values_html, notice_html
from aeroops.views.restore import render_recovery, render_verdict
from aeroops.views.tables import findings_frame, rows_frame
from aeroops.views.units import human_bytes

Outcome = RestoreResult | RecoveryResult


class RestorePanel(Panel):
    """Pick an archive and a data directory; drill, preview, then restore after confirming.

    Nothing destructive happens without two steps: `request_restore` (the *Restore…* button)
    shows what would be replaced and asks; only `confirm` (the *Confirm* button) restores.
    Changing a path or the create option withdraws the question; changing a path clears the drill.

    State for code and tests: ``preview_result`` (the last `RestorePreview`), ``recovery_plan``
    (what `recover` would do, when a restore was interrupted), ``pending`` ("restore",
    "recover" or None: what awaits confirmation), ``result`` (the last `RestoreResult`),
    ``recovery`` (the last `RecoveryResult`), ``drill_result`` (the last `DrillResult`),
    ``error``.

    Given a ``backup_dir`` and no archive, the archive is the newest one in the folder that
    verifies clean (`aeroops.executor.check.newest_good_archive`).
    """

    def __init__(
        self,
        archive: Path | str | None = None,
        data_dir: Path | str | None = None,
        *,
        create: bool = False,
        scratch_parent: Path | str | None = None,
        backup_dir: Path | str | None = None,
    ) -> None:
        super().__init__()
        self.scratch_parent = scratch_parent
        if archive is None and backup_dir is not None:
            # The default archive: the newest one in the folder that verifies clean.
            archive = self.attempt(lambda: newest_good_archive(backup_dir, ops=REAL))
        self.preview_result: RestorePreview | None = None
        self.recovery_plan: RecoveryPlan | None = None
        self.pending: str | None = None
        self.result: RestoreResult | None = None
        self.recovery: RecoveryResult | None = None
        self.drill_result: DrillResult | None = None

        self.archive_input = path_input("archive", str(archive) if archive else None, "/path/to/backup.tar")
        self.data_dir_input = path_input("data directory", str(data_dir) if data_dir else None, "/path/to/aerodb")
        self.create_box = widgets.Checkbox(value=create, description="create it (it does not exist yet)", indent=False)
        self.compare_box = widgets.Checkbox(
            value=True, description="drill: compare with the data directory", indent=False
        )
        self.drill_button = widgets.Button(description="Drill", icon="flask", tooltip="restore into a scratch folder")
        self.preview_button = widgets.Button(description="Preview restore", icon="search")
        self.restore_button = widgets.Button(
            description="Restore…", icon="download", button_style="warning", disabled=True
        )
        self.recover_button = widgets.Button(description="Recover…", icon="medkit", button_style="warning")
        self.recover_button.layout.display = "none"
        self.confirm_box = ConfirmBox(self.confirm, self.cancel)
        self.confirm_text, self.confirm_button = self.confirm_box.text, self.confirm_box.confirm_button
        self.cancel_button = self.confirm_box.cancel_button
        self.drill_button.on_click(lambda _: self.drill())
        self.preview_button.on_click(lambda _: self.preview())
        self.restore_button.on_click(lambda _: self.request_restore())
        self.recover_button.on_click(lambda _: self.request_recover())
        for control in (self.archive_input, self.data_dir_input, self.create_box):
            control.observe(lambda _: self._forget_preview(), names="value")
        for control in (self.archive_input, self.data_dir_input):  # a drill is of one archive, against one directory
            control.observe(lambda _: self._forget_drill(), names="value")

        self.progress = WidgetProgress()
        self.drill_html = widgets.HTML("")
        self.drill_table = PagedTable(title="Documents per collection")
        self.drill_chart = widgets.Image(format="png", layout=widgets.Layout(max_width="900px"))
        self.preview_html = widgets.HTML("")
        self.findings_table = PagedTable(title="Findings that refuse the archive")
        self.replaced_table = PagedTable(title="What the data directory holds now, and will be replaced")
        self.files_table = PagedTable(title="Files of the new data directory")
        self.result_html = widgets.HTML("")
        self.drill_heading = section("Drill")
        self.restore_heading = section("Restore")
        self.children = [
            widgets.HTML("<h3 style='margin: 4px 0'>AeroDB restore</h3>"),
            self.archive_input,
            self.data_dir_input,
            widgets.HBox([self.create_box, self.compare_box]),
            widgets.HBox([self.drill_button, self.preview_button, self.restore_button, self.recover_button]),
            self.confirm_box,
            self.status,
            self.error_box,
            self.progress,
            self.drill_heading,
            self.drill_html,
            self.drill_table,
            self.drill_chart,
            self.restore_heading,
            self.preview_html,
            self.findings_table,
            self.replaced_table,
            self.files_table,
            self.result_html,
        ]
        self.layout = full_width()
        self._show_drill()
        self._show_preview()
        self._show_result()

    archive = TextField("archive_input")
    data_dir = TextField("data_dir_input")

    # --- what the buttons do ----------------------------------------------------------------

    def drill(self) -> DrillResult | None:
        """Restore the archive into a scratch folder and compare documents with the archive
        (and with the data directory, which is only read). Nothing else is touched."""
        if not self._need(archive=True):
            return None
        source = self.data_dir if self.compare_box.value and self.data_dir and REAL.is_dir(self.data_dir) else None
        self.progress.start("drill: starting …")
        self.drill_result = self.attempt(
            lambda: drill(
                self.archive, source=source, scratch_parent=self.scratch_parent, progress=self.progress, ops=REAL
            ),
            progress=self.progress,
        )
        if self.drill_result is not None:
            ok = self.drill_result.ok
            self.progress.finish(f"drill {'PASSED' if ok else 'FAILED'}", failed=not ok)
        self._show_drill()
        return self.drill_result

    def preview(self) -> RestorePreview | None:
        """Verify the archive and plan the restore: what would be replaced, and with what.
        Nothing is written."""
        self._forget_preview()
        if not self._need(archive=True, data_dir=True):
            return None
        self.progress.start("verifying the archive …")
        self.preview_result = self.attempt(
            lambda: preview_restore(
                self.archive, self.data_dir, create=self.create_box.value, progress=self.progress, ops=REAL
            ),
            progress=self.progress,
        )
        if self.preview_result is not None:
            plan = self.preview_result.plan
            if isinstance(plan, RestoreRefusal):
                # Not a green "done": the restore would be refused (the preview below says why).
                self.progress.finish("previewed: the restore would be refused; nothing was changed", refused=True)
            else:
                self.progress.finish("previewed: nothing was changed")
            if isinstance(plan, RestoreRefusal) and plan.rule is RestoreRule.INTERRUPTED:
                self.recovery_plan = self.attempt(lambda: preview_recovery(self.data_dir, ops=REAL))
        self._show_preview()
        return self.preview_result

    def request_restore(self) -> bool:
        """Put the restore up for confirmation (previewing first if needed); True if asked."""
        self.cancel()
        if self.preview_result is None and self.preview() is None:
            return False
        assert self.preview_result is not None
        plan = self.preview_result.plan
        if isinstance(plan, RestoreRefusal):
            self.show_error(refusal_error(plan, self.preview_result.data_dir))
            return False
        self._ask("restore", _restore_question(plan))
        return True

    def request_recover(self) -> bool:
        """Put the recovery of an interrupted restore up for confirmation; True if asked."""
        self.cancel()
        if not self._need(data_dir=True):
            return False
        self.recovery_plan = self.attempt(lambda: preview_recovery(self.data_dir, ops=REAL))
        plan = self.recovery_plan
        if plan is None:
            return False
        self._show_preview()
        if plan.refusal or not plan.steps:
            self.set_status(f"Nothing to recover: {plan.refusal or 'no restore was interrupted'}", kind="warning")
            return False
        text = html.escape(render_recovery(plan, data_dir=self.data_dir).removesuffix("\n" + _DRY_RUN_LINE))
        self._ask("recover", f"<b>Recover {html.escape(self.data_dir)}?</b><pre>{text}</pre>")
        return True

    def confirm(self) -> Outcome | None:
        """Carry out what awaits confirmation: the restore, or the recovery."""
        pending, self.pending = self.pending, None
        self.confirm_box.layout.display = "none"
        if pending is None:
            self.show_error(UsageError("nothing awaits confirmation: press Restore… (or Recover…) first"))
            return None
        # The preview verified the archive: the restore checks every member's CRC against that report.
        report = self.preview_result.report if self.preview_result is not None else None

        def action() -> Outcome:
            if pending == "restore":
                return restore(
                    self.archive,
                    self.data_dir,
                    create=self.create_box.value,
                    verified=report,
                    progress=self.progress,
                    ops=REAL,
                )
            return recover(self.data_dir, progress=self.progress, ops=REAL)

        self.progress.start(f"{pending}: starting …")
        outcome = self.attempt(action, progress=self.progress)
        self.preview_result = self.recovery_plan = None  # what was previewed is gone now
        self._show_preview()
        if isinstance(outcome, RestoreResult):
            self.result = outcome
            self.progress.finish(f"restored in {outcome.duration_seconds:.2f} s")
        elif isinstance(outcome, RecoveryResult):
            self.recovery = outcome
            self.progress.finish(f"recovered: {outcome.plan.summary}")
        self._show_result(outcome)
        return outcome

    def cancel(self) -> None:
        """Withdraw the question; nothing is done."""
        self.pending = None
        self.confirm_text.value = ""
        self.confirm_box.layout.display = "none"

    # --- rendering --------------------------------------------------------------------------

    def _need(self, *, archive: bool = False, data_dir: bool = False) -> bool:
        asked = (("an archive", archive, self.archive), ("a data directory", data_dir, self.data_dir))
        missing = [name for name, wanted, value in asked if wanted and not value]
        if missing:
            self.show_error(UsageError(f"choose {' and '.join(missing)} first"))
            return False
        return True

    def _ask(self, pending: str, question: str) -> None:
        self.pending = pending
        self.confirm_text.value = question
        self.confirm_box.layout.display = None

    def _forget_preview(self) -> None:
        self.cancel()
        self.preview_result = self.recovery_plan = None
        self._show_preview()

    def _forget_drill(self) -> None:
        """Another archive or directory: the last drill, of the one before, is no longer shown
        (beside a refused preview of a damaged archive it read as that archive's)."""
        if self.drill_result is not None:
            self.drill_result = None
            self._show_drill()

    def _show_headings(self) -> None:
        """A section's heading shows only with something under it: a refused preview showed an
        empty "Drill" above it."""
        self.drill_heading.layout.display = None if self.drill_result is not None else "none"
        restore_shown = bool(self.preview_html.value or self.result_html.value)
        self.restore_heading.layout.display = None if restore_shown else "none"

    def _show_drill(self) -> None:
        self._show_drill_parts()
        self._show_headings()

    def _show_drill_parts(self) -> None:
        result = self.drill_result
        shown = result is not None and bool(result.collections)
        self.drill_chart.value = charts.drill_comparison(result).png() if result is not None and shown else b""
        self.drill_chart.layout.display = None if shown else "none"
        if result is None:
            self.drill_html.value = ""
            self.drill_table.set_frame(None)
            return
        self.drill_html.value = drill_box(result)
        counts = records.drill_collection_records(result)
        self.drill_table.set_frame(rows_frame(counts, records.DRILL_COLLECTION_COLUMNS) if counts else None)

    def _show_preview(self) -> None:
        self._show_preview_parts()
        self._show_headings()

    def _show_preview_parts(self) -> None:
        preview = self.preview_result
        self.restore_button.disabled = preview is None or not preview.would_restore
        interrupted = self.recovery_plan is not None and bool(self.recovery_plan.steps)
        self.recover_button.layout.display = None if interrupted else "none"
        for table in (self.findings_table, self.replaced_table, self.files_table):
            table.set_frame(None)
        if preview is None:
            self.preview_html.value = ""
            return
        verdict = render_verdict(preview.report)
        parts = [notice_html(f"archive: {html.escape(verdict)}", kind="success" if preview.report.ok else "warning")]
        plan = preview.plan
        if isinstance(plan, RestoreRefusal):
            parts.append(
                notice_html(
                    f"<b>Restore refused</b> [{html.escape(str(plan.rule))}]: {html.escape(plan.message)}",
                    kind="warning",
                )
            )
            if self.recovery_plan is not None:
                text = render_recovery(self.recovery_plan, data_dir=preview.data_dir)
                parts.append(f"<pre>{html.escape(text)}</pre>")
            if preview.report.findings:
                self.findings_table.set_frame(findings_frame(preview.report))
            self.preview_html.value = "".join(parts)
            return
        parts.append(
            key_values_html(
                [
                    (
                        "backup",
                        f"{plan.backup_id}, snapshot {plan.snapshot_id}, created {format_timestamp(plan.created_at)}",
                    ),
                    (
                        "data directory",
                        f"{plan.paths.data_dir} ({'created' if plan.mode is RestoreMode.CREATE else 'replaced'})",
                    ),
                    ("replaces", f"{plan.replaced_files} files, {human_bytes(plan.replaced_bytes)}"),
                    ("with", f"{len(plan.files)} files, {human_bytes(plan.new_bytes)}"),
                    ("WAL", "included" if plan.wal_present else "absent: restored as an empty WAL"),
                    *(("note", note) for note in plan.notes),
                    ("steps", " → ".join(plan.steps)),
                ]
            )
        )
        self.preview_html.value = "".join(parts)
        if plan.replaced:
            self.replaced_table.set_frame(rows_frame(records.replaced_records(plan), records.REPLACED_COLUMNS))
        self.files_table.set_frame(rows_frame(records.restored_file_records(plan), records.RESTORED_FILE_COLUMNS))

    def _show_result(self, outcome: Outcome | None = None) -> None:
        self._show_result_parts(outcome)
        self._show_headings()

    def _show_result_parts(self, outcome: Outcome | None) -> None:
        if isinstance(outcome, RestoreResult):
            self.result_html.value = notice_html(
                f"<b>RESTORED</b>: {html.escape(outcome.data_dir)}", kind="success"
            ) + key_values_html(
                [
                    ("archive", outcome.archive),
                    ("backup", f"{outcome.backup_id}, snapshot {outcome.plan.snapshot_id}"),
                    ("data directory", f"{outcome.data_dir} ({'created' if outcome.created else 'replaced'})"),
                    ("files", f"{len(outcome.files)}, {human_bytes(outcome.restored_bytes)}"),
                    ("archive verdict", render_verdict(outcome.report)),
                    ("duration", f"{outcome.duration_seconds:.3f} s"),
                    *(("warning", w) for w in outcome.warnings),
                ]
            )
        elif isinstance(outcome, RecoveryResult):
            text = render_recovery(outcome.plan, data_dir=outcome.data_dir, performed=outcome.performed)
            self.result_html.value = notice_html(f"<b>RECOVERED</b><pre>{html.escape(text)}</pre>", kind="success")
        else:
            self.result_html.value = ""


_DRY_RUN_LINE = "dry run: nothing was changed; add --yes to do it"


def _restore_question(plan: RestorePlan) -> str:
    target = html.escape(plan.paths.data_dir)
    backup = html.escape(f"backup {plan.backup_id} (snapshot {plan.snapshot_id})")
    if plan.mode is RestoreMode.CREATE:
        return f"<b>Create {target}</b> from {backup}? {len(plan.files)} files, {human_bytes(plan.new_bytes)}."
    return (
        f"<b>Replace {target}</b> with {backup}? Everything it holds now ({plan.replaced_files} files, "
        f"{human_bytes(plan.replaced_bytes)}) is deleted once the restored directory is in place. "
        "AeroDB must stay stopped until the restore is done."
    )
