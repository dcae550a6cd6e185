"""Publishing a packed archive (step 9): its sidecar first, then the archive beside it, each
whole or not at all; and the last check before it, that AeroDB did not start meanwhile."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from aeroops.errors import BackupError
from aeroops.executor.fileops import FileOps, logged_cleanup, write_new_file
from aeroops.executor.lock import aerodb_serving
from aeroops.formats.layers import layers_of_name
from aeroops.formats.record import SUFFIX as RECORD_SUFFIX
from aeroops.formats.record import record_path
from aeroops.formats.sidecar import ALGORITHMS, SUFFIXES, Algorithm, render_sidecar, sidecar_path
from aeroops.hashing import digest_of

if TYPE_CHECKING:
    from aeroops.executor.objectstore import ObjectStore, Upload


def check_not_serving(root: Path, ops: FileOps) -> None:
    """AeroDB may have started while the backup ran (it was refused if serving at the start).
    Its snapshot files cannot have changed, but a running AeroDB may checkpoint and truncate the
    WAL: an archive pairing the snapshot with a WAL that no longer follows it would verify and
    still lose writes. Discard it."""
    if aerodb_serving(root, ops):
        raise BackupError(
            "AeroDB started serving the data directory during the backup (.lock appeared); the archive was "
            "discarded: stop AeroDB and back up again",
            path=root / ".lock",
        )


def publish(
    tar_path: Path,
    archive: Path,
    digest: str,
    algorithm: Algorithm,
    overwrite: bool,
    ops: FileOps,
    *,
    record: bytes | None = None,
) -> None:
    """Step 9: the sidecar is written and fsynced first; then it takes its name, then the
    archive appears beside it, each whole or not at all: a crash or a power loss between the two
    leaves a sidecar without an archive (nothing to verify), never an archive without its
    sidecar (which would verify without its digest).

    Sidecars already at the output belong to the archive being replaced, or to none: they go
    before the new sidecar takes its name. Verify reads ``.b3`` before ``.sha256``, so a stale
    ``.b3`` beside a new ``.sha256`` would fail an archive that is whole."""
    ops.chmod(tar_path, 0o600)
    sidecar_tmp = sidecar_path(tar_path, algorithm)
    text = render_sidecar(digest, archive_name=archive.name)
    record_tmp = record_path(tar_path)
    if record is not None:
        # The record is listed in the sidecar (b3sum -c checks both) and takes its name first.
        write_new_file(ops, record_tmp, record)
        text += render_sidecar(digest_of(algorithm, record), archive_name=record_path(archive).name)
    write_new_file(ops, sidecar_tmp, text.encode())
    if overwrite:
        # Before the rename: a crash may leave the old archive without a sidecar, never the new
        # archive with the old one's.
        _remove_sidecars(archive, ops)
        ops.rename(tar_path, archive)
        if record is not None:
            ops.rename(record_tmp, record_path(archive))
        ops.rename(sidecar_tmp, sidecar_path(archive, algorithm))
    else:
        if ops.exists(archive):
            raise BackupError("an archive appeared at the output path during the backup", path=archive)
        _remove_sidecars(archive, ops)  # orphans: of an archive removed by hand, or of a run cut short
        if record is not None:
            ops.rename(record_tmp, record_path(archive))
        ops.rename(sidecar_tmp, sidecar_path(archive, algorithm))
        try:
            ops.link(tar_path, archive)  # fails if an archive took the name meanwhile
        except OSError as exc:
            with logged_cleanup("removing the sidecar of an archive not published", sidecar_path(archive, algorithm)):
                ops.remove(sidecar_path(archive, algorithm))  # ours: of no archive, or not that one
            if record is not None:
                with logged_cleanup("removing the record of an archive not published", record_path(archive)):
                    ops.remove(record_path(archive))
            if isinstance(exc, FileExistsError):
                raise BackupError("an archive appeared at the output path during the backup", path=archive) from None
            raise
        ops.remove(tar_path)
    ops.fsync_path(archive.parent)


def _remove_sidecars(archive: Path, ops: FileOps) -> None:
    for path in (*(sidecar_path(archive, algorithm) for algorithm in ALGORITHMS), record_path(archive)):
        if ops.exists(path) and (path.suffix != ".json" or layers_of_name(archive.name)):
            ops.remove(path)


def publish_remote(
    store: ObjectStore,
    upload: Upload,
    url: str,
    digest: str,
    algorithm: Algorithm,
    overwrite: bool,
    *,
    record: bytes | None = None,
) -> None:
    """Step 9 into object storage: the upload is completed (the archive appears whole, and
    without ``overwrite`` only where no object is: ``If-None-Match: *``), then its sidecar is
    written. There is no rename to order them as on a disk: a crash between the two leaves an
    archive without its sidecar (verify warns AERO_VERIFY_NO_SIDECAR), never a sidecar of
    another archive beside it, since sidecars already there go first."""
    from aeroops.executor.location import url_name

    if overwrite:
        for other in ALGORITHMS:
            store.remove(url + SUFFIXES[other])
    try:
        upload.commit()
    except FileExistsError:
        raise BackupError(f"an archive appeared at {url} during the backup; it was left as it is") from None
    for other in ALGORITHMS:
        if other != algorithm:
            store.remove(url + SUFFIXES[other])  # an orphan, of an archive removed by hand
    text = render_sidecar(digest, archive_name=url_name(url))
    if record is not None:  # a layered archive's record, listed in its sidecar
        store.put(url + RECORD_SUFFIX, record)
        text += render_sidecar(digest_of(algorithm, record), archive_name=url_name(url) + RECORD_SUFFIX)
    store.put(url + SUFFIXES[algorithm], text.encode())
