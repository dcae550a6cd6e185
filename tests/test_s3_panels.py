"""Every panel takes a URL where it takes a folder or an archive: backup into a bucket, audit it,
drill and restore from it, plan its retention, against moto's server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.s3 import SECRET_KEY, MotoServer, aim_at, moto_server

from aeroops.core.retention import Policy
from aeroops.executor import objectstore
from aeroops.panels import AuditPanel, BackupPanel, RestorePanel, RetentionPanel


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    with moto_server() as found:
        yield found


@pytest.fixture
def s3(server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    server.reset()
    aim_at(server.endpoint, monkeypatch.setenv)
    server.client().create_bucket(Bucket="backups")
    yield server
    objectstore.reset_stores()


def test_the_panels_over_a_bucket(s3: MotoServer, datadir_1000: Path, tmp_path: Path) -> None:
    backup = BackupPanel(datadir_1000, "s3://backups/db/", created_at=datetime(2026, 12, 1, 3, tzinfo=UTC))
    assert backup.error is None, backup.error_box.value
    backup.run_button.click()
    assert backup.error is None, backup.error_box.value
    result = backup.result
    assert result is not None and result.archive.startswith("s3://backups/db/")
    name = result.archive.removeprefix("s3://backups/db/")

    audit = AuditPanel("s3://backups/db/")
    assert audit.error is None, audit.error_box.value
    assert audit.inventory is not None and [row.file for row in audit.inventory.rows] == [name]
    assert audit.select(name) is not None and audit.verify() is not None and audit.report.ok  # type: ignore[union-attr]
    taken = audit.verify_all()
    assert taken is not None and taken.ok

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    restore = RestorePanel(result.archive, tmp_path / "restored", scratch_parent=scratch)
    drilled = restore.drill()
    assert drilled is not None and drilled.ok, restore.error_box.value

    retention = RetentionPanel("s3://backups/db/", Policy(last=1))
    plan = retention.plan()
    assert plan is not None and retention.error is None, retention.error_box.value
    assert [d.file for d in plan.kept] == [name]

    for panel in (backup, audit, restore, retention):
        assert SECRET_KEY not in panel.error_box.value


def test_a_missing_bucket_shows_in_the_panel(s3: MotoServer) -> None:
    audit = AuditPanel("s3://no-such-bucket/")
    assert audit.inventory is None and "no-such-bucket" in audit.error_box.value
