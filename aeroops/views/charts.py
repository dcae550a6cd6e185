"""Charts where a person would rather look than read: plain functions over aeroops' results,
for the panels, the runbooks and any script.

Each function returns a `Chart`: the data it plots (a DataFrame, what the tests check) and a
matplotlib figure. A `Chart` shows itself as a PNG in JupyterLab, in a notebook saved to HTML
(embedded, no script or network needed) and in papermill's output; `Chart.png()` gives the bytes
for a file or an ``ipywidgets.Image``.

matplotlib, not a Vega-Lite library: its PNG renders the same in JupyterLab, in a notebook
exported to HTML offline, and headlessly in CI (the Agg canvas, no browser, no JavaScript);
Vega-Lite charts need the vega JavaScript at view time (from a CDN in exported HTML), or a
separate renderer to make an image. Figures are made with `matplotlib.figure.Figure`, never
pyplot: no global state, nothing opens a window. matplotlib is imported on first use, so the
command line never pays for it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from aeroops.views.tables import collections_frame, inventory_frame, wal_frame

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from aeroops.core.inspect import InspectResult
    from aeroops.core.inventory import Inventory
    from aeroops.core.results import DrillResult

VERDICT_COLOURS = {"ok": "#2e7d32", "not ok": "#c62828", "not verified": "#757575", "unreadable": "#ef6c00"}
OPERATION_COLOURS = {"insert": "#2e7d32", "update": "#1565c0", "delete": "#c62828"}
SOURCE_COLOURS = {"restored": "#1565c0", "archive": "#2e7d32", "source": "#757575"}


@dataclass(frozen=True, eq=False, repr=False)
class Chart:
    """What a chart plots (``data``) and the figure that plots it."""

    title: str
    data: pd.DataFrame
    figure: Figure

    def __repr__(self) -> str:  # the text beside the image in a notebook: short
        return f"<Chart: {self.title}>"

    def png(self) -> bytes:
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        return buffer.getvalue()

    def _repr_png_(self) -> bytes:  # IPython shows a Chart as its image
        return self.png()


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


# --- a folder's backup history --------------------------------------------------------------------


def backup_history_data(inventory: Inventory) -> pd.DataFrame:
    """One row per archive with a manifest: ``created_at``, ``snapshot_id``, ``size``, ``file``
    and ``verdict`` (ok, not ok, or not verified)."""
    table = inventory_frame(inventory)
    table = table[table["created_at"].notna()]
    if inventory.verified:
        verdict = table["ok"].map({True: "ok", False: "not ok"}).fillna("not ok")
    else:
        verdict = pd.Series("not verified", index=table.index)
    data = pd.DataFrame(
        {
            "created_at": table["created_at"],
            "snapshot_id": table["snapshot_id"].astype(str),
            "size": table["size"].fillna(0).astype("int64"),
            "file": table["file"].astype(str),
            "verdict": verdict.astype(str),
        }
    )
    return data.sort_values(["created_at", "file"]).reset_index(drop=True)


def backup_history(inventory: Inventory) -> Chart:
    """When each archive was made (x) of which snapshot (y), coloured by verdict, its area by size."""
    data = backup_history_data(inventory)
    figure = _figure(8, 1.2 + 0.45 * max(1, data["snapshot_id"].nunique()))
    axes = figure.add_subplot()
    snapshots = sorted(data["snapshot_id"].unique())
    biggest = max(int(data["size"].max()), 1) if len(data) else 1
    for verdict, rows in data.groupby("verdict", sort=True):
        axes.scatter(
            rows["created_at"].dt.tz_localize(None),
            [snapshots.index(s) for s in rows["snapshot_id"]],
            s=40 + 360 * rows["size"] / biggest,
            c=VERDICT_COLOURS.get(str(verdict), "#000000"),
            alpha=0.8,
            label=str(verdict),
            edgecolors="white",
        )
    axes.set_yticks(range(len(snapshots)), snapshots)
    axes.set_ylim(-0.6, len(snapshots) - 0.4)
    axes.set_xlabel("created at (UTC); the area of a dot is the archive's size")
    axes.set_ylabel("snapshot")
    axes.set_title(f"Backups in {inventory.folder}")
    if len(data):
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", markerscale=0.5)
    figure.autofmt_xdate()
    return Chart("backup history", data, figure)


# --- an archive's WAL and documents ---------------------------------------------------------------


def wal_operations_data(inspection: InspectResult) -> pd.DataFrame:
    """WAL records per collection (rows) and operation (columns insert, update, delete, and any
    other kind the WAL holds), from `aeroops.views.tables.wal_frame`."""
    wal = wal_frame(inspection)
    wal = wal[wal["collection"] != ""]
    data = wal.pivot_table(index="collection", columns="operation", values="records", aggfunc="sum", fill_value=0)
    order = [o for o in OPERATION_COLOURS if o in data.columns] + sorted(set(data.columns) - set(OPERATION_COLOURS))
    data = data.reindex(columns=order).astype("int64")
    data.columns.name = None
    return data.sort_index()


def wal_operations(inspection: InspectResult) -> Chart:
    """Stacked bars: the WAL's records per collection, by operation."""
    data = wal_operations_data(inspection)
    figure = _figure(8, 1.2 + 0.45 * max(1, len(data)))
    axes = figure.add_subplot()
    left = pd.Series(0, index=data.index)
    for operation in data.columns:
        axes.barh(data.index, data[operation], left=left, label=operation, color=OPERATION_COLOURS.get(operation))
        left = left + data[operation]
    axes.set_xlabel("WAL records")
    axes.set_title("WAL operations per collection")
    if len(data.columns):
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    return Chart("WAL operations per collection", data, figure)


def documents_data(inspection: InspectResult) -> pd.DataFrame:
    """Documents per collection after the WAL is replayed (``collection``, ``documents``)."""
    frame = collections_frame(inspection)
    return frame[["collection", "documents"]].sort_values("collection").reset_index(drop=True)


def documents(inspection: InspectResult) -> Chart:
    """Bars: documents per collection, what a restore of the archive would hold."""
    data = documents_data(inspection)
    figure = _figure(8, 1.2 + 0.45 * max(1, len(data)))
    axes = figure.add_subplot()
    bars = axes.barh(data["collection"], data["documents"], color="#1565c0")
    axes.bar_label(bars, padding=3, fontsize="small")
    axes.set_xlabel("documents")
    axes.set_title(f"Documents per collection ({int(data['documents'].sum())} in all)")
    return Chart("documents per collection", data, figure)


# --- a restore drill --------------------------------------------------------------------------------


def drill_comparison_data(result: DrillResult) -> pd.DataFrame:
    """Documents per collection in the restored directory, the archive and (when compared) the
    source: one row per collection."""
    rows: list[dict[str, Any]] = [
        {"collection": c.collection, "restored": c.restored, "archive": c.archive, "source": c.source}
        for c in result.collections
    ]
    data = pd.DataFrame(rows, columns=["collection", "restored", "archive", "source"])
    if result.source is None:
        data = data.drop(columns="source")
    return data.sort_values("collection").reset_index(drop=True)


def drill_comparison(result: DrillResult) -> Chart:
    """Grouped bars: per collection, the documents restored beside those of the archive (and of
    the source); equal bars are a passed drill."""
    data = drill_comparison_data(result)
    kinds = [k for k in SOURCE_COLOURS if k in data.columns]
    figure = _figure(8, 1.2 + 0.6 * max(1, len(data)))
    axes = figure.add_subplot()
    height = 0.8 / max(1, len(kinds))
    for index, kind in enumerate(kinds):
        positions = [row + (index - (len(kinds) - 1) / 2) * height for row in range(len(data))]
        axes.barh(positions, data[kind].fillna(0), height=height, label=kind, color=SOURCE_COLOURS[kind])
    axes.set_yticks(range(len(data)), data["collection"])
    axes.set_xlabel("documents")
    verdict = "PASSED" if result.ok else "FAILED"
    axes.set_title(f"Drill {verdict}: documents per collection")
    if len(data):
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    return Chart("drill comparison", data, figure)


__all__ = [
    "Chart",
    "backup_history",
    "backup_history_data",
    "documents",
    "documents_data",
    "drill_comparison",
    "drill_comparison_data",
    "wal_operations",
    "wal_operations_data",
]
