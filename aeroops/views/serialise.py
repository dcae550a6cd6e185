"""Every result as JSON carries it, in one place: plain dicts, lists, strings, numbers and None,
times in AeroDB's notation (``2026-02-04T11:30:00Z``), durations in whole seconds, CRCs as
``crc32:…`` tags, manifests in AeroDB's own field names. The `--json` of every command and
the notebooks' dicts come from here; result types carry no JSON methods of their own.

Rows declared with `aeroops.columns.column` are written from their declaration (`plain_dict`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aeroops.columns import Record, record, specs
from aeroops.formats.checksum import format_crc_tag
from aeroops.formats.ids import format_timestamp
from aeroops.formats.manifests import BackupManifest, SnapshotManifest, backup_manifest_object, snapshot_manifest_object
from aeroops.views import records

if TYPE_CHECKING:  # the result types: imported by whoever holds one (a verify needs few of them)
    from aeroops.core.backup_plan import BackupPlan, BackupRefusal
    from aeroops.core.description import DataDirDescription
    from aeroops.core.documents import DiffResult, HistoryEntry
    from aeroops.core.inspect import InspectResult
    from aeroops.core.inventory import Inventory, InventoryRow
    from aeroops.core.newest_good import Freshness, NewestGood
    from aeroops.core.pitr import PitrPlan, PitrRefusal, TimelineRow, WalArchiveReport, WalFreshness
    from aeroops.core.recovery import RecoveryPlan
    from aeroops.core.restore_plan import RestorePlan, RestoreRefusal
    from aeroops.core.results import (
        BackupResult,
        DrillResult,
        PruneResult,
        RecoveryResult,
        RestorePreview,
        RestoreResult,
    )
    from aeroops.core.retention import Decision, Policy, RetentionPlan, SegmentDecision
    from aeroops.core.verify_report import MemberInfo, VerifyReport
    from aeroops.errors import Finding
    from aeroops.executor.archive_wal import ArchivePass
    from aeroops.executor.documents import ExportResult
    from aeroops.executor.pitr import PitrDrill

JSON = dict[str, Any]


# --- values and declared rows -------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A value as JSON and CSV carry it: times in AeroDB's notation, durations in whole seconds,
    enumerations as their text."""
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    if isinstance(value, str):
        return str(value)  # a StrEnum member as its plain text
    return value


def plain_dict(row: Any, names: Iterable[str] | None = None) -> Record:
    """A row declared with `aeroops.columns.column`: every column, `plain`."""
    return {name: plain(value) for name, value in record(row, names).items()}


def plain_records(rows: Iterable[Record]) -> list[Record]:
    """Records (`aeroops.views.records`) as JSON carries them."""
    return [{name: plain(value) for name, value in row.items()} for row in rows]


def _crc(value: int | None) -> str | None:
    return None if value is None else format_crc_tag(value)


def _seconds(value: float) -> float:
    return round(value, 6)


def finding_json(finding: Finding) -> Record:
    return plain_dict(finding)


def manifest_json(manifest: BackupManifest | SnapshotManifest | None) -> JSON | None:
    """A manifest as AeroDB writes it (schema checksums sorted by name)."""
    if manifest is None:
        return None
    if isinstance(manifest, BackupManifest):
        return backup_manifest_object(manifest)
    return snapshot_manifest_object(manifest)


# --- verify -------------------------------------------------------------------------------------


def member_json(member: MemberInfo) -> JSON:
    return {
        "name": member.name,
        "type": member.type,
        "size": member.size,
        "mode": member.mode,
        "mtime": member.mtime,
        "linkname": member.linkname,
        "header_offset": member.header_offset,
        "data_offset": member.data_offset,
        "checksum": _crc(member.crc32),
    }


def report_json(report: VerifyReport) -> JSON:
    """The full verification report of one archive."""
    return {
        "archive": report.archive,
        "ok": report.ok,
        "counts": report.counts(),
        "findings": [finding_json(f) for f in report.findings],
        "member_count": report.member_count,
        "members": [member_json(m) for m in report.members],
        "members_not_kept": report.members_not_kept,
        "backup_manifest": manifest_json(report.backup_manifest),
        "snapshot_manifest": manifest_json(report.snapshot_manifest),
        "bytes_read": report.bytes_read,
        "wal_record_count": report.wal_record_count,
        "wal_first_sequence": report.wal_first_sequence,
        "wal_last_sequence": report.wal_last_sequence,
        "digest": report.digest,
        "sidecar_digest": report.sidecar_digest,
        "layers": list(report.layers),  # inside out: ["zstd", "age"]
        "opened": report.opened,  # false: encrypted, judged by stored bytes and record only
        "plain_bytes": report.plain_bytes,
    }


def verdict_json(report: VerifyReport) -> JSON:
    """The archive's verdict in short (the full report: `report_json`)."""
    return {
        "ok": report.ok,
        "counts": report.counts(),
        "findings": [finding_json(f) for f in report.findings],
        "wal_records": report.wal_record_count,
    }


# --- inspect ------------------------------------------------------------------------------------


def inspect_json(result: InspectResult, *, documents: bool = False) -> JSON:
    """An inspection; the logical state's documents only when asked (there can be millions)."""
    logical: JSON = {
        "documents": len(result.logical),
        "collections": {c: len(result.logical.documents[c]) for c in result.logical.collections},
        "mvcc_records_ignored": result.logical.mvcc_records_ignored,
        "complete": result.logical.complete,
    }
    if documents:
        logical["document_list"] = [
            {"collection": c, "document_id": d, "size": doc.size, "crc32": format_crc_tag(doc.crc32)}
            for c, d, doc in result.logical.iter_documents()
        ]
    return {
        "archive": result.archive,
        "ok": result.ok,
        "counts": result.report.counts(),
        "findings": [finding_json(f) for f in result.report.findings],
        "members": [
            {
                "name": m.name,
                "type": m.type,
                "size": m.size,
                "mode": m.mode,
                "mtime": None if m.mtime is None else m.mtime.isoformat(),
                "checksum_found": m.checksum_found,
                "checksum_expected": m.checksum_expected,
                "status": m.status,
            }
            for m in result.members
        ],
        "backup_manifest": manifest_json(result.backup_manifest),
        "snapshot_manifest": manifest_json(result.snapshot_manifest),
        "wal": {
            "records": result.wal.records,
            "bytes": result.wal.bytes,
            "documents": result.wal.documents,
            "first_sequence": result.wal.first_sequence,
            "last_sequence": result.wal.last_sequence,
            "documents_exact": result.wal.documents_exact,
            "groups": [asdict(g) for g in result.wal.groups],
        },
        "storage": [asdict(g) for g in result.storage],
        "schemas": [
            {
                "file": row.file,
                "schema": None if row.schema is None else list(row.schema),
                "source": row.source,
                "needed_by": list(row.needed_by),
            }
            for row in result.schemas
        ],
        "logical": logical,
    }


# --- inventory, freshness, retention ----------------------------------------------------------


def inventory_row_json(row: InventoryRow) -> Record:
    return plain_dict(row)


def inventory_json(inventory: Inventory) -> list[Record]:
    """One object per row; the verification fields only when verified."""
    from aeroops.core.inventory import InventoryRow

    if inventory.verified:
        return [plain_dict(row) for row in inventory.rows]
    names = [name for name, spec in specs(InventoryRow).items() if not spec.verdict]
    return [plain_dict(row, names) for row in inventory.rows]


def newest_good_json(found: NewestGood) -> JSON:
    return {
        "overall": None if found.overall is None else inventory_row_json(found.overall),
        "per_snapshot": [inventory_row_json(row) for row in found.per_snapshot],
        "without_good": list(found.without_good),
        "unverified": found.unverified,
    }


def freshness_json(freshness: Freshness) -> JSON:
    newest, age = freshness.newest, freshness.age
    return {
        "fresh": freshness.fresh,
        "newest_good": None if newest is None else newest.file,
        "created_at": None if newest is None or newest.created_at is None else format_timestamp(newest.created_at),
        "age_seconds": None if age is None else int(age.total_seconds()),
        "max_age": str(freshness.max_age),
        "now": format_timestamp(freshness.now),
        "archives": {str(status): n for status, n in freshness.counts().items()},
        "total_bytes": freshness.total_bytes(),
    }


def policy_json(policy: Policy) -> JSON:
    from aeroops.core.retention import COUNT_RULES, DURATION_RULES, UNLIMITED

    counts = {rule.value: policy.count(rule) for rule in COUNT_RULES}
    durations = {rule.option: policy.duration(rule) for rule in DURATION_RULES}
    return {
        **{name: "unlimited" if count == UNLIMITED else count for name, count in counts.items()},
        **{name: None if found is None else str(found) for name, found in durations.items()},
        "time_zone": policy.time_zone or "UTC",
        "remove_damaged": policy.remove_damaged,
    }


def decision_json(decision: Decision) -> Record:
    return plain_dict(decision.table_row())


def retention_json(plan: RetentionPlan) -> JSON:
    return {
        "policy": policy_json(plan.policy),
        "now": format_timestamp(plan.now),
        "decisions": [decision_json(d) for d in plan.decisions],
        "kept": len(plan.kept),
        "removed": len(plan.removed),
        "removed_bytes": plan.removed_bytes(),
        "last_copies": [str(c) for c in plan.last_copies()],
    }


def prune_json(result: PruneResult) -> JSON:
    return {
        "folder": result.folder,
        "dry_run": result.dry_run,
        "verified": result.verified,
        **retention_json(result.plan),
        "removed_files": list(result.removed),
        "refusal": result.refusal,
        **({"segments": [segment_decision_json(s) for s in result.segments]} if result.segments else {}),
    }


# --- scan and backup ------------------------------------------------------------------------------


def description_json(description: DataDirDescription) -> JSON:
    wal = description.wal
    checkpoint = description.checkpoint
    return {
        "data_dir": description.path,
        "serving": description.serving,
        "clean_shutdown": description.clean_shutdown,
        "checkpoint": None
        if checkpoint is None
        else {
            "snapshot_id": checkpoint.snapshot_id,
            "created_at": format_timestamp(checkpoint.created_at),
            "wal_truncated": checkpoint.wal_truncated,
        },
        "checkpoint_error": description.checkpoint_error,
        "snapshots": plain_records(records.snapshot_records(description)),
        "wal": {
            "present": wal.present,
            "size": wal.size,
            "records": wal.records,
            "first_sequence": wal.first_sequence,
            "last_sequence": wal.last_sequence,
            "damage": finding_json(wal.damage) if wal.damage else None,
            "schemas": None if wal.schemas is None else [list(ref) for ref in sorted(wal.schemas)],
        },
        "schema_files": [
            {"name": f.name, "schema": None if f.schema is None else list(f.schema), "in_snapshots": in_snapshots}
            for f, in_snapshots in description.schema_file_holders()
        ],
    }


def backup_plan_json(plan: BackupPlan | BackupRefusal) -> JSON:
    from aeroops.core.backup_plan import BackupRefusal

    skipped = plain_records(records.skipped_records(plan))
    if isinstance(plan, BackupRefusal):
        return {"refused": True, "rule": str(plan.rule), "message": plan.message, "skipped": skipped}
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
        "skipped": skipped,
        "members": plain_records(records.plan_member_records(plan)),
    }


def backup_result_json(result: BackupResult) -> JSON:
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
        "duration_seconds": _seconds(result.duration_seconds),
        "removed_stale": list(result.removed_stale),
        "layers": list(result.layers),  # inside out: ["zstd", "age"] for NAME.tar.zst.age
        "plain_size": result.plain_size,  # the tar's bytes ("size" is the file's)
        "record": result.record,
        "members": plain_records(records.backup_member_records(result)),
    }


# --- restore, recovery, drill -------------------------------------------------------------------


def restore_plan_json(plan: RestorePlan | RestoreRefusal) -> JSON:
    from aeroops.core.restore_plan import RestoreRefusal

    if isinstance(plan, RestoreRefusal):
        return {
            "refused": True,
            "rule": str(plan.rule),
            "message": plan.message,
            "findings": [finding_json(f) for f in plan.findings],
        }
    return {
        "refused": False,
        "archive": plan.archive,
        "archive_size": plan.archive_size,
        "data_dir": plan.paths.data_dir,
        "mode": str(plan.mode),
        "backup_id": plan.backup_id,
        "snapshot_id": plan.snapshot_id,
        "created_at": format_timestamp(plan.created_at),
        "wal_present": plan.wal_present,
        "temporary_folder": plan.paths.temp,
        "old_folder": plan.paths.old,
        "journal": plan.paths.journal,
        "replaced": plain_records(records.replaced_records(plan)),
        "replaced_files": plan.replaced_files,
        "replaced_bytes": plan.replaced_bytes,
        "files": plain_records(records.restored_file_records(plan)),
        "new_bytes": plan.new_bytes,
        "notes": list(plan.notes),
        "steps": list(plan.steps),
    }


def restore_preview_json(preview: RestorePreview) -> JSON:
    return {
        "dry_run": True,
        "archive": preview.archive,
        "data_dir": preview.data_dir,
        "would_restore": preview.would_restore,
        "verdict": verdict_json(preview.report),
        "plan": restore_plan_json(preview.plan),
    }


def restore_result_json(result: RestoreResult) -> JSON:
    return {
        "archive": result.archive,
        "data_dir": result.data_dir,
        "mode": str(result.plan.mode),
        "backup_id": result.backup_id,
        "snapshot_id": result.plan.snapshot_id,
        "wal_present": result.plan.wal_present,
        "verdict": verdict_json(result.report),
        "files": [{"path": f.path, "size": f.size, "crc32": format_crc_tag(f.crc32)} for f in result.files],
        "restored_bytes": result.restored_bytes,
        "replaced_bytes": result.plan.replaced_bytes,
        "duration_seconds": _seconds(result.duration_seconds),
        "steps": [{"step": name, "seconds": _seconds(seconds)} for name, seconds in result.step_seconds],
        "warnings": list(result.warnings),
    }


def recovery_json(plan: RecoveryPlan, *, performed: bool = False, data_dir: str | None = None) -> JSON:
    return {
        "data_dir": data_dir,
        "situation": str(plan.situation),
        "explanation": plan.explanation,
        "action": str(plan.action),
        "steps": [str(s) for s in plan.steps],
        "outcome": str(plan.outcome),
        "refusal": plan.refusal,
        "performed": performed,
    }


def recovery_result_json(result: RecoveryResult) -> JSON:
    return recovery_json(result.plan, performed=result.performed, data_dir=result.data_dir) | {
        "duration_seconds": _seconds(result.duration_seconds)
    }


def drill_json(result: DrillResult) -> JSON:
    return {
        "archive": result.archive,
        "source": result.source,
        "ok": result.ok,
        "error": None if result.error is None else finding_json(result.error),
        "backup_id": result.backup_id,
        "snapshot_id": result.snapshot_id,
        "source_snapshot": result.source_snapshot,
        "restore_seconds": None if result.restore_seconds is None else _seconds(result.restore_seconds),
        "duration_seconds": _seconds(result.duration_seconds),
        "documents": result.documents,
        "boot_ready": not result.missing_schemas,
        "missing_schemas": {
            "first_boot": [list(ref) for ref in result.missing_schemas.first_boot],
            "later_boots": [list(ref) for ref in result.missing_schemas.later_boots],
        },
        "collections": plain_records(records.drill_collection_records(result)),
        "comparisons": [
            {
                "reference": c.reference,
                "identical": c.identical,
                "added": [list(k) for k in c.diff.added],
                "removed": [list(k) for k in c.diff.removed],
                "changed": [list(k) for k in c.diff.changed],
            }
            for c in result.comparisons
        ],
        "scratch": result.scratch,
        "scratch_removed": result.scratch_removed,
    }


# --- documents ----------------------------------------------------------------------------------


def diff_json(result: DiffResult) -> JSON:
    return {
        "a": result.a,
        "b": result.b,
        "identical": result.identical,
        "counts": result.counts(),
        "collections": [c._asdict() for c in result.collections],
        "documents": [
            {
                "collection": d.collection,
                "key": d.key,
                "change": d.change,
                "fields": [{"field": f.field, "old": f.old, "new": f.new} for f in d.fields],
                "note": d.note,
            }
            for d in result.deltas
        ],
    }


def export_json(result: ExportResult) -> JSON:
    return {
        "source": result.source,
        "output": result.output,
        "format": result.format,
        "documents": result.documents,
        "bytes": result.bytes,
        "collections": dict(result.collections),
    }


# --- WAL archiving and point-in-time restore (issue 23) -------------------------------------------


def archive_pass_json(result: ArchivePass) -> JSON:
    return {
        "data_dir": result.data_dir,
        "folder": result.folder,
        "timeline": result.timeline,
        "segment": result.segment,
        "first": result.first,
        "last": result.last,
        "records": result.records,
        "bytes": result.bytes,
        "archived_at": format_timestamp(result.archived_at),
        "wal_size": result.wal_size,
        "new_timeline": result.new_timeline,
        "notes": list(result.notes),
        "seconds": round(result.seconds, 6),
    }


def pitr_plan_json(plan: PitrPlan | PitrRefusal) -> JSON:
    from aeroops.core.pitr import PitrRefusal

    if isinstance(plan, PitrRefusal):
        return {
            "refused": True,
            "target": plan.target.describe(),
            "code": str(plan.code),
            "reasons": list(plan.reasons),
        }
    return {
        "refused": False,
        "target": plan.target.describe(),
        "timeline": plan.timeline,
        "sequence": plan.sequence,
        "base": plan.base.file,
        "base_snapshot": plan.base.snapshot_id,
        "base_records": plan.base_records,
        "segments": [{"file": u.segment.file, "first": u.segment.name.first, "upto": u.upto} for u in plan.segments],
        "cut": plan.cut,
        "archived_at": None if plan.archived_at is None else format_timestamp(plan.archived_at),
        "notes": list(plan.notes),
    }


def pitr_drill_json(result: PitrDrill) -> JSON:
    return {
        "ok": result.ok,
        "plan": pitr_plan_json(result.plan),
        "documents": result.documents,
        "expected": result.expected,
        "differences": result.differences,
        "missing_schemas": result.missing_schemas,
        "seconds": round(result.seconds, 3),
        "error": result.error,
    }


def _time_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else format_timestamp(moment)


def timeline_row_json(row: TimelineRow) -> JSON:
    return {
        "timeline": row.timeline,
        "segments": row.segments,
        "first": row.first,
        "last": row.last,
        "reach": row.reach,
        "newest_archived": _time_or_none(row.newest_archived),
        "bases": list(row.bases),
        "problems": [{"code": str(p.code), "sequence": p.sequence, "message": p.message} for p in row.problems],
    }


def wal_archive_json(report: WalArchiveReport) -> JSON:
    return {
        "folder": report.folder,
        "checked": report.checked,
        "ok": report.ok,
        "timelines": [timeline_row_json(t) for t in report.timelines],
        "coverage": [
            {
                "base": c.base,
                "timeline": c.timeline,
                "from_sequence": c.from_sequence,
                "to_sequence": c.to_sequence,
                "earliest": format_timestamp(c.earliest),
                "latest": format_timestamp(c.latest),
            }
            for c in report.coverage
        ],
        "strays": list(report.strays),
    }


def wal_freshness_json(freshness: WalFreshness) -> JSON:
    age = freshness.age
    return {
        "fresh": freshness.fresh,
        "newest_archived": _time_or_none(freshness.newest),
        "segment": freshness.segment,
        "age_seconds": None if age is None else int(age.total_seconds()),
        "max_age_seconds": int(freshness.max_age.total_seconds()),
        "now": format_timestamp(freshness.now),
    }


def segment_decision_json(decision: SegmentDecision) -> JSON:
    return {
        "file": decision.file,
        "timeline": decision.timeline,
        "first": decision.first,
        "last": decision.last,
        "action": "keep" if decision.keep else "remove",
        "why": decision.why,
    }


def history_json(entries: Iterable[HistoryEntry]) -> list[JSON]:
    """A document's history: each entry with its body as text (``body_base64`` when not UTF-8)."""
    out = []
    for entry in entries:
        item: JSON = {
            "archive": entry.archive,
            "backup_id": entry.backup_id,
            "created_at": entry.created_at,
            "event": entry.event,
            "schema": entry.schema,
            "version": entry.version,
            "fields": [{"field": f.field, "old": f.old, "new": f.new} for f in entry.fields],
            "note": entry.note,
        }
        if entry.body is not None:
            try:
                item["body"] = entry.body.decode("utf-8")
            except UnicodeDecodeError:
                import base64

                item["body_base64"] = base64.b64encode(entry.body).decode()
        out.append(item)
    return out
