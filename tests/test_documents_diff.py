"""The diff with bounded memory: each source's records spilled to Parquet parts and compared by
DuckDB. Planted changes (one document in a hundred updated, some deleted, some inserted, some
rewritten with the same body) are found exactly, with the records split over many parts; the
scratch folder is gone afterwards."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from aeroops.executor import document_diff
from aeroops.executor.documents import diff, iter_documents
from aeroops.executor.fileops import REAL
from aeroops.formats.wal import DocumentChange, WalType, encode_document_change, encode_wal_record, iter_wal


def _demo(tmp_path: Path) -> Path:
    from aeroops.demo import DemoSpec, make_demo_datadir

    make_demo_datadir(tmp_path / "a", DemoSpec.small(wal_records=3000), ops=REAL)
    return tmp_path / "a"


def plant(a: Path, b: Path) -> dict[str, set[tuple[str, str]]]:
    """``b``: ``a`` with changes appended to its WAL; the changes planted, by kind."""
    shutil.copytree(a, b)
    wal = b / "wal/wal.log"
    with wal.open("rb") as stream:
        last = max((r.sequence for r in iter_wal(stream)), default=0)
    planted: dict[str, set[tuple[str, str]]] = {"added": set(), "removed": set(), "changed": set()}
    records = []
    for index, doc in enumerate(iter_documents(a, ops=REAL)):
        pair = (doc.collection, doc.key)
        if index % 100 == 0:
            body = json.loads(doc.body) | {"planted": index}
            change = DocumentChange(doc.collection, doc.key, doc.schema, doc.version, json.dumps(body).encode())
            records.append((WalType.UPDATE, change))
            planted["changed"].add(pair)
        elif index % 100 == 1:
            records.append((WalType.DELETE, DocumentChange(doc.collection, doc.key, doc.schema, "", b"")))
            planted["removed"].add(pair)
        elif index % 100 == 2:  # the same body again: not a change
            records.append((WalType.UPDATE, DocumentChange(doc.collection, doc.key, doc.schema, doc.version, doc.body)))
        elif index % 100 == 3:  # deleted, then inserted again as it was: not a change
            records.append((WalType.DELETE, DocumentChange(doc.collection, doc.key, doc.schema, "", b"")))
            records.append((WalType.INSERT, DocumentChange(doc.collection, doc.key, doc.schema, doc.version, doc.body)))
    for n in range(7):
        records.append((WalType.INSERT, DocumentChange("users", f"planted-{n}", "users", "v1", b'{"n":%d}' % n)))
        planted["added"].add(("users", f"planted-{n}"))
    with wal.open("ab") as stream:
        for sequence, (kind, change) in enumerate(records, start=last + 1):
            stream.write(encode_wal_record(kind, sequence, encode_document_change(change)))
    return planted


def test_a_diff_over_many_parts_finds_exactly_the_planted_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = _demo(tmp_path)
    planted = plant(a, tmp_path / "b")
    monkeypatch.setattr(document_diff, "PART_ROWS", 97)  # records spread over dozens of parts
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the diff makes its scratch folder
    result = diff(a, tmp_path / "b", ops=REAL)
    found = {c: {(d.collection, d.key) for d in result.deltas if d.change == c} for c in planted}
    assert found == planted
    assert all(len(planted[c]) > 5 for c in planted)
    for delta in result.deltas:
        if delta.change == "changed":
            assert [f.field for f in delta.fields] == ["planted"]
    total_a = sum(1 for _ in iter_documents(a, ops=REAL))
    counts = result.counts()
    assert counts["unchanged"] == total_a - len(planted["removed"]) - len(planted["changed"])
    assert list(scratch.iterdir()) == []  # the scratch folder is gone
    only = diff(a, tmp_path / "b", collections=["users"], ops=REAL)
    assert {(d.collection, d.key) for d in only.deltas} == {p for c in planted.values() for p in c if p[0] == "users"}
