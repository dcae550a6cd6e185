"""Inventory of a backup folder in object storage: one listing, then the head of every archive
read by ranged GETs, many at once; verification one archive after another, or spread over a
Dask cluster (`aeroops.executor.dask_verify`, imported only then)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aeroops.core.verify_report import VerifyReport
from aeroops.errors import Code, FormatError, RemoteError, UsageError
from aeroops.executor import log
from aeroops.formats.manifests import BackupManifest
from aeroops.formats.sidecar import ALGORITHMS, SUFFIXES
from aeroops.progress import Progress, ProgressCallback

if TYPE_CHECKING:
    from aeroops.core.inventory import Inventory, InventoryRow
    from aeroops.executor.objectstore import ObjectInfo, ObjectStore

ARCHIVE_SUFFIX = ".tar"
HEAD_CHUNK = 64 << 10  # one ranged GET holds the backup manifest of any archive aeroops writes


def remote_inventory(
    folder: str,
    *,
    recursive: bool = False,
    verify: bool = False,
    progress: ProgressCallback | None = None,
    now: datetime | None = None,
    dask: str | None = None,
    verify_one: Callable[[str], VerifyReport],
) -> Inventory:
    """`aeroops.executor.audit.inventory` for a folder URL (``s3://bucket/prefix/``);
    ``verify_one`` verifies one archive (audit's `verify_archive`, which imports this module)."""
    from aeroops.core.inventory import Inventory
    from aeroops.executor.objectstore import read_heads, store_for

    store = store_for(folder)
    taken_at = (now or datetime.now(UTC).replace(microsecond=0)).astimezone(UTC)
    root = folder if folder.endswith("/") else folder + "/"
    try:
        objects = store.list(root, recursive=recursive)
    except RemoteError as error:
        raise UsageError(f"cannot list the backup folder: {error.message}", path=None) from None
    names = {info.url for info in objects}
    archives = [info for info in objects if info.url.endswith(ARCHIVE_SUFFIX)]

    def row(info: ObjectInfo) -> InventoryRow:
        return _row(store, root, info, names, taken_at)

    rows = read_heads(store, archives, row)
    if verify:
        reports = _verify_all([info.url for info in archives], progress, dask, verify_one)
        rows = [_with_report(r, reports[info.url]) for r, info in zip(rows, archives, strict=True)]
    return Inventory(root, tuple(rows), taken_at, verified=verify, recursive=recursive)


def _sidecar_kind(url: str, names: set[str]) -> str | None:
    for algorithm in ALGORITHMS:
        if url + SUFFIXES[algorithm] in names:
            return SUFFIXES[algorithm].lstrip(".")
    return None


def _row(store: ObjectStore, root: str, info: ObjectInfo, names: set[str], now: datetime) -> InventoryRow:
    from aeroops.core.inventory import inventory_row, read_leading_manifest

    name = info.url[len(root) :]
    sidecar = _sidecar_kind(info.url, names)
    modified = info.modified.astimezone(UTC).replace(microsecond=0) if info.modified else None
    manifest: BackupManifest | str
    try:
        with store.open_read(info.url, info.size, chunk=HEAD_CHUNK, read_ahead=0) as stream:
            manifest = read_leading_manifest(stream, name=name)
    except OSError as error:
        return inventory_row(name, None, None, f"cannot read: {error.strerror or error}", now, sidecar=sidecar)
    except FormatError as error:
        manifest = f"{error.code}: {error.message}"
    except Exception as error:  # one object never stops the audit of a bucket
        log.exception("inventory of %s failed inside aeroops", info.url)
        manifest = f"{Code.VERIFY_INTERNAL}: aeroops failed while reading this archive ({type(error).__name__})"
    return inventory_row(name, info.size, modified, manifest, now, sidecar=sidecar)


def _with_report(row: InventoryRow, report: VerifyReport) -> InventoryRow:
    from aeroops.core.inventory import with_verdict

    return with_verdict(row, report)


def _verify_all(
    urls: list[str], progress: ProgressCallback | None, dask: str | None, verify_one: Callable[[str], VerifyReport]
) -> dict[str, VerifyReport]:
    if dask is not None:
        from aeroops.executor.dask_verify import verify_on_cluster

        return verify_on_cluster(urls, dask, verify_one, progress=progress)
    reports: dict[str, VerifyReport] = {}
    for index, url in enumerate(urls, start=1):
        step = None
        if progress is not None:
            step = _step_progress(progress, url, index, len(urls))
        reports[url] = verify_one(url, progress=step)  # type: ignore[call-arg]
    return reports


def _step_progress(progress: ProgressCallback, url: str, index: int, count: int) -> ProgressCallback:
    def report(event: Progress) -> None:
        progress(replace(event, job="inventory", step=f"verify {url}", step_index=index, step_count=count))

    return report
