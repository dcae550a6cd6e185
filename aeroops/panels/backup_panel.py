"""`BackupPanel`: scan a data directory, show the plan, make the backup, show the result.

A thin layer: `refresh` is `scan` then `plan_backup`, `run` is `run_backup` with the panel's
progress bars (and its compression and recipients); the buttons call those same methods, so
code (and tests) can drive the panel. Encryption takes recipients, which are public keys, or a
file listing them; a secret key typed in their place is refused without being shown.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import ipywidgets as widgets

from aeroops.core.backup_plan import BackupOptions, BackupPlan, BackupRefusal, plan_backup
from aeroops.core.description import DataDirDescription
from aeroops.core.results import BackupResult
from aeroops.errors import BackupError, UsageError
from aeroops.executor.backup import refusal_error, run_backup
from aeroops.executor.clock import default_created_at
from aeroops.executor.fileops import REAL
from aeroops.executor.scan import ChecksumMode, scan
from aeroops.formats.layers import Layer
from aeroops.panels.common import (
    PagedTable,
    Panel,
    TextField,
    WidgetProgress,
    full_width,
    path_input,
    section,
)
from aeroops.views import records
from aeroops.views.backup import backup_plan_rows, backup_result_rows, checkpoint_summary, skipped_lines, wal_summary
from aeroops.views.html import key_values_html, notice_html
from aeroops.views.tables import rows_frame


class BackupPanel(Panel):
    """Pick a data directory and an output folder, review the scan and the plan, press Run.

    State for code and tests: ``description`` (the scan), ``plan`` (a `BackupPlan` or a
    `BackupRefusal`), ``result`` (the last `BackupResult`), ``error`` (the exception the last action
    ended with). ``created_at`` and ``snapshot_id`` are passed to the planner and to the backup;
    ``compress`` (``"zstd"``, ``"zstd:LEVEL"``), ``encrypt_to`` (age recipients) and
    ``recipients_file`` to the backup, as the command line's options are.
    """

    def __init__(
        self,
        data_dir: Path | str | None = None,
        output_dir: Path | str | None = None,
        *,
        created_at: datetime | None = None,
        snapshot_id: str | None = None,
        checksums: ChecksumMode = "all",
        compress: str | None = None,
        encrypt_to: Sequence[str] = (),
        recipients_file: Path | str | None = None,
    ) -> None:
        super().__init__()
        self.created_at = created_at
        self.snapshot_id = snapshot_id
        self.checksums: ChecksumMode = checksums
        self.description: DataDirDescription | None = None
        self.plan: BackupPlan | BackupRefusal | None = None
        self.result: BackupResult | None = None

        self.data_dir_input = path_input("data directory", None, "/path/to/aerodb data directory")
        self.output_input = path_input("output folder", str(output_dir) if output_dir else None, "/path/to/backups")
        self.scan_button = widgets.Button(description="Scan and plan", icon="search")
        self.run_button = widgets.Button(description="Run backup", icon="play", button_style="primary", disabled=True)
        self.run_reason = widgets.HTML("")
        self.scan_button.on_click(lambda _: self.refresh())
        self.run_button.on_click(lambda _: self.run())
        self.data_dir_input.observe(lambda _: self.refresh(), names="value")
        self.output_input.observe(lambda _: self._update_run_button(), names="value")
        choices = list(COMPRESSION_CHOICES)
        if compress and compress not in [value for _, value in choices]:
            choices.append((compress, compress))
        self.compress_select = widgets.Dropdown(
            options=choices,
            value=compress or "",
            description="compression",
            style={"description_width": "110px"},
            layout=widgets.Layout(width="400px"),  # the longest choice whole, not cut
        )
        self.recipients_input = widgets.Textarea(
            value="\n".join(encrypt_to),
            description="encrypt to",
            placeholder="age1… or ssh-ed25519 … recipients, one per line (public keys; empty: not encrypted)",
            rows=2,
            continuous_update=False,
            style={"description_width": "110px"},
            layout=full_width(),
        )
        self.recipients_file_input = path_input(
            "recipients file",
            str(recipients_file) if recipients_file else None,
            "/path/to/recipients.txt (public keys, one per line)",
        )
        for control in (self.compress_select, self.recipients_input, self.recipients_file_input):
            control.observe(lambda _: self._show_plan(), names="value")

        self.scan_summary = widgets.HTML("")
        self.snapshots_table = PagedTable(title="Snapshots, newest first")
        self.plan_summary = widgets.HTML("")
        self.members_table = PagedTable(title="Archive members")
        self.manifest_html = widgets.HTML("")
        self.progress = WidgetProgress()
        self.result_html = widgets.HTML("")
        self.result_members_table = PagedTable(title="Packed members")
        self.children = [
            widgets.HTML("<h3 style='margin: 4px 0'>AeroDB backup</h3>"),
            self.data_dir_input,
            self.output_input,
            self.compress_select,
            self.recipients_input,
            self.recipients_file_input,
            widgets.HBox([self.scan_button, self.run_button]),
            self.run_reason,
            self.status,
            self.error_box,
            section("Scan"),
            self.scan_summary,
            self.snapshots_table,
            section("Plan"),
            self.plan_summary,
            self.members_table,
            self.manifest_html,
            section("Backup"),
            self.progress,
            self.result_html,
            self.result_members_table,
        ]
        self.layout = full_width()
        self._show_result(None)
        if data_dir is not None:
            self.data_dir_input.value = str(data_dir)  # observed: scans and plans
        else:
            self._update_run_button()

    # --- what the buttons do ----------------------------------------------------------------

    data_dir = TextField("data_dir_input")
    output_dir = TextField("output_input")
    recipients_file = TextField("recipients_file_input")

    @property
    def compress(self) -> str | None:
        """``"zstd"`` or ``"zstd:LEVEL"``; None for the plain tar."""
        return str(self.compress_select.value) or None

    @property
    def encrypt_to(self) -> tuple[str, ...]:
        """The recipients typed in the panel, one per line."""
        return tuple(line.strip() for line in str(self.recipients_input.value).splitlines() if line.strip())

    def layers(self) -> tuple[Layer, ...]:
        """The layers the backup will put around the tar, inside out."""
        encrypted = bool(self.encrypt_to or self.recipients_file)
        return (*((Layer.ZSTD,) if self.compress else ()), *((Layer.AGE,) if encrypted else ()))

    def refresh(self) -> BackupPlan | BackupRefusal | None:
        """Scan the data directory and plan the backup (nothing is written); show both."""
        self.description = self.plan = None
        self._show_scan()
        self._show_plan()
        if not self.data_dir:
            self.clear_error()
            self.set_status("Enter a data directory to scan.")
            self._update_run_button()
            return None
        self.set_status(f"Scanning {self.data_dir} …")
        self.progress.start(f"scanning {self.data_dir} …")
        self.description = self.attempt(
            lambda: scan(self.data_dir, checksums=self.checksums, progress=self.progress, ops=REAL)
        )
        scanned = self.description is not None
        self.progress.finish("scanned" if scanned else "scan failed", failed=not scanned)
        self.set_status("")
        self._show_scan()
        if self.description is not None:
            options = BackupOptions(self.created_at or default_created_at(), self.snapshot_id)
            self.plan = plan_backup(self.description, options)
        self._show_plan()
        self._update_run_button()
        return self.plan

    def run(self) -> BackupResult | None:
        """Make the backup (the plan must not be a refusal); show the result or the error."""
        self.result = None
        self._show_result(None)
        self.progress.start("starting …")
        if isinstance(self.plan, BackupRefusal):
            error = refusal_error(self.plan)
            self.show_error(error)
            self.progress.finish(f"refused: {error.code}", failed=True)
            return None
        if not self.output_dir:
            self.show_error(BackupError("choose an output folder first"))
            self.progress.finish("no output folder", failed=True)
            return None
        secret = secret_key_line(self.encrypt_to)
        if secret is not None:
            self.recipients_input.value = ""  # out of the widget's state, which a saved notebook keeps
            self.show_error(UsageError(secret))
            self.progress.finish("a secret key was given as a recipient", failed=True)
            return None
        self.run_button.disabled = True
        try:
            self.result = self.attempt(
                lambda: run_backup(
                    self.data_dir,
                    self.output_dir,
                    created_at=self.created_at,
                    snapshot_id=self.snapshot_id,
                    compress=self.compress,
                    encrypt_to=self.encrypt_to,
                    recipients_files=(self.recipients_file,) if self.recipients_file else (),
                    progress=self.progress,
                    ops=REAL,
                ),
                progress=self.progress,
            )
        finally:
            self._update_run_button()
        if self.result is not None:
            self.progress.finish(f"done in {self.result.duration_seconds:.2f} s")
            self._show_result(self.result)
        return self.result

    # --- rendering --------------------------------------------------------------------------

    def _update_run_button(self) -> None:
        reason = ""
        if isinstance(self.plan, BackupRefusal):
            reason = notice_html(
                f"<b>Backup refused</b> [{html.escape(str(self.plan.rule))}]: {html.escape(self.plan.message)}",
                kind="warning",
            )
        elif self.plan is None:
            reason = ""
        elif not self.output_dir:
            reason = notice_html("Choose an output folder to enable Run.")
        self.run_button.disabled = not isinstance(self.plan, BackupPlan) or not self.output_dir
        self.run_reason.value = reason

    def _show_scan(self) -> None:
        description = self.description
        if description is None:
            self.scan_summary.value = ""
            self.snapshots_table.set_frame(None)
            return
        self.scan_summary.value = key_values_html(
            [
                ("data directory", description.path),
                ("serving", "yes: AeroDB's .lock is present" if description.serving else "no"),
                ("WAL", wal_summary(description.wal)),
                ("checkpoint", checkpoint_summary(description) or "none"),
                ("snapshots", len(description.snapshots)),
            ]
        )
        # The rows the CLI's --json lists, newest first.
        snapshots = rows_frame(records.snapshot_records(description)[::-1], records.SNAPSHOT_COLUMNS)
        self.snapshots_table.set_frame(snapshots)

    def _show_plan(self) -> None:
        plan = self.plan
        if plan is None:
            self.plan_summary.value = self.manifest_html.value = ""
            self.members_table.set_frame(None)
            return
        skipped = skipped_lines(plan)
        if isinstance(plan, BackupRefusal):
            error = refusal_error(plan)
            lines = "".join(f"<li>skipped {html.escape(s)}</li>" for s in skipped)
            self.plan_summary.value = notice_html(
                f"<b>{html.escape(str(error))}</b>" + (f"<ul style='margin: 4px 0'>{lines}</ul>" if lines else ""),
                kind="warning",
            )
            self.manifest_html.value = ""
            self.members_table.set_frame(None)
            return
        self.plan_summary.value = key_values_html(
            backup_plan_rows(
                plan,
                self.created_at,
                self.layers(),
                compress=self.compress,
                recipients=len(self.encrypt_to),
                recipients_file=self.recipients_file,
            )
        )
        self.members_table.set_frame(rows_frame(records.plan_member_records(plan), records.PLAN_MEMBER_COLUMNS))
        self.manifest_html.value = (
            "<b>backup_manifest.json</b> it will write:"
            f"<pre style='margin: 2px 0'>{html.escape(plan.manifest_bytes.decode())}</pre>"
        )

    def _show_result(self, result: BackupResult | None) -> None:
        if result is None:
            self.result_html.value = ""
            self.result_members_table.set_frame(None)
            return
        self.result_html.value = notice_html(
            f"<b>Backup made</b>: {html.escape(result.archive)}", kind="success"
        ) + key_values_html(backup_result_rows(result))
        self.result_members_table.set_frame(
            rows_frame(records.backup_member_records(result), records.BACKUP_MEMBER_COLUMNS)
        )


# What the compression menu offers: the plain tar (AeroDB's own format, the default) or zstd.
COMPRESSION_CHOICES = (
    ("none (plain tar, AeroDB's format)", ""),
    ("zstd, level 3", "zstd"),
    ("zstd, level 1 (fastest)", "zstd:1"),
    ("zstd, level 9", "zstd:9"),
    ("zstd, level 19 (smallest)", "zstd:19"),
)
_SECRET_PREFIXES = ("AGE-SECRET-KEY-", "-----BEGIN")


def secret_key_line(recipients: Sequence[str]) -> str | None:
    """Why ``recipients`` cannot be used when one of them is a secret key (an age identity or a
    private key pasted where a public key belongs), without showing it; else None."""
    for number, line in enumerate(recipients, start=1):
        if line.upper().startswith(_SECRET_PREFIXES):
            return (
                f"recipient {number} is a secret key, not a recipient: the panel has cleared it. Encrypt to "
                "the public key (age-keygen -y FILE prints it); a secret key belongs in a file only the "
                "reader can read, never in a notebook"
            )
    return None
