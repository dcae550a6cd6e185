"""The suite's shared pytest fixtures, and nothing else: builders and checks that tests import
live in tests/helpers/."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.archives import FIXTURE_ARCHIVES
from helpers.data import copy_fixture

from aeroops.demo import DemoSpec, make_demo_datadir
from aeroops.executor.fileops import REAL


@pytest.fixture
def datadir_1000(tmp_path: Path) -> Path:
    return copy_fixture("datadir-1000", tmp_path / "datadir-1000")


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    path = tmp_path / "backups"
    path.mkdir()
    return path


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """An existing data directory to restore over (AeroDB's no-WAL fixture)."""
    return copy_fixture("datadir-nowal", tmp_path / "target")


@pytest.fixture
def aerodb_archives(tmp_path: Path) -> Path:
    """A folder holding a copy of each of AeroDB's own archives (no sidecars)."""
    root = tmp_path / "archives"
    root.mkdir()
    for name in FIXTURE_ARCHIVES:
        copy_fixture(name, root / name)
    return root


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[str, ...]]:
    """A small demo data directory (shared by a module's tests: none may change it) and its
    snapshot ids, oldest first."""
    made = make_demo_datadir(tmp_path_factory.mktemp("demo") / "datadir", DemoSpec.small(), ops=REAL)
    return made.data_dir, tuple(made.snapshot_ids)


@pytest.fixture
def aerodb_archive(tmp_path: Path) -> Path:
    """AeroDB's own backup of datadir-1000 (no sidecar)."""
    return copy_fixture("backup-1000.tar", tmp_path / "backup-1000.tar")
