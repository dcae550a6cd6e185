"""Shared test helpers. AeroDB's own data (written by its Rust code) is kept under
tests/fixtures/aerodb-reference/ so the suite runs on a fresh clone; tests copy it before
anything could write."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

import pytest

AERODB_FIXTURES = Path(__file__).parent / "fixtures" / "aerodb-reference"


def tree_state(root: Path) -> dict[str, tuple[str, int, int, str]]:
    """Every entry under ``root``: kind, mode, mtime (ns) and content digest. Two equal states
    mean nothing was added, removed, rewritten or re-timed."""
    state: dict[str, tuple[str, int, int, str]] = {}
    for path in sorted([root, *root.rglob("*")]):
        info = path.lstat()
        rel = str(path.relative_to(root))
        if path.is_symlink():
            state[rel] = ("link", info.st_mode, info.st_mtime_ns, os.readlink(path))
        elif path.is_dir():
            state[rel] = ("dir", info.st_mode, info.st_mtime_ns, "")
        elif not stat.S_ISREG(info.st_mode):  # a FIFO or a device: reading it could block
            state[rel] = ("other", info.st_mode, info.st_mtime_ns, "")
        else:
            state[rel] = ("file", info.st_mode, info.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return state


def copy_fixture(name: str, target: Path) -> Path:
    """A writable copy of one fixture data directory or archive."""
    source = AERODB_FIXTURES / name
    if source.is_dir():
        shutil.copytree(source, target)
        for path in [target, *target.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
    else:
        shutil.copyfile(source, target)
    return target


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
def aerodb_archive(tmp_path: Path) -> Path:
    """AeroDB's own backup of datadir-1000 (no sidecar)."""
    return copy_fixture("backup-1000.tar", tmp_path / "backup-1000.tar")
