"""Views of scans, plans and backup results: plain dicts (for JSON) and text (for terminals).
Tables for notebooks are in `aeroops.views.tables`; nothing here imports pandas."""

from __future__ import annotations

from typing import Any

from aeroops.core.description import DataDirDescription, FileFact, Verdict
from aeroops.core.plan import BackupPlan, Refusal
from aeroops.core.results import BackupResult
from aeroops.formats.ids import format_timestamp
from aeroops.views.units import human_bytes

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


def plan_to_dict(plan: BackupPlan | Refusal) -> dict[str, Any]:
    if isinstance(plan, Refusal):
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


def render_description(description: DataDirDescription) -> str:
    lines = [f"data directory  {description.path}"]
    if description.serving:
        lines.append("serving         yes: AeroDB's .lock is present")
    wal = description.wal
    if not wal.present:
        lines.append("WAL             absent (no wal/wal.log)")
    else:
        health = "healthy" if wal.healthy else f"DAMAGED: {wal.damage}"
        span = f", sequences {wal.first_sequence}–{wal.last_sequence}" if wal.records else ""
        records = "not read" if wal.records is None else f"{wal.records} records{span}"
        lines.append(f"WAL             {human_bytes(wal.size)}, {records}, {health}")
    if description.checkpoint:
        lines.append(f"checkpoint      after snapshot {description.checkpoint.snapshot_id} (WAL truncated)")
    elif description.checkpoint_error:
        lines.append(f"checkpoint      UNREADABLE: {description.checkpoint_error}")
    lines.append(f"snapshots       {len(description.snapshots)}")
    for snap in sorted(description.snapshots, key=lambda s: s.snapshot_id, reverse=True):
        reason = f"  {snap.reason}" if snap.reason else ""
        lines.append(f"  {snap.snapshot_id:<20} {snap.verdict:<10} {human_bytes(snap.size):>10}{reason}")
    lines.append(f"schemas         {len(description.schema_files)} in metadata/schemas/")
    for fact, in_snapshots in _schema_files(description):
        if fact.schema is None:
            lines.append(f"  {fact.name:<36} UNREADABLE{': ' + fact.error if fact.error else ''}")
            continue
        needed = " (the WAL names it)" if wal.schemas and fact.schema in wal.schemas else ""
        held = f"in {len(in_snapshots)} snapshot(s)" if in_snapshots else "in no snapshot: a backup adds it"
        lines.append(f"  {fact.name:<36} {held}{needed}")
    if not (wal.present or description.snapshots or description.checkpoint or description.checkpoint_error):
        lines.append(
            "note            this does not look like an AeroDB data directory (no wal/wal.log, no snapshots, "
            "no checkpoint.json): is it the right folder?"
        )
    return "\n".join(lines)


def render_plan(plan: BackupPlan | Refusal) -> str:
    skipped = [f"  skipped {s.snapshot_id}: {s.verdict}, {s.reason}" for s in plan.skipped]
    if isinstance(plan, Refusal):
        return "\n".join([f"backup refused [{plan.rule}]: {plan.message}", *skipped])
    lines = [
        f"backup of snapshot {plan.snapshot_id}, WAL {'included' if plan.wal_present else 'absent (empty wal/)'}",
        *skipped,
        f"archive  {plan.archive_name}  ({human_bytes(plan.archive_size)}, {plan.archive_size} bytes)",
        *(f"adds     snapshot/schemas/{a.name}: {a.reason}" for a in plan.added_schemas),
        "members:",
    ]
    for m in plan.members:
        size = "" if m.kind == "directory" else f"{human_bytes(m.size):>12}"
        name = m.name + ("/" if m.kind == "directory" else "")
        lines.append(f"  {name:<48}{size}")
    return "\n".join(lines)


def render_result(result: BackupResult) -> str:
    return "\n".join(
        [
            f"archive   {result.archive}",
            f"size      {human_bytes(result.size)} ({result.size} bytes), {len(result.members)} members",
            f"digest    {result.digest}  (sidecar {result.sidecar})",
            f"backup    {result.backup_id}, snapshot {result.plan.snapshot_id}, "
            f"WAL {'included' if result.plan.wal_present else 'absent'}, staged by {result.staged_by}",
            f"took      {result.duration_seconds:.3f} s",
            *(f"removed   stale staging folder {p}" for p in result.removed_stale),
        ]
    )
