"""What a demo data directory is made of (`DemoSpec`), and what making one, or a folder of
backups of one, hands back. Pure values: `aeroops.demo.datadir` writes them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aeroops.demo.shapes import schema_fields
from aeroops.errors import UsageError
from aeroops.option_names import option

SCHEMA_VERSION = "v1"
SNAPSHOT_INTERVAL = timedelta(hours=1)


@dataclass(frozen=True)
class DemoSpec:
    """What to generate. The same spec always gives the same bytes."""

    seed: int = 0
    collections: tuple[str, ...] = ("users", "orders", "products")
    wal_records: int = 1000  # operations generated in total (inserts, updates, deletes)
    snapshots: int = 3  # taken at evenly spaced points of the operation stream
    checkpoint: bool = False  # the newest snapshot is a checkpoint: the WAL holds only what follows it
    storage_bytes: int = 0  # > 0: pad documents so the newest snapshot's storage.dat is at least this big
    start: datetime = field(default=datetime(2026, 1, 1, tzinfo=UTC))  # snapshot k is at start + k hours
    with_wal: bool = True  # False: no wal/ folder at all

    @classmethod
    def small(cls, seed: int = 0, **changes: Any) -> DemoSpec:
        """A few hundred records and two snapshots: for tests and quick looks."""
        return replace(cls(seed=seed, wal_records=200, snapshots=2), **changes)

    @classmethod
    def benchmark(cls, seed: int = 0, **changes: Any) -> DemoSpec:
        """1,000,000 WAL records and a 1 GiB newest snapshot (about 4.6 GiB on disk in all)."""
        return replace(cls(seed=seed, wal_records=1_000_000, snapshots=3, storage_bytes=1 << 30), **changes)

    def validate(self) -> None:
        """Raise `UsageError` for a spec that cannot be generated."""
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise UsageError(f"seed must be an integer, not {self.seed!r}")
        if not self.collections:
            raise UsageError("at least one collection is needed")
        if len(set(self.collections)) != len(self.collections):
            raise UsageError(f"collection names repeat: {self.collections!r}")
        for name in self.collections:
            if (
                not isinstance(name, str)
                or not name
                or any(c in ':/\\"' or c < " " for c in name)
                or name in (".", "..")
            ):
                raise UsageError(f"{name!r} is not a usable collection name (non-empty, no : / \\ or quotes)")
        for what in ("wal_records", "snapshots", "storage_bytes"):
            value = getattr(self, what)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise UsageError(f"{option(what)} must be a non-negative integer, not {value!r}")
        if self.checkpoint and self.snapshots == 0:
            raise UsageError("a checkpoint needs at least one snapshot")
        if not isinstance(self.start, datetime):
            raise UsageError(f"start must be a datetime, not {self.start!r}")


@dataclass(frozen=True)
class DemoSummary:
    """What `make_demo_datadir` wrote."""

    data_dir: Path
    snapshot_ids: tuple[str, ...]  # oldest first; the last is the checkpoint's when there is one
    wal_records: int  # records in wal/wal.log (0 without a WAL)
    storage_records: int  # records in data/documents.dat
    documents: int  # live documents after replay
    bytes: int  # total size of the files written


def snapshot_positions(spec: DemoSpec) -> tuple[int, ...]:
    """How many operations precede each snapshot, oldest first."""
    n, s = spec.wal_records, spec.snapshots
    return tuple(k * n // (s + 1) for k in range(1, s + 1))


def schema_file_bytes(collection: str) -> bytes:
    """The schema file of a collection's documents (`aeroops.demo.shapes`), as AeroDB writes
    schema files: pretty JSON, sorted keys, no trailing newline."""
    schema: dict[str, object] = {
        "fields": schema_fields(collection),
        "schema_id": collection,
        "schema_version": SCHEMA_VERSION,
    }
    return render_schema(schema)


def render_schema(schema: dict[str, object]) -> bytes:
    """A schema's bytes in the form of AeroDB's schema files (the fixtures' ``datadir-1000``)."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False).encode()


@dataclass(frozen=True)
class DemoBackupFolder:
    """What `make_demo_backup_folder` wrote."""

    folder: Path  # the backup folder
    source: DemoSummary  # the demo data directory the backups were made of
    archives: tuple[Path, ...]  # every archive made, oldest first (the damaged one included)
    damaged: Path  # the newest backup of the newest snapshot, one byte flipped in its storage.dat
    not_an_archive: Path  # a ``*.tar`` file holding text


DEFAULT_SPEC = DemoSpec()  # `make_demo_datadir`'s
BACKUP_FOLDER_SPEC = DemoSpec(wal_records=3000)  # `make_demo_backup_folder`'s
