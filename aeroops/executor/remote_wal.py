"""WAL segments in object storage: the folder of bases and segments as a URL
(``s3://bucket/prefix/``) as well as a path, and ``archive-wal`` publishing into a bucket.

The readers (`aeroops.executor.pitr`: describe, verify, check, restore, drill) see a folder
through `list_files`, `open_location` and `aeroops.executor.audit.in_folder`, whichever it is.
A segment in a bucket is streamed by ranged GETs with read-ahead
(`aeroops.executor.objectstore.ObjectStore.open_read`), never copied to a local file first.

For ``archive-wal`` into a bucket (`aeroops.executor.archive_wal`'s pass, which reads and
checks the WAL as for a folder): `prepare_remote_folder` (a killed pass's upload aborted, its
orphan sidecar removed, the segments listed), `read_remote_range` (the archived prefix compared
with the WAL) and `SegmentUpload` (the segment streamed into a multipart upload, published
after its sidecar with ``If-None-Match: *``: whole or not at all, never over another, never
without its sidecar; a failure aborts it and removes its sidecar).

Imports fsspec only for a URL: a local folder's run never loads it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from aeroops.errors import WalArchiveError
from aeroops.executor import log
from aeroops.executor.fileops import FileOps, not_a_folder
from aeroops.executor.location import is_url, url_join, url_name
from aeroops.formats.sidecar import SUFFIXES, Algorithm

if TYPE_CHECKING:
    from aeroops.core.wal_archive import ArchivedSegment


# --- a folder, local or in object storage -------------------------------------------------------


def location_name(location: Path | str) -> str:
    """The file name of a path, or the last part of a URL's key."""
    return url_name(location) if isinstance(location, str) and is_url(location) else Path(location).name


def list_files(folder: Path | str, ops: FileOps) -> list[tuple[str, int]]:
    """The regular files directly in ``folder`` (name, size), sorted by name. A folder URL:
    the objects directly under its prefix (one paginated listing; a bucket that does not
    exist fails with AERO_REMOTE_FAILED naming the URL)."""
    if isinstance(folder, str) and is_url(folder):
        from aeroops.executor.objectstore import store_for

        root = folder if folder.endswith("/") else folder + "/"
        return sorted((url_name(info.url), info.size) for info in store_for(root).list(root, recursive=False))
    found = []
    for entry in ops.scandir(Path(folder)):
        if entry.is_file(follow_symlinks=False):
            found.append((entry.name, entry.stat(follow_symlinks=False).st_size))
    return sorted(found)


def folder_refusal(folder: Path | str, ops: FileOps) -> str | None:
    """Why ``folder`` is no folder to read (a path only: a prefix in a bucket always is one,
    and a missing bucket is said by its listing), or None."""
    if isinstance(folder, str) and is_url(folder):
        return None
    return None if ops.is_dir(Path(folder)) else not_a_folder(Path(folder), ops)


def in_folder(folder: Path | str, name: str) -> Path | str:
    """The file ``name`` of ``folder``: a URL inside a folder URL, else a path."""
    return url_join(folder, name) if isinstance(folder, str) and is_url(folder) else Path(folder) / name


@contextlib.contextmanager
def open_location(
    location: Path | str, ops: FileOps, size: int | None = None, *, head: bool = False
) -> Iterator[BinaryIO]:
    """A file through the FileOps seam, or an object streamed with read-ahead (``size`` saves
    a HEAD when the listing gave it; ``head``: only its start will be read, by small ranged
    GETs without read-ahead, as an inventory reads an archive's manifest)."""
    if isinstance(location, str) and is_url(location):
        from aeroops.executor.objectstore import store_for
        from aeroops.executor.remote_audit import HEAD_CHUNK

        store = store_for(location)
        options = {"chunk": HEAD_CHUNK, "read_ahead": 0} if head else {}
        with store.open_read(location, size, **options) as stream:
            yield stream
        return
    with ops.open_read(Path(location)) as stream:
        yield stream


def object_size(url: str) -> int | None:
    """The size of the object at ``url``; None when there is none."""
    from aeroops.executor.objectstore import store_for

    found = store_for(url).info(url)
    return None if found is None else found.size


# --- archive-wal into a bucket --------------------------------------------------------------------


def list_remote_segments(folder: str) -> list[ArchivedSegment]:
    """`aeroops.executor.archive_wal.list_segments` of a folder URL."""
    from aeroops.core.wal_archive import ArchivedSegment
    from aeroops.formats.segment import parse_segment_name

    found = []
    for name, size in list_files(folder, FileOps()):
        parsed = parse_segment_name(name)
        if parsed is not None:
            found.append(ArchivedSegment(parsed, size))
    return found


def prepare_remote_folder(folder: str) -> list[ArchivedSegment]:
    """Before a pass into a folder URL: the uploads a killed run left (aborted by their marker,
    as a backup's), and sidecars whose segment never appeared (removed, as a local pass removes
    them); then the segments listed. The data directory's lock keeps this host's other passes
    out; two hosts archiving one data directory into one prefix is not a setup."""
    from aeroops.core.wal_archive import ArchivedSegment
    from aeroops.executor.objectstore import log_failure, store_for
    from aeroops.formats.segment import looks_like_segment, parse_segment_name

    store = store_for(folder)
    for aborted in store.abort_stale_uploads(folder):
        log.info("aborted the upload a killed run left for %s", aborted)
    listed = dict(list_files(folder, FileOps()))
    for name in list(listed):
        for suffix in SUFFIXES.values():
            segment = name.removesuffix(suffix)
            if segment != name and looks_like_segment(segment) and segment not in listed:
                with log_failure("removing a sidecar whose segment was never published:", url_join(folder, name)):
                    store.remove(url_join(folder, name))
                    del listed[name]
    return [ArchivedSegment(n, size) for name, size in listed.items() if (n := parse_segment_name(name))]


def read_remote_range(folder: str, name: str, offset: int, length: int) -> bytes:
    """``length`` bytes of the object ``name`` of ``folder`` from ``offset`` (one ranged GET)."""
    from aeroops.executor.objectstore import store_for

    url = url_join(folder, name)
    return store_for(url).read_range(url, offset, offset + length)


class SegmentUpload:
    """A segment streamed into a bucket: `write` feeds a multipart upload (nothing under the
    name yet); `publish` writes the sidecar, then completes the upload with ``If-None-Match: *``.
    Leaving the block with an error aborts the upload and removes the sidecar it wrote (unless
    the segment is there after all: a completion whose answer was lost)."""

    def __init__(self, folder: str, name: str, digest: Algorithm) -> None:
        from aeroops.executor.objectstore import store_for

        self.url = url_join(folder, name)
        self.sidecar = self.url + SUFFIXES[digest]
        self._store = store_for(folder)
        self._upload = self._store.upload(self.url, overwrite=False)
        self._sidecar_written = False
        self._finished = False

    def __enter__(self) -> SegmentUpload:
        return self

    def write(self, data: bytes | memoryview) -> int:
        self._upload.write(data)
        return len(data)

    def abort(self) -> None:
        self._upload.abort()
        self._finished = True

    def publish(self, sidecar: bytes, crash_point: Callable[[str], None]) -> None:
        try:
            self._store.put(self.sidecar, sidecar, overwrite=False)
            self._sidecar_written = True
            crash_point("archive-sidecar-published")
            self._upload.commit()
        except FileExistsError:
            raise WalArchiveError(
                f"{url_name(self.url)} (or its sidecar) is already in the archive folder: another pass published "
                "these records; nothing was archived",
                path=None,
            ) from None
        self._finished = True

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is None or self._finished:
            return
        from aeroops.executor.objectstore import log_failure

        self._upload.abort()
        if self._sidecar_written:
            with log_failure("removing the sidecar of a failed archive-wal pass", self.sidecar):
                if self._store.info(self.url) is None:
                    self._store.remove(self.sidecar)


__all__ = [
    "SegmentUpload",
    "folder_refusal",
    "in_folder",
    "list_files",
    "list_remote_segments",
    "location_name",
    "object_size",
    "open_location",
    "prepare_remote_folder",
    "read_remote_range",
]
