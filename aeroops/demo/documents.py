"""The demo's operations and the bytes of their records: every byte a pure function of the
`DemoSpec` (seeded generators, no clock), so the WAL writer process, drawing from the same seeds,
makes the same documents as the process writing storage."""

from __future__ import annotations

import random
import zlib
from array import array
from collections.abc import Iterator
from datetime import UTC
from itertools import islice

from aeroops.demo.shapes import MAKERS, PRODUCT, USER, Context, mix, shape_of
from aeroops.demo.shapes import Op as DocumentOp
from aeroops.demo.spec import SCHEMA_VERSION, SNAPSHOT_INTERVAL, DemoSpec, snapshot_positions
from aeroops.demo.text import TextSource
from aeroops.errors import UsageError
from aeroops.formats.storage import StorageRecord, encode_storage_record
from aeroops.formats.wal import DocumentChange, WalType, encode_document_change, encode_wal_record
from aeroops.option_names import option

# Which generator made a demo's bytes: raised whenever they change, so caches keyed by it
# (the benchmark's) are made again. 2: the documents of aeroops.demo.shapes.
GENERATION = 2

# Operation mix (cumulative thresholds on one uniform draw).
_INSERT_BELOW = 0.60
_UPDATE_BELOW = 0.85

_INSERT, _UPDATE, _DELETE = int(WalType.INSERT), int(WalType.UPDATE), int(WalType.DELETE)
_BATCH_BYTES = 1 << 20  # documents generated and written per batch, at most about this many bytes
_BATCH_OPS = 4096  # or this many operations
# A padded document larger than this means too few records for the size asked for.
MAX_BLOB_BYTES = 16 << 20
SNAPSHOT_INTERVAL_MS = int(SNAPSHOT_INTERVAL.total_seconds() * 1000)


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

    Each document is one of `aeroops.demo.shapes`' (a user, an order, a product) with a free-text
    field (`aeroops.demo.text`). It also keeps, by arithmetic, the size ``documents.dat`` reaches,
    to size the padding: with ``storage_bytes`` the text of every insert and update before the
    newest snapshot is sized so the records share what is still missing (each between half and
    one and a half times an equal share, as real documents vary), and that snapshot's storage
    reaches the target exactly or just above. Later documents keep the last share.
    """

    def __init__(self, spec: DemoSpec, padded_before: int) -> None:
        self._rng = random.Random(f"aeroops.demo documents {spec.seed}")
        self._text = TextSource(random.Random(f"aeroops.demo text {spec.seed}"))
        self._operations = operations(spec)
        self._collections = spec.collections
        self._makers = tuple(MAKERS[shape_of(c)] for c in spec.collections)
        self._keys = tuple(zlib.crc32(c.encode()) << 32 for c in spec.collections)
        # storage record = u32 length + lp key + lp schema id + lp version + flag + lp body + crc, where
        # key = "<c>:<c>-<number>" and schema id = "<c>": this is all but the number and the body
        self._record_base = tuple(
            4 + (4 + 2 * len(c.encode()) + 2) + (4 + len(c.encode())) + (4 + len(SCHEMA_VERSION)) + 1 + 4 + 4
            for c in spec.collections
        )
        users = next((c for c in spec.collections if shape_of(c) == USER), "users")
        products = next((c for c in spec.collections if shape_of(c) == PRODUCT), "products")
        self._made_index = tuple(spec.collections.index(c) if c in spec.collections else -1 for c in (users, products))
        start = spec.start if spec.start.tzinfo is not None else spec.start.replace(tzinfo=UTC)
        start_ms = int(start.timestamp()) * 1000
        self._span_ms = (spec.snapshots + 1) * SNAPSHOT_INTERVAL_MS  # the simulated time the operations cover
        self._start_ms, self._wal_records = start_ms, max(1, spec.wal_records)
        self._context = Context(seed_key=mix(spec.seed), users=users, products=products)
        # when each document was inserted, and how many users and products were numbered by then,
        # by collection and number - 1 (what updates keep; 24 bytes a document)
        self._born = tuple(array("q") for _ in spec.collections)
        self._users_then = tuple(array("q") for _ in spec.collections)
        self._products_then = tuple(array("q") for _ in spec.collections)
        self._made = [0, 0]  # users and products numbered so far
        self.done = 0  # operations handed out
        self.live = 0  # documents alive after them
        self.storage_size = 0  # bytes of documents.dat after them
        self._rev = 0
        self._target = spec.storage_bytes
        self._padded_left = padded_before
        self._share = 0

    def _padded_length(self, unpadded: int, jitter: int) -> int:
        """The text length of the next padded document, whose storage record is ``unpadded``
        bytes without its text; ``jitter``: 10 random bits."""
        if self._padded_left > 0:
            need = self._target - self.storage_size
            self._share = -(-need // self._padded_left) if need > 0 else 0  # ceiling division
            self._padded_left -= 1
            if self._padded_left == 0:  # the last one lands on the target
                return max(0, self._share - unpadded)
        return max(0, self._share * (512 + jitter) // 1024 - unpadded)

    def batch(self, limit: int) -> list[Op]:
        """The next operations: at most ``limit``, `_BATCH_OPS`, or about `_BATCH_BYTES` of bodies."""
        next_operation = self._operations.__next__
        collections, record_base, makers, keys = self._collections, self._record_base, self._makers, self._keys
        draw = self._rng.getrandbits
        context, made_index, made = self._context, self._made_index, self._made
        born, users_then, products_then = self._born, self._users_then, self._products_then
        padded = self._target > 0
        rev, size, live = self._rev, self.storage_size, self.live
        start_ms, span_ms, total = self._start_ms, self._span_ms, self._wal_records
        seed_key = context.seed_key
        ops: list[tuple[int, str, str]] = []
        parts: list[tuple[str, str]] = []
        lengths: list[int] = []
        budget = _BATCH_BYTES
        for _ in range(min(limit, _BATCH_OPS)):
            kind, c, n = next_operation()
            collection = collections[c]
            number = f"{n:06d}"
            document_id = f"{collection}-{number}"
            ops.append((kind, collection, document_id))
            if kind == _DELETE:
                live -= 1
                parts.append(("", ""))
                lengths.append(0)
                size += record_base[c] + len(number)
                continue
            if kind == _INSERT:
                live += 1
                if c == made_index[0]:
                    made[0] = n
                elif c == made_index[1]:
                    made[1] = n
            rev += 1
            now_ms = start_ms + (self.done + len(ops)) * span_ms // total
            if kind == _INSERT:
                born[c].append(now_ms)
                users_then[c].append(made[0])
                products_then[c].append(made[1])
            i = n - 1
            operation = DocumentOp(
                n, document_id, kind == _INSERT, rev, now_ms, born[c][i], users_then[c][i], products_then[c][i]
            )
            head, tail, length = makers[c](draw, mix(seed_key ^ keys[c] ^ n), operation, context)
            head_tail = len(head) + len(tail)  # ASCII: characters are bytes
            if padded:
                self.storage_size = size
                length = self._padded_length(record_base[c] + len(number) + head_tail, draw(10))
            parts.append((head, tail))
            lengths.append(length)
            size += record_base[c] + len(number) + head_tail + length
            budget -= head_tail + length
            if budget <= 0:
                break
        texts = self._text.take(lengths)
        out: list[Op] = [
            (kind, collection, document_id, b"" if kind == _DELETE else head.encode() + text + tail.encode())
            for (kind, collection, document_id), (head, tail), text in zip(ops, parts, texts, strict=True)
        ]
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
