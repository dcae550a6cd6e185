"""AeroDB's own data (written by its Rust code) is kept under tests/fixtures/aerodb-reference/ so
the suite runs on a fresh clone; tests copy it before anything could write. And two ways to
compare trees: `tree_state` (times and modes too) and `content_tree` (names and bytes only)."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
AERODB_FIXTURES = TESTS / "fixtures" / "aerodb-reference"


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


def content_tree(root: Path) -> dict[str, str]:
    """Every entry under ``root`` by relative path: "dir", "link:<target>" or the SHA-256 of
    the file's bytes. Two equal trees hold the same files with the same bytes."""
    tree: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            tree[rel] = f"link:{os.readlink(path)}"
        elif path.is_dir():
            tree[rel] = "dir"
        else:
            tree[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return tree
