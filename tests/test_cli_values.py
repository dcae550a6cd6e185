"""Option values the CLI cannot take: every one is refused in the user's words, naming the
option and the value typed, never argparse's "invalid <function name> value",
whatever parses the value; and a value past the calendar is taken for what it means, not a
traceback."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import one_error_line
from helpers.data import copy_fixture

from aeroops.cli.main import build_parser, main
from aeroops.demo import make_demo_backup_folder
from aeroops.executor.fileops import REAL


def typed_options() -> Iterator[tuple[str, str]]:
    """(command, option) for every option of every command whose value is parsed by a type."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for command, subparser in commands.choices.items():
        for action in subparser._actions:
            if action.type is not None and action.option_strings:
                yield command, action.option_strings[0]


OPTIONS = sorted(set(typed_options()))


def test_there_are_typed_options_to_check() -> None:
    assert ("prune", "--keep-within") in OPTIONS and ("backup", "--created-at") in OPTIONS


@pytest.mark.parametrize(("command", "option"), OPTIONS, ids=[f"{c} {o}" for c, o in OPTIONS])
@pytest.mark.parametrize("value", ["bogus", "-3", "1e400", "9" * 40])
def test_a_value_an_option_cannot_take_is_one_usage_line_naming_it(
    command: str, option: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    positionals = {"backup": [str(tmp_path / "data")], "restore": [str(tmp_path / "a.tar"), str(tmp_path / "d")]}
    argv = [command, *positionals.get(command, [str(tmp_path)]), f"{option}={value}"]
    status = main(argv)
    err = capsys.readouterr().err
    if value != "bogus" and "AERO_USAGE" not in err:
        return  # a value this option takes: what it does with it is tested elsewhere
    assert status == 2
    line = one_error_line(err, "[ERROR] AERO_USAGE: ")  # one error (past 100 columns, wrapped under its code)
    assert f"{option}:" in line and repr(value) in line, line
    assert "invalid" not in line and "parse_" not in line and "value:" not in line, line


@pytest.mark.parametrize("value", ["3x", "-1d", "1d2d", "bogus"])
def test_a_duration_that_is_not_one_names_the_option(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["prune", str(tmp_path), f"--keep-within={value}"]) == 2
    assert capsys.readouterr().err.startswith(f"[ERROR] AERO_USAGE: --keep-within: {value!r} is not a duration")


@pytest.fixture(scope="module")
def backups(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_backup_folder(tmp_path_factory.mktemp("retention"), ops=REAL).folder


@pytest.mark.parametrize("duration", ["999999999999d", "999999999999y", "999999999999m", "9999y"])
def test_a_duration_past_the_calendar_keeps_everything(
    backups: Path, duration: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["prune", str(backups), "--keep-within", duration, "--no-verify", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "0 would remove" in out, out
    assert main(["check", str(backups), "--max-age", duration]) in (0, 1)
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("value", ["１d", "٣d", "1d２h"])  # fullwidth and Arabic-Indic digits
def test_a_duration_takes_ascii_digits_only(value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prune", str(tmp_path), f"--keep-within={value}"]) == 2  # int() took them: '１d' was 1 day
    assert capsys.readouterr().err.startswith(f"[ERROR] AERO_USAGE: --keep-within: {value!r} is not a duration")


def folder_arguments(tmp_path: Path, where: Path) -> dict[str, list[str]]:
    """Each command with a folder argument, naming ``where`` as that folder."""
    archive = str(tmp_path / "missing.tar")
    data = str(copy_fixture("datadir-nowal", tmp_path / "data"))
    return {
        "backup -o FOLDER/": ["backup", data, "-o", f"{where}/"],
        "backup -o FOLDER/x.tar": ["backup", data, "-o", str(where / "x.tar")],
        "drill --scratch": ["drill", archive, "--scratch", str(where)],
        "check --prometheus": ["check", str(tmp_path), "--max-age", "1d", "--prometheus", str(where / "x.prom")],
        "restore --yes": ["restore", archive, str(where / "data"), "--create", "--yes"],
        "recover": ["recover", str(where / "data")],
        "inventory FOLDER": ["inventory", str(where)],
        "prune FOLDER": ["prune", str(where), "--keep-last", "1"],
        "check FOLDER": ["check", str(where), "--max-age", "1d"],
        "scan DATA_DIR": ["scan", str(where)],
    }


@pytest.mark.parametrize(
    "command",
    [
        "backup -o FOLDER/",
        "backup -o FOLDER/x.tar",
        "drill --scratch",
        "check --prometheus",
        "restore --yes",
        "recover",
        "inventory FOLDER",
        "prune FOLDER",
        "check FOLDER",
        "scan DATA_DIR",
    ],
)
@pytest.mark.parametrize("kind", ["missing", "file", "fifo"])
def test_a_folder_argument_that_is_no_folder_is_called_what_it_is(
    command: str, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = tmp_path / "place"
    if kind == "file":
        where.write_bytes(b"")
    elif kind == "fifo":
        os.mkfifo(where)
    status = main(folder_arguments(tmp_path, where)[command])
    err = one_error_line(capsys.readouterr().err, "[")
    assert status in (2, 3)
    assert ("does not exist" if kind == "missing" else "is not a folder") in err, err  # "does not exist" for a FIFO
