"""The runbooks take a URL for every folder and archive parameter: executed with papermill
against moto's server, backup into a bucket (01), audit it (02), drill and restore from it (03),
plan and apply retention in it (04)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.data import copy_fixture
from helpers.notebooks import NOTEBOOK_DIR, check_ran_cleanly, execute, panels_text
from helpers.s3 import SECRET_KEY, aim_at, moto_server

pytestmark = [pytest.mark.notebook, pytest.mark.slow]


def test_every_runbook_over_a_bucket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = copy_fixture("datadir-1000", tmp_path / "db")
    for name in ("01-2026-12-01", "01-2026-12-02", "02", "03", "04"):
        (tmp_path / name).mkdir()
    with moto_server() as server:
        aim_at(server.endpoint, monkeypatch.setenv)
        client = server.client()
        client.create_bucket(Bucket="backups")
        ran = []
        for day in ("2026-12-01T03:00:00Z", "2026-12-02T03:00:00Z"):
            nb = execute(
                NOTEBOOK_DIR / "01-backup-runbook.ipynb",
                tmp_path / f"01-{day[:10]}",
                {"data_dir": str(data_dir), "backup_dir": "s3://backups/rb/", "created_at": day},
            )
            ran.append(nb)
        keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket="backups")["Contents"])
        assert len(keys) == 4 and all(k.startswith("rb/aerodb-backup-") for k in keys)
        archive = "s3://backups/" + keys[-2]  # the newer archive (keys end .tar, .tar.b3)
        assert archive.endswith(".tar")
        ran.append(
            execute(NOTEBOOK_DIR / "02-audit-backup-folder.ipynb", tmp_path / "02", {"backup_dir": "s3://backups/rb/"})
        )
        ran.append(
            execute(
                NOTEBOOK_DIR / "03-restore-drill.ipynb",
                tmp_path / "03",
                {"archive": archive, "data_dir": str(data_dir), "confirm_restore": True},
            )
        )
        ran.append(
            execute(
                NOTEBOOK_DIR / "04-retention.ipynb",
                tmp_path / "04",
                {
                    "backup_dir": "s3://backups/rb/",
                    "keep_last": 1,
                    "keep_daily": 0,
                    "keep_weekly": 0,
                    "keep_monthly": 0,
                    "max_age": "10000d",
                    "confirm_removal": True,
                },
            )
        )
        left = sorted(o["Key"] for o in client.list_objects_v2(Bucket="backups")["Contents"])
        assert left == [archive.removeprefix("s3://backups/"), archive.removeprefix("s3://backups/") + ".b3"]
        for nb in ran:
            check_ran_cleanly(nb)
            assert SECRET_KEY not in panels_text(nb)


def test_the_point_in_time_runbook_over_a_bucket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from helpers.pitr import B, stage_copy
    from test_boot import boot
    from test_pitr import listed
    from test_s3_wal import build_bucket

    from aeroops.executor import objectstore

    data = stage_copy(4, tmp_path / "data")
    (tmp_path / "05").mkdir()
    with moto_server() as server:
        aim_at(server.endpoint, monkeypatch.setenv)
        server.client().create_bucket(Bucket="backups")
        build_bucket(tmp_path / "build", "s3://backups/pitr/")
        parameters = {
            "backup_dir": "s3://backups/pitr/",
            "data_dir": str(data),
            "target_sequence": 18,
            "timeline": B,
            "confirm_restore": True,
        }
        nb = execute(NOTEBOOK_DIR / "05-point-in-time-restore.ipynb", tmp_path / "05", parameters)
        objectstore.reset_stores()
    check_ran_cleanly(nb)
    assert SECRET_KEY not in panels_text(nb)
    assert boot(data) == listed(B, 18)


def test_the_what_changed_runbook_over_a_bucket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runbook 06 over the demo's nightly folder uploaded into a bucket shows what it shows over
    the local folder (test_notebooks' expectations, the same archives)."""
    from helpers.notebooks import tagged
    from test_notebooks import SHOWN

    from aeroops.demo import make_demo_nightly_folder
    from aeroops.executor import objectstore
    from aeroops.executor.fileops import REAL

    (tmp_path / "demo").mkdir()
    folder, _ = make_demo_nightly_folder(tmp_path / "demo", ops=REAL)
    (tmp_path / "06").mkdir()
    with moto_server() as server:
        aim_at(server.endpoint, monkeypatch.setenv)
        client = server.client()
        client.create_bucket(Bucket="backups")
        for path in sorted(Path(folder).iterdir()):
            client.put_object(Bucket="backups", Key=f"nightly/{path.name}", Body=path.read_bytes())
        nb = execute(NOTEBOOK_DIR / "06-what-changed.ipynb", tmp_path / "06", {"backup_dir": "s3://backups/nightly/"})
        objectstore.reset_stores()
    check_ran_cleanly(nb)
    assert "backup folder: s3://backups/nightly/" in tagged(nb, "folder")
    for where, text in SHOWN["06-what-changed.ipynb"]:
        shown = panels_text(nb) if where == "panels" else tagged(nb, where)
        assert text in shown, f"06 over a bucket does not show {text!r} in {where}"
    assert SECRET_KEY not in panels_text(nb) and all(SECRET_KEY not in tagged(nb, t) for t in ("documents", "diff"))
