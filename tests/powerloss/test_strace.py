"""The FileOps seam, proven complete from the outside: a backup and a restore run under
`strace -f`, and every system call that changed the output folder, the data directory or the
restore's folders beside it is one the recorder saw (and every effect the recorder saw, strace
saw too, so the parsing below is not blind). Otherwise the power-loss model would check states
that leave out an effect. The lock files beside the data directories are watched too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.data import TESTS, copy_fixture

SCRIPT = """
import json, sys
sys.path[:0] = [sys.argv[3]]
from pathlib import Path
from powerloss.recorder import RecordingOps
from aeroops.executor.backup import run_backup
from aeroops.executor.restore import restore
world = Path(sys.argv[1])
recorder = RecordingOps(world)
result = run_backup(world / "data", world / "out", ops=recorder)
restore(result.archive, world / "target", ops=recorder)
Path(sys.argv[2]).write_text(json.dumps(sorted(recorder.seen)))
"""
# The system calls that change a file or a folder, and the effect each is.
CHANGES = {
    **dict.fromkeys(("open", "openat", "openat2", "creat", "mknod", "mknodat"), "Create"),
    **dict.fromkeys(("mkdir", "mkdirat"), "Mkdir"),
    **dict.fromkeys(("rename", "renameat", "renameat2"), "Rename"),
    **dict.fromkeys(("link", "linkat"), "Link"),
    **dict.fromkeys(("symlink", "symlinkat"), "Symlink"),
    **dict.fromkeys(("unlink", "unlinkat"), "Unlink"),
    "rmdir": "Rmdir",
    **dict.fromkeys(
        ("write", "pwrite64", "writev", "pwritev", "pwritev2", "copy_file_range", "sendfile", "fallocate"), "Write"
    ),
    **dict.fromkeys(("truncate", "ftruncate"), "Truncate"),
    **dict.fromkeys(("fsync", "fdatasync", "sync_file_range"), "Fsync"),
    **dict.fromkeys(("chmod", "fchmod", "fchmodat", "fchmodat2"), "Chmod"),
    **dict.fromkeys(("chown", "fchown", "lchown", "fchownat"), "Chown"),
    **dict.fromkeys(("utime", "utimes", "utimensat", "futimesat"), "Utime"),
    **dict.fromkeys(("setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr"), "Xattr"),
}
CALL = re.compile(r"^(\w+)\((.*)\)\s+= (\S+)")
FD = re.compile(r"^(?:-?\d+|AT_FDCWD)(?:<(.*)>)?$")


def split_arguments(text: str) -> list[str]:
    """strace's arguments, split at the commas outside strings and brackets."""
    parts, depth, quoted, escaped, start = [], 0, False, False, 0
    for index, char in enumerate(text):
        if quoted:
            escaped, quoted = (not escaped and char == "\\"), quoted and (escaped or char != '"')
        elif char == '"':
            quoted = True
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index].strip())
            start = index + 1
    parts.append(text[start:].strip())
    return parts


def fd_path(argument: str, cwd: str) -> str:
    match = FD.match(argument)
    assert match, argument
    return match.group(1) or cwd  # AT_FDCWD is printed without its path


def string(argument: str) -> str:
    assert argument.startswith('"') and argument.endswith('"'), argument
    return argument[1:-1].encode().decode("unicode_escape")


def at(folder: str, name: str) -> str:
    return os.path.normpath(os.path.join(folder, name))


def effect_of(name: str, args: list[str], result: str, cwd: str) -> tuple[str, ...] | None:
    """The effect a successful system call had, as (effect, path[, target]); None: no change."""
    kind = CHANGES[name]
    if kind == "Create":
        flags = args[1] if name == "open" else args[2]
        if name in ("open", "openat", "openat2") and "O_CREAT" not in flags and "O_TMPFILE" not in flags:
            return None
        return (kind, fd_path(result, cwd))
    if kind in ("Rename", "Link"):
        if name in ("rename", "link"):
            return (kind, at(cwd, string(args[0])), at(cwd, string(args[1])))
        return (kind, at(fd_path(args[0], cwd), string(args[1])), at(fd_path(args[2], cwd), string(args[3])))
    if kind in ("Mkdir", "Unlink", "Rmdir", "Symlink") or name in ("chmod", "chown", "lchown", "utime", "utimes"):
        if name in ("mkdir", "unlink", "rmdir", "chmod", "chown", "lchown", "utime", "utimes", "symlink"):
            path = at(cwd, string(args[-1] if name == "symlink" else args[0]))
        else:
            folder, name_arg = (args[1], args[2]) if name == "symlinkat" else (args[0], args[1])
            path = at(fd_path(folder, cwd), string(name_arg))
        if name == "unlinkat" and "AT_REMOVEDIR" in args[2]:
            kind = "Rmdir"
        return (kind, path)
    if name in ("fchmodat", "fchmodat2", "fchownat", "utimensat", "futimesat") and args[1] != "NULL":
        return (kind, at(fd_path(args[0], cwd), string(args[1])))
    target = args[2] if name == "copy_file_range" else args[0]
    return (kind, fd_path(target, cwd))


def traced_effects(trace_files: list[Path], cwd: str) -> set[tuple[str, ...]]:
    found = set()
    for trace in trace_files:
        for line in trace.read_text(errors="replace").splitlines():
            match = CALL.match(line)
            if match and match.group(1) in CHANGES:
                effect = effect_of(match.group(1), split_arguments(match.group(2)), match.group(3), cwd)
                if effect is not None:
                    found.add(effect)
    return found


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace (.ci/run installs it)")
def test_every_change_a_backup_and_a_restore_make_went_through_fileops(tmp_path: Path) -> None:
    world = tmp_path / "world"
    world.mkdir()
    copy_fixture("datadir-1000", world / "data")
    copy_fixture("datadir-nowal", world / "target")
    (world / "out").mkdir()
    seen_file = tmp_path / "seen.json"
    calls = ",".join(f"?{name}" for name in CHANGES)  # "?": a call this kernel lacks is no error
    strace = ["strace", "-f", "-ff", "-z", "-y", "-qq", "-s", "4096", "-o", tmp_path / "trace", "-e", f"trace={calls}"]
    subprocess.run(
        [*strace, sys.executable, "-c", SCRIPT, world, seen_file, TESTS],
        cwd=tmp_path,
        check=True,
        timeout=300,
    )
    seen = [tuple(effect) for effect in json.loads(seen_file.read_text())]
    recorded = {("Fsync" if e[0] == "FsyncDir" else e[0], *e[1:]) for e in seen}  # strace cannot tell them apart
    traced = traced_effects(sorted(tmp_path.glob("trace.*")), str(tmp_path))
    watched = {e for e in traced if any(p.startswith(f"{world}/") for p in e[1:])}
    assert recorded - traced == set(), "the recorder saw effects strace did not: the trace parsing is off"
    assert watched - recorded == set(), "these changes bypassed FileOps"
    assert len(recorded) > 50  # creates, writes, fsyncs, renames, links, unlinks of both runs
