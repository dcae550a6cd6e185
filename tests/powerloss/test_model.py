"""The durability model and the recorder, on small runs written out by hand: what each model
lets a power loss keep or lose, and that every effect of FileOps is recorded."""

from __future__ import annotations

from pathlib import Path

from aeroops.executor.fileops import FileOps
from powerloss.model import BLOCK, Model, State, crash_states, materialise, sample
from powerloss.recorder import RECORDED, RecordingOps


def states(recorder: RecordingOps, model: Model) -> list[State]:
    return [state for _, state in sample(crash_states(recorder.initial, recorder.ops, model), None)]


def files(state: State) -> dict[str, bytes]:
    return {path: state.data[inode] for path, inode, _ in state.files}


def test_every_fileops_method_is_recorded_or_has_no_effect() -> None:
    missing = sorted(name for name in RECORDED if name not in vars(RecordingOps))
    assert not missing, f"record these in tests/powerloss/recorder.py (or list them in NO_EFFECT): {missing}"


def write_file(ops: FileOps, path: Path, data: bytes, *, fsync: bool) -> None:
    with ops.create(path) as stream:
        ops.write(stream, data)
        if fsync:
            ops.fsync(stream)


def test_strict_keeps_only_what_an_fsync_made_durable(tmp_path: Path) -> None:
    (tmp_path / "kept").write_bytes(b"before")
    ops = RecordingOps(tmp_path)
    write_file(ops, tmp_path / "synced-unnamed", b"data", fsync=True)  # its folder never fsynced
    ops.fsync_path(tmp_path / "kept")  # no change: nothing new
    ops.mkdir(tmp_path / "folder")
    write_file(ops, tmp_path / "folder" / "unsynced", b"data", fsync=False)
    ops.fsync_path(tmp_path / "folder")
    ops.fsync_path(tmp_path)
    found = states(ops, Model.STRICT)
    assert files(found[0]) == {"kept": b"before"}
    # Named by the folder fsyncs: the synced file whole, the unsynced one empty.
    assert files(found[-1]) == {"kept": b"before", "synced-unnamed": b"data", "folder/unsynced": b""}
    assert len(found) == 2


def test_reordered_lets_a_renamed_file_lose_or_cut_its_unsynced_data(tmp_path: Path) -> None:
    """The 2009 ext4 zero-length-file pattern: write a temporary file, rename it over, no fsync."""
    (tmp_path / "config").write_bytes(b"old")
    ops = RecordingOps(tmp_path)
    data = bytes(range(256)) * (3 * BLOCK // 256) + b"tail"
    write_file(ops, tmp_path / "config.tmp", data, fsync=False)
    ops.rename(tmp_path / "config.tmp", tmp_path / "config")
    seen = {files(state).get("config") for state in states(ops, Model.REORDERED)}
    assert seen == {b"old", b"", data[:BLOCK], data[: 2 * BLOCK], data[: 3 * BLOCK], data}
    # The strict model never shows the rename at all: the folder was not fsynced.
    assert {files(state).get("config") for state in states(ops, Model.STRICT)} == {b"old"}


def test_reordered_keeps_namespace_order_and_what_a_folder_fsync_forced(tmp_path: Path) -> None:
    ops = RecordingOps(tmp_path)
    write_file(ops, tmp_path / "a", b"A", fsync=True)
    ops.fsync_path(tmp_path)
    write_file(ops, tmp_path / "b", b"B", fsync=True)
    names = {tuple(sorted(files(state))) for state in states(ops, Model.REORDERED)}
    assert names == {(), ("a",), ("a", "b")}  # never b without a
    last = [state for point, state in crash_states(ops.initial, ops.ops, Model.REORDERED) if point == len(ops.ops)]
    assert {tuple(sorted(files(state))) for state in last} == {("a",), ("a", "b")}  # a's fsync holds


def test_hard_links_and_renamed_folders_are_followed(tmp_path: Path) -> None:
    ops = RecordingOps(tmp_path)
    ops.mkdir(tmp_path / "stage")
    write_file(ops, tmp_path / "stage" / "file", b"x" * 10, fsync=True)
    ops.link(tmp_path / "stage" / "file", tmp_path / "link")
    ops.rename(tmp_path / "stage", tmp_path / "final")
    ops.remove_tree(tmp_path / "final")
    ops.fsync_path(tmp_path)
    final = states(ops, Model.STRICT)[-1]
    assert files(final) == {"link": b"x" * 10}
    assert [op.__class__.__name__ for op in ops.ops[-3:]] == ["Unlink", "Rmdir", "FsyncDir"]


def test_a_materialised_state_reads_back_the_same(tmp_path: Path) -> None:
    world = tmp_path / "world"
    world.mkdir()
    ops = RecordingOps(world)
    ops.mkdir(world / "d")
    write_file(ops, world / "d" / "f", b"y" * (BLOCK + 1), fsync=False)
    ops.link(world / "d" / "f", world / "g")
    for state in states(ops, Model.REORDERED):
        materialise(state, world)
        (again,) = states(RecordingOps(world), Model.STRICT)  # what is on the disk now, as a state
        assert (files(again), [p for p, _ in again.folders]) == (files(state), [p for p, _ in state.folders])
        if (world / "g").exists() and (world / "d" / "f").exists():
            assert (world / "g").stat().st_ino == (world / "d" / "f").stat().st_ino
