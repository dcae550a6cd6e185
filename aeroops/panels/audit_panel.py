"""`AuditPanel`: a folder of backups as an inventory; one archive's members, WAL and
documents; verification of one archive or of all of them.

A thin layer: `refresh` is `inventory`, `select` is `inspect_archive`, `verify` is
`verify_archive`, `verify_all` is `inventory(verify=True)`, each with the identity file the
panel names (a path: the key itself never enters the notebook); tables come from
`aeroops.views.tables`, charts from `aeroops.views.charts`. The buttons call these same methods.
A folder that holds WAL segments also shows its WAL archive (`aeroops.executor.pitr.wal_archive`,
as ``inventory --wal``: listed on refresh, read whole by "Verify all"): timelines, problems,
each base's restorable range, and the coverage chart (`aeroops.views.pitr_chart`).
"""

from __future__ import annotations

import html
from datetime import datetime
from functools import partial
from pathlib import Path

import ipywidgets as widgets

from aeroops.core.inspect import InspectResult
from aeroops.core.inventory import Inventory
from aeroops.core.pitr import WalArchiveReport
from aeroops.core.verify_report import VerifyReport
from aeroops.executor.audit import in_folder, inspect_archive, inventory, verify_archive
from aeroops.executor.fileops import REAL
from aeroops.panels.common import (
    PagedTable,
    Panel,
    TextField,
    WidgetProgress,
    filling_width,
    full_width,
    path_input,
    section,
)
from aeroops.views import charts
from aeroops.views.html import frame_html, notice_html
from aeroops.views.html import verdict_html as verdict_box
from aeroops.views.tables import (
    INVENTORY_LEFT_OUT,
    backup_manifest_frame,
    collections_frame,
    findings_frame,
    inventory_frame,
    members_frame,
    snapshot_manifest_frame,
    wal_frame,
)
from aeroops.views.units import human_bytes


class AuditPanel(Panel):
    """Pick a backup folder; see its inventory; select an archive to see inside it; verify.

    State for code and tests: ``inventory`` (the last `Inventory`), ``selected`` (the file
    name, relative to the folder), ``inspection`` (its `InspectResult`), ``report`` (the last
    `VerifyReport` of the selected archive), ``reports`` (those of "verify all": every archive
    with a finding), ``wal_report`` (the folder's `WalArchiveReport`; None for a folder URL),
    ``error``. ``now`` fixes the time ages are measured from. ``identity_file``
    opens encrypted archives (without one they are judged by their stored bytes and cleartext
    record, and cannot be looked into).
    """

    def __init__(
        self,
        folder: Path | str | None = None,
        *,
        recursive: bool = False,
        now: datetime | None = None,
        dask: str | None = None,
        identity_file: Path | str | None = None,
    ) -> None:
        super().__init__()
        self.now = now
        self.dask = dask  # a Dask scheduler: "Verify all" of a folder URL spreads over its cluster
        self.inventory: Inventory | None = None
        self.selected: str | None = None
        self.inspection: InspectResult | None = None
        self.report: VerifyReport | None = None
        self.reports: tuple[VerifyReport, ...] = ()
        self.wal_report: WalArchiveReport | None = None
        self._choosing = False  # the archive list is being refilled

        self.folder_input = path_input("backup folder", None, "/path/to/backups")
        self.identity_input = path_input(
            "identity file",
            str(identity_file) if identity_file else None,
            "/path/to/key.txt: opens encrypted archives (a path; never paste the key itself)",
        )
        self.recursive_box = widgets.Checkbox(value=recursive, description="include subfolders", indent=False)
        self.refresh_button = widgets.Button(description="Inventory", icon="refresh")
        self.verify_all_button = widgets.Button(description="Verify all", icon="check-double", disabled=True)
        self.archive_select = widgets.Dropdown(
            options=[], value=None, description="archive", style={"description_width": "110px"}, layout=filling_width()
        )
        self.verify_button = widgets.Button(description="Verify", icon="check", button_style="primary", disabled=True)
        self.folder_input.observe(lambda _: self.refresh(), names="value")
        self.recursive_box.observe(lambda _: self.refresh(), names="value")
        self.identity_input.observe(lambda _: self.refresh(), names="value")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.verify_all_button.on_click(lambda _: self.verify_all())
        self.archive_select.observe(self._on_select, names="value")
        self.verify_button.on_click(lambda _: self.verify())

        self.progress = WidgetProgress()
        self.inventory_summary = widgets.HTML("")
        self.inventory_table = PagedTable(title="Inventory", leave_out=INVENTORY_LEFT_OUT)
        self.history_chart = widgets.Image(format="png", layout=widgets.Layout(max_width="900px"))
        self.compression_chart = widgets.Image(format="png", layout=widgets.Layout(max_width="900px"))
        self.all_findings_table = PagedTable(title="Findings of every archive verified")
        self.wal_summary = widgets.HTML("")
        self.coverage_chart = widgets.Image(format="png", layout=widgets.Layout(max_width="900px"))
        self.wal_timelines_table = PagedTable(title="WAL segments per timeline")
        self.wal_coverage_table = PagedTable(title="What each base backup can restore to")
        self.wal_problems_table = PagedTable(title="Problems of the WAL archive")
        self.wal_box = widgets.VBox(
            [
                section("WAL archive"),
                self.wal_summary,
                self.coverage_chart,
                self.wal_timelines_table,
                self.wal_coverage_table,
                self.wal_problems_table,
            ],
            layout=full_width(),
        )
        self.archive_summary = widgets.HTML("")
        self.manifests_html = widgets.HTML("")
        self.members_table = PagedTable(title="Members")
        self.wal_table = PagedTable(title="Records per collection and operation")
        self.collections_table = PagedTable(title="Documents per collection, after replaying the WAL")
        self.details = widgets.Tab(
            children=[self.members_table, self.wal_table, self.collections_table, self.manifests_html],
            titles=("Members", "WAL", "Documents", "Manifests"),
            layout=full_width(),
        )
        self.verdict_html = widgets.HTML("")
        self.findings_table = PagedTable(title="Findings")
        self.children = [
            widgets.HTML("<h3 style='margin: 4px 0'>AeroDB backup folder audit</h3>"),
            self.folder_input,
            self.identity_input,
            widgets.HBox([self.recursive_box, self.refresh_button, self.verify_all_button]),
            self.status,
            self.error_box,
            self.progress,
            section("Inventory"),
            self.inventory_summary,
            self.inventory_table,
            self.history_chart,
            self.compression_chart,
            self.all_findings_table,
            self.wal_box,
            section("Archive"),
            widgets.HBox([self.archive_select, self.verify_button], layout=full_width()),
            self.archive_summary,
            self.details,
            section("Verification"),
            self.verdict_html,
            self.findings_table,
        ]
        self.layout = full_width()
        self._show_archive()
        self._show_verdict()
        self._show_inventory()
        self._show_wal()
        if folder is not None:
            self.folder_input.value = str(folder)  # observed: takes the inventory

    folder = TextField("folder_input")
    identity_file = TextField("identity_input")

    def identities(self) -> tuple[str, ...] | None:
        """The identity files to open encrypted archives with (None: ``AEROOPS_IDENTITY_FILE``'s)."""
        return (self.identity_file,) if self.identity_file else None

    def archive_path(self, name: str) -> Path | str:
        """Where the archive ``name`` (as the inventory lists it) is: a path, or a URL."""
        return in_folder(self.inventory.folder if self.inventory else self.folder, name)

    # --- what the buttons do ----------------------------------------------------------------

    def refresh(self) -> Inventory | None:
        """Take the inventory of the folder (reading each archive's manifest only)."""
        return self._take_inventory(verify=False)

    def verify_all(self) -> Inventory | None:
        """Verify every archive of the folder: the inventory gains its verdict columns, and the
        findings of every archive that has any are listed."""
        taken = self._take_inventory(verify=True)
        if taken is None:
            return None
        with_findings = [row.file for row in taken.rows if sum(_counts(row)) > 0]
        reports: list[VerifyReport] = []

        def verify_one(name: str) -> VerifyReport:
            return verify_archive(
                self.archive_path(name), progress=self.progress, ops=REAL, identities=self.identities()
            )

        for index, name in enumerate(with_findings, start=1):
            self.set_status(f"Listing the findings of {name} ({index} of {len(with_findings)}) …")
            report = self.attempt(partial(verify_one, name))
            if report is None:
                break
            reports.append(report)
        self.set_status("")
        self.reports = tuple(reports)
        self.all_findings_table.set_frame(findings_frame(self.reports) if self.reports else None)
        if self.error is None:
            self.progress.finish(f"verified {len(taken.rows)} archives: {_verdict_line(taken)}")
        return taken

    def select(self, name: str | None) -> InspectResult | None:
        """Show what archive ``name`` holds: manifests, members, WAL summary, documents."""
        if name is not None and name not in self.archive_select.options:
            self._set_choices([*self.archive_select.options, name])
        if self.archive_select.value != name:
            self.archive_select.value = name  # observed: comes back here
            return self.inspection
        self.selected, self.inspection, self.report = name, None, None
        self._show_archive()
        self._show_verdict()
        self.verify_button.disabled = name is None
        if name is None:
            return None
        self.progress.start(f"reading {name} …")
        self.inspection = self.attempt(
            lambda: inspect_archive(
                self.archive_path(name), progress=self.progress, ops=REAL, identities=self.identities()
            ),
            progress=self.progress,
        )
        if self.inspection is not None:
            self.progress.finish(f"read {name}")
        self._show_archive()
        return self.inspection

    def verify(self, name: str | None = None) -> VerifyReport | None:
        """Verify the selected archive (or ``name``, which gets selected first)."""
        if name is not None and name != self.selected:
            self.select(name)
        if self.selected is None:
            self.set_status("Select an archive to verify.", kind="warning")
            return None
        self.progress.start(f"verifying {self.selected} …")
        self.report = self.attempt(
            lambda: verify_archive(
                self.archive_path(self.selected or ""), progress=self.progress, ops=REAL, identities=self.identities()
            ),
            progress=self.progress,
        )
        if self.report is not None:
            self.progress.finish(f"verified {self.selected}: {'clean' if self.report.ok else 'NOT CLEAN'}")
        self._show_verdict()
        return self.report

    # --- rendering --------------------------------------------------------------------------

    def _take_inventory(self, *, verify: bool) -> Inventory | None:
        self.inventory, self.reports, self.wal_report = None, (), None
        self.all_findings_table.set_frame(None)
        if not self.folder:
            self.clear_error()
            self._show_inventory()
            self._show_wal()
            self.set_status("Enter a backup folder.")
            return None
        self.progress.start("verifying every archive …" if verify else "reading manifests …")
        self.inventory = self.attempt(
            lambda: inventory(
                self.folder,
                recursive=self.recursive_box.value,
                verify=verify,
                progress=self.progress,
                now=self.now,
                dask=self.dask if verify else None,
                ops=REAL,
                identities=self.identities(),
            ),
            progress=self.progress,
        )
        if self.inventory is not None:
            self.progress.finish(f"{len(self.inventory.rows)} archives")
        self.set_status("")
        self._show_inventory()
        self._take_wal_archive(verify=verify)
        return self.inventory

    def _take_wal_archive(self, *, verify: bool) -> WalArchiveReport | None:
        """The folder's WAL segments (a local folder or a bucket):
        listed, or with ``verify`` read whole (and the bases verified) as ``inventory --wal
        --verify`` does. A folder without segments shows nothing of it."""
        self.wal_report = None
        if self.inventory is not None:
            from aeroops.executor.pitr import wal_archive

            listed = self.attempt(lambda: wal_archive(self.folder, checked=False, ops=REAL))
            if listed is not None and listed.timelines and verify:
                self.set_status("Reading every WAL segment whole …")
                self.wal_report = self.attempt(lambda: wal_archive(self.folder, checked=True, ops=REAL))
                self.set_status("")
            else:
                self.wal_report = listed
        self._show_wal()
        return self.wal_report

    def _show_inventory(self) -> None:
        taken = self.inventory
        self.verify_all_button.disabled = taken is None
        if taken is None:
            self.inventory_summary.value = ""
            self.inventory_table.set_frame(None)
            for chart in (self.history_chart, self.compression_chart):
                chart.value, chart.layout.display = b"", "none"
            self._set_choices([])
            return
        sizes = sum(row.size or 0 for row in taken.rows)
        line = f"{len(taken.rows)} archives, {human_bytes(sizes)}, in {html.escape(taken.folder)}"
        layered = [row for row in taken.rows if row.layers not in (None, "tar")]
        if layered:
            known = [row for row in layered if row.plain_size and row.size]
            plain = sum(row.plain_size or 0 for row in known)
            stored = sum(row.size or 0 for row in known)
            line += f"; {len(layered)} compressed or encrypted" + (
                f" ({human_bytes(stored)} stored for {human_bytes(plain)} of plain tar)" if known else ""
            )
        if taken.verified:
            kind = "success" if taken.ok else "warning"
            line += f": {_verdict_line(taken)}"
        else:
            kind = "info"
        self.inventory_summary.value = notice_html(line, kind=kind)
        self.inventory_table.set_frame(inventory_frame(taken))
        dated = any(row.created_at is not None for row in taken.rows)
        self.history_chart.value = charts.backup_history(taken).png() if dated else b""
        self.history_chart.layout.display = None if dated else "none"
        # The compression ratio over time, once the folder holds a compressed archive.
        compressed = dated and any("zstd" in (row.layers or "") for row in taken.rows)
        self.compression_chart.value = charts.compression_history(taken).png() if compressed else b""
        self.compression_chart.layout.display = None if compressed else "none"
        self._set_choices([row.file for row in taken.rows])

    def _show_wal(self) -> None:
        report = self.wal_report
        if report is None or not (report.timelines or report.strays):
            self.wal_box.layout.display = "none"
            self.wal_summary.value, self.coverage_chart.value = "", b""
            for table in (self.wal_timelines_table, self.wal_coverage_table, self.wal_problems_table):
                table.set_frame(None)
            return
        from aeroops.views.pitr_chart import coverage_chart
        from aeroops.views.pitr_tables import wal_coverage_frame, wal_problems_frame, wal_summary, wal_timelines_frame

        self.wal_box.layout.display = None
        self.coverage_chart.value = coverage_chart(report).png()
        self.wal_timelines_table.set_frame(wal_timelines_frame(report))
        self.wal_coverage_table.set_frame(wal_coverage_frame(report) if report.coverage else None)
        self.wal_problems_table.set_frame(wal_problems_frame(report) if report.problems else None)
        # The summary last: once it says what was read, the tables and the chart above show it.
        kind = "warning" if report.problems else ("success" if report.checked else "info")
        self.wal_summary.value = notice_html(html.escape(wal_summary(report)), kind=kind)

    def _set_choices(self, names: list[str]) -> None:
        """New options for the archive list, keeping the selection if it is still there (new
        options select the first one: that is no choice of the user's, so it is not observed)."""
        keep = self.selected if self.selected in names else None
        self._choosing = True
        try:
            self.archive_select.options = names
            self.archive_select.value = keep
        finally:
            self._choosing = False
        if keep is None and self.selected is not None:
            self.select(None)

    def _on_select(self, change: dict[str, object]) -> None:
        new = change["new"]
        if not self._choosing and new != self.selected:
            self.select(new if isinstance(new, str) else None)

    def _show_archive(self) -> None:
        result = self.inspection
        self.details.layout.display = "none" if result is None else None
        if result is None:
            self.archive_summary.value = self.manifests_html.value = ""
            for table in (self.members_table, self.wal_table, self.collections_table):
                table.set_frame(None)
            return
        wal = result.wal
        span = f", sequences {wal.first_sequence}–{wal.last_sequence}" if wal.records else ""
        self.archive_summary.value = notice_html(
            f"<b>{html.escape(self.selected or '')}</b>: {len(result.members)} members, "
            f"WAL {wal.records} records{span}, {len(result.logical)} documents in "
            f"{len(result.logical.collections)} collections; "
            + ("verifies clean" if result.ok else f"<b>NOT CLEAN</b> ({len(result.report.findings)} findings)"),
            kind="info" if result.ok else "warning",
        )
        manifests = [backup_manifest_frame(result), snapshot_manifest_frame(result)]
        self.manifests_html.value = "".join(
            f"<b>{title}</b>{frame_html(frame) if len(frame) else '<i> missing or unreadable</i>'}"
            for title, frame in zip(("backup_manifest.json", "snapshot/manifest.json"), manifests, strict=True)
        )
        self.members_table.set_frame(members_frame(result))
        self.wal_table.set_frame(wal_frame(result))
        self.collections_table.set_frame(collections_frame(result))

    def _show_verdict(self) -> None:
        report = self.report
        if report is None:
            self.verdict_html.value = ""
            self.findings_table.set_frame(None)
            return
        self.verdict_html.value = verdict_box(report)
        self.findings_table.set_frame(findings_frame(report))


def _counts(row: object) -> tuple[int, ...]:
    return tuple(getattr(row, name) or 0 for name in ("info", "warnings", "errors", "fatal"))


def _verdict_line(taken: Inventory) -> str:
    good = sum(1 for row in taken.rows if row.ok)
    return f"{good} verify clean, {len(taken.rows) - good} do not"
