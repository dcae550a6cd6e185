"""Prune a backup folder by a retention policy: the effects around `aeroops.core.retention`.

A dry run (the default) only reads. With ``yes``, it holds an exclusive lock on the folder (no
backup writes into it and no second prune runs meanwhile: backups hold the same lock shared),
takes the inventory under the lock, verifying every archive unless told to trust the inventory,
plans, and removes each archive the plan removes, then its sidecars, through FileOps; then
fsyncs the folder. An archive goes before its sidecar: a prune stopped in between leaves at
worst a sidecar without its archive, never an archive that looks unchecked.
"""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

from aeroops.core.results import PruneResult
from aeroops.core.retention import Policy, RetentionPlan, SegmentDecision, plan_retention, plan_segment_retention
from aeroops.errors import PruneError, PruneIOError, RemoteError, io_error
from aeroops.executor import log
from aeroops.executor.archive_wal import list_segments
from aeroops.executor.audit import inventory
from aeroops.executor.fileops import FileOps, failed_operation
from aeroops.executor.keys import IdentityFiles
from aeroops.executor.location import is_url, url_join, url_name
from aeroops.executor.lock import FolderLock, writable_folder
from aeroops.formats.layers import layers_of_name
from aeroops.formats.record import SUFFIX as RECORD_SUFFIX
from aeroops.formats.record import record_path
from aeroops.formats.sidecar import ALGORITHMS, SUFFIXES, sidecar_path
from aeroops.progress import ProgressCallback


def prune(
    folder: str | os.PathLike[str],
    policy: Policy,
    *,
    yes: bool = False,
    verify: bool = True,
    recursive: bool = False,
    now: datetime | None = None,
    expect: frozenset[str] | None = None,
    progress: ProgressCallback | None = None,
    ops: FileOps,
    identities: IdentityFiles | None = None,
) -> PruneResult:
    """Plan (and with ``yes``, carry out) the removals ``policy`` asks for in ``folder``.
    Encrypted archives without ``identities`` are judged by their stored bytes and records.

    verify: verify every archive first, so that a damaged one never counts toward a keep rule;
    False trusts the inventory (unverified archives count). expect: the files a plan shown
    before would remove (a panel's confirmation); the removal is refused if the plan made under
    the lock would remove any other. Raises `PruneError` when another
    backup or prune holds the folder, `PruneIOError` when a removal fails (what was removed
    before stays removed; the result of a new dry run shows what is left)."""
    taken_at = (now or datetime.now(UTC).replace(microsecond=0)).astimezone(UTC)
    if is_url(folder):
        return _prune_remote(str(folder), policy, yes, verify, recursive, taken_at, expect, progress, ops)
    root = Path(folder)
    if not yes:
        found = inventory(
            root, recursive=recursive, verify=verify, progress=progress, now=taken_at, identities=identities, ops=ops
        )
        plan = plan_retention(found.rows, policy, taken_at)
        segments = _segment_plan(root, plan, ops)
        return PruneResult(
            str(root), plan, found, dry_run=True, refusal=removal_refusal(root, plan, ops), segments=segments
        )
    with FolderLock(root, PruneError, exclusive=True, ops=ops):
        found = inventory(
            root, recursive=recursive, verify=verify, progress=progress, now=taken_at, identities=identities, ops=ops
        )
        plan = plan_retention(found.rows, policy, taken_at)
        refusal = removal_refusal(root, plan, ops)
        if refusal is not None:
            raise PruneError(f"{refusal}; nothing was removed", path=root)
        unexpected = sorted({d.file for d in plan.removed} - expect) if expect is not None else []
        if unexpected:
            raise PruneError(
                f"the folder changed since the plan was shown: it would now also remove {', '.join(unexpected)}; "
                "plan again",
                path=root,
            )
        removed: list[str] = []
        try:
            for decision in plan.removed:
                archive = root / decision.file
                ops.remove(archive)
                removed.append(decision.file)
                for sidecar in (*(sidecar_path(archive, a) for a in ALGORITHMS), record_path(archive)):
                    if sidecar.suffix == ".json" and not layers_of_name(archive.name):
                        continue  # a plain archive has no record: a .json beside it is not ours
                    try:
                        ops.remove(sidecar)
                    except FileNotFoundError:
                        continue
                    removed.append(sidecar.relative_to(root).as_posix())
            segments = _segment_plan(root, plan, ops)
            for segment in segments:
                if not segment.keep:
                    # the segment before its sidecar, as an archive before its own
                    for name in (segment.file, *(segment.file + s for s in SUFFIXES.values())):
                        try:
                            ops.remove(root / name)
                        except FileNotFoundError:
                            continue
                        removed.append(name)
            for parent in sorted({(root / d.file).parent for d in plan.removed} | {root}):
                ops.fsync_path(parent)
        except OSError as error:
            log.warning("prune stopped after removing %d files: %s", len(removed), error)
            failed = io_error(PruneIOError, error, failed_operation(error))
            failed.message += f" ({len(removed)} files removed before it; a dry run shows what is left)"
            raise failed from error
    return PruneResult(str(root), plan, found, dry_run=False, removed=tuple(removed), segments=segments)


def _segment_plan(root: Path, plan: RetentionPlan, ops: FileOps) -> tuple[SegmentDecision, ...]:
    """The segment-chain rule over the folder's WAL segments (`plan_segment_retention`)."""
    found = list_segments(root, ops)
    return plan_segment_retention(plan, ((s.name.file_name, s.name.timeline, s.name.first, s.name.last) for s in found))


def _prune_remote(
    folder: str,
    policy: Policy,
    yes: bool,
    verify: bool,
    recursive: bool,
    taken_at: datetime,
    expect: frozenset[str] | None,
    progress: ProgressCallback | None,
    ops: FileOps,
) -> PruneResult:
    """`prune` of a folder in object storage. A bucket has no lock: the plan is made again
    right before removing, and only what it names goes (each archive, then its sidecars); a
    backup racing the prune adds an archive the plan never saw, which stays."""
    from aeroops.executor.objectstore import store_for

    found = inventory(folder, recursive=recursive, verify=verify, progress=progress, now=taken_at, ops=ops)
    plan = plan_retention(found.rows, policy, taken_at)
    segments = _remote_segment_plan(found.folder, plan)
    if not yes:
        return PruneResult(found.folder, plan, found, dry_run=True, refusal=None, segments=segments)
    unexpected = sorted({d.file for d in plan.removed} - expect) if expect is not None else []
    if unexpected:
        raise PruneError(
            f"the folder changed since the plan was shown: it would now also remove {', '.join(unexpected)}; plan again"
        )
    store = store_for(folder)
    removed: list[str] = []
    try:
        for decision in plan.removed:
            archive = url_join(found.folder, decision.file)
            store.remove(archive)
            removed.append(decision.file)
            beside = [SUFFIXES[algorithm] for algorithm in ALGORITHMS]
            if layers_of_name(decision.file):
                beside.append(RECORD_SUFFIX)  # a layered archive's record
            for suffix in beside:
                if store.info(archive + suffix) is not None:
                    store.remove(archive + suffix)
                    removed.append(decision.file + suffix)
        # The segment chain planned again on a fresh listing, after the archives went (as locally)
        segments = _remote_segment_plan(found.folder, plan)
        listed = {url_name(info.url) for info in store.list(found.folder, recursive=False)}
        for segment in segments:
            if not segment.keep:
                # the segment before its sidecar, as an archive before its own
                for name in (segment.file, *(segment.file + s for s in SUFFIXES.values())):
                    if name in listed:
                        store.remove(url_join(found.folder, name))
                        removed.append(name)
    except RemoteError as error:
        log.warning("prune stopped after removing %d objects: %s", len(removed), error.message)
        error.message += f" ({len(removed)} objects removed before it; a dry run shows what is left)"
        raise
    return PruneResult(found.folder, plan, found, dry_run=False, removed=tuple(removed), segments=segments)


def _remote_segment_plan(folder: str, plan: RetentionPlan) -> tuple[SegmentDecision, ...]:
    """`_segment_plan` of a folder URL."""
    from aeroops.executor.remote_wal import list_remote_segments

    found = list_remote_segments(folder)
    return plan_segment_retention(plan, ((s.name.file_name, s.name.timeline, s.name.first, s.name.last) for s in found))


def removal_refusal(root: Path, plan: RetentionPlan, ops: FileOps) -> str | None:
    """Why removing what ``plan`` removes would fail for this user, asked before the first
    removal (the dry run asks it too, so it never promises what the real run cannot do), or
    None. Removing a file takes write permission on its folder, and in a sticky folder (like
    /tmp) owning the file or the folder."""
    user = os.geteuid()
    by_folder: dict[Path, list[Path]] = {}
    for decision in plan.removed:
        path = root / decision.file
        by_folder.setdefault(path.parent, []).append(path)
    for folder, paths in sorted(by_folder.items()):
        if not writable_folder(folder, ops):
            return f"cannot remove archives from {folder}: permission denied (you cannot write in that folder)"
        try:
            owner = ops.stat(folder)
            if owner.st_mode & stat.S_ISVTX and user not in (0, owner.st_uid):
                for path in paths:
                    if ops.lstat(path).st_uid != user:
                        return (
                            f"cannot remove {path.relative_to(root)}: permission denied ({folder} is sticky and "
                            "the archive belongs to another user)"
                        )
        except OSError as error:
            return f"cannot look at {error.filename}: {error.strerror}"
    return None
