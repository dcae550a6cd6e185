"""plan_backup and judge_snapshot on descriptions built in memory: no file system."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from aeroops.core.backup_plan import BackupOptions, BackupPlan, BackupRefusal, MemberKind, RefusalRule, plan_backup
from aeroops.core.description import (
    DataDirDescription,
    FileFact,
    SnapshotDescription,
    Verdict,
    WalDescription,
    judge_snapshot,
)
from aeroops.errors import Code, Finding, Severity
from aeroops.formats.manifests import Checkpoint, SnapshotManifest, parse_backup_manifest

NOW = datetime(2026, 2, 4, 12, 0, 0, tzinfo=UTC)
OPTIONS = BackupOptions(created_at=NOW)


def snapshot(
    snapshot_id: str = "20260204T113000Z",
    *,
    storage_crc: int = 0x1111,
    actual_storage_crc: int | None = None,
    schema_crcs: dict[str, int] | None = None,
    **changes: object,
) -> SnapshotDescription:
    schemas = {"users_v1.json": 0xAAAA, "orders_v1.json": 0xBBBB} if schema_crcs is None else schema_crcs
    manifest = SnapshotManifest(
        snapshot_id=snapshot_id,
        created_at=NOW,
        storage_checksum=storage_crc,
        schema_checksums=tuple(sorted(schemas.items())),
    )
    snap = SnapshotDescription(
        snapshot_id=snapshot_id,
        manifest=manifest,
        manifest_size=300,
        has_manifest=True,
        storage=FileFact("storage.dat", 1000, storage_crc if actual_storage_crc is None else actual_storage_crc),
        schemas=tuple(FileFact(f"schemas/{n}", 100, c) for n, c in sorted(schemas.items())),
    )
    return replace(snap, **changes)  # type: ignore[arg-type]


def datadir(*snapshots: SnapshotDescription, **changes: object) -> DataDirDescription:
    description = DataDirDescription(
        path="/data",
        snapshots=tuple(sorted(snapshots, key=lambda s: s.snapshot_id)),
        wal=WalDescription(present=True, size=5000, records=10, first_sequence=1, last_sequence=10),
    )
    return replace(description, **changes)  # type: ignore[arg-type]


# --- judge_snapshot: one row per rule -----------------------------------------------------------

VERDICT_CASES = [
    ("valid", snapshot(), Verdict.VALID, ""),
    ("not a folder", snapshot(is_dir=False), Verdict.INVALID, "not a folder"),
    ("stray name", snapshot("tmp-copy"), Verdict.INVALID, "not a snapshot id"),
    ("no manifest", snapshot(has_manifest=False, manifest=None), Verdict.INCOMPLETE, "never completed"),
    (
        "empty manifest {}",
        snapshot(manifest=None, manifest_error="field 'snapshot_id' is missing"),
        Verdict.INVALID,
        "does not parse",
    ),
    (
        "manifest of another snapshot",
        snapshot(manifest=snapshot("20250101T000000Z").manifest),
        Verdict.INVALID,
        "names snapshot 20250101T000000Z",
    ),
    (
        "future format",
        snapshot(manifest=replace(snapshot().manifest, format_version=9)),
        Verdict.INVALID,  # type: ignore[type-var]
        "format_version 9",
    ),
    ("no storage", snapshot(storage=None), Verdict.INVALID, "storage.dat is missing"),
    ("no schemas folder", snapshot(schemas_dir=False, schemas=()), Verdict.INVALID, "schemas/ folder is missing"),
    (
        "schema missing",
        snapshot(
            schema_crcs={"users_v1.json": 1}, manifest=snapshot(schema_crcs={"users_v1.json": 1, "x.json": 2}).manifest
        ),
        Verdict.INVALID,
        "missing: x.json",
    ),
    (
        "schema unlisted",
        snapshot(manifest=snapshot(schema_crcs={"users_v1.json": 0xAAAA}).manifest),
        Verdict.INVALID,
        "not listed in the manifest: orders_v1.json",
    ),
    ("link in schemas", snapshot(other_entries=("evil",)), Verdict.INVALID, "not plain files: evil"),
    (
        "unreadable storage",
        snapshot(storage=FileFact("storage.dat", 10, None, "Permission denied")),
        Verdict.INVALID,
        "cannot be read",
    ),
    ("unchecked", snapshot(storage=FileFact("storage.dat", 1000, None)), Verdict.UNCHECKED, "not computed"),
    (
        "storage corrupt",
        snapshot(actual_storage_crc=0x2222),
        Verdict.CORRUPT,
        "crc32:00002222, the manifest says crc32:00001111",
    ),
    (
        "schema corrupt",
        snapshot(schema_crcs={"a.json": 5}, manifest=snapshot(schema_crcs={"a.json": 6}).manifest),
        Verdict.CORRUPT,
        "schemas/a.json",
    ),
]


@pytest.mark.parametrize(
    ("snap", "verdict", "reason"), [c[1:] for c in VERDICT_CASES], ids=[c[0] for c in VERDICT_CASES]
)
def test_judge_snapshot(snap: SnapshotDescription, verdict: Verdict, reason: str) -> None:
    got_verdict, got_reason = judge_snapshot(snap)
    assert got_verdict is verdict
    assert reason in got_reason
    assert (got_reason == "") == (verdict is Verdict.VALID)


# --- plan_backup -----------------------------------------------------------------------------


def test_plan_lists_members_in_sorted_order_with_sources_and_checksums() -> None:
    plan = plan_backup(datadir(snapshot()), OPTIONS)
    assert isinstance(plan, BackupPlan)
    assert [m.name for m in plan.members] == [
        "backup_manifest.json",
        "snapshot",
        "snapshot/manifest.json",
        "snapshot/schemas",
        "snapshot/schemas/orders_v1.json",
        "snapshot/schemas/users_v1.json",
        "snapshot/storage.dat",
        "wal",
        "wal/wal.log",
    ]
    by_name = {m.name: m for m in plan.members}
    assert by_name["snapshot/storage.dat"].source == "snapshots/20260204T113000Z/storage.dat"
    assert by_name["snapshot/storage.dat"].expected_crc32 == 0x1111
    assert by_name["snapshot/schemas/users_v1.json"].expected_crc32 == 0xAAAA
    assert by_name["wal/wal.log"].size == 5000 and by_name["wal/wal.log"].expected_crc32 is None
    assert by_name["snapshot"].kind is MemberKind.DIRECTORY
    assert by_name["backup_manifest.json"].size == len(plan.manifest_bytes)


def test_plan_manifest_is_aerodbs_bytes() -> None:
    plan = plan_backup(datadir(snapshot()), OPTIONS)
    assert isinstance(plan, BackupPlan)
    assert plan.manifest_bytes == (
        b'{\n  "backup_id": "20260204T113000Z",\n  "created_at": "2026-02-04T12:00:00Z",\n'
        b'  "snapshot_id": "20260204T113000Z",\n  "wal_present": true,\n  "format_version": 1\n}'
    )
    assert parse_backup_manifest(plan.manifest_bytes) == plan.manifest
    assert plan.archive_name == "aerodb-backup-20260204T113000Z-20260204T120000Z.tar"


def test_plan_archive_size_counts_headers_data_padding_and_end_blocks() -> None:
    plan = plan_backup(datadir(snapshot()), OPTIONS)
    assert isinstance(plan, BackupPlan)

    def blocks(n: int) -> int:
        return -(-n // 512)

    files = [m for m in plan.members if m.kind is MemberKind.FILE]
    dirs = len(plan.members) - len(files)
    expected = 512 * (dirs + sum(1 + blocks(m.size) for m in files) + 2)
    assert plan.archive_size == expected


def test_newest_valid_snapshot_is_chosen_and_newer_ones_are_skipped_with_reasons() -> None:
    plan = plan_backup(
        datadir(
            snapshot("20260101T000000Z"),
            snapshot("20260102T000000Z"),
            snapshot("20260103T000000Z", actual_storage_crc=7),
            snapshot("20260104T000000Z", has_manifest=False, manifest=None),
        ),
        OPTIONS,
    )
    assert isinstance(plan, BackupPlan)
    assert plan.snapshot_id == plan.backup_id == "20260102T000000Z"
    assert [(s.snapshot_id, s.verdict) for s in plan.skipped] == [
        ("20260104T000000Z", Verdict.INCOMPLETE),
        ("20260103T000000Z", Verdict.CORRUPT),
    ]


def test_a_stray_folder_holding_an_empty_manifest_is_not_backed_up() -> None:
    # AeroDB picks the alphabetically last folder with a manifest.json, even one holding {}.
    stray = snapshot("zzz-scratch", manifest=None, manifest_error="field 'snapshot_id' is missing")
    plan = plan_backup(datadir(snapshot(), stray), OPTIONS)
    assert isinstance(plan, BackupPlan)
    assert plan.snapshot_id == "20260204T113000Z"
    assert plan.skipped[0].snapshot_id == "zzz-scratch"


@pytest.mark.parametrize(
    ("description", "rule", "words"),
    [
        (datadir(snapshot(), serving=True), RefusalRule.SERVING, ".lock"),
        (datadir(), RefusalRule.NO_VALID_SNAPSHOT, "holds no snapshot"),
        (datadir(snapshot(actual_storage_crc=3)), RefusalRule.NO_VALID_SNAPSHOT, "20260204T113000Z: storage.dat has"),
        (datadir(snapshot(), checkpoint_error="not valid JSON"), RefusalRule.CHECKPOINT_UNREADABLE, "checkpoint.json"),
        (
            datadir(
                snapshot(),
                wal=WalDescription(True, 100, 3, 1, 3, Finding(Code.WAL_CHECKSUM, Severity.ERROR, "bad", "w", 40)),
            ),
            RefusalRule.WAL_DAMAGED,
            "AERO_WAL_CHECKSUM",
        ),
        (
            datadir(
                snapshot("20260101T000000Z"),
                snapshot("20260102T000000Z", actual_storage_crc=9),
                checkpoint=Checkpoint("20260102T000000Z", NOW),
            ),
            RefusalRule.CHECKPOINT_FALLBACK,
            "lose every write",
        ),
        (
            datadir(snapshot("20260101T000000Z"), checkpoint=Checkpoint("20260105T000000Z", NOW)),
            RefusalRule.CHECKPOINT_FALLBACK,
            "truncated after snapshot 20260105T000000Z",
        ),
    ],
    ids=[
        "serving",
        "no snapshots",
        "only corrupt",
        "checkpoint unreadable",
        "wal damaged",
        "checkpoint fallback",
        "checkpoint names a vanished snapshot",
    ],
)
def test_refusals_name_their_rule(description: DataDirDescription, rule: RefusalRule, words: str) -> None:
    refusal = plan_backup(description, OPTIONS)
    assert isinstance(refusal, BackupRefusal)
    assert refusal.rule is rule
    assert words in refusal.message
    # A frozen value all the way down: a refusal is hashable and its skipped snapshots a tuple
    # (a list stored there once made it unhashable; mypy found it).
    assert isinstance(refusal.skipped, tuple)
    hash(refusal)


def test_checkpoint_on_the_chosen_snapshot_or_an_older_one_is_fine() -> None:
    for named in ("20260102T000000Z", "20260101T000000Z"):
        description = datadir(
            snapshot("20260101T000000Z"), snapshot("20260102T000000Z"), checkpoint=Checkpoint(named, NOW)
        )
        plan = plan_backup(description, OPTIONS)
        assert isinstance(plan, BackupPlan) and plan.snapshot_id == "20260102T000000Z"


def test_without_wal_the_archive_keeps_an_empty_wal_folder() -> None:
    plan = plan_backup(datadir(snapshot(), wal=WalDescription(present=False)), OPTIONS)
    assert isinstance(plan, BackupPlan)
    assert plan.wal_present is False and plan.manifest.wal_present is False
    assert [m.name for m in plan.members][-1] == "wal"
    assert b'"wal_present": false' in plan.manifest_bytes


def test_a_named_snapshot_is_used_or_refused() -> None:
    description = datadir(snapshot("20260101T000000Z"), snapshot("20260102T000000Z", actual_storage_crc=1))
    plan = plan_backup(description, replace(OPTIONS, snapshot_id="20260101T000000Z"))
    assert isinstance(plan, BackupPlan) and plan.snapshot_id == "20260101T000000Z" and plan.skipped == ()
    for wanted, words in (("20260102T000000Z", "is corrupt"), ("20990101T000000Z", "there is no snapshot")):
        refusal = plan_backup(description, replace(OPTIONS, snapshot_id=wanted))
        assert isinstance(refusal, BackupRefusal) and refusal.rule is RefusalRule.SNAPSHOT_NOT_USABLE
        assert words in refusal.message


def test_planning_is_pure_and_deterministic() -> None:
    description = datadir(snapshot("20260101T000000Z"), snapshot("20260102T000000Z"))
    assert plan_backup(description, OPTIONS) == plan_backup(description, OPTIONS)
    later = plan_backup(description, BackupOptions(datetime(2027, 1, 1, tzinfo=UTC)))
    assert isinstance(later, BackupPlan)
    assert b"2027-01-01T00:00:00Z" in later.manifest_bytes
