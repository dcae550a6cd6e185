"""Views of scans, plans and backup results: plain dicts (for JSON) and text (for terminals).
Tables for notebooks are in `aeroops.views.tables`; nothing here imports pandas."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aeroops.core.backup_plan import BackupPlan, BackupRefusal
from aeroops.core.description import DataDirDescription, FileFact, Verdict
from aeroops.formats.ids import format_timestamp
from aeroops.views.text import GLUE, label_block, labelled, text_table, wrap_line
from aeroops.views.units import human_bytes

if TYPE_CHECKING:
    from aeroops.core.results import BackupResult


# --- dicts ----------------------------------------------------------------------------------


def description_to_dict(description: DataDirDescription) -> dict[str, Any]:
    wal = description.wal
    return {
        "data_dir": description.path,
        "serving": description.serving,
        "clean_shutdown": description.clean_shutdown,
        "checkpoint": None
        if description.checkpoint is None
        else {
            "snapshot_id": description.checkpoint.snapshot_id,
            "created_at": format_timestamp(description.checkpoint.created_at),
            "wal_truncated": description.checkpoint.wal_truncated,
        },
        "checkpoint_error": description.checkpoint_error,
        "snapshots": [
            {
                "snapshot_id": s.snapshot_id,
                "verdict": str(s.verdict),
                "reason": s.reason,
                "size": s.size,
                "created_at": format_timestamp(s.manifest.created_at) if s.manifest else None,
                "schemas": len(s.schemas),
            }
            for s in description.snapshots
        ],
        "wal": {
            "present": wal.present,
            "size": wal.size,
            "records": wal.records,
            "first_sequence": wal.first_sequence,
            "last_sequence": wal.last_sequence,
            "damage": wal.damage.to_dict() if wal.damage else None,
            "schemas": None if wal.schemas is None else [list(ref) for ref in sorted(wal.schemas)],
        },
        "schema_files": [
            {"name": f.name, "schema": None if f.schema is None else list(f.schema), "in_snapshots": in_snapshots}
            for f, in_snapshots in _schema_files(description)
        ],
    }


def _schema_files(description: DataDirDescription) -> list[tuple[FileFact, list[str]]]:
    """Each schema file of metadata/schemas/, with the snapshots that hold its schema."""
    return [
        (fact, [s.snapshot_id for s in description.snapshots if fact.schema in {f.schema for f in s.schemas}])
        for fact in description.schema_files
    ]


def plan_to_dict(plan: BackupPlan | BackupRefusal) -> dict[str, Any]:
    if isinstance(plan, BackupRefusal):
        return {
            "refused": True,
            "rule": str(plan.rule),
            "message": plan.message,
            "skipped": [
                {"snapshot_id": s.snapshot_id, "verdict": str(s.verdict), "reason": s.reason} for s in plan.skipped
            ],
        }
    return {
        "refused": False,
        "backup_id": plan.backup_id,
        "snapshot_id": plan.snapshot_id,
        "created_at": format_timestamp(plan.manifest.created_at),
        "wal_present": plan.wal_present,
        "archive_name": plan.archive_name,
        "archive_size": plan.archive_size,
        "manifest": plan.manifest_bytes.decode(),
        "added_schemas": [{"name": a.name, "reason": a.reason} for a in plan.added_schemas],
        "skipped": [
            {"snapshot_id": s.snapshot_id, "verdict": str(s.verdict), "reason": s.reason} for s in plan.skipped
        ],
        "members": [
            {
                "name": m.name,
                "kind": str(m.kind),
                "size": m.size,
                "source": m.source,
                "expected_crc32": None if m.expected_crc32 is None else f"crc32:{m.expected_crc32:08x}",
            }
            for m in plan.members
        ],
    }


def result_to_dict(result: BackupResult) -> dict[str, Any]:
    return {
        "archive": result.archive,
        "sidecar": result.sidecar,
        "size": result.size,
        "digest": result.digest,
        "backup_id": result.backup_id,
        "snapshot_id": result.plan.snapshot_id,
        "created_at": format_timestamp(result.plan.manifest.created_at),
        "wal_present": result.plan.wal_present,
        "staged_by": result.staged_by,
        "duration_seconds": round(result.duration_seconds, 6),
        "removed_stale": list(result.removed_stale),
        "members": [
            {
                "name": m.name,
                "kind": str(m.kind),
                "size": m.size,
                "crc32": None if m.crc32 is None else f"crc32:{m.crc32:08x}",
            }
            for m in result.members
        ],
    }


# --- text -----------------------------------------------------------------------------------

_MARK = {Verdict.VALID: "ok", Verdict.UNCHECKED: "?"}
_SCAN_COLUMN = 16  # where the values of `aeroops scan` start ("data directory  /srv/aerodb")
_PLAN_COLUMN = 9  # and those of a backup plan ("archive  aerodb-backup-....tar")


def render_description(description: DataDirDescription) -> str:
    def line(label: str, value: str) -> str:
        return labelled(label, value, _SCAN_COLUMN)

    lines = [line("data directory", description.path)]
    if description.serving:
        lines.append(line("serving", "yes: AeroDB's .lock is present"))
    wal = description.wal
    if not wal.present:
        lines.append(line("WAL", "absent (no wal/wal.log)"))
    else:
        health = "healthy" if wal.healthy else f"DAMAGED: {wal.damage}"
        span = f", sequences {wal.first_sequence}–{wal.last_sequence}" if wal.records else ""
        records = "not read" if wal.records is None else f"{wal.records} records{span}"
        lines.append(line("WAL", f"{human_bytes(wal.size)}, {records}, {health}"))
    if description.checkpoint:
        lines.append(line("checkpoint", f"after snapshot {description.checkpoint.snapshot_id} (WAL truncated)"))
    elif description.checkpoint_error:
        lines.append(line("checkpoint", f"UNREADABLE: {description.checkpoint_error}"))
    lines.append(line("snapshots", str(len(description.snapshots))))
    snapshots = [
        {"snapshot_id": s.snapshot_id, "verdict": str(s.verdict), "size": s.size, "reason": s.reason}
        for s in sorted(description.snapshots, key=lambda s: s.snapshot_id, reverse=True)
    ]
    if snapshots:
        lines.append(text_table(snapshots, ["snapshot_id", "verdict", "size", "reason"], header=False, indent="  "))
    lines.append(line("schemas", f"{len(description.schema_files)} in metadata/schemas/"))
    schemas = []
    for fact, in_snapshots in _schema_files(description):
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
    skipped = [wrap_line(f"skipped {s.snapshot_id}: {s.verdict}, {s.reason}", "  ") for s in plan.skipped]
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
