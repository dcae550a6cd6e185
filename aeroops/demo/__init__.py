"""Realistic AeroDB data directories, generated deterministically from a seed.

The directories look like the ones AeroDB's own code writes (see the fixtures in
``aerodb-reference``): a WAL, append-only document storage one-to-one with the WAL records,
schema files, snapshots taken at evenly spaced points of the operation stream, and optionally a
checkpoint. Every byte is a pure function of the `DemoSpec`: no wall clock, no global random
state, so two runs with one spec give byte-identical files.

How the data is made:

- ``wal_records`` operations over ``collections`` (each picked uniformly). An operation inserts a
  new document (about 60 %), or updates (about 25 %) or deletes (about 15 %) a live one of its
  collection; with no live document there, it inserts. Document ids are
  ``<collection>-<6-digit counter>`` and are never reused.
- Documents are compact JSON with sorted keys, as in the fixtures, with the entropy of real data
  (`aeroops.demo.shapes`): a collection named ``users`` holds people (names, e-mail addresses,
  an address object, a password hash, tags, a bio), ``orders`` orders (a customer, an array of
  item objects, a payment UUID, a status, a note), ``products`` products (a SKU, a price,
  dimensions, an image hash, a description); any other name gets one of the three. Amounts are
  spread over orders of magnitude, timestamps follow the simulated clock, and the free text is
  phrases of Zipf-distributed words (`aeroops.demo.text`), from nothing to tens of KiB. Every
  document keeps the fixtures' ``_id``, ``active``, ``name``, ``rev`` (the inserts and updates so
  far) and ``value``. With ``storage_bytes`` the free text is sized to pad the storage. ``zstd -3``
  shrinks the benchmark's archive about 3.5 times, as it does real JSON document stores (README,
  Performance).
- Operation ``i`` (1-based) is WAL sequence ``i`` and appends one storage record to
  ``data/documents.dat`` (a full record for insert and update, a tombstone for delete).
- Snapshot ``k`` of ``n`` is taken after operation ``k * wal_records // (n + 1)`` (so some
  operations always follow the newest snapshot), at simulated time ``start + k`` hours. Its
  ``storage.dat`` is a byte copy of ``documents.dat`` at that moment.
- With ``checkpoint``, the newest snapshot is a checkpoint: ``checkpoint.json`` names it and the
  WAL holds only the operations after it, numbered again from 1.

Files are written in batches of about 1 MiB, snapshot storage is copied by the kernel
(`FileOps.copy_range`), and CRCs are computed while writing, so memory stays small (about 70 MiB,
NumPy and the text tables included) whatever the size. From `PARALLEL_MIN_RECORDS` WAL records
on, a second Python process writes the WAL while this one writes storage and snapshots: both draw
the same documents from the same seeds, so the bytes are the same as when one process writes
everything.

The package: `aeroops.demo.spec` (what to make, pure), `aeroops.demo.documents` (the operations
and the bytes of their records, pure; with `aeroops.demo.shapes`, `aeroops.demo.text` and
`aeroops.demo.words`, what the documents hold), `aeroops.demo.datadir` and `aeroops.demo.backup_folder`
(writing them, every effect through a `FileOps`, as the executor's are).
"""

from aeroops.demo.backup_folder import make_demo_backup_folder
from aeroops.demo.datadir import PARALLEL_MIN_RECORDS, make_demo_datadir
from aeroops.demo.nightly_folder import make_demo_nightly_folder
from aeroops.demo.spec import DemoBackupFolder, DemoSpec, DemoSummary, schema_file_bytes, snapshot_positions

__all__ = [
    "PARALLEL_MIN_RECORDS",
    "DemoBackupFolder",
    "DemoSpec",
    "DemoSummary",
    "make_demo_backup_folder",
    "make_demo_datadir",
    "make_demo_nightly_folder",
    "schema_file_bytes",
    "snapshot_positions",
]
