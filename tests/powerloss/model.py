"""A durability model of a file system: from the effects a run recorded, the states a power
loss could leave on the disk (after ALICE, Pillai et al., OSDI 2014).

A run's effects are a list of `Op` in the order they happened: namespace operations (create,
mkdir, link, rename, unlink, rmdir), data operations (write, truncate, chmod) and barriers (the
fsync of a file, the fsync of a folder). A crash point is a prefix of that list. Files and
folders are named by inode (a number the recorder gives each one when it appears), so hard
links, renames and a file written after it was renamed are followed exactly.

Two models say what survives a power loss at a crash point:

- `STRICT` (a): only what an fsync made durable survives. A folder holds the entries it had at
  its last fsync (the ones it had before the run if never fsynced); a file holds the bytes it
  had at its last fsync (its bytes before the run, or nothing if it is new). A folder never
  fsynced inside its parent is not there. One state per crash point: POSIX's bare guarantee.

- `REORDERED` (b): the namespace is journaled in order, file data is not (ext4 and XFS without
  data=journal; ext4's delayed allocation is how a renamed file came back zero-length in 2009).
  A prefix of the namespace operations reached the disk, at least up to the last one that an
  fsync of its folder forced; independently, each file's unsynced data operations reached it in
  order up to some point, the last one possibly cut at any block boundary (4 KiB). A file never
  shows bytes it was not written with (data=ordered), but it may be shorter than what was
  written or empty, even though a later rename or link of it reached the disk. Files vary one
  at a time against two baselines (all unsynced data lost, all of it whole): see
  `_one_file_at_a_time` for why not every combination.

The model is pure: `crash_states(initial, ops, model)` yields `State` values; `materialise`
writes one into a folder.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import random
import shutil
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Union

BLOCK = 4096
ROOT = 0  # the inode of the watched folder itself


# --- the effects ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Create:
    path: str
    inode: int
    mode: int


@dataclass(frozen=True, slots=True)
class Mkdir:
    path: str
    inode: int
    mode: int


@dataclass(frozen=True, slots=True)
class Link:
    source: str
    target: str


@dataclass(frozen=True, slots=True)
class Rename:
    source: str
    target: str


@dataclass(frozen=True, slots=True)
class Unlink:
    path: str


@dataclass(frozen=True, slots=True)
class Rmdir:
    path: str


@dataclass(frozen=True, slots=True)
class Write:
    inode: int
    offset: int
    data: bytes

    def __repr__(self) -> str:  # a failing test prints ops: not their megabytes
        return f"Write(inode={self.inode}, offset={self.offset}, size={len(self.data)})"


@dataclass(frozen=True, slots=True)
class Truncate:
    inode: int
    size: int


@dataclass(frozen=True, slots=True)
class Chmod:
    inode: int
    mode: int


@dataclass(frozen=True, slots=True)
class Chown:
    """A new owner: recorded so that no effect goes unseen; states do not hold owners."""

    inode: int


@dataclass(frozen=True, slots=True)
class Fsync:
    """fsync of a file: its data and attributes are durable (not its name)."""

    inode: int


@dataclass(frozen=True, slots=True)
class FsyncDir:
    """fsync of a folder: its entries are durable (not its own name in its parent)."""

    inode: int


NAMESPACE_OPS = (Create, Mkdir, Link, Rename, Unlink, Rmdir)
DATA_OPS = (Write, Truncate, Chmod, Chown)  # a file's: they reach the disk with its data
BARRIERS = (Fsync, FsyncDir)
Op = Union[NAMESPACE_OPS + DATA_OPS + BARRIERS]  # noqa: UP007 (`|` cannot take a tuple): every effect, once


class Model(Enum):
    STRICT = "a: only what an fsync made durable survives"
    REORDERED = "b: the namespace in order, file data late, lost or cut at a block"


# --- a file system in memory ------------------------------------------------------------------


@dataclass
class Tree:
    """Folders (inode → name → inode), file bytes and modes. The watched folder is inode ROOT."""

    folders: dict[int, dict[str, int]] = field(default_factory=lambda: {ROOT: {}})
    data: dict[int, bytes] = field(default_factory=dict)
    modes: dict[int, int] = field(default_factory=dict)

    def copy(self) -> Tree:
        return Tree({k: dict(v) for k, v in self.folders.items()}, dict(self.data), dict(self.modes))

    def parent(self, path: str) -> tuple[int, str]:
        """The folder holding ``path`` (relative, POSIX) and the name in it."""
        head, name = posixpath.split(path)
        return self.lookup(head), name

    def lookup(self, path: str) -> int:
        inode = ROOT
        for part in path.split("/") if path else ():
            inode = self.folders[inode][part]
        return inode

    def apply_namespace(self, op: Op) -> tuple[int, ...]:
        """Apply a namespace operation; the folders it changed."""
        if isinstance(op, Create | Mkdir):
            folder, name = self.parent(op.path)
            assert name not in self.folders[folder], op
            self.folders[folder][name] = op.inode
            self.modes[op.inode] = op.mode
            if isinstance(op, Mkdir):
                self.folders[op.inode] = {}
            else:
                self.data[op.inode] = b""
            return (folder,)
        if isinstance(op, Link):
            folder, name = self.parent(op.target)
            assert name not in self.folders[folder], op
            self.folders[folder][name] = self.lookup(op.source)
            return (folder,)
        if isinstance(op, Rename):
            source, source_name = self.parent(op.source)
            target, target_name = self.parent(op.target)
            self.folders[target][target_name] = self.folders[source].pop(source_name)
            return (source, target)
        assert isinstance(op, Unlink | Rmdir), op
        folder, name = self.parent(op.path)
        del self.folders[folder][name]
        return (folder,)

    def apply_data(self, op: Op) -> None:
        if isinstance(op, Write):
            old = self.data[op.inode]
            head = old[: op.offset].ljust(op.offset, b"\0")
            self.data[op.inode] = head + op.data + old[op.offset + len(op.data) :]
        elif isinstance(op, Truncate):
            self.data[op.inode] = self.data[op.inode][: op.size].ljust(op.size, b"\0")
        elif isinstance(op, Chmod):
            self.modes[op.inode] = op.mode
        else:
            assert isinstance(op, Chown), op


# --- what a crash leaves ----------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """What the disk holds after a power loss: folders and files by relative path; files that
    are hard links of one another share an inode."""

    folders: tuple[tuple[str, int], ...]  # (path, mode), parents first
    files: tuple[tuple[str, int, int], ...]  # (path, inode, mode)
    data: Mapping[int, bytes] = field(compare=False, hash=False)

    @property
    def key(self) -> bytes:
        """Equal for states that hold the same things (deduplicates the checking)."""
        digest = hashlib.sha256(repr((self.folders, self.files)).encode())
        for _, inode, _ in self.files:
            digest.update(_digest(self.data[inode]))
        return digest.digest()

    @property
    def shape(self) -> tuple[object, ...]:
        """The names alone: equal for states that differ only in how much of each file's data
        reached the disk."""
        return (self.folders, tuple((path, mode) for path, _, mode in self.files))

    def file(self, path: str) -> bytes | None:
        return next((self.data[i] for p, i, _ in self.files if p == path), None)


_DIGESTS: dict[int, tuple[bytes, bytes]] = {}  # id → (the bytes, kept alive so the id stays theirs; digest)


def _digest(data: bytes) -> bytes:
    if len(data) < 4096:
        return hashlib.sha256(data).digest()
    if id(data) not in _DIGESTS:
        _DIGESTS[id(data)] = (data, hashlib.sha256(data).digest())
    return _DIGESTS[id(data)][1]


def state_of(tree: Tree, contents: Mapping[int, bytes], modes: Mapping[int, int]) -> State:
    """The state a namespace ``tree`` shows, with each file's bytes from ``contents``."""
    folders: list[tuple[str, int]] = []
    files: list[tuple[str, int, int]] = []

    def walk(inode: int, prefix: str) -> None:
        for name, child in sorted(tree.folders[inode].items()):
            path = f"{prefix}{name}"
            if child in tree.folders:
                folders.append((path, modes.get(child, 0o700)))
                walk(child, f"{path}/")
            else:
                files.append((path, child, modes.get(child, 0o600)))

    walk(ROOT, "")
    return State(tuple(folders), tuple(files), {i: contents.get(i, b"") for _, i, _ in files})


def crash_states(initial: Tree, ops: Sequence[Op], model: Model) -> Iterator[tuple[int, State]]:
    """Every (crash point, state) of the model: the crash point k means the first k effects
    happened. Consecutive crash points often give equal states (see `State.key`)."""
    _DIGESTS.clear()
    for k in range(len(ops) + 1):
        for state in states_at(initial, ops[:k], model):
            yield k, state


def states_at(initial: Tree, done: Sequence[Op], model: Model) -> Iterator[State]:
    if model is Model.STRICT:
        yield _strict(initial, done)
    else:
        yield from _reordered(initial, done)


def _strict(initial: Tree, done: Sequence[Op]) -> State:
    now = initial.copy()
    durable_folders = {k: dict(v) for k, v in initial.folders.items()}
    durable_data = dict(initial.data)
    durable_modes = dict(initial.modes)
    for op in done:
        if isinstance(op, NAMESPACE_OPS):
            now.apply_namespace(op)
        elif isinstance(op, DATA_OPS):
            now.apply_data(op)
        elif isinstance(op, FsyncDir):
            durable_folders[op.inode] = dict(now.folders[op.inode])
            durable_modes[op.inode] = now.modes.get(op.inode, 0o700)
        else:
            assert isinstance(op, Fsync), op
            durable_data[op.inode] = now.data[op.inode]
            durable_modes[op.inode] = now.modes[op.inode]
    # A folder never fsynced is empty on the disk, wherever its name is.
    shown = Tree({i: durable_folders.get(i, {}) for i in now.folders}, {}, {})
    for inode in now.data:
        shown.data[inode] = b""
    return state_of(shown, durable_data, durable_modes)


@dataclass(frozen=True, slots=True)
class _Pending:
    """One file's data operations since its last fsync, and where they may be cut."""

    inode: int
    synced: bytes
    mode: int
    ops: tuple[Op, ...]

    def choices(self) -> list[tuple[int, int]]:
        """(operations applied whole, bytes of the next write applied): lost, each whole
        operation, each block boundary inside a write."""
        found = [(0, 0)]
        for index, op in enumerate(self.ops):
            if isinstance(op, Write):
                first = (op.offset // BLOCK + 1) * BLOCK
                found += [(index, cut - op.offset) for cut in range(first, op.offset + len(op.data), BLOCK)]
            found.append((index + 1, 0))
        return found

    def apply(self, choice: tuple[int, int]) -> tuple[bytes, int]:
        whole, part = choice
        tree = Tree(data={self.inode: self.synced}, modes={self.inode: self.mode})
        for op in self.ops[:whole]:
            tree.apply_data(op)
        if part:
            op = self.ops[whole]
            assert isinstance(op, Write)
            tree.apply_data(Write(op.inode, op.offset, op.data[:part]))
        return tree.data[self.inode], tree.modes[self.inode]


def _reordered(initial: Tree, done: Sequence[Op]) -> Iterator[State]:
    namespace: list[Op] = []
    forced = 0  # this many namespace operations are durable: an fsync of their folder forced them
    touched: list[tuple[int, ...]] = []  # the folders each namespace operation changed
    now = initial.copy()
    synced_data = dict(initial.data)
    synced_modes = dict(initial.modes)
    pending: dict[int, list[Op]] = {}
    for op in done:
        if isinstance(op, NAMESPACE_OPS):
            namespace.append(op)
            touched.append(now.apply_namespace(op))
            if isinstance(op, Create):
                synced_data[op.inode], synced_modes[op.inode] = b"", op.mode
        elif isinstance(op, DATA_OPS):
            now.apply_data(op)
            if op.inode not in now.folders:  # a folder's mode is taken as it is now
                pending.setdefault(op.inode, []).append(op)
        elif isinstance(op, FsyncDir):
            last = max((i + 1 for i, folders in enumerate(touched) if op.inode in folders), default=0)
            forced = max(forced, last)
        else:
            assert isinstance(op, Fsync), op
            synced_data[op.inode], synced_modes[op.inode] = now.data[op.inode], now.modes[op.inode]
            pending.pop(op.inode, None)
    files = [
        _Pending(inode, synced_data[inode], synced_modes[inode], tuple(ops)) for inode, ops in sorted(pending.items())
    ]
    applied: dict[tuple[int, tuple[int, int]], tuple[bytes, int]] = {}  # one bytes object per cut, reused

    def cut(pending_file: _Pending, choice: tuple[int, int]) -> tuple[bytes, int]:
        if (pending_file.inode, choice) not in applied:
            applied[pending_file.inode, choice] = pending_file.apply(choice)
        return applied[pending_file.inode, choice]

    for reached in range(forced, len(namespace) + 1):
        tree = initial.copy()
        for op in namespace[:reached]:
            tree.apply_namespace(op)
        shown = _reachable(tree)
        relevant = [f for f in files if f.inode in shown]
        modes = dict(synced_modes) | {k: v for k, v in now.modes.items() if k in tree.folders}
        for choices in _one_file_at_a_time([f.choices() for f in relevant]):
            contents = dict(synced_data)
            file_modes = dict(modes)
            for pending_file, choice in zip(relevant, choices, strict=True):
                contents[pending_file.inode], file_modes[pending_file.inode] = cut(pending_file, choice)
            yield state_of(tree, contents, file_modes)


def _one_file_at_a_time(options: list[list[tuple[int, int]]]) -> Iterator[tuple[tuple[int, int], ...]]:
    """Every file's unsynced data lost; every file's whole; and from each of those two, one file
    at a time at each of its cuts. (Every combination is a product: ten files being written
    make 10^8 of them.) As in ALICE, the checks judge each file on its own, so a bug shows in a
    state where its file alone deviates."""
    for baseline in (0, -1):
        base = tuple(choices[baseline] for choices in options)
        yield base
        for index, choices in enumerate(options):
            for choice in choices:
                if choice != base[index]:
                    yield (*base[:index], choice, *base[index + 1 :])


def _reachable(tree: Tree) -> set[int]:
    found, todo = set(), [ROOT]
    while todo:
        for child in tree.folders[todo.pop()].values():
            if child not in found:
                found.add(child)
                if child in tree.folders:
                    todo.append(child)
    return found


def sample(items: Iterable[tuple[int, State]], limit: int | None, seed: int = 14) -> list[tuple[int, State]]:
    """Distinct states (each with the first crash point that gives it). With ``limit``: one of
    each shape (every set of names the disk can show; the first one found, in which the most
    data is lost), and ``limit`` more chosen by a fixed seed, so every run checks the same."""
    distinct: dict[bytes, tuple[int, State]] = {}
    for point, state in items:
        distinct.setdefault(state.key, (point, state))
    found = list(distinct.values())
    if limit is None:
        return found
    shapes: dict[tuple[object, ...], tuple[int, State]] = {}
    for item in found:
        shapes.setdefault(item[1].shape, item)
    chosen = {id(item) for item in shapes.values()}
    rest = [item for item in found if id(item) not in chosen]
    chosen |= {id(item) for item in random.Random(seed).sample(rest, min(limit, len(rest)))}
    return [item for item in found if id(item) in chosen]


# --- the real disk ----------------------------------------------------------------------------


def materialise(state: State, root: Path) -> None:
    """Make ``root`` hold exactly ``state`` (whatever it held before is removed)."""
    for entry in list(root.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            for sub in [entry, *entry.rglob("*")]:  # a 0o500 folder left by a restore would stop rmtree
                if sub.is_dir() and not sub.is_symlink():
                    sub.chmod(0o700)
            shutil.rmtree(entry)
        else:
            entry.unlink()
    for path, _ in state.folders:
        (root / path).mkdir()
    first: dict[int, Path] = {}
    for path, inode, mode in state.files:
        if inode in first:
            os.link(first[inode], root / path)
            continue
        first[inode] = root / path
        (root / path).write_bytes(state.data[inode])
        os.chmod(root / path, stat.S_IMODE(mode))
    for path, mode in reversed(state.folders):
        os.chmod(root / path, stat.S_IMODE(mode) | 0o700)  # the checks must be able to look inside


def read_tree(root: Path) -> tuple[Tree, dict[int, int]]:
    """The tree under ``root`` as it is now (before a run), taken as durable, and the model's
    inode for each real one. Inodes are numbered in walk order; hard links share theirs."""
    tree = Tree()
    real: dict[int, int] = {os.lstat(root).st_ino: ROOT}
    tree.modes[ROOT] = os.lstat(root).st_mode

    def walk(folder: Path, inode: int) -> None:
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            info = entry.stat(follow_symlinks=False)
            if info.st_ino in real:
                tree.folders[inode][entry.name] = real[info.st_ino]
                continue
            child = real[info.st_ino] = len(real)
            tree.folders[inode][entry.name] = child
            tree.modes[child] = info.st_mode
            if stat.S_ISDIR(info.st_mode):
                tree.folders[child] = {}
                walk(Path(entry.path), child)
            elif stat.S_ISREG(info.st_mode):
                tree.data[child] = Path(entry.path).read_bytes()
            else:
                raise ValueError(f"the durability model knows folders and files only: {entry.path}")

    walk(root, ROOT)
    return tree, real
