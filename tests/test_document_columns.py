"""The body fields as columns: the C reading (_speedups_fields.h) gives exactly what the Python
reading gives (`python_field_arrays`: orjson, `flatten`, `merged_kind`), column for column,
name for name, kind for kind, in the same order, with the same notes, whatever the bodies are;
and bodies written as orjson writes them are read in C, not handed back to Python."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pandas as pd
import pytest
from helpers.data import AERODB_FIXTURES
from hypothesis import given, settings
from hypothesis import strategies as st

from aeroops.core.documents import BODY_FIELDS_LIMIT, FIELDS_LIMIT, document_fields
from aeroops.executor.document_table import FieldReading, field_arrays, python_field_arrays
from aeroops.executor.documents import iter_documents
from aeroops.executor.fileops import REAL
from aeroops.formats.wal import load_speedups
from aeroops.views.documents import pandas_columns

SPEEDUPS = load_speedups()


def same_columns(bodies: list[bytes], wanted: list[str] | None = None) -> dict[str, Any]:
    """The C and the Python reading of ``bodies`` agree: the columns C built, as pandas ones."""
    c_notes, py_notes = [""] * len(bodies), [""] * len(bodies)
    built = field_arrays(bodies, c_notes, wanted)
    expected = python_field_arrays(bodies, py_notes, wanted)
    assert list(built) == list(expected)
    assert c_notes == py_notes
    for name, (kind, array) in expected.items():
        assert built[name][0] == kind, name
        assert built[name][1].type == array.type and built[name][1].equals(array), name
    return pandas_columns(field_arrays(bodies, [""] * len(bodies), wanted))


def careful_rows(bodies: list[bytes]) -> list[int]:
    """The rows the C reading hands to Python."""
    handed: list[int] = []

    def careful(row: int, body: bytes) -> list[tuple[str, int, Any, str | None]]:
        handed.append(row)
        return []

    assert SPEEDUPS is not None, "the C extension is built by README's install"
    reading = SPEEDUPS.fields_new(None)
    SPEEDUPS.fields_feed(reading, bodies, careful)
    SPEEDUPS.fields_finish(reading)
    return handed


# --- the fixtures and the demo's bodies ----------------------------------------------------------


@pytest.mark.parametrize("name", ["backup-1000.tar", "backup-3snap.tar", "datadir-checkpoint", "backup-longname.tar"])
def test_fixture_documents_read_alike_and_in_c(name: str) -> None:
    bodies = [d.body for d in iter_documents(AERODB_FIXTURES / name, ops=REAL)]
    same_columns(bodies)
    plain = [row for row, body in enumerate(bodies) if orjson.dumps(orjson.loads(body)) == body]
    assert set(careful_rows(bodies)).isdisjoint(plain) or not plain


def test_bodies_as_orjson_writes_them_are_read_in_c() -> None:
    rows = [
        {
            "_id": "a",
            "n": 1,
            "price": 12.5,
            "ok": True,
            "tags": ["x", "y"],
            "address": {"city": "Oslo", "geo": {"lat": 59.91}},
        },
        {"_id": "b", "n": -7, "price": 0.0001, "ok": False, "tags": [], "address": {}, "note": 'hi "you"\n\t\\'},
        {"_id": "c", "n": 9223372036854775807, "price": -0.0, "items": [{"sku": "S", "qty": 2, "price": 3.1}]},
        {"collection": "x", "key": 1, "schema": None, "version": 2.5, "body": {"nested": 1}, "ctrl": "\x00\x1f\x7f"},
    ]
    bodies = [orjson.dumps(row) for row in rows]
    assert careful_rows(bodies) == []
    built = same_columns(bodies)
    assert list(built)[:6] == ["_id", "n", "price", "ok", "tags", "address.city"]
    assert {"body.body.nested", "body.note", "body.key", "body.collection", "body.version"} <= set(built)


def test_a_reading_fed_in_pieces_is_the_reading_of_the_whole() -> None:
    bodies = [d.body for d in iter_documents(AERODB_FIXTURES / "backup-1000.tar", ops=REAL)]
    bodies[7:7] = EDGES[:40]  # careful rows in the middle, and in a later piece
    whole_notes = [""] * len(bodies)
    whole = field_arrays(bodies, whole_notes)
    reading = FieldReading()
    for start in range(0, len(bodies), 97):
        reading.feed(bodies[start : start + 97])
    pieces = reading.finish()
    assert list(pieces) == list(whole) and reading.rows == len(bodies)
    assert {row: note for row, note in enumerate(whole_notes) if note} == reading.notes
    for name, (kind, array) in whole.items():
        assert pieces[name][0] == kind and pieces[name][1].equals(array), name
    with pytest.raises(RuntimeError, match="finished"):
        reading.feed(bodies[:1])


# --- every edge the C reading decides on --------------------------------------------------------

EDGES = [
    # numbers: Python's repr with no exponent is orjson's; anything else is read in Python
    b'{"x":0.0001}',
    b'{"x":0.00001}',
    b'{"x":1e-05}',
    b'{"x":1e5}',
    b'{"x":1E5}',
    b'{"x":1.5e300}',
    b'{"x":1000000000000000.0}',
    b'{"x":10000000000000000.0}',
    b'{"x":9999999999999998.0}',
    b'{"x":0.30000000000000004}',
    b'{"x":0.3000000000000000}',
    b'{"x":1.10}',
    b'{"x":1.0}',
    b'{"x":-0.0}',
    b'{"x":0.0}',
    b'{"x":00.5}',
    b'{"x":.5}',
    b'{"x":5.}',
    b'{"x":-}',
    b'{"x":-0}',
    b'{"x":0}',
    b'{"x":01}',
    b'{"x":123456789012345.6}',
    b'{"x":1234567890123456.7}',
    b'{"x":12345678901234567.0}',
    b'{"x":9223372036854775807}',
    b'{"x":-9223372036854775808}',
    b'{"x":9223372036854775808}',
    b'{"x":-9223372036854775809}',
    b'{"x":18446744073709551615}',
    b'{"x":18446744073709551616}',
    b'{"x":123456789012345678901234567890}',
    b'{"x":NaN}',
    b'{"x":Infinity}',
    b'{"x":-Infinity}',
    # strings and their escapes: orjson's own, and every other way to write the same text
    b'{"x":"\\u0000\\u001f\\b\\f\\n\\r\\t\\"\\\\"}',
    b'{"x":"\\u0008"}',
    b'{"x":"\\u000a"}',
    b'{"x":"\\u001F"}',
    b'{"x":"\\/"}',
    b'{"x":"\\u00e9"}',
    b'{"x":"\\ud83d\\ude00"}',
    b'{"x":"\\ud800"}',
    b'{"x":"\\x"}',
    '{"x":"é😀\u2028\x7f"}'.encode(),
    b'{"x":"\xff"}',
    b'{"x":"\xc0\xaf"}',
    b'{"x":"\xed\xa0\x80"}',
    b'{"x":"a\x01b"}',
    b'{"x":"unterminated}',
    b'{"x":"a"',
    b'{"\\u0078":1}',
    b'{"a.b":1,"a":{"b":2}}',
    # names: repeated, of a row column, dotted
    b'{"a":1,"a":2}',
    b'{"a":{"b":1,"b":2}}',
    b'{"l":[{"b":1,"b":2}]}',
    b'{"note":1}',
    b'{"body":{"note":2}}',
    b'{"body.note":1,"note":2}',
    b'{"collection":{"key":1}}',
    b'{"":1,"x":{"":2}}',
    # shapes
    b"{}",
    b"[]",
    b'"text"',
    b"1",
    b"null",
    b"",
    b" {}",
    b"{} ",
    b'{"x":1}x',
    b'{"x" :1}',
    b'{"x":[1, 2]}',
    b'{"x":[1,{"y":[]},"z",null,true,false,1.5]}',
    b'{"x":{}}',
    b'{"x":{"y":{}}}',
    b'{"x":tru}',
    b'{"x":nul}',
    b'{"a":' * 15 + b"1" + b"}" * 15,
    b'{"a":' * 16 + b"1" + b"}" * 16,
    b'{"a":' * 17 + b"1" + b"}" * 17,
    b'{"a":' * 33 + b"1" + b"}" * 33,
    b'{"x":' + b"[" * 20 + b"]" * 20 + b"}",
    # an array is kept as its JSON text: read in C only when that text is orjson's
    b'{"x":[0.000001]}',
    b'{"x":[0.00001]}',
    b'{"x":[1.10]}',
    b'{"x":[1e5]}',
    b'{"x":["\\u0008"]}',
    b'{"x":[{"\\u0008":1}]}',
    b'{"x":["\\/"]}',
    b'{"x":[-0]}',
    b'{"x":[1,1]}',
    b'{"x":[{"a":1,"a":1}]}',
]


@pytest.mark.parametrize("body", EDGES, ids=range(len(EDGES)))
def test_each_edge_alone_reads_alike(body: bytes) -> None:
    same_columns([body])


def test_the_edges_together_read_alike() -> None:
    same_columns(EDGES)
    same_columns(EDGES, wanted=["x", "body.note", "a.b", "missing", "a"])


def wide(count: int) -> bytes:
    return orjson.dumps({f"f{i}": i for i in range(count)})


@pytest.mark.parametrize(
    "body",
    [
        wide(255),
        wide(256),
        wide(257),
        wide(FIELDS_LIMIT),
        wide(FIELDS_LIMIT + 1),
        orjson.dumps({f"g{i}": {f"f{j}": j for j in range(100)} for i in range(11)}),
        b'{"x":"' + b"y" * (BODY_FIELDS_LIMIT - 8) + b'"}',
        b'{"x":"' + b"y" * (BODY_FIELDS_LIMIT - 7) + b'"}',
        orjson.dumps({"n" * 5000: 1}),
        orjson.dumps({"a" * 2000: {"b" * 2000: {"c" * 100: 1}}}),
    ],
    ids=["255", "256", "257", "1000", "1001", "1100-nested", "1MiB", "1MiB+1", "long-name", "long-dotted-name"],
)
def test_limits_read_alike(body: bytes) -> None:
    same_columns([body, wide(3)])


def test_a_column_takes_the_kind_its_values_share_across_rows() -> None:
    mixes = [
        [b'{"x":1}', b'{"x":2.5}'],  # integers and floats: floats
        [b'{"x":1}', b'{"x":"1"}'],  # anything else: JSON text
        [b'{"x":true}', b'{"x":1}'],
        [b'{"x":[1]}', b'{"x":"s"}'],  # an array is its JSON text, a string
        [b'{"x":[1]}', b'{"x":2}', b'{"x":"a\\"b\\n"}', b'{"x":false}', b'{"x":null}', b'{"x":1.5}'],
        [b'{"x":null}', b'{"x":null}'],
        [b'{"x":9223372036854775807}', b'{"x":1.5}'],
        [b'{"x":1}', b'{"x":9223372036854775808}'],  # past 64 bits: JSON text
        [b'{"x":1}', b'{"x": 2}', b'{"x":"\\u00e9"}'],  # the second and third read in Python
        [b'{"x":{"y":1}}', b'{"x":2}', b'{"x":{"y":"z"}}'],
        [b'{"x":0.000001}', b'{"x":"s"}'],  # a float's JSON text is orjson's: 1e-6
        [b'{"x":0.00001}', b'{"x":1.10}', b'{"x":"\\u0008"}', b'{"x":true}'],
    ]
    for bodies in mixes:
        same_columns(bodies)


# --- floats: read in C exactly when the text is the one repr and orjson write ---------------------


def spellings(x: float) -> set[str]:
    """repr's text of x, and near spellings of the same or a neighbouring value."""
    shown = {repr(x), f"{x:.17g}", f"{x:.16g}", f"{x:.15g}", f"{x:.17f}".rstrip("0"), f"{x:.3f}"}
    canonical = repr(x)
    if canonical[-1].isdigit() and "e" not in canonical:
        for step in (-1, 1):
            last = int(canonical[-1]) + step
            if 0 <= last <= 9:
                shown.add(canonical[:-1] + str(last))
    return {text for text in shown if "inf" not in text and "nan" not in text}


@settings(max_examples=400, deadline=None)
@given(
    st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(min_value=1e-4, max_value=1e16)
    | st.integers(1, 10**17).map(lambda n: n / 10 ** (n % 19))
)
def test_a_float_is_read_in_c_exactly_when_its_text_is_orjsons(x: float) -> None:
    for text in spellings(x):
        try:
            value = float(text)
        except ValueError:
            continue
        body = b'{"x":[' + text.encode() + b'],"y":' + text.encode() + b"}"
        try:
            orjson.loads(body)
        except orjson.JSONDecodeError:  # "1." and the like: not JSON, so never read in C
            assert careful_rows([body]) == [0], text
            continue
        if orjson.dumps(orjson.loads(body)) != body and not careful_rows([body]):
            raise AssertionError(f"{text!r} read in C, though orjson writes {orjson.dumps(value)!r}")
        plain = "e" not in text and (value == 0 or 1e-4 <= abs(value) < 1e16) and orjson.dumps(value) == text.encode()
        if plain and careful_rows([body]):
            raise AssertionError(f"{text!r} is orjson's own text, yet handed to Python")
        same_columns([body, b'{"x":"s","y":"t"}'])


# --- any body -----------------------------------------------------------------------------------

names = st.sampled_from(["a", "b", "note", "key", "body", "x.y", "é", "", "collection"]) | st.text(max_size=6)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(1 << 64), max_value=1 << 64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.1, 1e-4, 1e-5, 1e15, 1e16, 2.5, -0.0, 123456789.125])
    | st.text(max_size=8)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=4),
    max_leaves=16,
)
objects = st.dictionaries(names, values, max_size=6)


def written(value: Any, how: str) -> bytes:
    if how == "orjson":
        return orjson.dumps(value)
    if how == "json":
        return json.dumps(value).encode()
    if how == "ascii":
        return json.dumps(value, separators=(",", ":")).encode()
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(objects, st.sampled_from(["orjson", "orjson", "json", "ascii", "utf8"])), max_size=8))
def test_any_objects_however_written_read_alike(rows: list[tuple[dict[str, Any], str]]) -> None:
    bodies = []
    for value, how in rows:
        try:
            bodies.append(written(value, how))
        except (TypeError, OverflowError):  # orjson writes no integer past 64 bits
            bodies.append(written(value, "json"))
    same_columns(bodies)


@settings(max_examples=300, deadline=None)
@given(objects, st.data())
def test_any_damage_to_a_body_reads_alike(value: dict[str, Any], data: st.DataObject) -> None:
    try:
        body = bytearray(orjson.dumps(value))
    except TypeError:
        body = bytearray(json.dumps(value).encode())
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, max(len(body) - 1, 0)))
        how = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if how == "flip" and body:
            body[at] = data.draw(st.integers(0, 255))
        elif how == "cut":
            del body[at:]
        else:
            body[at:at] = data.draw(st.sampled_from([b'"', b"\\", b"{", b"}", b",", b":", b" ", b"\xff", b"0", b"e"]))
    same_columns([bytes(body), orjson.dumps({"a": 1})])


def test_columns_are_typed_as_the_dataframe_promises() -> None:
    bodies = [b'{"b":true,"i":1,"f":1.5,"s":"x","j":1,"n":null,"a":[1]}', b'{"i":2,"f":2,"j":"y"}', b"{}"]
    built = same_columns(bodies)
    dtypes = {name: str(column.dtype) for name, column in built.items()}
    assert dtypes == {
        "b": "boolean",
        "i": "Int64",
        "f": "Float64",
        "s": "string",
        "j": "string",
        "n": "string",
        "a": "string",
    }
    assert list(built["j"]) == ["1", '"y"', pd.NA] and list(built["f"]) == [1.5, 2.0, pd.NA]
    assert built["n"].isna().all() and list(built["a"])[:1] == ["[1]"]
    for _name, column in built.items():
        pd.testing.assert_extension_array_equal(column, pd.array(list(column), dtype=column.dtype), check_exact=True)


def test_a_field_list_from_python_is_what_document_fields_says() -> None:
    # the careful rows' fields come from document_fields: the same reference the Python reading uses
    body = b'{"a": {"b": [1, 2]}, "c": 18446744073709551615}'
    fields, note = document_fields(body)
    built = same_columns([body])
    assert built["a.b"][0] == fields["a.b"] == "[1,2]"
    assert built["c"][0] == "18446744073709551615" and note == ""
