"""A backup loses power at every crash point: under both durability models, every state the
disk could be left in holds no archive at the output or one that verifies with its sidecar, and
the data directory as it was."""

from __future__ import annotations

import os
from pathlib import Path

import pyrage
import pytest
from helpers.data import content_tree, copy_fixture

from aeroops.demo import DemoSpec, make_demo_datadir
from aeroops.executor.backup import run_backup
from aeroops.executor.fileops import REAL
from powerloss.checks import backup_problems, check_every_state, states_where
from powerloss.model import Model, materialise
from powerloss.recorder import RecordingOps


def make_source(kind: str, path: Path) -> None:
    if kind == "small":
        make_demo_datadir(path, DemoSpec.small(), ops=REAL)
    else:
        copy_fixture({"aerodb": "datadir-1000", "nowal": "datadir-nowal"}[kind], path)


def recorded_backup(tmp_path: Path, kind: str) -> tuple[RecordingOps, dict[str, str]]:
    """A backup of a ``kind`` data directory into world/out, every effect recorded."""
    world = tmp_path / "world"
    world.mkdir()
    make_source(kind, world / "data")
    (world / "out").mkdir()
    before = content_tree(world / "data")
    recorder = RecordingOps(world)
    run_backup(world / "data", world / "out", ops=recorder)
    return recorder, before


@pytest.mark.parametrize("model", list(Model), ids=lambda m: m.name.lower())
@pytest.mark.parametrize("kind", ["small", "aerodb", "nowal"])
def test_every_crash_point_leaves_no_archive_or_a_whole_one(tmp_path: Path, kind: str, model: Model) -> None:
    recorder, before = recorded_backup(tmp_path, kind)
    world = recorder.root
    check_every_state(f"backup {kind}", recorder, model, lambda: backup_problems(world / "out", world / "data", before))


def test_an_archive_never_reaches_the_output_before_its_sidecar(tmp_path: Path) -> None:
    """Found by model b (and reachable by a kill too): the archive was linked into the output,
    then its sidecar renamed there; a crash between left an archive without its sidecar. Every
    state that shows the archive at the output must show its sidecar."""
    recorder, before = recorded_backup(tmp_path, "aerodb")
    world = recorder.root
    published = states_where(recorder, Model.REORDERED, lambda s: any(_archive(p) for p, _, _ in s.files))
    assert published
    for _, state in published:
        materialise(state, world)
        assert backup_problems(world / "out", world / "data", before) == []


def _archive(path: str) -> bool:
    return path.startswith("out/") and path.count("/") == 1 and path.endswith(".tar")


@pytest.mark.parametrize("model", list(Model), ids=lambda m: m.name.lower())
def test_every_crash_point_of_a_compressed_encrypted_backup(tmp_path: Path, model: Model) -> None:
    """The layered writers (zstd, then age on its own thread) write the stored bytes through the
    same seam: no state shows an archive without its sidecar and record, or one that does not
    verify through its layers."""
    key = pyrage.x25519.Identity.generate()
    identity = tmp_path / "key.txt"
    identity.write_text(str(key) + "\n")
    world = tmp_path / "world"
    world.mkdir()
    make_source("aerodb", world / "data")
    (world / "out").mkdir()
    before = content_tree(world / "data")
    recorder = RecordingOps(world)
    run_backup(world / "data", world / "out", ops=recorder, compress="zstd", encrypt_to=[str(key.to_public())])
    assert any(name.endswith(".tar.zst.age") for name in os.listdir(world / "out"))
    check_every_state(
        "backup aerodb zstd+age",
        recorder,
        model,
        lambda: backup_problems(world / "out", world / "data", before, identities=[identity]),
    )
