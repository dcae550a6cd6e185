"""`ExplorePanel`: what is inside the backups of a folder, and what changed.

Pick an archive and a collection to see its documents (filter by a field, search a key), or a
point in time of a folder with archived WAL (`point_at`: what ``FOLDER@POINT`` names on a
command line); pick two archives, or two points in time, to see what changed as a table and a
chart; type a key to see its history. A thin
layer: `show_documents` is `aeroops.views.documents.documents`, `diff` and `history` are
`aeroops.executor.documents.diff` and `history`; the buttons call these same methods.
"""

from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as widgets
import pandas as pd

from aeroops.core.documents import DiffResult, HistoryEntry
from aeroops.errors import UsageError
from aeroops.executor.audit import in_folder, inventory
from aeroops.executor.documents import PointInTime, diff, history, point_at
from aeroops.executor.fileops import REAL
from aeroops.panels.common import PagedTable, Panel, TextField, WidgetProgress, full_width, path_input, section
from aeroops.views import charts
from aeroops.views.documents import collection_frame, diff_frame, documents, documents_left_out, history_frame

ALL = "(all)"
_NARROW = {"description_width": "90px"}


class ExplorePanel(Panel):
    """Look at the documents of the archives of a backup folder.

    State for code and tests: ``archives`` (the folder's archives, oldest first), ``frame`` (the
    documents shown, before a filter), ``shown`` (after it), ``changes`` (the last `DiffResult`),
    ``entries`` (the last history), ``error``.
    """

    def __init__(self, folder: Path | str | None = None) -> None:
        super().__init__()
        self.archives: list[str] = []
        self.frame: pd.DataFrame | None = None
        self.shown: pd.DataFrame | None = None
        self.changes: DiffResult | None = None
        self.entries: tuple[HistoryEntry, ...] = ()

        self.folder_input = path_input("backup folder", None, "/path/to/backups")
        self.archive_select = _dropdown("archive")
        self.collection_input = widgets.Text(value="", description="collection", placeholder=ALL, style=_NARROW)
        self.point_input = _point_input("or at")
        self.show_button = widgets.Button(description="Documents", icon="table", button_style="primary")
        self.field_input = widgets.Text(value="", description="field", placeholder="e.g. name", style=_NARROW)
        self.value_input = widgets.Text(value="", description="equals", placeholder="a value", style=_NARROW)
        self.search_input = widgets.Text(value="", description="key has", placeholder="part of a key", style=_NARROW)
        self.key_input = widgets.Text(value="", description="key", placeholder="collection:id", style=_NARROW)
        self.filter_button = widgets.Button(description="Filter", icon="filter")
        self.older_select = _dropdown("older")
        self.newer_select = _dropdown("newer")
        self.older_point_input = _point_input("or older at")
        self.newer_point_input = _point_input("newer at")
        self.diff_button = widgets.Button(description="What changed", icon="exchange")
        self.history_button = widgets.Button(description="History", icon="history")
        self.folder_input.observe(lambda _: self.load(), names="value")
        self.show_button.on_click(lambda _: self.show_documents())
        self.filter_button.on_click(lambda _: self.filter())
        self.search_input.observe(lambda _: self.filter(), names="value")
        self.diff_button.on_click(lambda _: self.diff())
        self.history_button.on_click(lambda _: self.history())

        self.progress = WidgetProgress()
        self.documents_summary = widgets.HTML("")
        self.documents_table = PagedTable(title="Documents")
        self.diff_summary = widgets.HTML("")
        self.collections_table = PagedTable(title="Per collection")
        self.diff_chart = widgets.Image(format="png", layout=widgets.Layout(max_width="900px", display="none"))
        self.diff_table = PagedTable(title="Documents that differ (a changed one: a row per field)")
        self.history_table = PagedTable(title="History, oldest backup first")
        self.children = [
            widgets.HTML("<h3 style='margin: 4px 0'>Explore the documents of AeroDB backups</h3>"),
            self.folder_input,
            self.status,
            self.error_box,
            self.progress,
            section("Documents"),
            widgets.HBox([self.archive_select, self.point_input, self.collection_input, self.show_button]),
            widgets.HBox([self.field_input, self.value_input, self.filter_button]),
            self.search_input,
            self.documents_summary,
            self.documents_table,
            section("What changed"),
            widgets.HBox([self.older_select, self.newer_select, self.diff_button]),
            widgets.HBox([self.older_point_input, self.newer_point_input]),
            self.diff_summary,
            self.collections_table,
            self.diff_chart,
            self.diff_table,
            section("A document's history"),
            widgets.HBox([self.key_input, self.history_button]),
            self.history_table,
        ]
        self.layout = full_width()
        if folder is not None:
            self.folder_input.value = str(folder)  # loads it

    folder = TextField("folder_input")
    collection = TextField("collection_input")
    point = TextField("point_input")
    older_point = TextField("older_point_input")
    newer_point = TextField("newer_point_input")
    field = TextField("field_input")
    value = TextField("value_input")
    searched = TextField("search_input")
    key = TextField("key_input")

    def load(self) -> list[str]:
        """The folder's archives (those with a backup manifest), oldest backup first."""
        self.clear_error()
        if not self.folder:
            return []
        found = self.attempt(lambda: inventory(self.folder, ops=REAL))
        rows = [] if found is None else [r for r in found.rows if r.backup_id is not None]
        rows.sort(key=lambda r: (r.created_at is None, r.created_at, r.file))
        self.archives = [r.file for r in rows]
        for select in (self.archive_select, self.older_select, self.newer_select):
            select.options = self.archives
        if len(self.archives) >= 2:
            self.older_select.value, self.newer_select.value = self.archives[-2], self.archives[-1]
        if self.archives:
            self.archive_select.value = self.archives[-1]
        self.set_status(f"{len(self.archives)} archives in the folder" if found is not None else "")
        return self.archives

    def _path(self, name: str | None) -> Path | str:
        if not name:
            raise UsageError("choose an archive first")
        return in_folder(self.folder, name)  # a URL in a bucket's folder, else a path

    def source(self) -> Path | str | PointInTime:
        """What the documents are read from: the point in time typed (of the folder, as
        ``FOLDER@POINT`` names it), else the archive chosen."""
        return self._side(self.archive_select.value, self.point)

    def _side(self, archive: str | None, point: str) -> Path | str | PointInTime:
        return point_at(self.folder, point) if point else self._path(archive)

    def show_documents(
        self, archive: str | None = None, collection: str | None = None, point: str | None = None
    ) -> pd.DataFrame | None:
        """The documents of one archive, or of the point in time ``point`` of the folder (N,
        TIMELINE:N, latest or a time; "" for the archive), and collection, as a table."""
        if archive is not None:
            self.archive_select.value = archive
        if point is not None:
            self.point_input.value = point
        if collection is not None:
            self.collection_input.value = collection
        self.progress.start("reading the documents …")
        chosen = self.collection or None
        frame = self.attempt(
            lambda: documents(self.source(), chosen, progress=self.progress, ops=REAL),
            progress=self.progress,
        )
        self.frame = frame
        if frame is None:
            self.documents_table.set_frame(None)
            return None
        at = f" at {self.source()}" if self.point else ""  # which point: its timeline and record
        self.progress.finish(f"{len(frame):,} documents{at}")
        return self.filter()

    def filter(self, field: str | None = None, value: str | None = None) -> pd.DataFrame | None:
        """The documents shown, narrowed to those whose ``field`` reads ``value`` (as text), and
        to those whose ``collection:key`` holds the text of the search box, if any."""
        if field is not None:
            self.field_input.value = field
        if value is not None:
            self.value_input.value = value
        if self.frame is None:
            return None
        shown = self.frame
        if self.field:
            if self.field not in shown.columns:
                self.show_error(UsageError(f"no field {self.field!r} in these documents"))
                return None
            column = shown[self.field]
            if str(column.dtype) == "boolean":  # as JSON writes it: true, false
                text = column.map({True: "true", False: "false"}).astype("string")
            else:
                text = column.astype("string")
            shown = shown[text.fillna("") == self.value]
        if self.searched:
            shown = shown[(shown["collection"] + ":" + shown["key"]).str.contains(self.searched, regex=False)]
        self.shown = shown
        notes = int((shown["note"] != "").sum())
        summary = f"{len(shown):,} of {len(self.frame):,} documents"
        self.documents_summary.value = html.escape(summary + (f"; {notes} with a note" if notes else ""))
        self.documents_table.leave_out = documents_left_out(shown)  # to fit: the frame keeps them all
        self.documents_table.set_frame(shown.reset_index(drop=True))
        return shown

    def search(self, key: str) -> pd.DataFrame | None:
        """The documents shown whose ``collection:key`` contains ``key``."""
        self.search_input.value = key
        return self.filter()

    def diff(
        self,
        older: str | None = None,
        newer: str | None = None,
        *,
        older_point: str | None = None,
        newer_point: str | None = None,
    ) -> DiffResult | None:
        """What changed from the older archive (or point in time of the folder, typed as for the
        documents: N, TIMELINE:N, latest or a time; "" for the archive) to the newer: a table
        and a chart."""
        for select, chosen in ((self.older_select, older), (self.newer_select, newer)):
            if chosen is not None:
                select.value = chosen
        for box, typed in ((self.older_point_input, older_point), (self.newer_point_input, newer_point)):
            if typed is not None:
                box.value = typed
        self.progress.start("comparing …")
        result = self.attempt(
            lambda: diff(
                self._side(self.older_select.value, self.older_point),
                self._side(self.newer_select.value, self.newer_point),
                progress=self.progress,
                ops=REAL,
            ),
            progress=self.progress,
        )
        self.changes = result
        if result is None:
            self.diff_chart.layout.display = "none"
            return None
        counts = result.counts()
        text = (
            "The same documents."
            if result.identical
            else f"{counts['added']:,} added, {counts['removed']:,} removed, {counts['changed']:,} changed"
        )
        self.progress.finish(text)
        compared = f"{self.older_point or self.older_select.value} → {self.newer_point or self.newer_select.value}"
        self.diff_summary.value = (
            f"<b>{html.escape(text)}</b> ({counts['unchanged']:,} unchanged; {html.escape(compared)})"
        )
        self.collections_table.set_frame(collection_frame(result))
        self.diff_chart.value = charts.diff_chart(result).png()
        self.diff_chart.layout.display = None
        self.diff_table.set_frame(diff_frame(result))
        return result

    def history(self, key: str | None = None) -> tuple[HistoryEntry, ...]:
        """The document ``key`` (``collection:id``) in every archive of the folder."""
        if key is not None:
            self.key_input.value = key
        self.progress.start("reading every archive …")
        entries = self.attempt(
            lambda: history(self.folder, self.key, progress=self.progress, ops=REAL), progress=self.progress
        )
        self.entries = entries or ()
        if entries is None:
            self.history_table.set_frame(None)
            return ()
        self.progress.finish(f"{len(entries)} archives read")
        self.history_table.set_frame(history_frame(entries))
        return entries


def _point_input(description: str) -> widgets.Text:
    return widgets.Text(value="", description=description, placeholder="N, TIMELINE:N, latest, a time", style=_NARROW)


def _dropdown(description: str) -> widgets.Dropdown:
    return widgets.Dropdown(options=[], value=None, description=description, style=_NARROW)
