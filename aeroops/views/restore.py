"""Views of restore previews, restore results, recoveries and drills: plain dicts (for JSON)
and text (for terminals). Nothing here imports pandas."""

from __future__ import annotations

from typing import Any

from aeroops.core.recovery import SITUATION_TEXT, RecoveryPlan
from aeroops.core.restore_plan import RestorePlan, RestoreRefusal
from aeroops.core.restore_target import RestoreMode
from aeroops.core.results import DrillResult, RestorePreview, RestoreResult
from aeroops.core.verify_report import VerifyReport
from aeroops.errors import Severity
from aeroops.formats.ids import format_timestamp
from aeroops.views.text import GLUE, label_block, labelled, text_table, wrap_line
from aeroops.views.units import human_bytes

# --- dicts ----------------------------------------------------------------------------------


# --- text -----------------------------------------------------------------------------------


def render_verdict(report: VerifyReport) -> str:
    counts = report.counts()
    verdict = "verified OK" if report.ok else "FAILED verification"
    errors = counts[str(Severity.ERROR)] + counts[str(Severity.FATAL)]
    return f"{verdict} ({errors} error(s), {counts[str(Severity.WARNING)]} warning(s))"


def render_plan(plan: RestorePlan | RestoreRefusal) -> str:
    if isinstance(plan, RestoreRefusal):
        lines = [wrap_line(f"restore refused [{plan.rule}]: {plan.message}")]
        lines += [wrap_line(str(f), "  ") for f in plan.findings[:20]]
        if len(plan.findings) > 20:
            lines.append(f"  … and {len(plan.findings) - 20} more")
        return "\n".join(lines)
    wal = "included" if plan.wal_present else "absent (restored as an empty WAL)"
    lines = [
        labelled(
            "backup",
            f"{plan.backup_id}, snapshot {plan.snapshot_id}, created {format_timestamp(plan.created_at)}, WAL {wal}",
        )
    ]
    if plan.mode is RestoreMode.CREATE:
        lines.append(labelled("creates", f"{plan.paths.data_dir} (it does not exist yet)"))
    else:
        lines.append(
            labelled(
                "replaces", f"{plan.paths.data_dir}: {plan.replaced_files} file(s), {human_bytes(plan.replaced_bytes)}"
            )
        )
        replaced = [
            {
                "name": e.name + ("/" if e.kind == "directory" else ""),
                "holds": f"{e.files} file(s)" if e.kind == "directory" else str(e.kind),
                "size": e.bytes,
            }
            for e in plan.replaced
        ]
        if replaced:
            lines.append(text_table(replaced, ["name", "holds", "size"], header=False, indent="  "))
    lines.append(labelled("with", f"{len(plan.files)} file(s), {human_bytes(plan.new_bytes)}:"))
    # Each file's size first, then the file and where it comes from (below it when the line is full).
    files = [
        {"size": f.size, "path": f"{f.path} " + (f"←{GLUE}{f.member}" if f.member else "(empty)")} for f in plan.files
    ]
    if files:
        lines.append(text_table(files, ["size", "path"], header=False, indent="  "))
    lines += [labelled("note", note) for note in plan.notes]
    lines.append(labelled("steps", " → ".join(plan.steps)))
    return "\n".join(lines)


def render_preview(preview: RestorePreview) -> str:
    lines = [
        wrap_line(f"restore {preview.archive} into {preview.data_dir}"),
        labelled("archive", render_verdict(preview.report)),
    ]
    if not preview.report.ok:
        errors = [f for f in preview.report.findings if f.severity in (Severity.ERROR, Severity.FATAL)][:20]
        lines += [wrap_line(str(f), "  ") for f in errors]
    if isinstance(preview.plan, RestoreRefusal) and preview.plan.findings:
        preview_plan = RestoreRefusal(preview.plan.rule, preview.plan.message)  # findings are listed above
        lines.append(render_plan(preview_plan))
    else:
        lines.append(render_plan(preview.plan))
    lines.append(
        "dry run: nothing was changed; add --yes to restore"
        if preview.would_restore
        else "dry run: nothing was changed; the restore would be refused"
    )
    return "\n".join(lines)


def render_result(result: RestoreResult) -> str:
    verb = "created" if result.created else "replaced"
    wal = "included" if result.plan.wal_present else "absent: restored empty"
    steps = ", ".join(f"{name} {seconds:.3f}" for name, seconds in result.step_seconds if seconds >= 0.001)
    files = f"{len(result.files)}, {human_bytes(result.restored_bytes)}; archive {render_verdict(result.report)}"
    return label_block(
        [
            ("restored", f"{result.archive} into {result.data_dir} ({verb})"),
            ("backup", f"{result.backup_id}, snapshot {result.plan.snapshot_id}, WAL {wal}"),
            ("files", files),
            ("took", f"{result.duration_seconds:.3f} s ({steps})"),
            *(("warning", w) for w in result.warnings),
        ]
    )


_RECOVERY_COLUMN = 16  # where the values of `aeroops recover` start ("data directory  /srv/aerodb")


def render_recovery(plan: RecoveryPlan, *, data_dir: str, performed: bool = False) -> str:
    def line(label: str, value: str) -> str:
        return labelled(label, value, _RECOVERY_COLUMN)

    lines = [line("data directory", data_dir), line("situation", f"{plan.situation}: {SITUATION_TEXT[plan.situation]}")]
    if plan.refusal:
        lines.append(line("cannot recover", plan.refusal))
        return "\n".join(lines)
    if not plan.steps:
        lines.append("nothing to do")
        return "\n".join(lines)
    lines.append(line("did" if performed else "would", plan.summary))
    lines += [wrap_line(f"{i}. {s}", "  ", hang="     ") for i, s in enumerate(plan.steps, start=1)]
    if not performed:
        lines.append("dry run: nothing was changed; add --yes to do it")
    return "\n".join(lines)


def render_drill(result: DrillResult) -> str:
    verdict = "PASSED" if result.ok else "FAILED"
    against = f" against {result.source}" if result.source else ""
    lines = [labelled("drill", f"{verdict}: {result.archive}{against}")]
    if result.backup_id:
        lines.append(labelled("backup", f"{result.backup_id}, snapshot {result.snapshot_id}"))
    if result.error is not None:
        lines.append(labelled("error", str(result.error)))
    if result.restore is not None:
        lines.append(
            labelled(
                "restore",
                f"{result.restore.duration_seconds:.3f} s (verification included), "
                f"{human_bytes(result.restore.restored_bytes)}; whole drill {result.duration_seconds:.3f} s",
            )
        )
    if result.missing_schemas:
        lines.append(labelled("boot", f"FAILS: {result.missing_schemas.describe()}"))
    elif result.restore is not None and result.error is None:
        lines.append(labelled("boot", "ready: metadata/schemas/ holds every schema its documents and WAL records name"))
    if result.collections:
        rows: list[dict[str, Any]] = [
            {"collection": c.collection, "restored": c.restored, "archive": c.archive, "source": c.source}
            for c in result.collections
        ]
        rows.append({"collection": "total", "restored": result.documents})
        columns = ["collection", "restored", "archive", *(["source"] if result.source is not None else [])]
        lines += ["documents", text_table(rows, columns, indent="  ")]
    for comparison in result.comparisons:
        where = comparison.reference
        if where == "source" and result.source_snapshot:
            where += f" (snapshot {result.source_snapshot} + its WAL)"
        lines.append(wrap_line(f"restored vs {where}: {comparison.diff.summary()}"))
        for label, keys in (
            ("added", comparison.diff.added),
            ("removed", comparison.diff.removed),
            ("changed", comparison.diff.changed),
        ):
            shown = ", ".join(f"{c}:{d}" for c, d in keys[:5])
            if keys:
                more = f" … ({len(keys)} in all)" if len(keys) > 5 else ""
                lines.append(wrap_line(f"{label}: {shown}{more}", "  "))
    lines.append(labelled("scratch", f"{result.scratch} {'removed' if result.scratch_removed else 'kept'}"))
    return "\n".join(lines)


__all__ = [
    "render_drill",
    "render_plan",
    "render_preview",
    "render_recovery",
    "render_result",
    "render_verdict",
]
