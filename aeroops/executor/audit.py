"""The file-system side of verify, inspect and inventory: open files, read sidecars, walk
folders. Everything it decides is decided by `aeroops.core`; nothing here writes to disk.

A sidecar is ``<archive>.b3`` (BLAKE3, ``b3sum`` format) or ``<archive>.sha256`` (SHA-256,
``sha256sum`` format) beside the archive, one line ``<64 hex>  <basename>``; the first found, in
that order, counts. Where present, verification compares it with a digest of every byte of the
archive in the sidecar's own algorithm, which catches even the changes that leave the archive's
meaning intact. See `aeroops.formats.sidecar`.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar, cast

from aeroops.core.verify import verify_archive_stream
from aeroops.core.verify_report import DataSink, StorageSink, VerifyReport, WalSink
from aeroops.errors import Code, Finding, FormatError, RemoteError, UsageError
from aeroops.executor import log
from aeroops.executor.fileops import FileOps, not_a_folder, open_buffered, read_head, walk
from aeroops.executor.heap import keep_freed_memory
from aeroops.executor.keys import Identities, IdentityFiles, load_identities
from aeroops.executor.location import is_url, url_join, url_name
from aeroops.formats.layers import ARCHIVE_SUFFIXES, LayerReader, describe, layers_of_name
from aeroops.formats.manifests import BackupManifest
from aeroops.formats.readable import Readable
from aeroops.formats.record import LIMIT as RECORD_LIMIT
from aeroops.formats.record import SUFFIX as RECORD_NAME_SUFFIX
from aeroops.formats.record import ArchiveRecord, parse_record, record_path
from aeroops.formats.sidecar import ALGORITHMS, SUFFIXES, parse_sidecar, sidecar_path, split_digest
from aeroops.hashing import BackgroundDigest, digest_of
from aeroops.progress import Progress, ProgressCallback

if TYPE_CHECKING:
    from aeroops.core.inspect import InspectResult
    from aeroops.core.inventory import Inventory, InventoryRow

# inspect and inventory import their core modules when called: `aeroops verify` starts without them.

ARCHIVE_SUFFIX = ".tar"
SIDECAR_LIMIT = 64 << 10


T = TypeVar("T")


def sidecar_kind(archive: Path, ops: FileOps) -> str | None:
    """Which sidecar sits beside ``archive``: its suffix, ``b3`` or ``sha256`` (the one verify
    reads, when both do: the first found, as `read_sidecar` takes it), ``b3 (not a file)`` for
    a FIFO, folder or device in its place (verify cannot use it), or None."""
    for algorithm in ALGORITHMS:
        path = sidecar_path(archive, algorithm)
        try:
            info = ops.stat(path)
        except OSError:  # a dangling link is no sidecar to verify either
            continue
        kind = SUFFIXES[algorithm].lstrip(".")
        return kind if stat.S_ISREG(info.st_mode) else f"{kind} (not a file)"
    return None


def read_sidecar(archive: Path | str, ops: FileOps) -> tuple[str | None, tuple[Finding, ...]]:
    """The tagged digest the archive's sidecar claims (None without a sidecar), and any finding
    about a sidecar that exists but cannot be used, or that there is none (AERO_VERIFY_NO_SIDECAR,
    a WARNING: see `no_sidecar_finding`). The first sidecar found (``.b3``, then ``.sha256``)
    counts, even when it is unusable: a damaged ``.b3`` is not silently passed over for an older
    ``.sha256``."""
    if isinstance(archive, str):
        from aeroops.executor.remote_audit import read_remote_sidecar

        found, findings = read_remote_sidecar(archive)
        return (found, findings) if found is not None or findings else (None, (no_sidecar_finding(archive),))
    for algorithm in ALGORITHMS:
        path = sidecar_path(archive, algorithm)
        try:
            raw = read_head(ops, path, SIDECAR_LIMIT)  # a FIFO named like a sidecar must not block the open
        except FileNotFoundError:
            continue
        except OSError as error:
            return None, (_sidecar_finding(f"the sidecar {path.name} cannot be read: {error.strerror}"),)
        try:
            text = raw.decode("utf-8", "replace")
            return parse_sidecar(text, archive_name=archive.name, algorithm=algorithm), ()
        except FormatError as error:
            return None, (_sidecar_finding(f"{path.name}: {error.message}"),)
    return None, (no_sidecar_finding(archive),)


def no_sidecar_finding(archive: Path | str) -> Finding:
    """Without a sidecar, the changes that leave the archive's meaning intact go unseen (every
    check of `aeroops.core.verify` passes them): a WARNING, so verify's verdict stays ok and its
    exit status 0 (AeroDB's own archives have no sidecar), but the report says what is unprotected."""
    base = url_name(archive) if isinstance(archive, str) else archive.name
    names = " or ".join(base + SUFFIXES[algorithm] for algorithm in ALGORITHMS)
    return Finding.of(
        Code.VERIFY_NO_SIDECAR,
        f"no sidecar ({names}): nothing checks the bytes the other checks do not read, so a change to "
        "member padding, to header fields aeroops ignores (mtime, owner names), to the spelling of a "
        "header checksum, or to the backup manifest's created_at (while still after the snapshot's) "
        "would go unseen",
    )


def _sidecar_finding(message: str) -> Finding:
    return Finding.of(Code.VERIFY_SIDECAR, message, path=None)


def _io_report(archive: Path | str, error: OSError) -> VerifyReport:
    return VerifyReport(
        archive=str(archive),
        findings=(Finding.of(Code.VERIFY_IO, f"cannot read the archive: {error.strerror or error}"),),
    )


def verify_archive(
    path: str | os.PathLike[str],
    *,
    progress: ProgressCallback | None = None,
    ops: FileOps,
    identities: IdentityFiles | None = None,
) -> VerifyReport:
    """Verify one archive file (and its sidecar, if any) in one streaming pass.

    The archive may be layered (``.tar.zst``, ``.tar.age``, ``.tar.zst.age``: the bytes decide).
    identities: age identity files (None: the one ``AEROOPS_IDENTITY_FILE`` names, if any); a
    file that cannot be used raises `UsageError` (AERO_IDENTITY) before anything is read.
    Without an identity an encrypted archive is judged by its stored bytes (against the
    sidecar) and its cleartext record (AERO_LAYER_UNOPENED, a WARNING).

    Never raises for a bad or unreadable archive: that is the verdict, a report with findings
    (AERO_VERIFY_IO, FATAL, when the file cannot be read at all; AERO_VERIFY_INTERNAL, FATAL,
    should aeroops itself fail on it, which the tests make sure no input does).
    """
    return _verify(archive_location(path), progress, ops, load_identities(identities, ops))


def _verify(archive: Path | str, progress: ProgressCallback | None, ops: FileOps, keys: Identities) -> VerifyReport:
    """`verify_archive` with its identities loaded (an inventory loads them once)."""
    try:
        return _read_archive(archive, verify_archive_stream, progress, ops, keys)
    except OSError as error:
        return _io_report(archive, error)
    except Exception as error:  # an audit of many archives must not stop at one: the bug is the verdict
        log.exception("verify of %s failed inside aeroops", archive)
        return VerifyReport(archive=str(archive), findings=(internal_finding(error),))


def internal_finding(error: Exception) -> Finding:
    """A failure of aeroops itself on some input, as a finding (logged with its traceback)."""
    return Finding.of(
        Code.VERIFY_INTERNAL,
        f"aeroops failed while reading this archive ({type(error).__name__}); this is a bug in aeroops, "
        "and says nothing of the archive: verify it again once aeroops is fixed",
    )


def inspect_archive(
    path: str | os.PathLike[str],
    *,
    progress: ProgressCallback | None = None,
    ops: FileOps,
    identities: IdentityFiles | None = None,
) -> InspectResult:
    """Inspect one archive file: members, manifests, WAL and storage summaries, logical state.

    Raises `UsageError` when the file cannot be read at all.
    """
    from aeroops.core.inspect import inspect_archive_stream

    archive = archive_location(path)
    keys = load_identities(identities, ops)
    try:
        result = _read_archive(archive, inspect_archive_stream, progress, ops, keys)
        # Its contents are what inspect shows: an archive it could not open is no verdict of "ok".
        return result if result.report.opened else replace(result, report=needs_contents(result.report))
    except OSError as error:
        raise UsageError(f"cannot read {archive}: {error.strerror or error}", path=archive) from None


def stream_archive(
    path: str | os.PathLike[str],
    *,
    wal_sink: WalSink | None = None,
    storage_sink: StorageSink | None = None,
    progress: ProgressCallback | None = None,
    ops: FileOps,
    identities: IdentityFiles | None = None,
    data_sink: DataSink | None = None,
    sidecar: bool = True,
) -> VerifyReport:
    """Verify one archive file, handing each WAL and storage record to the sinks on the way (the
    documents' reader), and each member's bytes to ``data_sink`` (see `DataSink`). Raises
    `UsageError` when the file cannot be read at all. ``sidecar=False``: the sidecar is not read
    nor the archive's digest taken (for readers to whom a digest that differs changes nothing)."""
    archive = archive_location(path)
    keys = load_identities(identities, ops)
    read = partial(verify_archive_stream, wal_sink=wal_sink, storage_sink=storage_sink, data_sink=data_sink)
    try:
        return _read_archive(archive, read, progress, ops, keys, sidecar=sidecar)
    except RemoteError:
        raise  # its own code, naming the URL (no such object, access denied)
    except OSError as error:
        raise UsageError(f"cannot read {archive}: {error.strerror or error}", path=archive) from None


def inventory(
    folder: str | os.PathLike[str],
    *,
    recursive: bool = False,
    verify: bool = False,
    progress: ProgressCallback | None = None,
    now: datetime | None = None,
    ops: FileOps,
    dask: str | None = None,
    identities: IdentityFiles | None = None,
) -> Inventory:
    """One row per archive (``*.tar``, ``*.tar.zst``, ``*.tar.age``, ``*.tar.zst.age``) in
    ``folder`` (and its subfolders when ``recursive``). An encrypted archive without an identity
    (see `verify_archive`) gets its row from its cleartext record.

    ``folder`` may be a URL (``s3://bucket/prefix/``); ``dask``, a Dask scheduler's address,
    spreads the verification of such a folder over that cluster.

    Without ``verify`` only each archive's first member is read. A file that is not an archive,
    or cannot be read, gets a row with the reason; this never raises for one bad file. Raises
    `UsageError` when ``folder`` itself is not a readable folder.
    """
    from aeroops.core.inventory import Inventory, inventory_row

    if is_url(folder):
        from aeroops.executor.remote_audit import remote_inventory

        return remote_inventory(
            str(folder),
            recursive=recursive,
            verify=verify,
            progress=progress,
            now=now,
            dask=dask,
            verify_one=partial(verify_archive, ops=ops),
        )
    if dask is not None:
        raise UsageError("--dask spreads the verification of a folder in object storage; this folder is local")
    root = Path(folder)
    if not ops.is_dir(root):
        raise UsageError(f"the backup folder {not_a_folder(root, ops)}", path=root)
    keys = load_identities(identities, ops)
    taken_at = (now or datetime.now(UTC).replace(microsecond=0)).astimezone(UTC)
    unreadable: list[OSError] = []
    try:
        candidates = sorted(_candidates(root, recursive, unreadable, ops))
    except OSError as exc:
        raise UsageError(f"cannot read the folder: {exc.strerror or exc}", path=root) from None
    rows = [
        inventory_row(
            Path(str(error.filename)).relative_to(root).as_posix() + "/",
            None,
            None,
            f"cannot read this folder: {error.strerror or error}",
            taken_at,
        )
        for error in unreadable
    ]
    for index, candidate in enumerate(candidates, start=1):
        step_progress = None
        if progress is not None:
            step_progress = _step_progress(progress, candidate.relative_to(root).as_posix(), index, len(candidates))
        try:
            rows.append(_row(root, candidate, taken_at, verify, step_progress, ops, keys))
        except Exception as error:  # one file never stops the audit of a folder
            log.exception("inventory of %s failed inside aeroops", candidate)
            reason = f"{Code.VERIFY_INTERNAL}: {internal_finding(error).message}"
            rows.append(inventory_row(candidate.relative_to(root).as_posix(), None, None, reason, taken_at))
    return Inventory(str(root), tuple(rows), taken_at, verified=verify, recursive=recursive)


def archive_location(path: str | os.PathLike[str]) -> Path | str:
    """An archive's path, or its URL (kept as given: a `Path` would fold its ``//``)."""
    return path if isinstance(path, str) and is_url(path) else Path(path)


def in_folder(folder: str, name: str) -> Path | str:
    """The archive ``name`` (relative, as an inventory row names it) of the inventoried ``folder``."""
    return url_join(folder, name) if is_url(folder) else Path(folder) / name


def _read_archive(
    archive: Path | str,
    read: Callable[..., T],
    progress: ProgressCallback | None,
    ops: FileOps,
    keys: Identities,
    *,
    sidecar: bool = True,
) -> T:
    """One streaming pass of ``read`` (verify or inspect) over an archive file, with its sidecar."""
    keep_freed_memory()
    if isinstance(archive, str):
        with open_remote(archive) as (stream, size):
            return _read_stream(archive, stream, read, progress, size, ops, keys=keys, with_sidecar=sidecar)
    # Unbuffered: the pass reads a megabyte at a time, each straight into the bytes it checks (a
    # buffered reader copied each read once more, its buffer misaligned by the tar headers).
    with ops.open_read(archive) as stream:
        return _read_stream(
            archive, stream, read, progress, ops.fstat(stream).st_size, ops, keys=keys, with_sidecar=sidecar
        )


@contextlib.contextmanager
def open_remote(url: str) -> Iterator[tuple[BinaryIO, int]]:
    """An archive in object storage, streamed with read-ahead, and its size."""
    from aeroops.errors import RemoteError
    from aeroops.executor.objectstore import store_for

    store = store_for(url)
    found = store.info(url)
    if found is None:
        raise RemoteError(f"{url}: no such object (or no such bucket)", url=url)
    with store.open_read(url, found.size) as stream:
        yield stream, found.size


def verify_opened_archive(
    archive: Path | str,
    stream: BinaryIO,
    size: int,
    *,
    progress: ProgressCallback | None,
    data_sink: DataSink,
    ops: FileOps,
    keys: Identities | None = None,
    record_sinks: tuple[WalSink, StorageSink] | None = None,
) -> VerifyReport:
    """Verify ``archive``, read from ``stream`` (opened by the caller), with its sidecar, handing
    each file's bytes to ``data_sink`` as they are checked: restore's one pass. Unlike
    `verify_archive`, read errors propagate (OSError). record_sinks: the archive's WAL and
    storage records, parsed in the same pass (a drill of an archive in a bucket)."""
    sinks: dict[str, Any] = (
        {} if record_sinks is None else {"wal_sink": record_sinks[0], "storage_sink": record_sinks[1]}
    )
    return _read_stream(
        archive,
        stream,
        verify_archive_stream,
        progress,
        size,
        ops,
        keys=keys or Identities(),
        data_sink=data_sink,
        **sinks,
    )


def _read_stream(
    archive: Path | str,
    stream: BinaryIO,
    read: Callable[..., T],
    progress: ProgressCallback | None,
    size: int,
    ops: FileOps,
    *,
    keys: Identities,
    with_sidecar: bool = True,
    **options: Any,
) -> T:
    sidecar, sidecar_findings = read_sidecar(archive, ops) if with_sidecar else (None, ())
    # The sidecar's digest is taken on the second core, in a thread this side owns.
    with contextlib.ExitStack() as stack:
        digest = None if sidecar is None else stack.enter_context(BackgroundDigest(split_digest(sidecar)[0]))
        result = read(
            stream,
            name=str(archive),
            sidecar_digest=sidecar,
            progress=progress,
            total_bytes=size,
            digest=digest,
            extra_findings=(*keys.findings, *sidecar_findings),
            decrypt=keys.decrypt(),
            readahead=_readahead,
            **options,
        )
    report = result if isinstance(result, VerifyReport) else getattr(result, "report", None)
    # The record beside the archive, on a disk or in object storage.
    layered = isinstance(report, VerifyReport) and (report.layers or layers_of_name(str(archive)))
    if isinstance(report, VerifyReport) and layered:
        checked = with_record(report, archive, size, sidecar, ops)
        return cast(T, checked if result is report else replace(result, report=checked))  # type: ignore[type-var]
    return result


def _readahead(upstream: Readable) -> LayerReader:
    """A layered archive's plain bytes, decoded ahead on a thread (`Readahead`)."""
    from aeroops.executor.readahead import Readahead  # queue and threads: for a layered archive only

    return Readahead(upstream)


def needs_contents(report: VerifyReport) -> VerifyReport:
    """``report``, not ok when the archive could not be opened (encrypted, no identity): for the
    commands that need its contents (restore, drill), where a record cannot stand in."""
    if report.opened:
        return report
    finding = Finding.of(
        Code.AGE_NO_IDENTITY,
        "the archive is encrypted and no identity was given: reading its contents (restore, drill, "
        "inspect) needs one (identities=[FILE], --identity FILE or AEROOPS_IDENTITY_FILE)",
    )
    return replace(report, findings=(*report.findings, finding))


def read_record(archive: Path | str, sidecar: str | None, ops: FileOps) -> ArchiveRecord:
    """The cleartext record beside a layered archive (a file, or an object beside one in object
    storage), checked against its line in the sidecar; `FormatError` (AERO_LAYER_RECORD) when
    it is missing, unreadable, or not what was written."""
    if isinstance(archive, str):
        from aeroops.executor.remote_audit import read_remote_record

        return read_remote_record(archive, sidecar)
    path = record_path(archive)
    try:
        with ops.open_read(path) as stream:
            data = ops.read(stream, RECORD_LIMIT + 1)
    except OSError as error:
        raise FormatError(
            f"no usable record beside the archive ({path.name}: {error.strerror or error})", code=Code.LAYER_RECORD
        ) from None
    if sidecar is not None:
        algorithm = split_digest(sidecar)[0]
        try:
            with ops.open_read(sidecar_path(archive, algorithm)) as stream:
                text = ops.read(stream, SIDECAR_LIMIT).decode("utf-8", "replace")
            listed = parse_sidecar(text, archive_name=path.name, algorithm=algorithm)
        except (OSError, FormatError):
            raise FormatError(f"the sidecar does not list the record {path.name}", code=Code.LAYER_RECORD) from None
        if digest_of(algorithm, data) != listed:
            raise FormatError(f"the record {path.name} differs from its sidecar's digest", code=Code.LAYER_RECORD)
    return parse_record(data, path=path.name)


def with_record(
    report: VerifyReport, archive: Path | str, size: int, sidecar: str | None, ops: FileOps
) -> VerifyReport:
    """``report`` with what the record beside a layered archive says: for an archive read
    through its layers, that the record agrees with it; for one that could not be opened (no
    identity), the record's manifest and layers stand in for what the archive holds."""
    if report.opened and not _record_exists(archive, ops):
        return report  # read whole, it needs no record (zstd and age themselves write none)
    try:
        record = read_record(archive, sidecar, ops)
    except FormatError as error:
        return replace(report, findings=(*report.findings, error.finding))
    problems = []
    if record.stored_size != size:
        problems.append(f"the file is {size} bytes, its record says {record.stored_size}")
    if report.opened:
        if report.layers and tuple(report.layers) != record.layers:
            problems.append(f"its layers are {'+'.join(report.layers)}, its record says {'+'.join(record.layers)}")
        manifest = report.backup_manifest
        if manifest is not None and (manifest.backup_id, manifest.created_at) != (record.backup_id, record.created_at):
            problems.append("its backup manifest names another backup than its record")
    findings = report.findings + tuple(Finding.of(Code.LAYER_RECORD, problem) for problem in problems)
    if report.opened:
        return replace(report, findings=findings)
    if record.verified_at_creation != "ok":
        findings += (Finding.of(Code.LAYER_RECORD, f"its record says: {record.verified_at_creation}"),)
    return replace(report, findings=findings, backup_manifest=record.manifest(), layers=record.layers)


def _record_exists(archive: Path | str, ops: FileOps) -> bool:
    if isinstance(archive, str):
        from aeroops.executor.objectstore import store_for

        return store_for(archive).info(archive + RECORD_NAME_SUFFIX) is not None
    return ops.exists(record_path(archive))


def _candidates(root: Path, recursive: bool, unreadable: list[OSError], ops: FileOps) -> Iterator[Path]:
    """The archives (each name of `ARCHIVE_SUFFIXES`) in ``root`` (and below, when
    ``recursive``); a subfolder that cannot be read is added to ``unreadable`` (its row says
    so), ``root`` itself raises."""

    def skipped(error: OSError) -> None:
        if Path(str(error.filename)) == root:
            raise error
        unreadable.append(error)

    if recursive:
        # Symlinked folders are not followed: a link loop must not hang an audit.
        for folder, _, files in walk(ops, root, onerror=skipped):
            for name in files:
                if name.endswith(ARCHIVE_SUFFIXES):
                    yield folder / name
        return
    for entry in ops.scandir(root):
        if entry.name.endswith(ARCHIVE_SUFFIXES) and not entry.is_dir():
            yield root / entry.name


def _step_progress(progress: ProgressCallback, name: str, index: int, count: int) -> ProgressCallback:
    def report(event: Progress) -> None:
        progress(replace(event, job="inventory", step=f"verify {name}", step_index=index, step_count=count))

    return report


def _row(
    root: Path,
    archive: Path,
    now: datetime,
    verify: bool,
    progress: ProgressCallback | None,
    ops: FileOps,
    keys: Identities,
) -> InventoryRow:
    from aeroops.core.inventory import inventory_row

    name = archive.relative_to(root).as_posix()
    sidecar = sidecar_kind(archive, ops)
    manifest: BackupManifest | str
    layers: tuple[str, ...] = ()
    plain_size: int | None = None
    try:
        stat = ops.stat(archive)
        manifest, layers, plain_size = _leading_manifest(archive, name, ops, keys)
    except OSError as error:
        return inventory_row(name, None, None, f"cannot read: {error.strerror or error}", now, sidecar=sidecar)
    except FormatError as error:
        manifest = f"{error.code}: {error.message}"
    modified = datetime.fromtimestamp(stat.st_mtime, UTC).replace(microsecond=0)
    report = None
    if verify:
        report = _verify(archive, progress, ops, keys)
    return inventory_row(
        name,
        stat.st_size,
        modified,
        manifest,
        now,
        sidecar=sidecar,
        report=report,
        layers=describe(layers) if layers or not isinstance(manifest, str) else None,
        plain_size=plain_size,
    )


def _leading_manifest(
    archive: Path, name: str, ops: FileOps, keys: Identities
) -> tuple[BackupManifest, tuple[str, ...], int | None]:
    """`aeroops.core.inventory.leading_manifest` of an archive file."""
    from aeroops.core.inventory import leading_manifest

    def record() -> ArchiveRecord:
        return read_record(archive, read_sidecar(archive, ops)[0], ops)

    with open_buffered(ops, archive) as stream:
        return leading_manifest(stream, file_name=archive.name, name=name, decrypt=keys.decrypt(), record=record)
