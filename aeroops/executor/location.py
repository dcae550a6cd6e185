"""Where a backup folder or an archive is: a local path, or a URL (``s3://bucket/prefix/``)
that `aeroops.executor.objectstore` reads and writes through fsspec. Only string work here, so
that telling the two apart never imports fsspec: a local run stays as light as before."""

from __future__ import annotations

import os
import re
from pathlib import Path

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def is_url(location: object) -> bool:
    """A URL of some storage (``s3://``, ``gs://``, ``memory://``...), not a local path. A
    `Path` never is one (it would have folded the ``//``), nor is ``file://``."""
    if not isinstance(location, str):
        return False
    match = _SCHEME.match(location)
    return match is not None and match.group(1).lower() != "file"


def url_join(folder: str, name: str) -> str:
    """``name`` (a relative key, with ``/`` between parts) inside the folder URL ``folder``."""
    return folder.rstrip("/") + "/" + name


def url_name(url: str) -> str:
    """The last part of a URL's key: the archive's name."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def url_parent(url: str) -> str:
    """The folder URL that holds ``url`` (with its trailing slash)."""
    return url.rstrip("/").rsplit("/", 1)[0] + "/"


def display(location: str | os.PathLike[str]) -> str:
    """How a message names a location: the URL as given, a path as a path."""
    return location if isinstance(location, str) and is_url(location) else str(Path(location))


def local_path(location: str | os.PathLike[str], what: str) -> Path:
    """``location`` as a path, for what only a local disk holds (a data directory, an identity
    file, a scratch folder): a URL is refused in one line naming it (`UsageError`), not folded
    into a path (``s3://b/x`` into ``s3:/b/x``) that then "does not exist", or is created."""
    if is_url(location):
        from aeroops.errors import UsageError

        raise UsageError(
            f"{what} is a local path: object storage (a URL) holds backup folders, archives and WAL segments only",
            path=location,
        )
    return Path(location)


def as_location(location: str | os.PathLike[str]) -> Path | str:
    """A folder or an archive as the runbooks and panels take it: a URL stays the text it is
    (a `Path` would fold its ``//``), anything else becomes a `Path`."""
    return location if isinstance(location, str) and is_url(location) else Path(location)
