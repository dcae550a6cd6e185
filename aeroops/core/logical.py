"""The logical state of DESIGN.md §8: which documents a snapshot plus its WAL hold.

Storage records first, the last record per key winning and a tombstone removing the key; then
the WAL's insert, update and delete records in sequence order: insert and update replace the
whole document, delete removes it. Documents are kept as digests (size, CRC-32, schema id and
version), never as bodies, so the state of a multi-GiB snapshot fits in memory and two states
compare cheaply.

This is what AeroDB's boot computes (recovery/startup.rs): it loads the schemas, replays the WAL
by appending each record to ``data/documents.dat``, then scans that file, last record per key
winning. Its consistency check needs the schema of every live record it scans: on the first
boot the records the file held before the replay; on every later boot the replayed WAL records
too. So the state also keeps which schemas its storage and its WAL records name, and
`missing_schemas` says which boot a missing one fails.

MVCC records (types 3–5) are counted and otherwise ignored: they belong to later AeroDB phases,
and AeroDB's phase-1 replay applies only types 0–2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from aeroops.errors import AERODB_SCHEMA_MISSING
from aeroops.formats.checksum import crc32
from aeroops.formats.schemas import SchemaRef
from aeroops.formats.storage import StorageRecord
from aeroops.formats.wal import DOCUMENT_TYPES, DocumentChange, WalRecord, WalType, decode_payload


class DocumentDigest(NamedTuple):
    size: int  # bytes of the document body
    crc32: int  # CRC-32 of the body
    schema_id: str = ""
    schema_version: str = ""


# collection -> document id -> digest
Documents = Mapping[str, Mapping[str, DocumentDigest]]


def digest(body: bytes, schema_id: str = "", schema_version: str = "") -> DocumentDigest:
    return DocumentDigest(len(body), crc32(body), schema_id, schema_version)


@dataclass(frozen=True, slots=True)
class LogicalState:
    """Documents per collection after replay, as digests; read-only mappings."""

    documents: Documents
    mvcc_records_ignored: int = 0
    # False only for a hostile order: more than TOMBSTONES_KEPT deletes of unknown documents
    # before any storage record, then storage records (which those deletes might have removed).
    complete: bool = True
    # Schemas named by live storage records (superseded ones too: AeroDB's check scans every
    # record), and by the WAL's inserts and updates (a delete is stored as a tombstone, which
    # the check skips).
    storage_schemas: frozenset[SchemaRef] = frozenset()
    wal_schemas: frozenset[SchemaRef] = frozenset()
    # With `LogicalStateBuilder(places=True)`: where each live document's winning record is (a
    # `place`), so a second pass over the same records can hand out exactly those bodies.
    places: Mapping[tuple[str, str], int] = field(default_factory=lambda: MappingProxyType({}))

    def __len__(self) -> int:
        return sum(len(docs) for docs in self.documents.values())

    @property
    def collections(self) -> tuple[str, ...]:
        return tuple(sorted(self.documents))

    def get(self, collection: str, document_id: str) -> DocumentDigest | None:
        return self.documents.get(collection, {}).get(document_id)

    def iter_documents(self) -> Iterator[tuple[str, str, DocumentDigest]]:
        """``(collection, document_id, digest)`` in sorted order: stable for tables and diffs."""
        for collection in sorted(self.documents):
            docs = self.documents[collection]
            for document_id in sorted(docs):
                yield collection, document_id, docs[document_id]


def place(ordinal: int, *, wal: bool) -> int:
    """Where a record is: its ordinal among the storage records (from 0) or among the WAL
    records (from 0, every record counted), folded into one int."""
    return ordinal * 2 + wal


TOMBSTONES_KEPT = 100_000  # deletes of unknown keys remembered while storage may still come


class LogicalStateBuilder:
    """Accumulates a logical state from records pushed in one at a time.

    Storage and WAL effects are kept apart and merged in `build()`, so the result follows §8
    whichever order the records arrive in (an archive streams storage before the WAL, but a
    hand-built one need not).
    """

    def __init__(self, *, places: bool = False) -> None:
        self._storage: dict[tuple[str, str], DocumentDigest | None] = {}
        self._wal: dict[tuple[str, str], DocumentDigest | None] = {}  # None: deleted
        self._storage_schemas: set[tuple[str, str]] = set()
        self._wal_schemas: set[tuple[str, str]] = set()
        self._mvcc_ignored = 0
        self._early_tombstones = 0  # deletes of unknown keys kept while no storage record was seen
        self._dropped_early = False
        self._complete = True
        # place of each key's last record, storage and WAL apart, when asked for
        self._places: tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]] | None = (
            ({}, {}) if places else None
        )
        self._storage_count = 0  # storage records seen
        self._wal_count = 0  # WAL records seen (every type)

    def add_storage(self, record: StorageRecord) -> None:
        key = (record.collection, record.document_id)
        if self._places is not None:
            self._places[0][key] = place(self._storage_count, wal=False)
        self._storage_count += 1
        if record.tombstone:
            self._storage[key] = None
        else:
            self._storage[key] = digest(record.body, record.schema_id, record.schema_version)
            self._storage_schemas.add((record.schema_id, record.schema_version))
        if self._dropped_early:
            self._complete = False

    def add_wal(self, record: WalRecord, change: DocumentChange | None = None) -> None:
        """Apply one WAL record; ``change`` is its decoded payload, if the caller has it."""
        ordinal = self._wal_count
        self._wal_count += 1
        if record.type not in DOCUMENT_TYPES:
            self._mvcc_ignored += 1
            return
        if change is None:
            decoded = decode_payload(record)
            assert isinstance(decoded, DocumentChange)  # types 0–2 always decode to one
            change = decoded
        key = (change.collection, change.document_id)
        if self._places is not None:
            self._places[1][key] = place(ordinal, wal=True)
        if record.type != WalType.DELETE:
            self._wal[key] = digest(change.body, change.schema_id, change.schema_version)
            self._wal_schemas.add((change.schema_id, change.schema_version))
        elif key in self._storage:
            self._wal[key] = None
        else:
            # Deleting what storage does not hold needs no tombstone once storage has been seen
            # (archives stream it first): memory follows the documents, not a WAL of deletes.
            self._wal.pop(key, None)
            if self._places is not None:
                self._places[1].pop(key, None)
            if not self._storage:
                if self._early_tombstones < TOMBSTONES_KEPT:
                    self._early_tombstones += 1
                    self._wal[key] = None
                else:
                    self._dropped_early = True

    def build(self) -> LogicalState:
        merged = {**self._storage, **self._wal}
        documents: dict[str, dict[str, DocumentDigest]] = {}
        for (collection, document_id), doc in merged.items():
            if doc is not None:
                documents.setdefault(collection, {})[document_id] = doc
        frozen = {c: MappingProxyType(docs) for c, docs in documents.items()}
        places: dict[tuple[str, str], int] = {}
        if self._places is not None:
            storage_places, wal_places = self._places
            places = {key: wal_places.get(key, storage_places.get(key, -1)) for key, doc in merged.items() if doc}
        return LogicalState(
            MappingProxyType(frozen),
            self._mvcc_ignored,
            self._complete,
            frozenset(SchemaRef(*ref) for ref in self._storage_schemas),
            frozenset(SchemaRef(*ref) for ref in self._wal_schemas),
            MappingProxyType(places),
        )


def logical_state(storage_records: Iterable[StorageRecord], wal_records: Iterable[WalRecord]) -> LogicalState:
    """The documents a snapshot's storage records plus a WAL replayed over them hold (§8).

    Raises `FormatError` (AERO_WAL_PAYLOAD) if a document record's payload does not decode.
    """
    builder = LogicalStateBuilder()
    for record in storage_records:
        builder.add_storage(record)
    for wal_record in wal_records:
        builder.add_wal(wal_record)
    return builder.build()


@dataclass(frozen=True, slots=True)
class MissingSchemas:
    """Schemas a state's records name that the schemas at hand lack, sorted; each tuple names
    which AeroDB boot fails on them (AERO_RECOVERY_SCHEMA_MISSING)."""

    first_boot: tuple[SchemaRef, ...] = ()  # named by storage: the very first boot fails
    later_boots: tuple[SchemaRef, ...] = ()  # named only by the WAL: boots once, then fails

    def __bool__(self) -> bool:
        return bool(self.first_boot or self.later_boots)

    @property
    def all(self) -> tuple[SchemaRef, ...]:
        return tuple(sorted({*self.first_boot, *self.later_boots}))

    def describe(self, where: str = "metadata/schemas/") -> str:
        """What happens, in a sentence per group, for findings and drill reports."""
        parts = []
        if self.first_boot:
            parts.append(
                f"storage records need schema {_names(self.first_boot)}, which {where} lacks: AeroDB's boot "
                f"of the restored directory fails with {AERODB_SCHEMA_MISSING}"
            )
        if self.later_boots:
            parts.append(
                f"WAL records need schema {_names(self.later_boots)}, which {where} lacks: the restored "
                "directory boots once in AeroDB (replayed records are not checked yet), then every later "
                f"boot fails with {AERODB_SCHEMA_MISSING}"
            )
        return "; ".join(parts)


def _names(refs: Iterable[SchemaRef]) -> str:
    return ", ".join(str(ref) for ref in refs)


def missing_schemas(state: LogicalState, available: Iterable[SchemaRef]) -> MissingSchemas:
    """Which schemas ``state``'s records need that ``available`` (what AeroDB's schema loader
    would load) lacks, and which boot fails on them."""
    have = set(available)
    first = state.storage_schemas - have
    return MissingSchemas(tuple(sorted(first)), tuple(sorted(state.wal_schemas - have - first)))


@dataclass(frozen=True, slots=True)
class LogicalDiff:
    """How state ``b`` differs from state ``a``; each tuple holds ``(collection, document_id)``
    pairs in sorted order."""

    added: tuple[tuple[str, str], ...]  # in b only
    removed: tuple[tuple[str, str], ...]  # in a only
    changed: tuple[tuple[str, str], ...]  # in both, with different size or CRC

    @property
    def identical(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def summary(self) -> str:
        if self.identical:
            return "identical"
        return f"{len(self.added)} added, {len(self.removed)} removed, {len(self.changed)} changed"


def diff(a: LogicalState, b: LogicalState, progress: Callable[[int, int], None] | None = None) -> LogicalDiff:
    """Compare two logical states document by document (e.g. a source and its restore),
    collection by collection; after each, ``progress(documents compared, documents in all)``
    (the documents of both states)."""
    added: list[tuple[str, str]] = []
    removed: list[tuple[str, str]] = []
    changed: list[tuple[str, str]] = []
    total, done = len(a) + len(b), 0
    for collection in sorted(a.documents.keys() | b.documents.keys()):
        a_docs, b_docs = a.documents.get(collection, {}), b.documents.get(collection, {})
        added += ((collection, d) for d in b_docs.keys() - a_docs.keys())
        removed += ((collection, d) for d in a_docs.keys() - b_docs.keys())
        changed += ((collection, d) for d in a_docs.keys() & b_docs.keys() if a_docs[d] != b_docs[d])
        done += len(a_docs) + len(b_docs)
        if progress is not None:
            progress(done, total)
    return LogicalDiff(tuple(sorted(added)), tuple(sorted(removed)), tuple(sorted(changed)))
