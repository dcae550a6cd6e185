"""Views of scans, plans and backup results as text: the terminal's, and the lines the backup
panel shows. Their JSON is `aeroops.views.serialise`; nothing here imports pandas."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from aeroops.core.backup_plan import BackupPlan, BackupRefusal
from aeroops.core.description import DataDirDescription, WalDescription
from aeroops.formats.ids import format_timestamp
from aeroops.formats.layers import TAR_SUFFIX, Layer, archive_suffix, describe
from aeroops.views.text import GLUE, label_block, labelled, text_table, wrap_line
from aeroops.views.units import human_bytes

if TYPE_CHECKING:
    from aeroops.core.results import BackupResult


# --- text -----------------------------------------------------------------------------------

_SCAN_COLUMN = 16  # where the values of `aeroops scan` start ("data directory  /srv/aerodb")
_PLAN_COLUMN = 9  # and those of a backup plan ("archive  aerodb-backup-....tar")


def wal_summary(wal: WalDescription) -> str:
    """``absent (no wal/wal.log)``, else its size, records, sequences and health."""
    if not wal.present:
        return "absent (no wal/wal.log)"
    health = "healthy" if wal.healthy else f"DAMAGED: {wal.damage}"
    span = f", sequences {wal.first_sequence}–{wal.last_sequence}" if wal.records else ""
    records = "not read" if wal.records is None else f"{wal.records} records{span}"
    return f"{human_bytes(wal.size)}, {records}, {health}"


def checkpoint_summary(description: DataDirDescription) -> str | None:
    """What checkpoint.json says, or that it cannot be read; None without one."""
    if description.checkpoint:
        return f"after snapshot {description.checkpoint.snapshot_id} (WAL truncated)"
    if description.checkpoint_error:
        return f"UNREADABLE: {description.checkpoint_error}"
    return None


def skipped_lines(plan: BackupPlan | BackupRefusal) -> list[str]:
    """``<snapshot>: <verdict>, <reason>`` for each snapshot the plan passed over."""
    return [f"{s.snapshot_id}: {s.verdict}, {s.reason}" for s in plan.skipped]


def render_description(description: DataDirDescription) -> str:
    def line(label: str, value: str) -> str:
        return labelled(label, value, _SCAN_COLUMN)

    lines = [line("data directory", description.path)]
    if description.serving:
        lines.append(line("serving", "yes: AeroDB's .lock is present"))
    wal = description.wal
    lines.append(line("WAL", wal_summary(wal)))
    if (checkpoint := checkpoint_summary(description)) is not None:
        lines.append(line("checkpoint", checkpoint))
    lines.append(line("snapshots", str(len(description.snapshots))))
    snapshots = [
        {"snapshot_id": s.snapshot_id, "verdict": str(s.verdict), "size": s.size, "reason": s.reason}
        for s in sorted(description.snapshots, key=lambda s: s.snapshot_id, reverse=True)
    ]
    if snapshots:
        lines.append(text_table(snapshots, ["snapshot_id", "verdict", "size", "reason"], header=False, indent="  "))
    lines.append(line("schemas", f"{len(description.schema_files)} in metadata/schemas/"))
    schemas = []
    for fact, in_snapshots in description.schema_file_holders():
        if fact.schema is None:
            held = f"UNREADABLE{': ' + fact.error if fact.error else ''}"
        else:
            needed = " (the WAL names it)" if wal.schemas and fact.schema in wal.schemas else ""
            held = (
                f"in {len(in_snapshots)} snapshot(s)" if in_snapshots else "in no snapshot: a backup adds it"
            ) + needed
        schemas.append({"name": fact.name, "held": held})
    if schemas:
        lines.append(text_table(schemas, ["name", "held"], header=False, indent="  "))
    if not (wal.present or description.snapshots or description.checkpoint or description.checkpoint_error):
        lines.append(
            line(
                "note",
                "this does not look like an AeroDB data directory (no wal/wal.log, no snapshots, "
                "no checkpoint.json): is it the right folder?",
            )
        )
    return "\n".join(lines)


def render_plan(plan: BackupPlan | BackupRefusal) -> str:
    skipped = [wrap_line(f"skipped {line}", "  ") for line in skipped_lines(plan)]
    if isinstance(plan, BackupRefusal):
        return "\n".join([wrap_line(f"backup refused [{plan.rule}]: {plan.message}"), *skipped])
    lines = [
        wrap_line(
            f"backup of snapshot {plan.snapshot_id}, WAL {'included' if plan.wal_present else 'absent (empty wal/)'}"
        ),
        *skipped,
        labelled(
            "archive",
            f"{plan.archive_name}  ({human_bytes(plan.archive_size)}, {plan.archive_size} bytes)",
            _PLAN_COLUMN,
        ),
        *(labelled("adds", f"snapshot/schemas/{a.name}: {a.reason}", _PLAN_COLUMN) for a in plan.added_schemas),
        "members:",
    ]
    members = [
        {"name": m.name + "/", "size": None} if m.kind == "directory" else {"name": m.name, "size": m.size}
        for m in plan.members
    ]
    lines.append(text_table(members, ["name", "size"], header=False, indent="  "))  # size: in its unit
    return "\n".join(lines)


def render_dry_run(archive: str, sidecar: str, refusal: str | None) -> str:
    """What a backup's dry run would do, below its plan."""
    if refusal is None:
        return wrap_line(f"would write {archive} and {sidecar} (dry run: nothing written)")
    return wrap_line(f"would be refused: {refusal} (dry run: nothing written)")


def render_result(result: BackupResult) -> str:
    wal = "included" if result.plan.wal_present else "absent"
    return label_block(
        [
            ("archive", result.archive),
            ("size", f"{human_bytes(result.size)} ({result.size} bytes), {len(result.members)} members"),
            ("digest", f"{result.digest}  (sidecar{GLUE}{result.sidecar})"),
            (
                "backup",
                f"{result.backup_id}, snapshot {result.plan.snapshot_id}, WAL {wal}, staged by {result.staged_by}",
            ),
            ("took", f"{result.duration_seconds:.3f} s"),
            *(("removed", f"stale staging folder {p}") for p in result.removed_stale),
        ]
    )


# --- the backup panel's rows: (label, value) pairs, as `aeroops.views.html.key_values_html` shows them


def backup_plan_rows(
    plan: BackupPlan,
    created_at: datetime | None,
    layers: Sequence[Layer],
    *,
    compress: str | None,
    recipients: int,
    recipients_file: str,
) -> list[tuple[str, str]]:
    """What a plan will write: snapshot, WAL, the archive's name, layers and sizes."""
    name = plan.archive_name.removesuffix(TAR_SUFFIX) + archive_suffix(layers)
    size = f"{human_bytes(plan.archive_size)} ({plan.archive_size} bytes)"
    return [
        ("snapshot", plan.snapshot_id),
        ("WAL", "included" if plan.wal_present else "absent: the archive gets an empty wal/"),
        ("archive name", name if created_at else f"{name} (time of this plan)"),
        ("layers", layers_text(layers, compress, recipients, recipients_file)),
        ("archive size", f"{size}, the plain tar inside the layers" if layers else size),
        ("content bytes", f"{human_bytes(plan.content_bytes)} ({plan.content_bytes} bytes)"),
        ("created_at", "now, when it runs" if created_at is None else format_timestamp(created_at)),
        *(("skipped", line) for line in skipped_lines(plan)),
    ]


def backup_result_rows(result: BackupResult) -> list[tuple[str, str]]:
    """What a backup wrote: the archive, its layers, sizes, digest and sidecar, and how long it took."""
    return [
        ("archive", result.archive),
        ("layers", describe(result.layers)),
        ("size", f"{human_bytes(result.size)} ({result.size} bytes)"),
        *_plain_size_row(result),
        *((("record", result.record),) if result.record else ()),
        ("digest", result.digest),
        ("sidecar", result.sidecar),
        ("backup id", result.backup_id),
        ("snapshot", result.plan.snapshot_id),
        ("created_at", format_timestamp(result.plan.manifest.created_at)),
        ("staged by", result.staged_by),
        ("duration", f"{result.duration_seconds:.3f} s"),
        *(("removed", f"stale staging folder {p}") for p in result.removed_stale),
    ]


def layers_text(layers: Sequence[Layer], compress: str | None, recipients: int, recipients_file: str) -> str:
    """``tar → zstd (level 3) → age (2 recipients)``: the layers a backup will write, and with what."""
    parts = ["tar"]
    if compress:
        level = compress.partition(":")[2] or "3"
        parts.append(f"zstd (level {level})")
    if Layer.AGE in layers:
        given = [f"{recipients} recipient{'s' if recipients != 1 else ''}"] if recipients else []
        given += [f"those in {recipients_file}"] if recipients_file else []
        parts.append(f"age ({', '.join(given)})")
    return " → ".join(parts)


def _plain_size_row(result: BackupResult) -> list[tuple[str, str]]:
    if result.plain_size is None or result.plain_size == result.size:
        return []
    ratio = f", {result.plain_size / result.size:.1f}× the stored size" if result.size else ""
    return [("plain size", f"{human_bytes(result.plain_size)} ({result.plain_size} bytes{ratio})")]
