"""Property tests over the command line itself: arguments and environment built from
any bytes and any timestamps, and any file type at every path a command touches (regular, FIFO,
device, symlink, folder, missing, unreadable), run as the unprivileged user nobody so that
permissions apply. Every run must end, within a timeout, with a documented exit status and
either success or one ``[SEVERITY] CODE: message`` line on stderr (never a traceback); the data
directory and the archive it reads must be byte-identical afterwards (times included), and no
lock, staging or restore leftovers may stay behind.

CI runs a fixed, derandomized set of examples (about a minute on 2 cores);
``AEROOPS_CLI_EXAMPLES=2000`` runs more, ``AEROOPS_CLI_RANDOM=1`` draws new ones.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers.data import copy_fixture, tree_state
from helpers.faults import CAN_RUN_AS_NOBODY, NOBODY, as_nobody
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from aeroops.executor.backup import run_backup
from aeroops.executor.fileops import REAL
from aeroops.executor.lock import lock_path_for
from aeroops.executor.restore import restore_paths

EXAMPLES = int(os.environ.get("AEROOPS_CLI_EXAMPLES", "0")) or 30
RANDOM = os.environ.get("AEROOPS_CLI_RANDOM") == "1"
TIMEOUT = 40  # seconds: a run that takes longer hangs (the slowest honest run here takes ~2 s)
AS_NOBODY = CAN_RUN_AS_NOBODY
EXIT_STATUSES = {0, 1, 2, 3}  # README: done, not clean, ERROR, FATAL (130 and 141 need a signal)
LINE = re.compile(r"\[(INFO|WARNING|ERROR|FATAL)\] AERO_[A-Z0-9_]+: .+")  # one line each, off a terminal
KINDS = ("regular", "fifo", "device", "symlink", "directory", "missing", "unreadable", "unreadable folder")
LEFTOVER = re.compile(r"aeroops-(lock|staging|restore)")  # what aeroops makes and must not leave

# --- the sandbox --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid archive of datadir-1000, ``arch.tar``, with its sidecar beside it."""
    folder = tmp_path_factory.mktemp("archive")
    data = copy_fixture("datadir-1000", folder / "data")
    return Path(
        run_backup(data, folder / "arch.tar", created_at=datetime(2026, 2, 4, 12, tzinfo=UTC), ops=REAL).archive
    )


@dataclass
class Sandbox:
    """A folder nobody can work in: the data directory (which must not change), an archive,
    an output folder, a restore target, and two slots ``a`` and ``b`` of drawn kinds."""

    root: Path
    data: Path = field(init=False)
    archive: Path = field(init=False)
    out: Path = field(init=False)
    target: Path = field(init=False)

    def __post_init__(self) -> None:
        self.data = self.root / "data"
        self.archive = self.root / "arch.tar"
        self.out = self.root / "out"
        self.target = self.root / "target"

    def path(self, name: str) -> Path:
        return {"data": self.data, "archive": self.archive, "out": self.out, "target": self.target}.get(
            name, self.root / name
        )

    def touched(self) -> dict[str, Path]:
        """Paths beside the ones named that commands open or create: locks, sidecars,
        restore journals and temporary folders, a staging name in the output folder."""
        paths = {}
        for name in ("data", "target", "a"):
            base = self.path(name)
            restore = restore_paths(base)
            paths[f"{name}.lock"] = lock_path_for(base)
            paths[f"{name}.journal"] = Path(restore.journal)
            paths[f"{name}.journal_tmp"] = Path(restore.journal_tmp)
            paths[f"{name}.temp"] = Path(restore.temp)
            paths[f"{name}.old"] = Path(restore.old)
        paths["archive.b3"] = self.root / "arch.tar.b3"
        paths["archive.sha256"] = self.root / "arch.tar.sha256"
        paths["data.wal"] = self.data / "wal" / "wal.log"
        paths["data.checkpoint"] = self.data / "checkpoint.json"
        paths["out.staging"] = self.out / ".aeroops-staging-20260204T120000Z-1-deadbeef"
        return paths


def make_kind(path: Path, kind: str, payload: bytes = b"") -> None:
    """Put a ``kind`` of file at ``path`` (replacing what is there)."""
    if os.path.lexists(path):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "regular":
        path.write_bytes(payload)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        if os.geteuid() == 0:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 5))  # /dev/zero: reading never ends
        else:
            path.symlink_to("/dev/zero")
    elif kind == "symlink":
        path.symlink_to(payload.replace(b"\x00", b"").decode("ascii", "replace") or "/dev/zero")  # no NUL in a link
    elif kind == "directory":
        path.mkdir()
    elif kind in ("unreadable", "unreadable folder"):
        if kind == "unreadable":
            path.write_bytes(payload)
        else:
            path.mkdir()
        path.chmod(0)
        if AS_NOBODY:
            os.chown(path, 0, 0)
    # "missing": nothing there


@contextlib.contextmanager
def sandbox(archive: Path) -> Iterator[Sandbox]:
    root = Path(tempfile.mkdtemp(prefix="aeroops-cli-", dir="/tmp"))
    try:
        box = Sandbox(root)
        copy_fixture("datadir-1000", box.data)
        copy_fixture("datadir-nowal", box.target)
        shutil.copyfile(archive, box.archive)
        shutil.copyfile(f"{archive}.b3", f"{box.archive}.b3")
        box.out.mkdir()
        (root / "tmp").mkdir()
        if AS_NOBODY:
            for path in [root, *root.rglob("*")]:
                os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
        yield box
    finally:
        for path in [root, *root.rglob("*")]:  # a folder made unreadable must not stop the clean-up
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o700)
        shutil.rmtree(root, ignore_errors=True)


# --- what runs are made of ----------------------------------------------------------------------

SLOTS = ("data", "archive", "out", "target", "a", "b")
ANY_BYTES = st.binary(min_size=1, max_size=24).filter(lambda b: b"\0" not in b)


def iso(moment: datetime) -> str:
    return moment.isoformat()


TIMES = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59), timezones=st.just(UTC)).map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ") if d.year >= 1000 else iso(d)
    ),
    st.builds(
        lambda d, minutes: d.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat(),
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
        st.integers(-23 * 60, 23 * 60),
    ),
    ANY_BYTES.map(os.fsdecode),
)
EPOCHS = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["0", "1770206400", "253402300799", "253402300800", "-30610224000", " 1", "1e9"]),
    ANY_BYTES.map(os.fsdecode),
)


@st.composite
def path_argument(draw: st.DrawFn, box: Sandbox, *, written: bool = False, usual: str | None = None) -> str:
    """A path on the command line: a slot of the sandbox (relative or absolute), or any bytes.
    ``written``: a path the command is asked to write in (a restore target, drill's scratch
    folder, the demo's folder), which is never the data directory that must stay unchanged."""
    choice = draw(st.sampled_from([*(s for s in SLOTS if not (written and s == "data")), "any", "root"]))
    if usual is not None and draw(st.booleans()):
        choice = usual  # the slot a user would name here, half the time: runs that get far
    if choice == "any":
        return os.fsdecode(draw(ANY_BYTES))
    if choice == "root":
        return draw(st.sampled_from(["/", ".", "..", "//", "/dev/null", "/proc/self/fd/0"]))
    path = box.path(choice)
    return str(path) if draw(st.booleans()) else os.path.relpath(path, box.root)


def value(*choices: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(choices), ANY_BYTES.map(os.fsdecode))


@st.composite
def command_line(draw: st.DrawFn, box: Sandbox) -> list[str]:
    """A verb and its arguments, from the verb's own grammar (with any bytes where a value goes)."""
    p = path_argument(box)
    w = path_argument(box, written=True)
    data, archive = (path_argument(box, usual=slot) for slot in ("data", "archive"))
    out = path_argument(box, written=True, usual="out")
    target = path_argument(box, written=True, usual="target")
    fmt = value("table", "json", "csv")
    verbs: dict[str, tuple[list[st.SearchStrategy[str]], dict[str, st.SearchStrategy[str] | None]]] = {
        "scan": ([data], {"--json": None}),
        "backup": (
            [data, st.just("-o"), out],
            {
                "--dry-run": None,
                "--json": None,
                "--overwrite": None,
                "--created-at": TIMES,
                "--digest": value("blake3", "sha256"),
                "--snapshot": value("20261126T214824Z", "20260101T000000Z"),
            },
        ),
        "verify": ([archive, p], {"--format": fmt}),
        "inspect": ([archive], {"--wal": None, "--documents": None, "--format": fmt}),
        "inventory": ([p], {"--verify": None, "-r": None, "--format": fmt}),
        "restore": (
            [archive, target],
            {"--yes": None, "--create": None, "--json": None, "--to-sequence": value("0", "5"), "--latest": None},
        ),
        "archive-wal": ([data, st.just("-o"), out], {"--json": None, "--digest": value("blake3", "sha256")}),
        "recover": ([target], {"--yes": None, "--action": value("auto", "finish", "rollback"), "--json": None}),
        "drill": ([archive], {"--source": data, "--scratch": w, "--keep": None, "--json": None, "--latest": None}),
        "demo": ([w], {"--records": value("5", "20"), "--snapshots": value("1", "2"), "--json": None}),
    }
    verb = draw(st.sampled_from(sorted(verbs)))
    positionals, options = verbs[verb]
    argv = [verb, *(draw(s) for s in positionals)]
    for option in draw(st.lists(st.sampled_from(sorted(options)), max_size=4, unique=True)):
        strategy = options[option]
        argv += [option] if strategy is None else [option, draw(strategy)]
    if draw(st.integers(0, 9)) == 0:
        argv.append(os.fsdecode(draw(ANY_BYTES)))  # a stray word
    return argv


# --- the property -------------------------------------------------------------------------------


def run(box: Sandbox, argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "aeroops", *argv]
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TMPDIR": str(box.root / "tmp"), **env}
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "HOME"):
        if name in os.environ:
            environment.setdefault(name, os.environ[name])
    try:
        return subprocess.run(
            as_nobody(*command) if AS_NOBODY else command,
            cwd=box.root,
            env=environment,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"aeroops {argv!r} hung (no end within {TIMEOUT} s)")


def assert_one_line_or_success(argv: list[str], done: subprocess.CompletedProcess[bytes]) -> None:
    err = done.stderr.decode("utf-8", "replace")
    shown = f"aeroops {argv!r} → {done.returncode}\nstderr: {err[-2000:]}"
    assert done.returncode in EXIT_STATUSES, shown
    assert "Traceback" not in err, shown
    lines = err.splitlines()
    assert all(LINE.fullmatch(line) for line in lines), shown
    errors = [line for line in lines if line.startswith(("[ERROR]", "[FATAL]"))]
    if done.returncode in (2, 3):
        assert len(errors) == 1, shown
        assert errors[0].startswith("[FATAL]" if done.returncode == 3 else "[ERROR]"), shown
    elif done.returncode == 0:
        assert errors == [], shown


def leftovers(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if LEFTOVER.search(p.name)}


@st.composite
def scenario(draw: st.DrawFn) -> tuple[dict[str, tuple[str, bytes]], list[str], dict[str, str]]:
    """Kinds for the slots and touched paths, a command line, and an environment."""
    box = Sandbox(Path("/sandbox"))  # paths only: the real root is substituted when run
    kinds = {slot: (draw(st.sampled_from(KINDS)), draw(st.binary(max_size=64))) for slot in ("a", "b")}
    touched = sorted(box.touched())
    for name in draw(st.lists(st.sampled_from(touched), max_size=3, unique=True)):
        kinds[name] = (draw(st.sampled_from(KINDS)), draw(st.binary(max_size=64)))
    argv = draw(command_line(box))
    env = {}
    if draw(st.booleans()):
        env["SOURCE_DATE_EPOCH"] = draw(EPOCHS)
    return kinds, argv, env


def realise(box: Sandbox, kinds: dict[str, tuple[str, bytes]]) -> None:
    touched = box.touched()
    for name, (kind, payload) in kinds.items():
        make_kind(touched.get(name, box.path(name)), kind, payload)


SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not RANDOM,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


@pytest.mark.slow
@SETTINGS
@given(scenario())
@example(({"data.journal": ("fifo", b"")}, ["restore", "/sandbox/arch.tar", "/sandbox/data", "--yes"], {}))
@example(({"target.journal": ("fifo", b"")}, ["recover", "/sandbox/target", "--yes"], {}))
@example(({"data.lock": ("fifo", b"")}, ["backup", "/sandbox/data", "-o", "/sandbox/out"], {}))
@example(({"data.lock": ("symlink", b"/sandbox/data/wal/wal.log")}, ["backup", "data", "-o", "out"], {}))
@example(({"target.lock": ("fifo", b"")}, ["restore", "arch.tar", "target"], {}))
@example(({"archive.b3": ("fifo", b"")}, ["inventory", "/sandbox", "--verify"], {}))
@example(({"a": ("unreadable", b"")}, ["inspect", "a"], {}))
@example(({"a": ("unreadable folder", b"")}, ["inventory", "a"], {}))
@example(({"b": ("unreadable folder", b"")}, ["inventory", ".", "-r", "--verify"], {}))
@example(({}, ["backup", "data", "-o", "arch.tar", "--dry-run"], {}))
@example(({}, ["backup", "data", "-o", "out", "--created-at", "0999-01-01T00:00:00Z"], {}))
@example(({}, ["backup", "data", "-o", "out"], {"SOURCE_DATE_EPOCH": "99999999999999999999"}))
@example(({}, ["restore", "arch.tar", "/"], {}))
@example(({}, ["verify", "--format", "xml", "arch.tar"], {}))
def test_every_run_ends_documented_and_leaves_the_data_directory_alone(
    archive: Path, scenario: tuple[dict[str, tuple[str, bytes]], list[str], dict[str, str]]
) -> None:
    kinds, argv, env = scenario
    with sandbox(archive) as box:
        argv = [a.replace("/sandbox", str(box.root)) for a in argv]
        kinds = {
            name: (kind, payload.replace(b"/sandbox", os.fsencode(box.root))) for name, (kind, payload) in kinds.items()
        }
        realise(box, kinds)
        data_before, archive_before = tree_state(box.data), box.archive.read_bytes()
        left_before = leftovers(box.root)
        done = run(box, argv, env)
        event(f"{argv[0]}: exit {done.returncode}")
        assert_one_line_or_success(argv, done)
        assert tree_state(box.data) == data_before, f"aeroops {argv!r} changed the data directory"
        if os.path.lexists(box.archive) and box.archive.is_file() and not box.archive.is_symlink():
            assert box.archive.read_bytes() == archive_before or "--overwrite" in argv
        assert leftovers(box.root) <= left_before, f"aeroops {argv!r} left {leftovers(box.root) - left_before}"
