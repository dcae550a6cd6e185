"""The FileOps seam itself: the fault suites reach every one of its operations, no effect in
aeroops bypasses it, its no-replace rename cannot replace, and its durable-write primitives."""

from __future__ import annotations

import errno
import inspect
import re
from pathlib import Path

import pytest
from helpers.faults import OPERATIONS, CountingOps, FailingOps, HookedOps

from aeroops.errors import BackupError
from aeroops.executor import fileops
from aeroops.executor.fileops import REAL, FileOps, save_file
from aeroops.executor.lock import DirectoryLock

AEROOPS = Path(fileops.__file__).parent.parent

# A file-system effect spelled out directly: what only aeroops/executor/fileops.py may do.
EFFECT = re.compile(
    r"\bos\.(rename|replace|chmod|fchmod|lchown|chown|fchown|unlink|remove|rmdir|mkdir|makedirs|link|symlink"
    r"|fsync|fdatasync|truncate|ftruncate|write|utime|posix_fadvise|copy_file_range|sendfile)\("
    r"|\bos\.open\([^)]*O_(WRONLY|RDWR|CREAT)"
    r"|\bshutil\.(rmtree|copy\w*|move)\("
    r"|\btempfile\.(mkdtemp|mkstemp|TemporaryDirectory|NamedTemporaryFile)\("
    r"|\bfcntl\.(flock|lockf)\("
    r"|\bopen\([^)]*[\"'][rwxa]*[wxa+][rwxab+]*[\"']"
    r"|(?<!ops)\.(write_text|write_bytes|unlink|mkdir|rmdir|touch|chmod|symlink_to|hardlink_to)\("
)
# Not the executor's: the benchmark that times the executor (its files are scratch, made before
# and removed after what is measured).
OUTSIDE_THE_SEAM = {"bench.py"}
# Lines the pattern matches that have no effect on a disk.
NOT_EFFECTS = {
    # --quiet points stdout at /dev/null
    ("cli/main.py", "os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())"),
    # a closed standard stream reopened on /dev/null, and standard output written
    ("cli/main.py", "null = os.open(os.devnull, os.O_RDWR)"),
    ("cli/main.py", "return os.write(self._fd, data)"),
    # an object in object storage through fsspec (executor/objectstore.py is the seam for URLs), not the disk
    ("executor/objectstore.py", 'self._stream = store.fs.open(self._temp, "wb")'),
    # a file object over the lock file's descriptor, for FileOps.truncate and .write
    ("executor/lock.py", 'with open(fd, "r+b", buffering=0, closefd=False) as holder:'),
    # the pipes to and from the child that decrypts an age layer
    ("executor/age_layer.py", "view = view[os.write(fd, view) :]"),
}


def public_methods(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, inspect.isfunction) if not name.startswith("_")}


def test_the_fault_list_is_every_operation_of_the_seam() -> None:
    assert set(OPERATIONS) == public_methods(FileOps)
    assert len(OPERATIONS) == len(set(OPERATIONS))
    assert "drop_cached" in OPERATIONS  # the one the hand-written list missed
    for name in OPERATIONS:  # and each is hooked: a fault can be injected there
        assert vars(HookedOps)[name] is not vars(FileOps)[name], name


def test_every_operation_is_counted_when_called(tmp_path: Path) -> None:
    ops = CountingOps()
    folder = tmp_path / "f"
    ops.mkdir(folder)
    with ops.create(folder / "a") as stream:
        ops.write(stream, b"x")
        ops.fsync(stream)
    ops.rename_noreplace(folder / "a", folder / "b")
    ops.remove(folder / "b")
    ops.rmdir(folder)
    assert ops.calls == ["mkdir", "create", "write", "fsync", "rename_noreplace", "remove", "rmdir"]


def test_no_effect_in_aeroops_bypasses_the_seam() -> None:
    found = []
    for path in sorted(AEROOPS.rglob("*.py")):
        name = path.relative_to(AEROOPS).as_posix()
        if name in OUTSIDE_THE_SEAM or name == "executor/fileops.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            code = line.split("#", 1)[0]
            if EFFECT.search(code) and (name, line.strip()) not in NOT_EFFECTS:
                found.append(f"{name}:{number}: {line.strip()}")
    assert found == []


# A read of the file system spelled out directly: also only aeroops/executor/fileops.py's (a test
# must be able to fail any read: EIO, a short read, a file gone between the listing and the open).
# A DirEntry's own is_dir/is_file/is_symlink come with the listing (`FileOps.scandir`).
READ = re.compile(
    r"\bos\.(stat|lstat|fstat|scandir|listdir|walk|access|pread|read|readlink)\("
    r"|\bos\.path\.(exists|lexists|isdir|isfile|islink|getsize|getmtime|realpath|samefile)\("
    r"|\bos\.open\("
    r"|(?<![\w.])open\([^)]*[\"']rb?[\"']"
    r"|(?<!ops)(?<!REAL)(?<!fs)(?<!entry)(?<!\be)\.(read_bytes|read_text|stat|lstat|exists|is_dir|is_file|is_symlink|iterdir|r?glob"
    r"|resolve|samefile)\("
)
# Reads that are not of the data, backups or folders aeroops works on.
NOT_READS = {
    # --quiet points stdout at /dev/null; a closed standard stream is reopened on /dev/null
    ("cli/main.py", "os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())"),
    ("cli/main.py", "null = os.open(os.devnull, os.O_RDWR)"),
    ("cli/main.py", "os.fstat(fd)"),  # is a standard stream open at all
    # where aeroops itself is installed (the demo's WAL writer process imports it from there)
    ("demo/datadir.py", "package_root = str(Path(__file__).resolve().parent.parent.parent)"),
    # the pipes to and from the child that decrypts an age layer
    ("executor/age_layer.py", "return os.read(self._fd, n if n > 0 else _PIPE)"),
    ("executor/age_layer.py", "while chunk := os.read(self._report, 1 << 16):"),
    ("executor/age_layer.py", "data = os.read(self._plain, _PIPE if n < 0 else min(n - got, _PIPE))"),
}


def test_no_read_in_aeroops_bypasses_the_seam() -> None:
    found = []
    for path in sorted(AEROOPS.rglob("*.py")):
        name = path.relative_to(AEROOPS).as_posix()
        if name in OUTSIDE_THE_SEAM or name == "executor/fileops.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            code = line.split("#", 1)[0]
            if READ.search(code) and (name, line.strip().split("  #")[0]) not in NOT_READS:
                found.append(f"{name}:{number}: {line.strip()}")
    assert found == []


def test_the_read_pattern_catches_what_it_should() -> None:
    for line in (
        "os.stat(path)",
        "os.scandir(root)",
        "os.walk(root)",
        "os.path.lexists(p)",
        "os.path.realpath(p)",
        'open(p, "rb")',
        "path.is_dir()",
        "Path(x).stat().st_size",
        "root.resolve()",
        "p.read_bytes()",
    ):
        assert READ.search(line), line
    for line in ("ops.stat(path)", "entry.is_dir(follow_symlinks=False)", "ops.is_file(p)", "os.path.join(a, b)"):
        assert not READ.search(line), line


def test_the_effect_pattern_catches_what_it_should() -> None:
    for line in (
        "os.rename(a, b)",
        "os.open(p, os.O_RDWR | os.O_CREAT)",
        "shutil.rmtree(p, ignore_errors=True)",
        "tempfile.mkdtemp(prefix=x)",
        "fcntl.flock(fd, fcntl.LOCK_EX)",
        'open(p, "wb")',
        "path.write_bytes(b)",
    ):
        assert EFFECT.search(line), line
    for line in ('open(p, "rb")', "os.open(p, os.O_RDONLY)", "os.path.lexists(p)", "datetime.replace(tzinfo=UTC)"):
        assert not EFFECT.search(line), line


# --- rename_noreplace -------------------------------------------------------------------------


def entries(tmp_path: Path, *, folders: bool) -> tuple[Path, Path]:
    source, target = tmp_path / "source", tmp_path / "target"
    if folders:
        source.mkdir()
        (source / "new").write_bytes(b"new")
        target.mkdir()
        (target / "old").write_bytes(b"old")
    else:
        source.write_bytes(b"new")
        target.write_bytes(b"old")
    return source, target


@pytest.mark.parametrize("folders", [False, True], ids=["files", "folders"])
def test_rename_noreplace_never_replaces_even_when_the_target_appears_after_a_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folders: bool
) -> None:
    source, target = entries(tmp_path, folders=folders)
    # As if the target appeared just after a look: a check-then-rename would replace it.
    monkeypatch.setattr(fileops.os.path, "lexists", lambda path: False)
    with pytest.raises(FileExistsError):
        FileOps().rename_noreplace(source, target)
    assert source.exists()
    assert (target / "old").exists() if folders else target.read_bytes() == b"old"


def test_rename_noreplace_without_renameat2_links_then_unlinks_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(source: Path, target: Path) -> None:
        raise OSError(errno.ENOSYS, "no renameat2")

    monkeypatch.setattr(fileops, "_renameat2_noreplace", unsupported)
    source, target = entries(tmp_path, folders=False)
    monkeypatch.setattr(fileops.os.path, "lexists", lambda path: False)
    with pytest.raises(FileExistsError):
        FileOps().rename_noreplace(source, target)
    assert source.read_bytes() == b"new" and target.read_bytes() == b"old"
    target.unlink()
    FileOps().rename_noreplace(source, target)
    assert not source.exists() and target.read_bytes() == b"new"


def test_rename_noreplace_moves_a_folder(tmp_path: Path) -> None:
    source, _ = entries(tmp_path, folders=True)
    FileOps().rename_noreplace(source, tmp_path / "moved")
    assert (tmp_path / "moved" / "new").read_bytes() == b"new" and not source.exists()


# --- durable writes, locks -------------------------------------------------------------------


def test_save_file_writes_whole_durably_and_replaces(tmp_path: Path) -> None:
    ops = CountingOps()
    path = tmp_path / "journal"
    path.write_bytes(b"old")
    save_file(ops, path, b"new", tmp=tmp_path / "journal.tmp", written="journal written")
    assert path.read_bytes() == b"new" and not (tmp_path / "journal.tmp").exists()
    assert ops.calls == ["create", "write", "fsync", "crash_point", "rename", "fsync_path"]


def test_save_file_that_fails_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "journal"
    path.write_bytes(b"old")
    with pytest.raises(OSError):
        save_file(FailingOps("fsync", errno.EIO), path, b"new", tmp=tmp_path / "journal.tmp")
    assert path.read_bytes() == b"old"


def test_a_lock_file_that_cannot_be_written_is_refused_and_releases_the_lock(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(BackupError, match="cannot write the lock file"):
        DirectoryLock(data, BackupError, "backup", FailingOps("write", errno.ENOSPC)).acquire()
    with DirectoryLock(data, BackupError, "backup", REAL):  # nothing is left holding it
        pass
