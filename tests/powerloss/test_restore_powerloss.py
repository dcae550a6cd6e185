"""A restore loses power at every crash point: under both durability models, `aeroops recover`
then leaves the data directory wholly old or wholly new (AeroDB's files never zero-length or
half-written), and nothing beside it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

import pytest
from helpers.data import content_tree, copy_fixture

from aeroops.demo import DemoSpec, make_demo_datadir
from aeroops.executor.backup import run_backup
from aeroops.executor.fileops import REAL
from aeroops.executor.restore import restore
from powerloss.checks import check_every_state, restore_problems
from powerloss.model import Model, crash_states, materialise
from powerloss.recorder import RecordingOps


def make_archive(kind: str, tmp_path: Path) -> Path:
    """The archive to restore: of the small demo directory (by aeroops, with its sidecar), or
    AeroDB's own backups of its reference directories (no sidecar)."""
    if kind == "small":
        make_demo_datadir(tmp_path / "source", DemoSpec.small(), ops=REAL)
        (tmp_path / "backups").mkdir()
        return Path(run_backup(tmp_path / "source", tmp_path / "backups", ops=REAL).archive)
    name = {"aerodb": "backup-1000.tar", "nowal": "backup-nowal.tar"}[kind]
    return copy_fixture(name, tmp_path / name)


def recorded_restore(
    tmp_path: Path, kind: str, *, create: bool = False
) -> tuple[RecordingOps, dict[str, str] | None, dict[str, str]]:
    """A restore of a ``kind`` archive over world/data (an AeroDB directory of the other
    kind), or into a new world/data; every effect recorded. Returns the trees before and after."""
    archive = make_archive(kind, tmp_path)
    world = tmp_path / "world"
    world.mkdir()
    if not create:
        copy_fixture("datadir-nowal" if kind != "nowal" else "datadir-1000", world / "data")
    old = None if create else content_tree(world / "data")
    recorder = RecordingOps(world)
    restore(archive, world / "data", create=create, ops=recorder)
    return recorder, old, content_tree(world / "data")


@pytest.mark.parametrize("model", list(Model), ids=lambda m: m.name.lower())
@pytest.mark.parametrize("kind", ["small", "aerodb", "nowal", "aerodb-create"])
def test_every_crash_point_recovers_to_old_or_new(tmp_path: Path, kind: str, model: Model) -> None:
    recorder, old, new = recorded_restore(tmp_path, kind.removesuffix("-create"), create=kind.endswith("-create"))
    data_dir = recorder.root / "data"
    check_every_state(f"restore {kind}", recorder, model, lambda: restore_problems(data_dir, old, new))


class ForgetfulOps(RecordingOps):
    """A restore that forgot to fsync the files it extracts (not its journal): what the model
    must catch."""

    def fsync(self, stream: BinaryIO) -> None:
        if "restore-tmp" not in os.readlink(f"/proc/self/fd/{stream.fileno()}"):
            super().fsync(stream)


def test_the_model_catches_a_restore_that_forgets_its_file_fsyncs(tmp_path: Path) -> None:
    archive = make_archive("aerodb", tmp_path)
    world = tmp_path / "world"
    world.mkdir()
    copy_fixture("datadir-nowal", world / "data")
    old = content_tree(world / "data")
    recorder = ForgetfulOps(world)
    restore(archive, world / "data", ops=recorder)
    new = content_tree(world / "data")
    found = []
    for _, state in crash_states(recorder.initial, recorder.ops, Model.REORDERED):
        if state.file("data/data/documents.dat") == b"":  # the swap reached the disk, the data did not
            materialise(state, world)
            found += restore_problems(world / "data", old, new)
            break
    assert found and "zero-length: ['data/documents.dat'" in found[0]
