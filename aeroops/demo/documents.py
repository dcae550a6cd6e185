"""The demo's operations and the bytes of their records: every byte a pure function of the
`DemoSpec` (seeded generators, no clock), so the WAL writer process, drawing from the same seeds,
makes the same documents as the process writing storage."""

from __future__ import annotations

import random
from collections.abc import Iterator
from itertools import islice

from aeroops.demo.spec import SCHEMA_VERSION, DemoSpec, snapshot_positions
from aeroops.errors import UsageError
from aeroops.formats.storage import StorageRecord, encode_storage_record
from aeroops.formats.wal import DocumentChange, WalType, encode_document_change, encode_wal_record
from aeroops.option_names import option

NAMES = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy")

# Operation mix (cumulative thresholds on one uniform draw).
_INSERT_BELOW = 0.60
_UPDATE_BELOW = 0.85

_INSERT, _UPDATE, _DELETE = int(WalType.INSERT), int(WalType.UPDATE), int(WalType.DELETE)
_BATCH_BYTES = 1 << 20  # documents generated and written per batch, at most about this many bytes
_BATCH_OPS = 4096  # or this many operations
_FILLER_POOL = 1 << 16  # characters of seeded filler the blobs are sliced from
_FILLER_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# A padded document larger than this means too few records for the size asked for.
MAX_BLOB_BYTES = 16 << 20


# (WAL type, collection, document id, body) of one operation
Op = tuple[int, str, str, bytes]


def operations(spec: DemoSpec) -> Iterator[tuple[int, int, int]]:
    """``(WAL type, collection index, document number)`` of each operation, in order.

    Its own generator, seeded apart from the documents' one, so that the padding pre-count
    (`padded_before`) can replay the operations without drawing any document.
    """
    draw = random.Random(f"aeroops.demo operations {spec.seed}").random
    count = len(spec.collections)
    live: list[list[int]] = [[] for _ in range(count)]
    counters = [0] * count
    for _ in range(spec.wal_records):
        c = int(draw() * count)
        pool = live[c]
        u = draw()
        if u < _INSERT_BELOW or not pool:
            counters[c] += 1
            pool.append(counters[c])
            yield _INSERT, c, counters[c]
            continue
        j = int(draw() * len(pool))
        number = pool[j]
        if u < _UPDATE_BELOW:
            yield _UPDATE, c, number
        else:
            pool[j] = pool[-1]  # O(1) removal; the order of the pool is the generator's own business
            pool.pop()
            yield _DELETE, c, number


def padded_before(spec: DemoSpec) -> int:
    """Inserts and updates before the newest snapshot (or the end): the documents padding is
    spread over. Raises `UsageError` when ``storage_bytes`` cannot be reached sensibly."""
    if not spec.storage_bytes:
        return 0
    target_at = snapshot_positions(spec)[-1] if spec.snapshots else spec.wal_records
    padded = sum(kind != _DELETE for kind, _, _ in islice(operations(spec), target_at))
    if padded == 0:
        raise UsageError(
            f"the storage padding ({option('storage_bytes')}) needs at least one insert or update before the "
            f"newest snapshot: ask for more records ({option('wal_records')})"
        )
    if spec.storage_bytes / padded > MAX_BLOB_BYTES:
        raise UsageError(
            f"{spec.storage_bytes >> 20} MiB of storage padding ({option('storage_bytes')}) over {padded} "
            f"documents would make records of more than {MAX_BLOB_BYTES >> 20} MiB: ask for more records "
            f"({option('wal_records')}) or less padding"
        )
    return padded


class Documents:
    """The operations with their documents, in order, in batches.

    It also keeps, by arithmetic, the size ``documents.dat`` reaches, to size the padding: with
    ``storage_bytes`` every insert and update before the newest snapshot gets an equal share of
    what is still missing, so that snapshot's storage reaches the target exactly or just above.
    Later documents keep the last padding size.
    """

    def __init__(self, spec: DemoSpec, padded_before: int) -> None:
        self._rng = random.Random(f"aeroops.demo documents {spec.seed}")
        self._operations = operations(spec)
        self._collections = spec.collections
        # storage record = u32 length + lp key + lp schema id + lp version + flag + lp body + crc, where
        # key = "<c>:<c>-<number>" and schema id = "<c>": this is all but the number and the body
        self._record_base = tuple(
            4 + (4 + 2 * len(c.encode()) + 2) + (4 + len(c.encode())) + (4 + len(SCHEMA_VERSION)) + 1 + 4 + 4
            for c in spec.collections
        )
        self.done = 0  # operations handed out
        self.live = 0  # documents alive after them
        self.storage_size = 0  # bytes of documents.dat after them
        self._rev = 0
        self._target = spec.storage_bytes
        self._padded_left = padded_before
        self._blob_len = 0
        self._filler = b""
        if self._target:
            alphabet = _FILLER_ALPHABET
            pool = "".join(alphabet[self._rng.randrange(len(alphabet))] for _ in range(_FILLER_POOL)).encode()
            self._filler = pool + pool  # any slice of up to _FILLER_POOL bytes from the first half

    def _blob(self, unpadded: int) -> bytes:
        """Padding for the next document, whose storage record is ``unpadded`` bytes without it."""
        if self._padded_left > 0:
            need = self._target - self.storage_size
            share = -(-need // self._padded_left) if need > 0 else 0  # ceiling division
            self._blob_len = max(0, share - unpadded)
            self._padded_left -= 1
        length = self._blob_len
        offset = self._rng.randrange(_FILLER_POOL)
        if length <= _FILLER_POOL:
            return self._filler[offset : offset + length]
        return (self._filler[:_FILLER_POOL] * (length // _FILLER_POOL + 2))[offset : offset + length]

    def batch(self, limit: int) -> list[Op]:
        """The next operations: at most ``limit``, `_BATCH_OPS`, or about `_BATCH_BYTES` of bodies."""
        next_operation = self._operations.__next__
        collections, record_base = self._collections, self._record_base
        random_bits = self._rng.getrandbits
        names, name_count = NAMES, len(NAMES)
        padded = self._target > 0
        rev, size, live = self._rev, self.storage_size, self.live
        out: list[Op] = []
        append = out.append
        budget = _BATCH_BYTES
        for _ in range(min(limit, _BATCH_OPS)):
            kind, c, n = next_operation()
            collection = collections[c]
            number = f"{n:06d}"
            document_id = f"{collection}-{number}"
            if kind == _DELETE:
                live -= 1
                body = b""
            else:
                if kind == _INSERT:
                    live += 1
                rev += 1
                bits = random_bits(48)  # one draw for every field: bit 0 active, then name, number, value
                active = "true" if bits & 1 else "false"
                name = f"{names[(bits >> 1) % name_count]}-{(bits >> 8) % 10000}"
                value = 100000 + (bits >> 24) % 900000
                if padded:
                    head = f'{{"_id":"{document_id}","active":{active},"blob":"'.encode()
                    tail = f'","name":"{name}","rev":{rev},"value":{value}}}'.encode()
                    self.storage_size = size
                    body = head + self._blob(record_base[c] + len(number) + len(head) + len(tail)) + tail
                else:
                    body = (
                        f'{{"_id":"{document_id}","active":{active},"name":"{name}","rev":{rev},"value":{value}}}'
                    ).encode()
            size += record_base[c] + len(number) + len(body)
            append((kind, collection, document_id, body))
            budget -= len(body)
            if budget <= 0:
                break
        self._rev, self.storage_size, self.live = rev, size, live
        self.done += len(out)
        return out


def storage_chunk(ops: list[Op]) -> bytes:
    version = SCHEMA_VERSION
    return b"".join(
        [
            encode_storage_record(
                StorageRecord(f"{collection}:{document_id}", collection, version, kind == _DELETE, body)
            )
            for kind, collection, document_id, body in ops
        ]
    )


def wal_chunk(ops: list[Op], first_sequence: int) -> bytes:
    version = SCHEMA_VERSION
    return b"".join(
        [
            encode_wal_record(
                kind,
                sequence,
                encode_document_change(DocumentChange(collection, document_id, collection, version, body)),
            )
            for sequence, (kind, collection, document_id, body) in enumerate(ops, first_sequence)
        ]
    )
