"""Where things are: the members of a backup archive (DESIGN.md §3), the files of an AeroDB data
directory (§1), and the mapping between the two. Every other module spells these names from
here.

An archive holds ``backup_manifest.json``, ``snapshot/`` (``manifest.json``, ``storage.dat``,
``schemas/<file>``) and ``wal/wal.log``. A data directory holds ``data/documents.dat`` (what
AeroDB's storage reads), ``metadata/schemas/``, ``wal/wal.log``, ``checkpoint.json`` and
``snapshots/<id>/`` (``manifest.json``, ``storage.dat``, ``schemas/<file>``). A backup packs
one snapshot folder and the WAL; a restore writes the snapshot's storage and schemas both into
the snapshot folder and where AeroDB reads them.
"""

from __future__ import annotations

from collections.abc import Collection

from aeroops.formats.manifests import NAME_MAX
from aeroops.formats.tar import EntryType

# --- a snapshot folder (``snapshots/<id>/`` in a data directory, ``snapshot/`` in an archive) --
MANIFEST_FILE = "manifest.json"
STORAGE_FILE = "storage.dat"
SCHEMAS_FOLDER = "schemas"

# --- the archive's members (normalised: directories without a trailing slash) ----------------
BACKUP_MANIFEST = "backup_manifest.json"
SNAPSHOT_DIR = "snapshot"
SNAPSHOT_MANIFEST = f"{SNAPSHOT_DIR}/{MANIFEST_FILE}"
SCHEMAS_DIR = f"{SNAPSHOT_DIR}/{SCHEMAS_FOLDER}"
SCHEMA_PREFIX = f"{SCHEMAS_DIR}/"
STORAGE = f"{SNAPSHOT_DIR}/{STORAGE_FILE}"
WAL_DIR = "wal"
WAL_LOG = f"{WAL_DIR}/wal.log"
# DESIGN.md §3, each member with its entry type; schema files (``SCHEMA_PREFIX<file>``) come on top.
MEMBER_TYPES: dict[str, EntryType] = {
    BACKUP_MANIFEST: EntryType.FILE,
    SNAPSHOT_DIR: EntryType.DIRECTORY,
    SNAPSHOT_MANIFEST: EntryType.FILE,
    SCHEMAS_DIR: EntryType.DIRECTORY,
    STORAGE: EntryType.FILE,
    WAL_DIR: EntryType.DIRECTORY,
    WAL_LOG: EntryType.FILE,
}
REQUIRED_MEMBERS = (BACKUP_MANIFEST, SNAPSHOT_DIR, SNAPSHOT_MANIFEST, SCHEMAS_DIR, STORAGE)
LONGEST_MEMBER_NAME = len(SCHEMA_PREFIX) + NAME_MAX  # no member name of a backup archive is longer

# --- a data directory ---------------------------------------------------------------------------
DATA_DIR = "data"
DOCUMENTS = f"{DATA_DIR}/documents.dat"  # the storage AeroDB reads and appends to
METADATA_DIR = "metadata"
SCHEMAS = f"{METADATA_DIR}/{SCHEMAS_FOLDER}"
WAL = WAL_LOG  # the same path in the archive and in the data directory
SNAPSHOTS = "snapshots"
CHECKPOINT = "checkpoint.json"


def snapshot_folder(snapshot_id: str) -> str:
    """``snapshots/<id>``, relative to the data directory."""
    return f"{SNAPSHOTS}/{snapshot_id}"


def member_source(member: str, snapshot_id: str) -> str:
    """The data-directory path (relative) a backup packs into archive member ``member``, a file
    under ``snapshot/`` or the WAL."""
    if member == WAL_LOG:
        return WAL
    if not member.startswith(f"{SNAPSHOT_DIR}/"):
        raise ValueError(f"{member!r} is not packed from the data directory")
    return f"{snapshot_folder(snapshot_id)}/{member.removeprefix(f'{SNAPSHOT_DIR}/')}"


def member_targets(name: str, folder: str, added: Collection[str] = ()) -> tuple[str, ...]:
    """The files of a restored data directory an archive member's bytes become (none: not
    restored); ``name`` normalised, ``folder`` the snapshot's folder, e.g. ``snapshots/<id>``.
    ``added``: schema files the backup added beyond the snapshot's (its manifest lists them):
    they go to ``metadata/schemas/`` only, so the restored snapshot stays a byte copy."""
    if name == STORAGE:
        return (DOCUMENTS, f"{folder}/{STORAGE_FILE}")
    if name.startswith(SCHEMA_PREFIX):
        schema = name.removeprefix(SCHEMA_PREFIX)
        if schema in added:
            return (f"{SCHEMAS}/{schema}",)
        return (f"{SCHEMAS}/{schema}", f"{folder}/{SCHEMAS_FOLDER}/{schema}")
    if name == SNAPSHOT_MANIFEST:
        return (f"{folder}/{MANIFEST_FILE}",)
    if name == WAL_LOG:
        return (WAL,)
    return ()


def new_directories(folder: str) -> tuple[str, ...]:
    """The folders of a restored data directory, parents first (``folder``: the snapshot's)."""
    return (DATA_DIR, METADATA_DIR, SCHEMAS, SNAPSHOTS, folder, f"{folder}/{SCHEMAS_FOLDER}", WAL_DIR)
