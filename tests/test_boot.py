"""AeroDB's boot as the ground truth: what a restored directory must give when AeroDB starts on
it, once and again (fixtures/aerodb-reference/aerodb-boot/ holds what AeroDB's own boot listed
for each data directory), and the schemas that boot needs."""

from __future__ import annotations

import json
import shutil
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers.archives import build, fixture_bytes, read_members, replace_member, verify_bytes
from helpers.cli import unwrapped
from helpers.data import AERODB_FIXTURES, copy_fixture, tree_state

from aeroops.core.backup_plan import BackupOptions, BackupRefusal, RefusalRule, plan_backup
from aeroops.core.logical import missing_schemas
from aeroops.errors import BackupError
from aeroops.executor.audit import inspect_archive, verify_archive
from aeroops.executor.backup import run_backup
from aeroops.executor.drill import datadir_logical_state, datadir_schemas, drill
from aeroops.executor.fileops import REAL
from aeroops.executor.restore import restore
from aeroops.executor.scan import scan
from aeroops.formats.checksum import crc32, format_crc_tag
from aeroops.formats.manifests import parse_backup_manifest
from aeroops.formats.storage import StorageRecord, encode_storage_record, iter_storage
from aeroops.formats.wal import DocumentChange, WalType, decode_payload, iter_wal
from aeroops.views.backup import render_description, render_plan
from aeroops.views.restore import render_drill
from aeroops.views.serialise import inspect_json

T0 = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
BOOT = AERODB_FIXTURES / "aerodb-boot"
DATADIRS = sorted(p.stem for p in BOOT.glob("*.jsonl"))
EVENTS = ("events", "v1")

Document = tuple[str, str, str, int, int]  # key, schema id, schema version, body size, body CRC


class BootFailed(Exception):
    pass


def aerodb_lists(datadir: str) -> set[Document]:
    """What AeroDB's own boot listed for a data directory."""
    lines = (BOOT / f"{datadir}.jsonl").read_text().splitlines()
    docs = (json.loads(line) for line in lines)
    return {
        (d["key"], d["schema_id"], d["schema_version"], len(d["body"].encode()), crc32(d["body"].encode()))
        for d in docs
    }


def boot(data_dir: Path) -> set[Document]:
    """AeroDB's boot (recovery/startup.rs), written out apart from aeroops' own code: load the
    schemas of metadata/schemas/ by what they define; replay the WAL, appending each record to
    data/documents.dat; check the schema of every live record the file held when opened; list
    the live documents, last record per key winning. Raises BootFailed as AeroDB fails."""
    schemas = set()
    folder = data_dir / "metadata/schemas"
    for path in folder.glob("*.json") if folder.is_dir() else ():
        schema = json.loads(path.read_bytes())
        schemas.add((schema["schema_id"], schema["schema_version"]))
    storage = data_dir / "data/documents.dat"
    storage.parent.mkdir(exist_ok=True)
    storage.touch()
    with storage.open("rb") as stream:
        before = list(iter_storage(stream))
    appended = []
    wal = data_dir / "wal/wal.log"
    if wal.exists():
        with wal.open("rb") as stream:
            for record in iter_wal(stream):
                change = decode_payload(record)
                assert isinstance(change, DocumentChange)
                key = f"{change.collection}:{change.document_id}"
                tombstone = record.type == WalType.DELETE
                appended.append(StorageRecord(key, change.schema_id, change.schema_version, tombstone, change.body))
        with storage.open("ab") as out:
            out.writelines(encode_storage_record(r) for r in appended)
    for record in before:
        if not record.tombstone and (record.schema_id, record.schema_version) not in schemas:
            raise BootFailed(
                f"AERO_RECOVERY_SCHEMA_MISSING: Schema '{record.schema_id}' version '{record.schema_version}'"
            )
    live: dict[str, StorageRecord] = {}
    for record in [*before, *appended]:
        live[record.key] = record
    return {
        (r.key, r.schema_id, r.schema_version, len(r.body), crc32(r.body)) for r in live.values() if not r.tombstone
    }


def aeroops_state(data_dir: Path) -> set[Document]:
    state = datadir_logical_state(data_dir, ops=REAL)
    return {
        (f"{c}:{d}", doc.schema_id, doc.schema_version, doc.size, doc.crc32) for c, d, doc in state.iter_documents()
    }


def backup_and_restore(datadir: str, tmp_path: Path) -> Path:
    source = copy_fixture(datadir, tmp_path / datadir)
    archive = run_backup(source, tmp_path / "backup.tar", created_at=T0, ops=REAL).archive
    restore(archive, tmp_path / "restored", create=True, ops=REAL)
    return tmp_path / "restored"


@pytest.mark.parametrize("datadir", DATADIRS)
def test_the_boot_model_lists_what_aerodbs_boot_listed_for_the_original(datadir: str, tmp_path: Path) -> None:
    """The model above is right: on a copy of each original it lists what AeroDB listed, and a
    second boot lists it again."""
    source = copy_fixture(datadir, tmp_path / datadir)
    assert boot(source) == aerodb_lists(datadir)
    assert boot(source) == aerodb_lists(datadir)


@pytest.mark.parametrize("datadir", DATADIRS)
def test_aeroops_backup_then_restore_boots_as_aerodb_listed_twice(datadir: str, tmp_path: Path) -> None:
    restored = backup_and_restore(datadir, tmp_path)
    expected = aerodb_lists(datadir)
    assert aeroops_state(restored) == expected  # aeroops' logical state, before any boot
    assert not missing_schemas(datadir_logical_state(restored, ops=REAL), datadir_schemas(restored, REAL))
    assert boot(restored) == expected  # the first boot replays the WAL into documents.dat
    assert aeroops_state(restored) == expected  # replaying the WAL a second time changes nothing
    assert boot(restored) == expected  # and the second boot checks the replayed records too


def test_aerodbs_own_archive_boots_once_then_fails_and_aeroops_says_so(tmp_path: Path) -> None:
    """What the fixture README measured with AeroDB's code, in the model, and aeroops' account."""
    restored = tmp_path / "restored"
    aerodb_restore(AERODB_FIXTURES / "backup-schema-after-snapshot.tar", restored)
    assert len(boot(restored)) == 298
    missing = missing_schemas(datadir_logical_state(restored, ops=REAL), datadir_schemas(restored, REAL))
    assert missing.all == (EVENTS,) and "'events' version 'v1'" in missing.describe()
    with pytest.raises(BootFailed, match="'events' version 'v1'"):
        boot(restored)


# --- 1. backups carry the schemas the restored database needs --------------------------------------


def aerodb_restore(archive: Path, target: Path) -> None:
    """AeroDB's restore's layout (restore/restorer.rs): every file of snapshot/schemas/ goes to
    metadata/schemas/, storage to data/storage.dat (which boot never reads), the WAL to wal/."""
    extracted = target.parent / "extracted"
    with tarfile.open(archive) as tar:
        tar.extractall(extracted, filter="data")
    shutil.copytree(extracted / "snapshot/schemas", target / "metadata/schemas")
    (target / "data").mkdir()
    shutil.copyfile(extracted / "snapshot/storage.dat", target / "data/storage.dat")
    shutil.copytree(extracted / "wal", target / "wal")


def test_the_archive_carries_a_schema_created_after_the_snapshot_where_aerodbs_restore_installs_it(
    tmp_path: Path,
) -> None:
    source = copy_fixture("datadir-schema-after-snapshot", tmp_path / "source")
    result = run_backup(source, tmp_path / "backup.tar", created_at=T0, ops=REAL)
    snapshot = source / "snapshots/20261129T190439Z"
    with tarfile.open(result.archive) as tar:
        names = tar.getnames()
        added = tar.extractfile("snapshot/schemas/schema_events_v1.json").read()  # type: ignore[union-attr]
        manifest = parse_backup_manifest(tar.extractfile("backup_manifest.json").read())  # type: ignore[union-attr]
        # The snapshot stays a byte copy: its manifest does not list the addition.
        assert tar.extractfile("snapshot/manifest.json").read() == (snapshot / "manifest.json").read_bytes()  # type: ignore[union-attr]
    assert added == (source / "metadata/schemas/schema_events_v1.json").read_bytes()
    assert not (snapshot / "schemas/schema_events_v1.json").exists()
    assert "snapshot/schemas/schema_events_v1.json" in names
    (entry,) = manifest.added_schemas
    assert entry.name == "schema_events_v1.json" and entry.checksum == crc32(added)
    assert "created after snapshot 20261129T190439Z" in entry.reason
    assert result.plan.added_schemas == manifest.added_schemas
    assert "adds     snapshot/schemas/schema_events_v1.json: schema 'events'" in render_plan(result.plan)

    by_aerodb = tmp_path / "by-aerodb"
    aerodb_restore(Path(result.archive), by_aerodb)
    assert len(boot(by_aerodb)) == 298 and len(boot(by_aerodb)) == 298  # AeroDB's restore: boots twice

    restored = tmp_path / "restored"
    restore(result.archive, restored, create=True, ops=REAL)
    assert (restored / "metadata/schemas/schema_events_v1.json").read_bytes() == added
    restored_snapshot = restored / "snapshots/20261129T190439Z"
    assert tree_state(restored_snapshot).keys() == tree_state(snapshot).keys()  # the snapshot's own files only


def test_scan_says_which_schema_a_backup_adds(tmp_path: Path) -> None:
    text = render_description(scan(AERODB_FIXTURES / "datadir-schema-after-snapshot", ops=REAL))
    assert "schema_events_v1.json in no snapshot: a backup adds it (the WAL names it)" in unwrapped(text)
    assert "schema_users_v1.json in 1 snapshot(s)" in unwrapped(text)


def test_a_schema_the_wal_needs_that_the_data_directory_lacks_refuses_the_backup(tmp_path: Path) -> None:
    source = copy_fixture("datadir-schema-after-snapshot", tmp_path / "source")
    (source / "metadata/schemas/schema_events_v1.json").unlink()
    plan = plan_backup(scan(source, ops=REAL), BackupOptions(T0))
    assert isinstance(plan, BackupRefusal) and plan.rule is RefusalRule.SCHEMA_MISSING
    assert "'events' version 'v1'" in plan.message and "would not boot" in plan.message
    before = tree_state(source)
    with pytest.raises(BackupError, match="'events' version 'v1'") as raised:
        run_backup(source, tmp_path / "out", created_at=T0, ops=REAL)
    assert raised.value.code == "AERO_BACKUP_FAILED"
    assert tree_state(source) == before
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# --- 2. verify knows what a restore needs ------------------------------------------------------


def test_verify_names_a_schema_the_wal_needs_that_the_archive_lacks_and_what_follows() -> None:
    report = verify_archive(AERODB_FIXTURES / "backup-schema-after-snapshot.tar", ops=REAL)
    (finding,) = [f for f in report.findings if f.code != "AERO_VERIFY_NO_SIDECAR"]  # AeroDB writes no sidecar
    assert finding.code == "AERO_VERIFY_SCHEMA_MISSING" and finding.severity == "ERROR" and not report.ok
    assert finding.path == "wal/wal.log"
    assert "'events' version 'v1'" in finding.message
    assert "boots once" in finding.message and "AERO_RECOVERY_SCHEMA_MISSING" in finding.message


def test_verify_names_a_schema_live_storage_needs_that_the_archive_lacks() -> None:
    """The users schema file now defines another schema, its checksum updated to match."""
    members = read_members(fixture_bytes("backup-1000.tar"))
    schema = b'{"schema_id": "usrs", "schema_version": "v1"}'
    manifest = dict(members)["snapshot/manifest.json"]
    assert manifest is not None and b"crc32:8a6c2a6b" in manifest
    manifest = manifest.replace(b"crc32:8a6c2a6b", format_crc_tag(crc32(schema)).encode())
    changed = replace_member(members, "snapshot/manifest.json", manifest)
    report = verify_bytes(build(replace_member(changed, "snapshot/schemas/schema_users_v1.json", schema)))
    (finding,) = report.findings
    assert finding.code == "AERO_VERIFY_SCHEMA_MISSING" and finding.path == "snapshot/storage.dat"
    assert "'users' version 'v1'" in finding.message and "boot of the restored directory fails" in finding.message


def test_inspect_lists_each_schema_with_where_it_comes_from(tmp_path: Path) -> None:
    source = copy_fixture("datadir-schema-after-snapshot", tmp_path / "source")
    archive = run_backup(source, tmp_path / "backup.tar", created_at=T0, ops=REAL).archive
    rows = {row["file"]: row for row in inspect_json(inspect_archive(archive, ops=REAL))["schemas"]}
    assert rows["schema_events_v1.json"]["source"].startswith("added by the backup: schema 'events'")
    assert rows["schema_users_v1.json"]["source"] == "snapshot"
    assert rows["schema_events_v1.json"]["schema"] == ["events", "v1"]
    assert rows["schema_events_v1.json"]["needed_by"] == ["wal"]
    theirs = {
        row["file"]: row
        for row in inspect_json(inspect_archive(AERODB_FIXTURES / "backup-1000.tar", ops=REAL))["schemas"]
    }
    assert theirs["schema_users_v1.json"]["needed_by"] == ["storage", "wal"]


def test_a_schema_snapshot_storage_needs_that_the_data_directory_lacks_refuses_the_backup(tmp_path: Path) -> None:
    """Learnt while packing: storage records are walked as their bytes go into the tar."""
    source = copy_fixture("datadir-1000", tmp_path / "source")
    snapshot = source / "snapshots/20261126T214824Z"
    ghost = encode_storage_record(StorageRecord("ghosts:1", "ghosts", "v1", False, b"{}"))
    with (snapshot / "storage.dat").open("ab") as storage:
        storage.write(ghost)
    manifest = json.loads((snapshot / "manifest.json").read_bytes())
    manifest["storage_checksum"] = format_crc_tag(crc32((snapshot / "storage.dat").read_bytes()))
    (snapshot / "manifest.json").write_text(json.dumps(manifest, indent=2))
    assert not isinstance(plan_backup(scan(source, ops=REAL), BackupOptions(T0)), BackupRefusal)  # storage not read yet
    with pytest.raises(BackupError, match="storage records of snapshot 20261126T214824Z name schema 'ghosts'"):
        run_backup(source, tmp_path / "out.tar", created_at=T0, ops=REAL)
    assert not (tmp_path / "out.tar").exists()


# --- 3. a drill proves boot-readiness ---------------------------------------------------------------


def test_a_drill_of_aerodbs_archive_fails_and_says_which_schema(tmp_path: Path) -> None:
    result = drill(AERODB_FIXTURES / "backup-schema-after-snapshot.tar", ops=REAL)
    assert not result.ok and result.error is not None
    assert "'events' version 'v1'" in render_drill(result) and "boots once" in render_drill(result)


def test_a_drill_fails_when_the_restored_directory_lacks_a_schema_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drill's own check, behind verification: a restore that left a schema out."""
    source = copy_fixture("datadir-schema-after-snapshot", tmp_path / "source")
    archive = run_backup(source, tmp_path / "backup.tar", created_at=T0, ops=REAL).archive

    def restore_losing_a_schema(*args: Any, **kwargs: Any) -> Any:
        result = restore(*args, **kwargs)
        (Path(args[1]) / "metadata/schemas/schema_events_v1.json").unlink()
        return result

    monkeypatch.setattr("aeroops.executor.drill.restore", restore_losing_a_schema)
    result = drill(archive, source=source, ops=REAL)
    assert all(c.identical for c in result.comparisons)  # the documents are all there...
    assert not result.ok  # ...but the second boot would fail
    assert result.missing_schemas.later_boots == (EVENTS,)
    text = render_drill(result)
    assert "drill     FAILED" in text
    assert "boot      FAILS: WAL records need schema 'events' version 'v1'" in text
    assert "AERO_RECOVERY_SCHEMA_MISSING" in text


def test_a_drill_of_aeroops_archive_of_the_same_directory_passes(tmp_path: Path) -> None:
    source = copy_fixture("datadir-schema-after-snapshot", tmp_path / "source")
    archive = run_backup(source, tmp_path / "backup.tar", created_at=T0, ops=REAL).archive
    result = drill(archive, source=source, ops=REAL)
    assert result.ok and not result.missing_schemas
    assert "boot      ready" in render_drill(result)
