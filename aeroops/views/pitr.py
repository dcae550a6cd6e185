"""Text for people: WAL archiving passes, point-in-time plans and the WAL archive's state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aeroops.views.text import wrap_line

if TYPE_CHECKING:
    from aeroops.core.pitr import PitrPlan, PitrRefusal
    from aeroops.executor.archive_wal import ArchivePass
    from aeroops.executor.pitr import PitrDrill


def render_archive_pass(result: ArchivePass) -> str:
    """One line per pass (a service's log reads as a list of passes), then its notes."""
    when = result.archived_at.strftime("%Y-%m-%d %H:%M:%SZ")
    if result.segment is None:
        line = f"{when} timeline {result.timeline}: nothing new (WAL {result.wal_size} bytes)"
    else:
        line = (
            f"{when} timeline {result.timeline}: archived records {result.first}..{result.last} "
            f"({result.records} records, {result.bytes} bytes) as {result.segment}"
        )
    return "\n".join([wrap_line(line), *(wrap_line(f"note: {note}", "  ") for note in result.notes)])


def render_pitr_plan(plan: PitrPlan | PitrRefusal) -> str:
    """What a point-in-time restore would do (or why it cannot), for the dry run and the drill."""
    from aeroops.core.pitr import PitrRefusal
    from aeroops.views.text import labelled

    if isinstance(plan, PitrRefusal):
        lines = [wrap_line(f"REFUSED: cannot restore to {plan.target.describe()} ({plan.code})")]
        lines += [wrap_line(f"- {reason}", "  ") for reason in plan.reasons]
        return "\n".join(lines)
    when = plan.archived_at.strftime("%Y-%m-%d %H:%M:%SZ") if plan.archived_at else "—"
    lines = [
        labelled("TARGET:", f"{plan.target.describe()}: timeline {plan.timeline}, sequence {plan.sequence}", 10),
        labelled("ARCHIVED:", when, 10),
        labelled("BASE:", f"{plan.base.file} (snapshot {plan.base.snapshot_id})", 10),
        labelled("WAL:", plan.cut, 10),
    ]
    lines += [
        wrap_line(f"  {use.segment.file}" + ("" if use.whole else f" (up to record {use.upto})"), "    ")
        for use in plan.segments
    ]
    lines += [wrap_line(f"note: {note}", "  ") for note in plan.notes]
    return "\n".join(lines)


def render_pitr_drill(result: PitrDrill) -> str:
    lines = [render_pitr_plan(result.plan)]
    if result.error is None:
        verdict = "PASSED" if result.ok else "FAILED"
        lines.append(wrap_line(f"DRILL {verdict}: {result.documents} documents restored, {result.expected} expected"))
        if result.differences:
            lines.append(wrap_line(f"differences: {result.differences}", "  "))
        if result.missing_schemas:
            lines.append(wrap_line(f"missing schemas: {result.missing_schemas}", "  "))
    return "\n".join(lines)
