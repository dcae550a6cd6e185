"""Text for people: WAL archiving passes, point-in-time plans and the WAL archive's state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aeroops.errors import Code
from aeroops.views.text import wrap_line

if TYPE_CHECKING:
    from aeroops.core.pitr import PitrPlan, PitrRefusal, WalArchiveReport, WalFreshness
    from aeroops.core.retention import SegmentDecision
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


def render_segment_retention(decisions: tuple[SegmentDecision, ...], *, dry_run: bool) -> str:
    """The segment-chain rule's decisions, one line each, after the archives' table."""
    verb = "would remove" if dry_run else "removed"
    removed = sum(1 for d in decisions if not d.keep)
    lines = [wrap_line(f"WAL SEGMENTS: {len(decisions) - removed} kept, {removed} {verb} (with their sidecars)")]
    for d in decisions:
        action = "keep  " if d.keep else "remove"
        lines.append(wrap_line(f"{action} {d.timeline} {d.first}..{d.last}: {d.why}", "  ", hang="         "))
    return "\n".join(lines)


def render_wal_archive(report: WalArchiveReport) -> str:
    """The WAL archive of a folder: a line per timeline, each base's restorable range, problems."""
    if not report.timelines and not report.strays:
        return "WAL ARCHIVE: no segments"
    checked = "read whole" if report.checked else "listed, not read (add --verify to read them)"
    lines = [wrap_line(f"WAL ARCHIVE: {sum(t.segments for t in report.timelines)} segments, {checked}")]
    for t in report.timelines:
        newest = t.newest_archived.strftime("%Y-%m-%d %H:%M:%SZ") if t.newest_archived else "—"
        bases = ", ".join(t.bases) if t.bases else "no base starts it"
        lines.append(
            wrap_line(
                f"timeline {t.timeline}: {t.segments} segments, sequences {t.first}..{t.last}, restorable up to "
                f"{t.reach}, newest archived {newest}; bases: {bases}",
                "  ",
                hang="    ",
            )
        )
        lines += [wrap_line(f"{p.code}: {p.message}", "    ", hang="      ") for p in t.problems]
    for c in report.coverage:
        lines.append(
            wrap_line(
                f"base {c.base} restores timeline {c.timeline} from sequence {c.from_sequence} to {c.to_sequence} "
                f"({c.earliest.strftime('%Y-%m-%d %H:%M:%SZ')} to {c.latest.strftime('%Y-%m-%d %H:%M:%SZ')})",
                "  ",
                hang="    ",
            )
        )
    lines += [
        wrap_line(f"{Code.SEGMENT_DAMAGED}: {name}: named like a segment, its name does not parse", "  ")
        for name in report.strays
    ]
    return "\n".join(lines)


def render_wal_freshness(freshness: WalFreshness) -> str:
    limit = f"{int(freshness.max_age.total_seconds())} s"
    if freshness.newest is None or freshness.age is None:
        return wrap_line(f"STALE: no WAL segment archived (limit {limit})")
    state = "OK" if freshness.fresh else "STALE"
    relation = "within" if freshness.fresh else "older than"
    return wrap_line(
        f"{state}: newest archived WAL segment {freshness.segment} is {int(freshness.age.total_seconds())} s old "
        f"({relation} {limit})"
    )


def render_wal_metrics(freshness: WalFreshness, folder: str) -> bytes:
    """``check --max-wal-age``'s figures in Prometheus' text format (after the backups')."""
    from prometheus_client import CollectorRegistry, Gauge, generate_latest

    registry = CollectorRegistry()
    newest = Gauge(
        "aeroops_wal_newest_archived_timestamp_seconds",
        "Archive time of the newest good WAL segment (0: there is none).",
        ["folder"],
        registry=registry,
    )
    newest.labels(folder).set(0 if freshness.newest is None else freshness.newest.timestamp())
    limit = Gauge("aeroops_wal_max_age_seconds", "The WAL age limit checked against.", ["folder"], registry=registry)
    limit.labels(folder).set(freshness.max_age.total_seconds())
    fresh = Gauge(
        "aeroops_wal_fresh",
        "1 when the newest archived WAL record is younger than the limit.",
        ["folder"],
        registry=registry,
    )
    fresh.labels(folder).set(int(freshness.fresh))
    return generate_latest(registry)
