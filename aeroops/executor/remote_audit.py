"""Inventory of a backup folder in object storage: one listing, then the head of every archive
read by ranged GETs, many at once; verification one archive after another, or spread over a
Dask cluster (`aeroops.executor.dask_verify`, imported only then)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aeroops.core.verify_report import VerifyReport
from aeroops.errors import Code, Finding, FormatError, RemoteError, UsageError
from aeroops.executor import log
from aeroops.executor.location import url_name
from aeroops.formats.layers import ARCHIVE_SUFFIXES, describe
from aeroops.formats.manifests import BackupManifest
from aeroops.formats.record import LIMIT as RECORD_LIMIT
from aeroops.formats.record import SUFFIX as RECORD_SUFFIX
from aeroops.formats.record import ArchiveRecord, parse_record
from aeroops.formats.sidecar import ALGORITHMS, SUFFIXES, parse_sidecar, split_digest
from aeroops.hashing import digest_of
from aeroops.progress import Progress, ProgressCallback

if TYPE_CHECKING:
    from aeroops.core.inventory import Inventory, InventoryRow
    from aeroops.executor.objectstore import ObjectInfo, ObjectStore

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
    archives = [info for info in objects if info.url.endswith(ARCHIVE_SUFFIXES)]

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
    from aeroops.core.inventory import inventory_row

    base = store.path(root).rstrip("/") + "/"
    name = store.path(info.url)[len(base) :] if store.path(info.url).startswith(base) else info.url
    sidecar = _sidecar_kind(info.url, names)
    modified = info.modified.astimezone(UTC).replace(microsecond=0) if info.modified else None
    manifest: BackupManifest | str
    layers: tuple[str, ...] = ()
    plain_size: int | None = None
    try:
        manifest, layers, plain_size = _leading_manifest(store, info, name)
    except OSError as error:
        return inventory_row(name, None, None, f"cannot read: {error.strerror or error}", now, sidecar=sidecar)
    except FormatError as error:
        manifest = f"{error.code}: {error.message}"
    except Exception as error:  # one object never stops the audit of a bucket
        log.exception("inventory of %s failed inside aeroops", info.url)
        manifest = f"{Code.VERIFY_INTERNAL}: aeroops failed while reading this archive ({type(error).__name__})"
    return inventory_row(
        name,
        info.size,
        modified,
        manifest,
        now,
        sidecar=sidecar,
        layers=describe(layers) if layers or not isinstance(manifest, str) else None,
        plain_size=plain_size,
    )


def _leading_manifest(
    store: ObjectStore, info: ObjectInfo, name: str
) -> tuple[BackupManifest, tuple[str, ...], int | None]:
    """`aeroops.core.inventory.leading_manifest` of an object, as the local inventory reads it
    (no identity here)."""
    from aeroops.core.inventory import leading_manifest

    def record() -> ArchiveRecord:
        return read_remote_record(info.url, read_remote_sidecar(info.url)[0])

    with store.open_read(info.url, info.size, chunk=HEAD_CHUNK, read_ahead=0) as stream:
        return leading_manifest(stream, file_name=name.rsplit("/", 1)[-1], name=name, decrypt=None, record=record)


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


SIDECAR_LIMIT = 64 << 10  # as aeroops.executor.audit reads a sidecar


def read_remote_sidecar(url: str) -> tuple[str | None, tuple[Finding, ...]]:
    """`aeroops.executor.audit.read_sidecar` for an archive in object storage: the sidecar object
    beside it (``.b3``, then ``.sha256``); (None, ()) when there is none."""
    from aeroops.executor.objectstore import store_for

    store = store_for(url)
    for algorithm in ALGORITHMS:
        raw = store.read_small(url + SUFFIXES[algorithm], SIDECAR_LIMIT)
        if raw is None:
            continue
        name = url_name(url) + SUFFIXES[algorithm]
        try:
            return parse_sidecar(raw.decode("utf-8", "replace"), archive_name=url_name(url), algorithm=algorithm), ()
        except FormatError as error:
            return None, (Finding.of(Code.VERIFY_SIDECAR, f"{name}: {error.message}"),)
    return None, ()


def read_remote_record(url: str, sidecar: str | None) -> ArchiveRecord:
    """`aeroops.executor.audit.read_record` for an archive in object storage."""
    from aeroops.executor.objectstore import store_for

    store = store_for(url)
    name = url_name(url) + RECORD_SUFFIX
    data = store.read_small(url + RECORD_SUFFIX, RECORD_LIMIT + 1)
    if data is None:
        raise FormatError(f"no usable record beside the archive ({name}: no such object)", code=Code.LAYER_RECORD)
    if sidecar is not None:
        algorithm = split_digest(sidecar)[0]
        text = (store.read_small(url + SUFFIXES[algorithm], SIDECAR_LIMIT) or b"").decode("utf-8", "replace")
        try:
            listed = parse_sidecar(text, archive_name=name, algorithm=algorithm)
        except FormatError:
            raise FormatError(f"the sidecar does not list the record {name}", code=Code.LAYER_RECORD) from None
        if digest_of(algorithm, data) != listed:
            raise FormatError(f"the record {name} differs from its sidecar's digest", code=Code.LAYER_RECORD)
    return parse_record(data, path=name)
