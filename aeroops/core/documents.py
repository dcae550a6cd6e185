"""Documents as rows: a live document (what AeroDB's boot lists) and its body's fields.

Pure functions over bytes. A body is parsed once, strictly (UTF-8, JSON as RFC 8259 says), and
its object flattened into dotted field names; whatever a body is (not JSON, not UTF-8, a
duplicate field, huge, deeply nested, thousands of fields), the document gets a note saying
what was left out, never an exception. The raw body is always kept whole beside the fields.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import orjson

# The columns every document row has before its fields; a body field of one of these names
# is shown as "body.<name>" (a field named "key" must not hide the document's key).
META_COLUMNS = ("collection", "key", "schema", "version", "note")
BODY_COLUMN = "body"
CLASH_PREFIX = "body."
BODY_FIELDS_LIMIT = 1 << 20  # a larger body is kept whole but its fields are not expanded
DEPTH_LIMIT = 32  # nested objects deeper than this stay JSON text
FIELDS_LIMIT = 1000  # field columns of one document; the others stay in the body only


class Document(NamedTuple):
    """One live document after AeroDB's boot rules: its collection, key (the document id, the
    part of AeroDB's ``collection:id`` key after the colon), schema and the raw body."""

    collection: str
    key: str
    schema: str
    version: str
    body: bytes

    @property
    def aerodb_key(self) -> str:
        return f"{self.collection}:{self.key}"


class ParsedBody(NamedTuple):
    """A body's top-level value (None when it does not parse) and a note, "" when all is well."""

    value: Any
    note: str


def split_key(text: str, collection: str | None = None) -> tuple[str, str]:
    """``(collection, key)`` from AeroDB's ``collection:id`` or, with ``collection``, an id."""
    if collection is not None:
        return collection, text
    found, colon, key = text.partition(":")
    if not colon:
        raise ValueError(f"{text!r} names no collection: write it as collection:key, or give the collection")
    return found, key


def parse_body(body: bytes, limit: int = BODY_FIELDS_LIMIT) -> ParsedBody:
    """The body's value as JSON, strictly (orjson: UTF-8, no NaN, no trailing data), with a
    note for what is unusual. orjson keeps the last of repeated fields silently, so a body that
    does not re-encode to its own bytes is read again by Python's parser to find them."""
    if len(body) > limit:
        return ParsedBody(None, f"a body of {_size(len(body))}: its fields are not expanded (over {_size(limit)})")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as bad:
            return ParsedBody(None, f"the body is not UTF-8 (byte {bad.start}): not JSON")
        return ParsedBody(None, f"the body is not JSON ({_first_line(str(error))})")
    notes = []
    if orjson.dumps(value) != body:  # not compact, escaped otherwise, or a repeated field
        repeated = _repeated_fields(body)
        if repeated:
            shown = ", ".join(repr(name) for name in repeated[:5])
            notes.append(f"repeated field {shown}: the last value is shown, as AeroDB reads it")
    if not isinstance(value, dict):
        notes.append(f"the body is a JSON {_json_type(value)}, not an object: no fields")
    return ParsedBody(value, "; ".join(notes))


def _repeated_fields(body: bytes) -> list[str]:
    repeated: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for name, _ in items:
            if name in seen and name not in repeated:
                repeated.append(name)
            seen.add(name)
        return dict(items)

    with contextlib.suppress(ValueError, RecursionError):  # orjson read it; Python's parser may stop deeper
        json.loads(body, object_pairs_hook=pairs)
    return repeated


def flatten(value: Mapping[str, Any], limit: int = FIELDS_LIMIT) -> tuple[dict[str, Any], str]:
    """A body object's fields by dotted name (``{"a": {"b": 1}}`` → ``{"a.b": 1}``): scalars as
    they are, arrays and empty objects as JSON text, objects deeper than `DEPTH_LIMIT` as JSON
    text; a top-level name of a row column gets `CLASH_PREFIX`. At most ``limit`` fields; a
    note says what was left out."""
    out: dict[str, Any] = {}
    notes: list[str] = []
    dropped = deep = clashes = 0
    stack: list[tuple[str, Mapping[str, Any], int]] = [("", value, 0)]
    while stack:
        prefix, obj, depth = stack.pop()
        for name, item in obj.items():
            full = f"{prefix}{name}"
            if not prefix and (full in META_COLUMNS or full == BODY_COLUMN):
                full = CLASH_PREFIX + full
            if isinstance(item, dict) and item:
                if depth + 1 >= DEPTH_LIMIT:
                    deep += 1
                    item = orjson.dumps(item).decode()
                else:
                    stack.append((full + ".", item, depth + 1))
                    continue
            elif isinstance(item, dict | list):
                item = orjson.dumps(item).decode()
            if full in out:
                clashes += 1
                continue
            if len(out) >= limit:
                dropped += 1
                continue
            out[full] = item
    if deep:
        notes.append(f"objects nested deeper than {DEPTH_LIMIT} levels are kept as JSON text")
    if clashes:
        notes.append(f"{clashes} field(s) whose dotted name another field has: see the body")
    if dropped:
        notes.append(f"{dropped:,} field(s) past the first {limit:,} are not shown as columns: see the body")
    return out, "; ".join(notes)


def document_fields(body: bytes) -> tuple[dict[str, Any], str]:
    """The flattened fields of a body and its note ("" when nothing is unusual)."""
    parsed = parse_body(body)
    if not isinstance(parsed.value, dict):
        return {}, parsed.note
    fields, note = flatten(parsed.value)
    return fields, "; ".join(n for n in (parsed.note, note) if n)


class FieldChange(NamedTuple):
    """A top-level field whose value differs between two versions of a document (None: absent)."""

    field: str
    old: Any
    new: Any


MISSING: Any = None


def changed_fields(old: bytes, new: bytes) -> tuple[tuple[FieldChange, ...], str]:
    """The top-level fields whose values differ between two bodies, sorted by name, with a note
    when either body has no fields to compare (then the whole body is one change, ``body``)."""
    a, b = parse_body(old), parse_body(new)
    if not (isinstance(a.value, dict) and isinstance(b.value, dict)):
        note = "; ".join(n for n in (a.note, b.note) if n) or "the bodies differ"
        return (FieldChange(BODY_COLUMN, _text(old), _text(new)),), note
    names = sorted(a.value.keys() | b.value.keys())
    changes = tuple(
        FieldChange(name, a.value.get(name, MISSING), b.value.get(name, MISSING))
        for name in names
        if name not in a.value or name not in b.value or not _same(a.value[name], b.value[name])
    )
    if not changes:  # same values, different bytes (spacing, field order, escapes)
        return (), "the same fields and values, written differently"
    return changes, ""


def _same(x: Any, y: Any) -> bool:
    # JSON's true is not 1: Python's == would say it is
    return type(x) is type(y) and x == y


def _text(body: bytes) -> str:
    return body.decode("utf-8", "replace")


# The kinds of a field's values; a column takes the kind its values share (`merged_kind`).
BOOLEAN, INTEGER, FLOAT, STRING, JSON_TEXT = "boolean", "integer", "float", "string", "json"
_INT64 = range(-(1 << 63), 1 << 63)


def value_kind(value: Any) -> str | None:
    """The kind of one flattened field value (None for JSON's null): an integer past 64 bits,
    or anything but a scalar, is JSON text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER if value in _INT64 else JSON_TEXT
    if isinstance(value, float):
        return FLOAT
    return STRING if isinstance(value, str) else JSON_TEXT


def merged_kind(kinds: Iterable[str | None]) -> str | None:
    """The kind a column of values of these kinds takes: the one they share; integers and
    floats make floats; any other mix is JSON text. None when there is no value at all."""
    found = {k for k in kinds if k is not None}
    if not found:
        return None
    if len(found) == 1:
        return found.pop()
    return FLOAT if found <= {INTEGER, FLOAT} else JSON_TEXT


def json_text(value: Any) -> str:
    """A value as compact JSON text (what a field of varying type shows)."""
    return orjson.dumps(value).decode()


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else "no reason given"


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n:,} bytes"


def boot_listing_line(document: Document) -> bytes:
    """The document as AeroDB's boot lists it (fixtures' aerodb-boot/*.jsonl): sorted keys,
    the body as JSON text. Raises UnicodeDecodeError for a body that is not UTF-8."""
    record = {
        "body": document.body.decode("utf-8"),
        "key": document.aerodb_key,
        "schema_id": document.schema,
        "schema_version": document.version,
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def count_by_collection(documents: Iterable[Document]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for document in documents:
        counts[document.collection] = counts.get(document.collection, 0) + 1
    return counts


# --- diffs and histories ---------------------------------------------------------------------

ADDED, REMOVED, CHANGED = "added", "removed", "changed"


class DocumentDelta(NamedTuple):
    """One document that differs between two sources: added (in b only), removed (in a only) or
    changed (in both, different), with the top-level fields that changed."""

    collection: str
    key: str
    change: str  # ADDED, REMOVED or CHANGED
    fields: tuple[FieldChange, ...] = ()
    note: str = ""


class CollectionDelta(NamedTuple):
    """Per collection: how many documents were added, removed, changed, and left as they were."""

    collection: str
    added: int
    removed: int
    changed: int
    unchanged: int


class DiffResult(NamedTuple):
    """How source ``b`` differs from source ``a``, document by document."""

    a: str
    b: str
    deltas: tuple[DocumentDelta, ...]  # sorted by collection, key
    collections: tuple[CollectionDelta, ...]  # sorted by collection

    @property
    def identical(self) -> bool:
        return not self.deltas

    def counts(self) -> dict[str, int]:
        return {
            what: sum(getattr(c, what) for c in self.collections)
            for what in ("added", "removed", "changed", "unchanged")
        }


def collection_deltas(
    counts_a: Mapping[str, int], counts_b: Mapping[str, int], deltas: Iterable[DocumentDelta]
) -> tuple[CollectionDelta, ...]:
    """Per-collection counts from each side's document counts and the deltas."""
    tally: dict[str, list[int]] = {c: [0, 0, 0] for c in counts_a.keys() | counts_b.keys()}
    for delta in deltas:
        tally.setdefault(delta.collection, [0, 0, 0])[(ADDED, REMOVED, CHANGED).index(delta.change)] += 1
    return tuple(
        CollectionDelta(c, added, removed, changed, counts_a.get(c, 0) - removed - changed)
        for c, (added, removed, changed) in sorted(tally.items())
    )


FIRST, SAME, DELETED, ABSENT = "first seen", "unchanged", "deleted", "absent"
UNREADABLE = "unreadable"  # the archive's documents cannot be read: the note says why


class HistoryEntry(NamedTuple):
    """A document in one archive of a folder: its state there and what changed since the one
    before (``FIRST`` seen, ``CHANGED``, ``SAME``, ``DELETED``, or ``ABSENT`` still)."""

    archive: str
    backup_id: str
    created_at: str
    event: str
    schema: str | None
    version: str | None
    body: bytes | None
    fields: tuple[FieldChange, ...] = ()
    note: str = ""


def history_event(before: bytes | None, after: bytes | None, seen: bool) -> str:
    """What happened to a document between two archives, from its bodies (None: absent)."""
    if after is None:
        return DELETED if before is not None else ABSENT
    if before is None:
        return FIRST if not seen else ADDED
    return SAME if before == after else CHANGED
