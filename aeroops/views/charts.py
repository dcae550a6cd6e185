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

One chart is SVG text instead, `retention_svg`: the retention panel's timeline, whose marks show
their file, time, verdict and keep rules on hover (an SVG ``<title>``), which a PNG cannot; it
needs no chart library and renders the same in JupyterLab, classic Notebook, VS Code and a saved
HTML file.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from aeroops.core.retention import Decision, RetentionPlan, Status
from aeroops.formats.ids import format_timestamp
from aeroops.views.tables import collections_frame, inventory_frame, wal_frame

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from aeroops.core.documents import DiffResult
    from aeroops.core.inspect import InspectResult
    from aeroops.core.inventory import Inventory
    from aeroops.core.results import DrillResult

VERDICT_COLOURS = {"ok": "#2e7d32", "not ok": "#c62828", "not verified": "#757575", "unreadable": "#ef6c00"}
_DRAWING_ORDER = {"ok": 0, "not verified": 1, "unreadable": 2, "not ok": 3}  # the last on top
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
    # The worst verdicts drawn last, on top: a damaged archive's dot is never hidden behind a
    # clean one made at about the same time (time axes that span months put them together).
    drawn = sorted(data["verdict"].unique(), key=lambda v: _DRAWING_ORDER.get(str(v), len(_DRAWING_ORDER)))
    for layer, verdict in enumerate(drawn):
        rows = data[data["verdict"] == verdict]
        axes.scatter(
            rows["created_at"].dt.tz_localize(None),
            [snapshots.index(s) for s in rows["snapshot_id"]],
            s=40 + 360 * rows["size"] / biggest,
            c=VERDICT_COLOURS.get(str(verdict), "#000000"),
            alpha=0.8,
            label=str(verdict),
            edgecolors="white",
            zorder=2 + layer,
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


def compression_history_data(inventory: Inventory) -> pd.DataFrame:
    """One row per archive whose plain size is known (from its bytes, or from the cleartext
    record beside an encrypted one): ``created_at``, ``file``, ``layers``, ``size`` (stored),
    ``plain_size`` and ``ratio`` (plain / stored: 1.0 for a plain tar)."""
    table = inventory_frame(inventory)
    table = table[table["created_at"].notna() & table["plain_size"].notna() & (table["size"] > 0)]
    data = pd.DataFrame(
        {
            "created_at": table["created_at"],
            "file": table["file"].astype(str),
            "layers": table["layers"].fillna("tar").astype(str),
            "size": table["size"].astype("int64"),
            "plain_size": table["plain_size"].astype("int64"),
        }
    )
    data["ratio"] = data["plain_size"] / data["size"]
    return data.sort_values(["created_at", "file"]).reset_index(drop=True)


LAYER_COLOURS = {"tar": "#757575", "tar+zstd": "#1565c0", "tar+zstd+age": "#6a1b9a", "tar+age": "#ef6c00"}


def compression_history(inventory: Inventory) -> Chart:
    """How many times smaller than its plain tar each archive is stored (y), by when it was made
    (x), coloured by its layers: a level changed, or data that stopped compressing, shows here."""
    data = compression_history_data(inventory)
    figure = _figure(8, 2.6)
    axes = figure.add_subplot()
    for layers in sorted(data["layers"].unique()):
        rows = data[data["layers"] == layers]
        axes.plot(
            rows["created_at"].dt.tz_localize(None),
            rows["ratio"],
            marker="o",
            linestyle="-" if len(rows) > 1 else "none",
            color=LAYER_COLOURS.get(str(layers), "#000000"),
            label=str(layers),
        )
    axes.set_ylim(bottom=0)
    axes.axhline(1.0, color="#bdbdbd", linewidth=0.8, zorder=0)
    axes.set_xlabel("created at (UTC)")
    axes.set_ylabel("plain size / stored size")
    axes.set_title(f"Compression ratio of the backups in {inventory.folder}")
    if len(data):
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    figure.autofmt_xdate()
    return Chart("compression ratio", data, figure)


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


# --- a retention plan on the backup timeline (SVG) -------------------------------------------------
# One lane per source, archives placed by creation time; kept archives are filled green circles,
# removed ones red crosses, archives left alone (damaged, or files that are not archives) grey
# rings; the legend says which mark is which.

WIDTH = 760  # the timeline's size and margins, in pixels
LANE = 34
LEFT = 110  # room for the source names
RIGHT = 20
TOP = 30  # room for the legend
BOTTOM = 26  # room for the time axis

KEEP, REMOVE, ALONE = VERDICT_COLOURS["ok"], VERDICT_COLOURS["not ok"], "#9e9e9e"


def _kind(decision: Decision) -> str:
    if decision.status in (Status.DAMAGED, Status.UNREADABLE) and decision.keep:
        return "alone"
    return "keep" if decision.keep else "remove"


def _mark(kind: str, x: float, y: float, tip: str) -> str:
    title = f"<title>{html.escape(tip)}</title>"
    if kind == "keep":
        return f"<circle cx='{x:.1f}' cy='{y:.1f}' r='5' fill='{KEEP}'>{title}</circle>"
    if kind == "remove":
        return (
            f"<g stroke='{REMOVE}' stroke-width='2.5'>{title}"
            f"<line x1='{x - 5:.1f}' y1='{y - 5:.1f}' x2='{x + 5:.1f}' y2='{y + 5:.1f}'/>"
            f"<line x1='{x - 5:.1f}' y1='{y + 5:.1f}' x2='{x + 5:.1f}' y2='{y - 5:.1f}'/>"
            f"<rect x='{x - 6:.1f}' y='{y - 6:.1f}' width='12' height='12' fill='transparent' stroke='none'/></g>"
        )
    return f"<circle cx='{x:.1f}' cy='{y:.1f}' r='5' fill='white' stroke='{ALONE}' stroke-width='2'>{title}</circle>"


def retention_svg(plan: RetentionPlan) -> str:
    """The SVG text; an empty string when no archive has a creation time."""
    placed = [d for d in plan.decisions if d.row.created_at is not None]
    if not placed:
        return ""
    times = [d.row.created_at for d in placed if d.row.created_at is not None]
    first, last = min(times), max(times)
    span = (last - first).total_seconds() or 1.0
    sources = sorted({d.row.source or "" for d in placed})
    height = TOP + LANE * len(sources) + BOTTOM
    inner = WIDTH - LEFT - RIGHT

    def x_of(moment: datetime) -> float:
        return LEFT + inner * ((moment - first).total_seconds() / span if last > first else 0.5)

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height}' "
        "font-family='sans-serif' font-size='11' class='aeroops-retention-chart'>",
        _legend(),
    ]
    for lane, source in enumerate(sources):
        y = TOP + LANE * lane + LANE / 2
        parts.append(f"<text x='4' y='{y + 4:.1f}'>{html.escape(source or '(no source)')}</text>")
        parts.append(f"<line x1='{LEFT}' y1='{y:.1f}' x2='{WIDTH - RIGHT}' y2='{y:.1f}' stroke='#e0e0e0'/>")
        for d in placed:
            if (d.row.source or "") == source and d.row.created_at is not None:
                tip = f"{d.file}\n{format_timestamp(d.row.created_at)}\n{d.action} ({d.status}): {d.why}"
                parts.append(_mark(_kind(d), x_of(d.row.created_at), y, tip))
    axis_y = TOP + LANE * len(sources) + 16
    parts.append(f"<text x='{LEFT}' y='{axis_y}'>{format_timestamp(first)}</text>")
    if last > first:
        parts.append(f"<text x='{WIDTH - RIGHT}' y='{axis_y}' text-anchor='end'>{format_timestamp(last)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _legend() -> str:
    entries = (
        ("keep", "kept (hover: the rules)"),
        ("remove", "removed"),
        ("alone", "left alone: damaged or no archive"),
    )
    out = []
    x = LEFT
    for kind, label in entries:
        out.append(_mark(kind, x, 12, label))
        out.append(f"<text x='{x + 10}' y='16'>{html.escape(label)}</text>")
        x += 24 + 6 * len(label)
    return "".join(out)


__all__ = [
    "Chart",
    "backup_history",
    "backup_history_data",
    "documents",
    "documents_data",
    "drill_comparison",
    "drill_comparison_data",
    "retention_svg",
    "wal_operations",
    "wal_operations_data",
]


# --- what changed between two sources ----------------------------------------------------------

CHANGE_COLOURS = {"added": "#2e7d32", "removed": "#c62828", "changed": "#1565c0"}


def diff_data(result: DiffResult) -> pd.DataFrame:
    """Documents added, removed and changed per collection (one row per collection)."""
    rows = [
        {"collection": c.collection, "added": c.added, "removed": c.removed, "changed": c.changed}
        for c in result.collections
    ]
    return pd.DataFrame(rows, columns=["collection", *CHANGE_COLOURS]).sort_values("collection").reset_index(drop=True)


def diff_chart(result: DiffResult) -> Chart:
    """Grouped bars: per collection, the documents added, removed and changed."""
    data = diff_data(result)
    figure = _figure(8, 1.2 + 0.6 * max(1, len(data)))
    axes = figure.add_subplot()
    height = 0.8 / len(CHANGE_COLOURS)
    positions = list(range(len(data)))
    for index, (change, colour) in enumerate(CHANGE_COLOURS.items()):
        offsets = [p + (index - 1) * height for p in positions]
        bars = axes.barh(offsets, data[change], height=height, label=change, color=colour)
        axes.bar_label(bars, padding=3, fontsize="small")
    axes.set_yticks(positions, data["collection"])
    axes.invert_yaxis()
    axes.set_xlabel("documents")
    counts = result.counts()
    axes.set_title(f"What changed: {counts['added']} added, {counts['removed']} removed, {counts['changed']} changed")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    return Chart("what changed per collection", data, figure)
