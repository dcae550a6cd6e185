"""The catalogue of codes: the one place every AERO_* code is spelled, and the documents that
list them (README's table, verify's docstring) agree with it."""

from __future__ import annotations

import ast
import errno
import re
from pathlib import Path

import pytest

import aeroops
from aeroops.core import verify
from aeroops.errors import (
    EXIT_ERROR,
    EXIT_FATAL,
    BackupIOError,
    Category,
    Code,
    FormatError,
    RestoreError,
    Severity,
    io_error,
)
from aeroops.executor.fileops import REAL, failed_operation

ROOT = Path(__file__).parent.parent
PACKAGE = Path(aeroops.__file__).parent
README_ROW = re.compile(r"^\| `(AERO_[A-Z_]+)` \| (\w+) \| (\d+) \| (.+) \|$", re.M)


def test_readme_code_table_is_the_catalogue() -> None:
    rows = README_ROW.findall((ROOT / "README.md").read_text())
    expected = [(str(c), str(c.severity), str(c.exit_status), c.summary) for c in Code]
    table = "\n".join(f"| `{c}` | {s} | {e} | {m} |" for c, s, e, m in expected)
    assert rows == expected, f"README's code table should read:\n{table}"


def test_verify_docstring_lists_every_code_verify_reports_with_its_severity() -> None:
    doc = verify.__doc__ or ""
    listed = dict(re.findall(r"^(AERO_[A-Z_*]+)\s+(INFO|WARNING|ERROR|FATAL)\s", doc, re.M))
    expanded: dict[Code, str] = {}
    for name, severity in listed.items():
        if name.endswith("*"):
            matches = [c for c in Code if c.startswith(name[:-1])]
            assert matches, name
            expanded.update(dict.fromkeys(matches, severity))
        else:
            expanded[Code(name)] = severity
    reported = {c for c in Code if c.category in (Category.VERIFY, Category.TAR, Category.WAL, Category.STORAGE)}
    reported.discard(Code.WAL_IO)  # scan's, when the data directory's WAL cannot be read
    assert set(expanded) == reported
    assert {c: str(c.severity) for c in expanded} == expanded


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    return [(n.lineno, n.value) for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_no_code_is_spelled_outside_the_catalogue() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "errors.py" and path.parent == PACKAGE:
            continue
        tree = ast.parse(path.read_text())
        for lineno, text in _strings(tree):
            # Docstrings may name codes in prose; code may not use them as values.
            if re.search(r"\bAERO_", text) and not _is_docstring(tree, lineno):
                found.append(f"{path.relative_to(ROOT)}:{lineno}: {text[:60]!r}")
    assert found == []


def _is_docstring(tree: ast.AST, lineno: int) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                first = body[0].value
                if first.lineno <= lineno <= (first.end_lineno or first.lineno):
                    return True
    return False


def test_codes_are_unique_and_named_for_their_value() -> None:
    assert len({str(c) for c in Code}) == len(Code)
    for code in Code:
        assert code == f"AERO_{code.name}"


@pytest.mark.parametrize(
    ("code", "severity", "exit_status"),
    [
        (Code.BACKUP_IO, Severity.ERROR, EXIT_ERROR),
        (Code.RESTORE_CORRUPTION, Severity.FATAL, EXIT_FATAL),
        (Code.RESTORE_CLEANUP, Severity.WARNING, 0),
        (Code.INTERRUPTED, Severity.ERROR, 130),
    ],
)
def test_a_code_carries_its_severity_and_exit_status(code: Code, severity: Severity, exit_status: int) -> None:
    assert (code.severity, code.exit_status) == (severity, exit_status)


def test_an_error_takes_its_severity_from_its_code() -> None:
    assert RestoreError("x").severity is Severity.FATAL
    assert FormatError("x", code=Code.RESTORE_JOURNAL).severity is Severity.ERROR
    assert str(FormatError("bad", code=Code.TAR_HEADER, path="a.tar")) == "[ERROR] AERO_TAR_HEADER: bad (a.tar)"


def test_damage_is_what_a_restore_calls_corruption() -> None:
    damaged = {c for c in Code if c.damage}
    assert Code.VERIFY_CHECKSUM in damaged and Code.WAL_SEQUENCE in damaged and Code.TAR_TRUNCATED in damaged
    assert Code.VERIFY_UNEXPECTED_MEMBER not in damaged and Code.MANIFEST_INVALID not in damaged


def test_an_io_error_names_the_file_operation_that_failed(tmp_path: Path) -> None:
    with pytest.raises(OSError) as raised:
        REAL.open_read(tmp_path / "missing")
    operation = failed_operation(raised.value)
    assert operation == "open_read"
    error = io_error(BackupIOError, raised.value, operation)
    assert error.operation == "open_read"
    assert error.message == "I/O failure: No such file or directory, during open_read"
    assert error.path == str(tmp_path / "missing")


def test_an_io_error_says_no_space_plainly() -> None:
    error = io_error(BackupIOError, OSError(errno.ENOSPC, "No space left on device", "/x"))
    assert str(error) == "[ERROR] AERO_BACKUP_IO: I/O failure: no space left on the device (/x)"
