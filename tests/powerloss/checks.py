"""What must hold in every state a power loss leaves, and which states are checked.

CI checks a fixed sample of each run's distinct states (`SAMPLE` per run and model, the same
ones every time); ``AEROOPS_POWERLOSS_FULL=1`` checks every distinct state of every crash point.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from helpers.data import content_tree

from aeroops.errors import AeroError
from aeroops.executor.audit import verify_archive
from aeroops.executor.fileops import REAL
from aeroops.executor.recover import recover
from aeroops.executor.restore_target import find_leftovers
from aeroops.formats.layers import ARCHIVE_SUFFIXES, layers_of_name
from aeroops.formats.record import record_path
from aeroops.formats.sidecar import ALGORITHMS, sidecar_path
from powerloss.model import Model, Op, State, crash_states, materialise, sample
from powerloss.recorder import RecordingOps

FULL = os.environ.get("AEROOPS_POWERLOSS_FULL") == "1"
SAMPLE = 25

# Distinct states checked in this session, by (job, model): the terminal summary prints them.
CHECKED: Counter[tuple[str, str]] = Counter()


def check_every_state(
    job: str, recorder: RecordingOps, model: Model, problems: Callable[[], list[str]], limit: int | None = SAMPLE
) -> None:
    """Materialise each state to check in the recorder's folder and collect what ``problems``
    finds there; fails naming the crash point and the effect just before it."""
    found: list[str] = []
    states = sample(crash_states(recorder.initial, recorder.ops, model), None if FULL else limit)
    for point, state in states:
        materialise(state, recorder.root)
        found += [f"crash after effect {point} ({_effect(recorder.ops, point)}): {p}" for p in problems()]
    CHECKED[job, model.name] += len(states)
    assert not found, f"{len(found)} problems under model {model.value}:\n" + "\n".join(found[:10])


def _effect(ops: list[Op], point: int) -> str:
    return "none yet" if point == 0 else repr(ops[point - 1])


def states_where(recorder: RecordingOps, model: Model, wanted: Callable[[State], bool]) -> list[tuple[int, State]]:
    """The distinct states with a property: how a regression test picks the state that exposed
    a bug."""
    return [item for item in sample(crash_states(recorder.initial, recorder.ops, model), None) if wanted(item[1])]


# --- backup -------------------------------------------------------------------------------------


def backup_problems(
    output: Path, data_dir: Path, before: dict[str, str], identities: list[Path] | None = None
) -> list[str]:
    """The output folder holds no archive, or archives that verify with their sidecar (a layered
    one: with its record too, read through its layers with ``identities``); the data directory
    is as it was."""
    found = []
    if content_tree(data_dir) != before:
        found.append("the data directory changed")
    for archive in sorted(p for p in output.iterdir() if p.name.endswith(ARCHIVE_SUFFIXES)):
        if not any(sidecar_path(archive, algorithm).exists() for algorithm in ALGORITHMS):
            found.append(f"{archive.name} has no sidecar")
        if layers_of_name(archive.name) and not record_path(archive).exists():
            found.append(f"{archive.name} has no record")
        report = verify_archive(archive, identities=identities or [], ops=REAL)
        if not report.ok or (identities and not report.opened):
            found.append(f"{archive.name} does not verify: {[f.code for f in report.findings]}")
    return found


# --- restore ------------------------------------------------------------------------------------


def restore_problems(data_dir: Path, old: dict[str, str] | None, new: dict[str, str]) -> list[str]:
    """After `recover`, the data directory holds the old tree or the new one, whole (``old`` is
    None: there was none), and nothing is left beside it."""
    try:
        recover(data_dir, ops=REAL)
    except AeroError as exc:
        return [f"recover failed: {exc}"]
    found = []
    now = content_tree(data_dir) if data_dir.exists() else None
    if now != old and now != new:
        empty = sorted(p for p, digest in (now or {}).items() if digest == _EMPTY)
        found.append(f"the data directory is neither old nor new (zero-length: {empty}): {_difference(now, new)}")
    if leftovers := find_leftovers(data_dir, REAL).present():
        found.append(f"left beside it: {leftovers}")
    return found


_EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # SHA-256 of no bytes


def _difference(now: dict[str, str] | None, new: dict[str, str]) -> str:
    if now is None:
        return "it is missing"
    changed = sorted(p for p in now.keys() | new.keys() if now.get(p) != new.get(p))
    return f"differs from the new tree at {changed[:5]}"
