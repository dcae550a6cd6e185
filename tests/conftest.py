"""The suite's shared pytest fixtures, and nothing else: builders and checks that tests import
live in tests/helpers/. And where the tests' temporary folders go: one folder of the run's own,
removed when the run ends (pytest's default keeps the last three runs' folders under
/tmp/pytest-of-USER, and the suite leaves the machine as it found it)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from helpers.archives import FIXTURE_ARCHIVES
from helpers.data import copy_fixture

from aeroops.demo import DemoSpec, make_demo_datadir
from aeroops.executor.fileops import REAL

_RUN_FOLDER = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    if config.option.basetemp is None:  # a --basetemp given by hand is the caller's to keep
        folder = tempfile.mkdtemp(prefix="pytest-aeroops-")
        config.option.basetemp = folder
        config.stash[_RUN_FOLDER] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    if (folder := config.stash.get(_RUN_FOLDER, None)) is not None:
        shutil.rmtree(folder, ignore_errors=True)


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
