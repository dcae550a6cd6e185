"""Flattened columns in the DataFrame and in the Parquet and CSV exports: nested objects
become dotted names, a field takes the type its values share across the whole
source (integers and floats: floats), a field whose type varies stays JSON text, even when the
documents that disagree are in different chunks of the export; each export read back by
pyarrow and by pandas holds what the DataFrame holds."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers.data import copy_fixture

from aeroops.core.documents import FLOAT, INTEGER, JSON_TEXT, STRING, merged_kind, value_kind
from aeroops.executor import document_table
from aeroops.executor.documents import export
from aeroops.executor.fileops import REAL
from aeroops.formats.storage import StorageRecord, encode_storage_record
from aeroops.views.documents import documents

BODIES = {  # in this order in storage; chunks of 2 split them so no chunk sees every type of a field
    "p1": {"name": "a", "size": 1, "varies": 1, "address": {"city": "Oslo", "geo": {"lat": 1.5}}, "tags": ["x"]},
    "p2": {"name": "b", "size": 2, "varies": 2, "address": {"city": "Bergen"}, "flag": True},
    "p3": {"name": "c", "size": 2.5, "varies": "three", "address": {"city": None}, "flag": False},
    "p4": {"name": "d", "size": 4, "varies": True, "late": "only here"},
    "p5": {"name": "e", "size": 5, "varies": None, "big": 1 << 70},
    "p6": {"name": "f", "size": (1 << 63) - 1},  # an integer a float cannot hold exactly, in a float column
}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    data_dir = copy_fixture("datadir-checkpoint", tmp_path / "flat")
    with (data_dir / "data/documents.dat").open("ab") as stream:
        for key, body in BODIES.items():
            raw = json.dumps(body, separators=(",", ":")).encode()
            stream.write(encode_storage_record(StorageRecord(f"flat:{key}", "flat", "v1", False, raw)))
    return data_dir


def test_the_kind_rule() -> None:
    assert merged_kind([INTEGER, None, FLOAT]) == FLOAT
    assert merged_kind([INTEGER, STRING]) == JSON_TEXT
    assert merged_kind([None, None]) is None
    assert value_kind(1 << 70) == JSON_TEXT and value_kind(True) != INTEGER


def expected_columns() -> dict[str, list[object]]:
    """What each field column holds, document by document (p1..p5)."""
    return {
        "name": ["a", "b", "c", "d", "e", "f"],
        "size": [1.0, 2.0, 2.5, 4.0, 5.0, float((1 << 63) - 1)],
        "varies": ["1", "2", '"three"', "true", None, None],
        "address.city": ["Oslo", "Bergen", None, None, None, None],
        "address.geo.lat": [1.5, None, None, None, None, None],
        "tags": ['["x"]', None, None, None, None, None],
        "flag": [None, True, False, None, None, None],
        "late": [None, None, None, "only here", None, None],
        "big": [None, None, None, None, float(1 << 70), None],  # orjson reads an integer past 64 bits as a float
    }


def cells(frame: pd.DataFrame, name: str) -> list[object]:
    return [None if pd.isna(v) else v for v in frame.sort_values("key")[name].tolist()]


def test_the_dataframe_flattens_and_types_each_field(source: Path) -> None:
    frame = documents(source, "flat", ops=REAL)
    for name, values in expected_columns().items():
        assert cells(frame, name) == values, name
    assert str(frame["size"].dtype) == "Float64" and str(frame["flag"].dtype) == "boolean"


@pytest.mark.parametrize("chunk", [2, 16_384])
def test_the_parquet_export_has_the_dataframes_columns_read_back_by_pyarrow_and_pandas(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(document_table, "CHUNK_DOCUMENTS", chunk)
    out = tmp_path / "flat.parquet"
    result = export(source, out, collections=["flat"], ops=REAL)
    assert result.documents == len(BODIES)
    table = pq.read_table(out)
    assert table.column_names[:6] == ["collection", "key", "schema", "version", "body", "note"]
    assert table.schema.field("size").type == pa.float64()
    assert table.schema.field("address.geo.lat").type == pa.float64()
    assert table.schema.field("flag").type == pa.bool_()
    assert table.schema.field("varies").type == pa.string()
    frame = pd.read_parquet(out)
    for name, values in expected_columns().items():
        assert cells(frame, name) == values, name
    assert sorted(frame["body"]) == sorted(json.dumps(b, separators=(",", ":")).encode() for b in BODIES.values())
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "flat") == ["flat.parquet"]  # no parts left


@pytest.mark.parametrize("chunk", [2, 16_384])
def test_the_csv_export_has_the_dataframes_columns_read_back_by_pandas_and_pyarrow(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    import pyarrow.csv as pcsv

    monkeypatch.setattr(document_table, "CHUNK_DOCUMENTS", chunk)
    out = tmp_path / "flat.csv"
    export(source, out, collections=["flat"], ops=REAL)
    frame = pd.read_csv(out)
    for name, values in expected_columns().items():
        assert cells(frame, name) == values, name
    table = pcsv.read_csv(out, convert_options=pcsv.ConvertOptions(strings_can_be_null=True))
    assert table.schema.field("flag").type == pa.bool_()
    assert sorted(table.column("varies").to_pylist(), key=str) == sorted(expected_columns()["varies"], key=str)


def test_an_export_keeps_its_columns_bounded(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(document_table, "EXPORT_FIELDS_LIMIT", 3)
    export(source, tmp_path / "few.parquet", collections=["flat"], ops=REAL)
    frame = pd.read_parquet(tmp_path / "few.parquet").sort_values("key")
    assert list(frame.columns[6:]) == ["name", "size", "varies"]
    assert "past the export's first 3 columns" in frame["note"].iloc[0]
