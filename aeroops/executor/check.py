"""``aeroops check``'s effects: find the newest archive that verifies clean, reading as little as
it can, and write the figures for Prometheus' node_exporter textfile collector.

Archives are verified newest first until one passes (`aeroops.core.newest_good.
verification_order`); older ones are only read for their manifest. What the figures mean is
decided by `aeroops.core.newest_good.assess_freshness`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from aeroops.core.inventory import Inventory, with_verdict
from aeroops.core.newest_good import Freshness, assess_freshness, newest_good, verification_order
from aeroops.core.retention import Duration
from aeroops.errors import OutputError, UsageError
from aeroops.executor.audit import in_folder, inventory, verify_archive
from aeroops.executor.fileops import FileOps, not_a_file, not_a_folder
from aeroops.executor.keys import IdentityFiles
from aeroops.executor.location import local_path
from aeroops.progress import ProgressCallback


def verify_until_good(
    folder: str | os.PathLike[str],
    *,
    recursive: bool = False,
    now: datetime | None = None,
    progress: ProgressCallback | None = None,
    identities: IdentityFiles | None = None,
    ops: FileOps,
) -> Inventory:
    """The folder's inventory, with verdicts for the newest archives down to the first one that
    verifies clean (the rows of older archives stay unverified). Encrypted archives without
    ``identities`` are judged by their stored bytes and records (see README)."""
    found = inventory(folder, recursive=recursive, now=now, identities=identities, ops=ops)
    verdicts = {}
    for row in verification_order(found.rows):
        report = verify_archive(in_folder(found.folder, row.file), progress=progress, identities=identities, ops=ops)
        verdicts[row.file] = with_verdict(row, report)
        if report.ok:
            break
    rows = tuple(verdicts.get(row.file, row) for row in found.rows)
    return Inventory(found.folder, rows, found.taken_at, verified=False, recursive=recursive)


def newest_good_archive(folder: str | os.PathLike[str], *, recursive: bool = False, ops: FileOps) -> Path | str:
    """The newest archive in ``folder`` that verifies clean (verifying newest first until one
    passes): the archive a restore uses by default. Raises `UsageError` when none does."""
    found = verify_until_good(folder, recursive=recursive, ops=ops)
    newest = newest_good(found.rows).overall
    if newest is None:
        raise UsageError(f"no archive in {found.folder} verifies clean", path=found.folder)
    return in_folder(found.folder, newest.file)


def check(
    folder: str | os.PathLike[str],
    max_age: Duration,
    *,
    recursive: bool = False,
    now: datetime | None = None,
    progress: ProgressCallback | None = None,
    identities: IdentityFiles | None = None,
    ops: FileOps,
) -> Freshness:
    """Is the newest archive that verifies clean younger than ``max_age``?"""
    taken_at = (now or datetime.now(UTC).replace(microsecond=0)).astimezone(UTC)
    found = verify_until_good(
        folder, recursive=recursive, now=taken_at, progress=progress, identities=identities, ops=ops
    )
    return assess_freshness(found.rows, max_age, taken_at)


def write_text_file(path: str | os.PathLike[str], data: bytes, ops: FileOps) -> None:
    """Replace ``path`` with ``data`` whole: a temporary file beside it (a name node_exporter's
    textfile collector skips: it reads only ``*.prom``), fsynced, renamed over it, the folder
    fsynced. A reader sees the old file or the new one, never a part."""
    target = local_path(path, "the metrics file")
    if not ops.is_dir(target.parent):
        raise UsageError(f"the folder for the metrics file {not_a_folder(target.parent, ops)}", path=target.parent)
    if (why := not_a_file(target, ops)) is not None:
        raise UsageError(f"the metrics file {why}", path=target)
    temporary = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
    try:
        with ops.create(temporary, 0o644) as stream:
            ops.write(stream, data)
            ops.fsync(stream)
        ops.rename(temporary, target)
        ops.fsync_path(target.parent)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            ops.remove(temporary)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write the metrics file: {exc.strerror or exc}", path=target) from None
        raise
