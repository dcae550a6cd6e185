"""An archive-wal pass loses power at every crash point (issue 23): under both durability models,
every state the disk could be left in holds only segments that are whole, have their sidecar and
continue the chain, the data directory as it was, and the next pass completes the chain with
each record once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from helpers.data import content_tree
from helpers.pitr import T0, A, full_wal, move_to_stage, stage_copy

from aeroops.executor.archive_wal import archive_wal, list_segments
from aeroops.executor.fileops import REAL
from aeroops.executor.pitr import verify_segment
from powerloss.checks import check_every_state
from powerloss.model import Model
from powerloss.recorder import RecordingOps


def archived(out: Path) -> bytes:
    return b"".join(
        (out / s.name.file_name).read_bytes() for s in sorted(list_segments(out, REAL), key=lambda s: s.name)
    )


@pytest.mark.parametrize("model", list(Model), ids=lambda m: m.name.lower())
def test_every_crash_point_of_a_pass_leaves_whole_segments_and_the_next_pass_completes(
    tmp_path: Path, model: Model
) -> None:
    world = tmp_path / "world"
    world.mkdir()
    data, out = stage_copy(1, world / "data"), world / "out"
    out.mkdir()
    archive_wal(data, out, now=T0, ops=REAL)
    move_to_stage(data, 2)
    before = content_tree(data)
    recorder = RecordingOps(world)
    archive_wal(data, out, now=T0 + timedelta(minutes=1), ops=recorder)
    assert archived(out) == full_wal(A)

    def problems() -> list[str]:
        found = []
        if content_tree(data) != before:
            found.append("the data directory changed")
        for segment in list_segments(out, REAL):
            report = verify_segment(out / segment.name.file_name, REAL)
            if not report.ok:
                found.append(f"{segment.name.file_name}: {[f.code for f in report.findings]}")
        if not full_wal(A).startswith(archived(out)):
            found.append("the segments are not a prefix of the WAL")
        if not found:
            archive_wal(data, out, now=T0 + timedelta(minutes=2), ops=REAL)
            if archived(out) != full_wal(A):
                found.append("the next pass did not complete the chain once")
        return found

    check_every_state(f"archive-wal {model.name.lower()}", recorder, model, problems)
