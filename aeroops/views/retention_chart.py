"""A retention plan on the backup timeline, as a small self-contained SVG (no chart library: it
renders the same in JupyterLab, classic Notebook, VS Code and a saved HTML file).

One lane per source, archives placed by creation time; kept archives are filled green circles,
removed ones red crosses, archives left alone (damaged, or files that are not archives) grey
rings. Hovering over a mark shows its file, time, verdict and the rules that keep it (SVG
``<title>``); the legend says which mark is which.
"""

from __future__ import annotations

import html
from datetime import datetime

from aeroops.core.retention import Decision, RetentionPlan, Status
from aeroops.formats.ids import format_timestamp

WIDTH = 760
LANE = 34
LEFT = 110  # room for the source names
RIGHT = 20
TOP = 30  # room for the legend
BOTTOM = 26  # room for the time axis

KEEP, REMOVE, ALONE = "#2e7d32", "#c62828", "#9e9e9e"


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
