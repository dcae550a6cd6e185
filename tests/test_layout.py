"""The archive and data-directory layout, and the mapping between them (formats/layout.py)."""

from __future__ import annotations

import pytest

from aeroops.formats import layout


@pytest.mark.parametrize(
    ("member", "source", "targets"),
    [
        (
            "snapshot/storage.dat",
            "snapshots/S/storage.dat",
            ("data/documents.dat", "snapshots/S/storage.dat"),
        ),
        (
            "snapshot/schemas/users.json",
            "snapshots/S/schemas/users.json",
            ("metadata/schemas/users.json", "snapshots/S/schemas/users.json"),
        ),
        ("snapshot/manifest.json", "snapshots/S/manifest.json", ("snapshots/S/manifest.json",)),
        ("wal/wal.log", "wal/wal.log", ("wal/wal.log",)),
    ],
)
def test_a_member_comes_from_one_data_directory_file_and_restores_to_its_targets(
    member: str, source: str, targets: tuple[str, ...]
) -> None:
    assert layout.member_source(member, "S") == source
    assert layout.member_targets(member, layout.snapshot_folder("S")) == targets
    # What a backup packs from the snapshot folder, a restore puts back in the same place.
    assert source in targets


def test_the_backup_manifest_is_not_restored_nor_packed_from_the_data_directory() -> None:
    assert layout.member_targets(layout.BACKUP_MANIFEST, "snapshots/S") == ()
    with pytest.raises(ValueError, match="not packed"):
        layout.member_source(layout.BACKUP_MANIFEST, "S")


def test_new_directories_come_parents_first() -> None:
    folders = layout.new_directories("snapshots/S")
    for i, folder in enumerate(folders):
        parent = folder.rpartition("/")[0]
        assert not parent or parent in folders[:i], folder
