"""A clean-up failure that aeroops suppresses (it must not hide the error being handled, or fail
a run that is done) still leaves a record on the "aeroops" logger."""

from __future__ import annotations

import errno
import logging
from pathlib import Path

import pytest
from helpers.faults import FailingOps

from aeroops.executor.audit import verify_archive
from aeroops.executor.backup import STAGING_PREFIX, run_backup
from aeroops.executor.drill import drill
from aeroops.executor.fileops import REAL
from aeroops.executor.restore import restore
from aeroops.executor.restore_target import find_leftovers


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "aeroops" and r.levelno >= logging.WARNING]


def test_a_staging_folder_that_cannot_be_removed_is_logged(
    datadir_1000: Path, out_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="aeroops"):
        result = run_backup(datadir_1000, out_dir, ops=FailingOps("remove_tree", errno.EIO))
    assert verify_archive(result.archive, ops=REAL).ok  # the backup is done: the clean-up does not fail it
    (staging,) = (p for p in out_dir.iterdir() if p.name.startswith(STAGING_PREFIX))
    (message,) = warnings_of(caplog)
    assert "removing the staging folder" in message and str(staging) in message and "Input/output error" in message


def test_a_failed_restore_whose_clean_up_fails_logs_it(
    target: Path, aerodb_archive: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class AndTheUndoToo(FailingOps):
        def remove_tree(self, path: Path) -> None:  # staging fails, and so does removing what it staged
            raise OSError(errno.EBUSY, "Device or resource busy", str(path))

    ops = AndTheUndoToo("fsync", errno.EIO)
    with caplog.at_level(logging.WARNING, logger="aeroops"), pytest.raises(Exception, match="Input/output"):
        restore(aerodb_archive, target, ops=ops)
    logged = warnings_of(caplog)
    temp = find_leftovers(target, REAL).paths.temp
    assert any("after a failed restore, removing" in m and temp in m and "busy" in m for m in logged), logged


def test_a_drill_scratch_folder_that_cannot_be_removed_is_logged(
    tmp_path: Path, aerodb_archive: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="aeroops"):
        result = drill(aerodb_archive, scratch_parent=tmp_path, ops=FailingOps("remove_tree", errno.EIO))
    assert result.ok and not result.scratch_removed
    (message,) = warnings_of(caplog)
    assert "scratch folder" in message and result.scratch in message
