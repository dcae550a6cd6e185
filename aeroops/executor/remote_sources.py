"""Sources of documents in object storage (`aeroops.executor.documents`): an archive URL, or a
folder URL of base backups and WAL segments at a point in time (``s3://bucket/prefix/@N``).

Their records are read by the readers verify and restore use (`aeroops.executor.audit.open_remote`,
`aeroops.executor.remote_wal.open_location`): one stream per pass, with read-ahead, never a local
copy. Imported only for a URL: a local source never loads fsspec.
"""

from __future__ import annotations

from aeroops.errors import RemoteError, UsageError


def is_archive_url(url: str) -> bool:
    """Whether an object exists at ``url``. `RemoteError` (naming the URL) when the service
    refuses to say: access denied, no credentials."""
    from aeroops.executor.objectstore import store_for

    return store_for(url).info(url) is not None


def is_folder_url(url: str) -> bool:
    """Whether ``url`` is a bucket, or a prefix that holds something. `RemoteError` for a
    bucket that does not exist or cannot be listed."""
    from aeroops.executor.objectstore import store_for

    return store_for(url).is_folder(url)


def check_archive_url(url: str) -> None:
    """Refuse, with one line naming ``url``, what is no archive to read documents from: a
    missing object or bucket (`RemoteError`), a folder (`UsageError`: a data directory is
    local; a folder of backups is read at a point in time)."""
    if is_archive_url(url):
        return
    if is_folder_url(url):
        raise UsageError(
            "a folder in object storage is no data directory: name an archive in it, or a point in time "
            "(FOLDER@N, FOLDER@latest, or --to-sequence N) of its base backups and WAL segments",
            path=url,
        )
    raise RemoteError(f"{url}: no such object (or no such bucket)", url=url)


def check_folder_url(url: str) -> None:
    """Refuse a folder URL under which nothing is stored (`UsageError`), or whose bucket does
    not exist or cannot be listed (`RemoteError`), naming it."""
    if not is_folder_url(url):
        raise UsageError(
            "a point in time needs the folder of base backups and WAL segments: nothing is stored under this prefix",
            path=url,
        )


__all__ = ["check_archive_url", "check_folder_url", "is_archive_url", "is_folder_url"]
