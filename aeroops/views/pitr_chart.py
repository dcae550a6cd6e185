"""The WAL archive's restorable coverage over time, as a chart (`aeroops.views.charts.Chart`):
green where a base and the good segments reach, red where records are archived that no restore
can reach (a gap, damage, a timeline no base starts)."""

from __future__ import annotations

import pandas as pd

from aeroops.core.pitr import WalArchiveReport
from aeroops.views.charts import Chart, _figure

COLOURS = {"restorable": "#2e7d32", "not restorable": "#c62828"}


def coverage_data(report: WalArchiveReport) -> pd.DataFrame:
    """One row per span: ``timeline``, ``kind`` (restorable or not restorable), ``start``, ``end``,
    ``what`` (the base, or why not)."""
    rows = []
    for c in report.coverage:
        rows.append((c.timeline, "restorable", c.earliest, c.latest, f"base {c.base}: sequences 0..{c.to_sequence}"))
    for t in report.timelines:
        if t.newest_archived is None or t.oldest_archived is None:
            continue
        if not t.bases:
            rows.append((t.timeline, "not restorable", t.oldest_archived, t.newest_archived, "no base starts it"))
        elif t.reach < t.last and t.newest_archived is not None:
            start = t.reach_archived or t.oldest_archived
            why = t.problems[0].message if t.problems else "not archived"
            rows.append((t.timeline, "not restorable", start, t.newest_archived, why))
    data = pd.DataFrame(rows, columns=["timeline", "kind", "start", "end", "what"])
    return data.sort_values(["start", "timeline"]).reset_index(drop=True)


def coverage_chart(report: WalArchiveReport) -> Chart:
    """A bar per span on each timeline's row: green restorable, red archived but out of reach."""
    data = coverage_data(report)
    lines = sorted(data["timeline"].unique()) if len(data) else []
    figure = _figure(8, 1.2 + 0.45 * max(1, len(lines)))
    axes = figure.add_subplot()
    for kind, colour in COLOURS.items():
        rows = data[data["kind"] == kind]
        for _, row in rows.iterrows():
            start, end = pd.Timestamp(row["start"]).tz_localize(None), pd.Timestamp(row["end"]).tz_localize(None)
            width = max(end - start, pd.Timedelta(seconds=30))
            axes.barh(lines.index(row["timeline"]), width, left=start, color=colour, height=0.5, label=kind)
    handles, labels = axes.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    if unique:
        axes.legend(unique.values(), unique.keys(), loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    axes.set_yticks(range(len(lines)), lines)
    axes.set_xlabel("archived at (UTC)")
    axes.set_ylabel("timeline")
    axes.set_title(f"Restorable coverage in {report.folder}")
    figure.autofmt_xdate()
    return Chart("restorable coverage", data, figure)
