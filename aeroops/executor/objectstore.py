"""Backup folders and archives in object storage, through fsspec: the storage seam for URLs.

`ObjectStore` is what a backup tool needs of a bucket (pgBackRest's storage drivers, WAL-G's
`storages`): list, stat, read a range or a stream, write whole-or-nothing, delete. Every request
goes through `ObjectStore._retry`: transient failures (HTTP 5xx, 429 and SlowDown, connection
resets, timeouts) are retried with exponential backoff and full jitter, then raised as
`RemoteUnavailableError` (AERO_REMOTE_UNAVAILABLE); a permanent one (403, no such bucket or key,
no credentials) raises `RemoteError` (AERO_REMOTE_FAILED) at once, its message naming the URL
and never a credential.

S3 (s3fs) is driven through its own client, for what fsspec does not say: multipart uploads
marked as aeroops' own, completed with ``If-None-Match: *`` (the archive appears under its key
whole, and never over another), aborted on failure, and those a killed run left aborted by the
next. Other fsspec protocols use fsspec's generic calls (no conditional write: see README).

Imported only when a URL is given: a local run never loads fsspec.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import io
import json
import os
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO, TypeVar, cast

from aeroops.errors import RemoteError, RemoteUnavailableError
from aeroops.executor import log

T = TypeVar("T")

READ_CHUNK = 8 << 20  # one ranged GET of a stream
READ_AHEAD = 2  # ranged GETs in flight ahead of the reader
PART_SIZE = 8 << 20  # the first multipart parts (S3's minimum is 5 MiB, but for the last)
PARTS_PER_SIZE = 1000  # parts of one size before the part size doubles
MAX_PART_SIZE = 5 << 30  # S3's largest part
# Parts uploading while the next fills. 2, not 3: 155 MiB peak against 165 on the bench's quick
# archive, at the same speed (botocore and aiohttp alone are 50 MiB).
PARTS_IN_FLIGHT = int(os.environ.get("AEROOPS_PARTS_IN_FLIGHT", "2"))
UPLOAD_MARKER_PREFIX = ".aeroops-upload-"  # beside the archive: "<prefix><upload id>.json"
FOREIGN_UPLOAD_GRACE_SECONDS = 24 * 3600  # a marker of another host's run: stale after a day
RETRIES_ENV = "AEROOPS_REMOTE_RETRIES"
BACKOFF_ENV = "AEROOPS_REMOTE_BACKOFF"  # the first retry's mean wait, in seconds
_TRANSIENT_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "InternalError",
    "ServiceUnavailable",
    "503",
    "500",
    "502",
    "504",
    "429",
}
_SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One object: its URL, its size and when it was last written."""

    url: str
    size: int
    modified: datetime | None


def endpoint_url() -> str | None:
    """The S3-compatible endpoint: ``--endpoint-url`` (the CLI puts it in the environment) or
    ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``, as the AWS tools read them."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


_stores: dict[tuple[str, str | None], ObjectStore] = {}
_stores_lock = threading.Lock()


def store_for(url: str) -> ObjectStore:
    """The store that serves ``url`` (one per protocol and endpoint, per process)."""
    protocol = url.split("://", 1)[0].lower()
    key = (protocol, endpoint_url() if protocol in ("s3", "s3a") else None)
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = S3Store(key[1]) if protocol in ("s3", "s3a") else ObjectStore(protocol)
        return store


def reset_stores() -> None:
    """Forget the stores made so far (credentials or the endpoint changed: tests)."""
    with _stores_lock:
        _stores.clear()


def scrub(text: str) -> str:
    """``text`` with any credential of the environment cut out: defence in depth, since the
    messages are aeroops' own and quote only what the service said."""
    for name in _SECRET_ENV:
        secret = os.environ.get(name)
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


class ObjectStore:
    """fsspec's generic calls for any protocol; `S3Store` does S3 through its client."""

    def __init__(self, protocol: str) -> None:
        import fsspec

        self.protocol = protocol
        self.fs = fsspec.filesystem(protocol)
        self.retries = int(os.environ.get(RETRIES_ENV, "5"))
        self.backoff = float(os.environ.get(BACKOFF_ENV, "0.2"))

    # --- paths ----------------------------------------------------------------------------
    def path(self, url: str) -> str:
        return str(self.fs._strip_protocol(url))

    def url(self, path: str) -> str:
        return str(self.fs.unstrip_protocol(path))

    # --- errors and retries ---------------------------------------------------------------
    def transient(self, error: BaseException) -> bool:
        if isinstance(error, (ConnectionError, TimeoutError, socket.timeout)):
            return True
        try:
            import aiohttp

            if isinstance(error, aiohttp.ClientError):
                return True
        except ImportError:
            pass
        return False

    def describe(self, error: BaseException) -> str:
        """The reason in a few words, without a traceback or any credential."""
        if isinstance(error, FileNotFoundError):
            return "no such object or bucket"
        if isinstance(error, PermissionError):
            return "access denied"
        text = getattr(error, "strerror", None) or str(error) or type(error).__name__
        return scrub(" ".join(str(text).split()))[:300]

    def _retry(self, what: str, url: str, call: Callable[[], T]) -> T:
        """``call``, retried while it fails transiently: waits drawn uniformly from 0 to
        backoff × 2^attempt (AWS's "full jitter"), at most 20 s, ``retries`` times."""
        attempt = 0
        while True:
            try:
                return call()
            except (RemoteError, KeyboardInterrupt):
                raise
            except Exception as error:
                self.wait_or_raise(what, url, error, attempt)
                attempt += 1

    def wait_or_raise(self, what: str, url: str, error: Exception, attempt: int) -> None:
        """After ``error`` on try ``attempt`` (0: the first): raise `RemoteError` when it is
        permanent, `RemoteUnavailableError` when the retries are spent, else wait (full jitter)."""
        if not self.transient(error):
            raise RemoteError(f"{url}: {what} failed: {self.describe(error)}", url=url) from None
        if attempt >= self.retries:
            raise RemoteUnavailableError(
                f"{url}: {what} failed {attempt + 1} times with transient errors, the last: "
                f"{self.describe(error)}; the service is overloaded or unreachable, try again later",
                url=url,
            ) from None
        wait = random.uniform(0, min(20.0, self.backoff * (2**attempt)))
        log.debug(
            "%s %s: transient failure (%s), retry %d in %.2f s", what, url, self.describe(error), attempt + 1, wait
        )
        time.sleep(wait)

    # --- reading --------------------------------------------------------------------------
    def info(self, url: str) -> ObjectInfo | None:
        """The object at ``url``, or None when there is none (a folder is none)."""
        try:
            found = self._retry("stat", url, lambda: self._info(self.path(url)))
        except RemoteError as error:
            if "no such object" in error.message:
                return None
            raise
        return found

    def _info(self, path: str) -> ObjectInfo | None:
        try:
            entry = self.fs.info(path)
        except FileNotFoundError:
            return None
        if entry.get("type") != "file":
            return None
        return self._object(entry)

    def _object(self, entry: dict[str, Any]) -> ObjectInfo:
        modified = entry.get("LastModified") or entry.get("mtime") or entry.get("created")
        if isinstance(modified, (int, float)):
            modified = datetime.fromtimestamp(modified, UTC)
        if isinstance(modified, datetime) and modified.tzinfo is None:
            modified = modified.replace(tzinfo=UTC)
        return ObjectInfo(self.url(entry["name"]), int(entry.get("size") or 0), modified)

    def is_folder(self, url: str) -> bool:
        """Whether ``url`` names a bucket or a prefix that holds something."""
        path = self.path(url).rstrip("/")
        return bool(self._retry("list", url, lambda: self.fs.isdir(path)))

    def check_folder(self, url: str) -> None:
        """Raise `RemoteError` when the folder's bucket does not exist or cannot be listed."""
        self.list(url, recursive=False)

    def list(self, url: str, *, recursive: bool) -> list[ObjectInfo]:
        """The objects under the folder ``url`` (below it too when ``recursive``), by URL."""
        path = self.path(url).rstrip("/")

        def listing() -> list[ObjectInfo]:
            if recursive:
                if not self.fs.exists(path):
                    return []
                found = self.fs.find(path, detail=True)
                entries = found.values() if isinstance(found, dict) else found
            else:
                try:
                    entries = self.fs.ls(path, detail=True)
                except FileNotFoundError:
                    return []  # a folder that does not exist yet holds nothing
            return sorted(
                (self._object(e) for e in entries if e.get("type") == "file"),
                key=lambda info: info.url,
            )

        return self._retry("list", url, listing)

    def read_range(self, url: str, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` (exclusive; fewer at the end of the object)."""
        path = self.path(url)
        return self._retry("read", url, lambda: bytes(self.fs.cat_file(path, start=start, end=end)))

    def read_small(self, url: str, limit: int) -> bytes | None:
        """At most ``limit`` bytes of a small object, or None when there is none."""
        try:
            return self.read_range(url, 0, limit)
        except RemoteError as error:
            if "no such object" in error.message:
                return None
            raise

    def open_read(
        self, url: str, size: int | None = None, *, chunk: int = READ_CHUNK, read_ahead: int = READ_AHEAD
    ) -> BinaryIO:
        """A buffered stream over the object, each byte fetched once by ranged GETs, the next
        ``READ_AHEAD`` fetched while the reader works on this one."""
        if size is None:
            found = self.info(url)
            if found is None:
                raise RemoteError(f"{url}: no such object", url=url)
            size = found.size
        reader = ObjectReader(self, url, size, chunk, read_ahead)
        return cast(BinaryIO, io.BufferedReader(reader, min(chunk, 1 << 20)))

    # --- writing --------------------------------------------------------------------------
    def put(self, url: str, data: bytes, *, overwrite: bool = True) -> None:
        """A small object, whole or not at all (one PUT)."""
        path = self.path(url)

        def put() -> None:
            if not overwrite and self.fs.exists(path):
                raise FileExistsError(url)
            self.fs.pipe_file(path, data)

        self._put_checked(url, put)

    def _put_checked(self, url: str, put: Callable[[], None]) -> None:
        try:
            self._retry("write", url, put)
        except RemoteError as error:
            if isinstance(error.__context__, FileExistsError):
                raise FileExistsError(url) from None
            raise

    def upload(self, url: str, *, overwrite: bool) -> Upload:
        """A streaming upload into ``url``: nothing under that name until `Upload.commit`."""
        return _TempUpload(self, url, overwrite)

    def remove(self, url: str) -> None:
        path = self.path(url)

        def remove() -> None:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(path)

        self._retry("remove", url, remove)

    def abort_stale_uploads(self, folder: str) -> tuple[str, ...]:
        """Abort the uploads into ``folder`` that killed runs of aeroops left: the URLs they were for."""
        return ()


class Upload:
    """A streaming write, published under its name only by `commit`, whole."""

    def write(self, data: bytes | memoryview) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Upload:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is not None:
            self.abort()


class _TempUpload(Upload):
    """Any fsspec protocol: written under a temporary name, then moved (no conditional write:
    a race with another writer of the same name is not detected, see README)."""

    def __init__(self, store: ObjectStore, url: str, overwrite: bool) -> None:
        self._store, self._url, self._overwrite = store, url, overwrite
        self._temp = store.path(url) + f".aeroops-tmp-{os.getpid()}"
        self._stream = store.fs.open(self._temp, "wb")

    def write(self, data: bytes | memoryview) -> None:
        self._stream.write(data)

    def commit(self) -> None:
        self._stream.close()
        if not self._overwrite and self._store.info(self._url) is not None:
            self.abort()
            raise FileExistsError(self._url)
        self._store.fs.mv(self._temp, self._store.path(self._url))

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._stream.close()
        with contextlib.suppress(Exception):
            self._store.fs.rm_file(self._temp)


class ObjectReader(io.RawIOBase):
    """An object read front to back by ranged GETs of ``chunk`` bytes, ``READ_AHEAD`` of them in
    flight: each byte is fetched once, a failed GET is retried (the range, not the object)."""

    def __init__(self, store: ObjectStore, url: str, size: int, chunk: int, read_ahead: int = READ_AHEAD) -> None:
        super().__init__()
        self._store, self._url, self._size, self._chunk = store, url, size, chunk
        self._ahead = read_ahead
        self._pool = ThreadPoolExecutor(read_ahead, thread_name_prefix="aeroops-read") if read_ahead else None
        self._pending: deque[Future[bytes]] = deque()
        self._next = 0  # the next offset to ask for
        self._buffer = memoryview(b"")
        self.name = url

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        while len(self._pending) < max(1, self._ahead) and self._next < self._size:
            start, end = self._next, min(self._size, self._next + self._chunk)
            if self._pool is None:  # no read-ahead (an inventory reads only a head): fetch now
                done: Future[bytes] = Future()
                done.set_result(self._store.read_range(self._url, start, end))
                self._pending.append(done)
            else:
                self._pending.append(self._pool.submit(self._store.read_range, self._url, start, end))
            self._next = end

    def readinto(self, target: Any) -> int:
        view = memoryview(target).cast("B")
        if not self._buffer:
            self._fill()
            if not self._pending:
                return 0
            data = self._pending.popleft().result()
            self._fill()
            if not data:
                return 0
            self._buffer = memoryview(data)
        n = min(len(view), len(self._buffer))
        view[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            for pending in self._pending:
                pending.cancel()
            if self._pool is not None:
                self._pool.shutdown(wait=True)
        super().close()


STREAM_CHUNK = 1 << 20  # what one hop to the event loop reads of a streaming GET
STREAM_DEPTH = 8  # chunks queued ahead of the reader


class StreamReader(io.RawIOBase):
    """An object read front to back by one streaming GET (as ``s3fs`` ``get`` reads it), with
    `aeroops.executor.readahead.Readahead`'s thread keeping `STREAM_DEPTH` chunks of
    `STREAM_CHUNK` queued ahead of the reader (`ResumingBody` below it).

    Against ranged GETs of 8 MiB, two in flight (`ObjectReader`): one request instead of one
    per 8 MiB, and no service reading a whole object per range (moto does), at a tenth of the
    memory in flight."""

    def __init__(self, store: S3Store, url: str, size: int) -> None:
        super().__init__()
        from aeroops.executor.readahead import Readahead

        self._body = ResumingBody(store, url, size)
        self._ahead = Readahead(self._body, chunk=STREAM_CHUNK, depth=STREAM_DEPTH)
        self.name = url

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        view = memoryview(target).cast("B")
        data = self._ahead.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._ahead.close()
            self._body.close()
        super().close()


class ResumingBody:
    """``read(n)`` over one GET of an object, from its first byte. A GET that fails transiently
    (a reset, a body cut short, a 503 on the way in) is taken up again by a ranged GET from
    the first byte not yet received: each byte arrives once; the retries follow the store's
    policy, counted afresh once a read has made progress."""

    def __init__(self, store: S3Store, url: str, size: int) -> None:
        self._store, self._url, self._size = store, url, size
        self._offset = 0
        self._open: Any = None

    def read(self, n: int = -1) -> bytes:
        want = self._size - self._offset if n < 0 else min(n, self._size - self._offset)
        attempt = 0
        while want > 0:
            try:
                if self._open is None:
                    opening = functools.partial(self._store.open_body, self._url, self._offset)
                    self._open = self._store._retry("read", self._url, opening)
                data = self._store.read_body(self._open, want)
                if not data:
                    raise ConnectionError(f"the service sent {self._offset} of {self._size} bytes")
                self._offset += len(data)
                return data
            except RemoteError:
                raise
            except Exception as error:
                self.close()
                self._store.wait_or_raise("read", self._url, error, attempt)
                attempt += 1
        return b""

    def close(self) -> None:
        if self._open is not None:
            self._store.close_body(self._open)
            self._open = None


# --- S3 ---------------------------------------------------------------------------------------


class S3Store(ObjectStore):
    """S3 and S3-compatible services through s3fs's client (aiobotocore), the AWS credential
    chain, and ``endpoint`` for a service other than AWS."""

    def __init__(self, endpoint: str | None) -> None:
        import s3fs

        self.protocol = "s3"
        self.retries = int(os.environ.get(RETRIES_ENV, "5"))
        self.backoff = float(os.environ.get(BACKOFF_ENV, "0.2"))
        # Retries are ours (one policy, one code when they run out): botocore and s3fs try once.
        self.fs = s3fs.S3FileSystem(
            endpoint_url=endpoint,
            skip_instance_cache=True,
            use_listings_cache=False,
            config_kwargs={"retries": {"total_max_attempts": 1}, "connect_timeout": 10, "read_timeout": 60},
        )
        self.fs.retries = 1

    def _call(self, method: str, **kwargs: Any) -> Any:
        """One S3 request on s3fs's event loop; a body is read whole inside it."""
        from fsspec.asyn import sync

        async def call() -> Any:
            client = await self.fs.set_session()
            response = await getattr(client, method)(**kwargs)
            if "Body" in response:
                async with response["Body"] as body:
                    response["Body"] = await body.read()
            return response

        return sync(self.fs.loop, call)

    def _split(self, url: str) -> tuple[str, str]:
        bucket, _, key = self.path(url).partition("/")
        return bucket, key

    def transient(self, error: BaseException) -> bool:
        from botocore.exceptions import (
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            HTTPClientError,
            IncompleteReadError,
            ReadTimeoutError,
            ResponseStreamingError,
        )

        if isinstance(error, ClientError):
            code = str(error.response.get("Error", {}).get("Code", ""))
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            return code in _TRANSIENT_CODES or status >= 500 or status == 429
        transient_types = (
            IncompleteReadError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            HTTPClientError,
            ReadTimeoutError,
            ResponseStreamingError,
        )
        return isinstance(error, transient_types) or super().transient(error)

    def describe(self, error: BaseException) -> str:
        from botocore.exceptions import ClientError, NoCredentialsError

        if isinstance(error, NoCredentialsError):
            return "no credentials (set them in the environment, a profile, or use an instance role)"
        if isinstance(error, ClientError):
            detail = error.response.get("Error", {})
            code = str(detail.get("Code", ""))
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            known = {
                "NoSuchBucket": "the bucket does not exist",
                "NoSuchKey": "no such object",
                "404": "no such object",
                "NotFound": "no such object",
                "AccessDenied": "access denied (the credentials may not do this)",
                "403": "access denied (the credentials may not do this)",
                "InvalidAccessKeyId": "the access key is not known to the service",
                "SignatureDoesNotMatch": "the secret key does not match the access key",
                "PreconditionFailed": "an object already exists under this name",
            }
            words = known.get(code) or scrub(" ".join(str(detail.get("Message") or code).split()))[:200]
            return f"{words} (HTTP {status} {code})" if status else words
        return super().describe(error)

    def _info(self, path: str) -> ObjectInfo | None:
        from botocore.exceptions import ClientError

        bucket, _, key = path.partition("/")
        try:
            head = self._call("head_object", Bucket=bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return ObjectInfo(self.url(path), int(head["ContentLength"]), head.get("LastModified"))

    def info(self, url: str) -> ObjectInfo | None:
        return self._retry("stat", url, lambda: self._info(self.path(url)))

    def is_folder(self, url: str) -> bool:
        bucket, key = self._split(url)
        if not key.strip("/"):
            return True
        prefix = key.rstrip("/") + "/"
        found = self._retry("list", url, lambda: self._call("list_objects_v2", Bucket=bucket, Prefix=prefix, MaxKeys=1))
        return bool(found.get("KeyCount"))

    def list(self, url: str, *, recursive: bool) -> list[ObjectInfo]:
        bucket, key = self._split(url)
        prefix = key.strip("/") + "/" if key.strip("/") else ""
        found: list[ObjectInfo] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
            if not recursive:
                kwargs["Delimiter"] = "/"
            if token:
                kwargs["ContinuationToken"] = token
            page = self._retry("list", url, functools.partial(self._call, "list_objects_v2", **kwargs))
            for item in page.get("Contents", ()):
                found.append(ObjectInfo(self.url(f"{bucket}/{item['Key']}"), int(item["Size"]), item["LastModified"]))
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return sorted(found, key=lambda info: info.url)

    def read_range(self, url: str, start: int, end: int) -> bytes:
        bucket, key = self._split(url)
        if end <= start:
            return b""

        def get() -> bytes:
            response = self._call("get_object", Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}")
            data = cast(bytes, response["Body"])
            total = str(response.get("ContentRange", "")).rpartition("/")[2]
            expected = min(end, int(total)) - start if total.isdigit() else len(data)
            if len(data) < expected:  # the connection ended inside the body
                raise ConnectionError(f"the service sent {len(data)} of {expected} bytes")
            return data

        return self._retry("read", url, get)

    def open_read(
        self, url: str, size: int | None = None, *, chunk: int = READ_CHUNK, read_ahead: int = READ_AHEAD
    ) -> BinaryIO:
        """Without read-ahead (an inventory's heads), ranged GETs as `ObjectStore.open_read`;
        else one streaming GET (`StreamReader`)."""
        if not read_ahead or os.environ.get("AEROOPS_READ_RANGED"):
            return super().open_read(url, size, chunk=chunk, read_ahead=read_ahead)
        if size is None:
            found = self.info(url)
            if found is None:
                raise RemoteError(f"{url}: no such object", url=url)
            size = found.size
        return cast(BinaryIO, io.BufferedReader(StreamReader(self, url, size), STREAM_CHUNK))

    def open_body(self, url: str, offset: int) -> Any:
        """The body of a GET of ``url`` from byte ``offset`` on, open (read it by `read_body`)."""
        from fsspec.asyn import sync

        bucket, key = self._split(url)

        async def call() -> Any:
            client = await self.fs.set_session()
            response = await client.get_object(Bucket=bucket, Key=key, Range=f"bytes={offset}-")
            return response["Body"]

        return sync(self.fs.loop, call)

    def read_body(self, body: Any, size: int) -> bytes:
        """Up to ``size`` bytes of an open body (fewer only at its end), in one hop to the loop."""
        from fsspec.asyn import sync

        async def call() -> bytes:
            data = cast(bytes, await body.read(size))
            if len(data) >= size or not data:
                return data
            parts = [data]
            got = len(data)
            while got < size and (more := await body.read(size - got)):
                parts.append(more)
                got += len(more)
            return b"".join(parts)

        return cast(bytes, sync(self.fs.loop, call))

    def close_body(self, body: Any) -> None:
        from fsspec.asyn import sync

        async def call() -> None:
            body.close()

        with contextlib.suppress(Exception):
            sync(self.fs.loop, call)

    def read_small(self, url: str, limit: int) -> bytes | None:
        bucket, key = self._split(url)
        from botocore.exceptions import ClientError

        def get() -> bytes | None:
            try:
                response = self._call("get_object", Bucket=bucket, Key=key, Range=f"bytes=0-{limit - 1}")
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "InvalidRange"):
                    return b"" if error.response["Error"]["Code"] == "InvalidRange" else None
                raise
            return cast(bytes, response["Body"])

        return self._retry("read", url, get)

    def put(self, url: str, data: bytes, *, overwrite: bool = True) -> None:
        bucket, key = self._split(url)
        match = {} if overwrite else {"IfNoneMatch": "*"}
        self._put_checked(url, lambda: self._conditional(url, "put_object", Bucket=bucket, Key=key, Body=data, **match))

    def _conditional(self, url: str, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        try:
            return self._call(method, **kwargs)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise FileExistsError(url) from None
            raise

    def upload(self, url: str, *, overwrite: bool) -> Upload:
        return MultipartUpload(self, url, overwrite)

    def remove(self, url: str) -> None:
        bucket, key = self._split(url)
        self._retry("remove", url, lambda: self._call("delete_object", Bucket=bucket, Key=key))

    def abort_stale_uploads(self, folder: str) -> tuple[str, ...]:
        """The uploads into ``folder`` whose marker says aeroops started them in a run that is
        gone (this host, its process dead; another host's, a day old) are aborted, and their
        markers removed; an upload without aeroops' marker is never touched."""
        bucket, _ = self._split(folder)
        aborted: list[str] = []
        for marker in self.list(folder, recursive=False):
            name = marker.url.rsplit("/", 1)[-1]
            if not (name.startswith(UPLOAD_MARKER_PREFIX) and name.endswith(".json")):
                continue
            try:
                note = json.loads(self.read_small(marker.url, 64 << 10) or b"{}")
                key, upload_id = str(note["key"]), str(note["upload_id"])
            except (ValueError, KeyError, TypeError):
                continue  # not ours after all: leave it
            if not _gone(note, marker.modified):
                continue
            target = self.url(f"{bucket}/{key}")
            with contextlib.suppress(RemoteError):
                self._retry(
                    "abort upload",
                    target,
                    functools.partial(self._abort, bucket, key, upload_id),
                )
                aborted.append(target)
            self.remove(marker.url)
        return tuple(aborted)

    def _abort(self, bucket: str, key: str, upload_id: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self._call("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("NoSuchUpload", "404"):
                raise

    def uploads_in_progress(self, url: str) -> builtins.list[dict[str, Any]]:
        """The multipart uploads in progress under ``url``'s key prefix (a test looks)."""
        bucket, key = self._split(url)
        found = self._retry(
            "list uploads", url, lambda: self._call("list_multipart_uploads", Bucket=bucket, Prefix=key)
        )
        return list(found.get("Uploads", ()))


def _gone(note: dict[str, Any], written: datetime | None) -> bool:
    """Whether the run that wrote an upload marker is over."""
    if note.get("host") == socket.gethostname():
        pid = note.get("pid")
        if not isinstance(pid, int):
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    age = (datetime.now(UTC) - written).total_seconds() if written is not None else 0
    return age > FOREIGN_UPLOAD_GRACE_SECONDS


def part_size(number: int) -> int:
    """The size of multipart part ``number`` (from 1). S3 takes at most 10,000 parts, so parts
    of a fixed 8 MiB would stop an archive at 78 GiB; doubling every 1,000 parts reaches 7.8 TiB
    (past S3's 5 TiB object) while an archive under 8 GiB keeps the small parts' memory."""
    return min(PART_SIZE << ((number - 1) // PARTS_PER_SIZE), MAX_PART_SIZE)


class MultipartUpload(Upload):
    """An S3 multipart upload fed as a stream: parts of `part_size` go up on threads while the
    next fills. A marker object beside the archive names the upload as aeroops' own (the next
    run aborts it if this one is killed). `commit` completes it with ``If-None-Match: *`` unless
    ``overwrite``: the object appears whole, or not at all, and never over another. An archive
    smaller than a part goes up in one conditional PUT."""

    def __init__(self, store: S3Store, url: str, overwrite: bool) -> None:
        self._store, self._url, self._overwrite = store, url, overwrite
        self._bucket, self._key = store._split(url)
        self._part = io.BytesIO()
        self._upload_id: str | None = None
        self._marker: str | None = None
        self._parts: list[Future[dict[str, Any]]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._gate = threading.Semaphore(PARTS_IN_FLIGHT)
        self.size = 0

    def write(self, data: bytes | memoryview) -> None:
        # Each part is filled in a BytesIO of its own and handed over as the request's body:
        # botocore reads it to sign and checksum, aiohttp sends its buffer; no copy of a part
        # is made (a bytes body was copied twice: into the part, then by aiohttp's payload).
        view = memoryview(data).cast("B")
        self.size += len(view)
        while view:
            size = part_size(len(self._parts) + 1)
            room = size - self._part.tell()
            self._part.write(view[:room])
            view = view[room:]
            if self._part.tell() >= size:
                self._send(self._part)
                self._part = io.BytesIO()

    def _start(self) -> None:
        created = self._store._retry(
            "start upload",
            self._url,
            lambda: self._store._call(
                "create_multipart_upload", Bucket=self._bucket, Key=self._key, Metadata={"aeroops-upload": "1"}
            ),
        )
        self._upload_id = str(created["UploadId"])
        folder = self._url.rsplit("/", 1)[0]
        self._marker = f"{folder}/{UPLOAD_MARKER_PREFIX}{self._upload_id}.json"
        note = {
            "key": self._key,
            "upload_id": self._upload_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": datetime.now(UTC).isoformat(),
        }
        self._store.put(self._marker, json.dumps(note, sort_keys=True).encode())
        self._pool = ThreadPoolExecutor(PARTS_IN_FLIGHT, thread_name_prefix="aeroops-upload")

    def _send(self, part: io.BytesIO) -> None:
        if self._upload_id is None:
            self._start()
        assert self._pool is not None
        # A part failing early stops the stream at once rather than after the whole archive.
        for done in self._parts:
            if done.done() and done.exception() is not None:
                done.result()
        self._gate.acquire()
        number = len(self._parts) + 1
        future = self._pool.submit(self._upload_part, number, part)
        future.add_done_callback(lambda _future: self._gate.release())
        self._parts.append(future)

    def _upload_part(self, number: int, data: io.BytesIO) -> dict[str, Any]:
        def send() -> Any:
            data.seek(0)  # a retry sends the part from its start again
            return self._store._call(
                "upload_part",
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=data,
            )

        response = self._store._retry(f"upload part {number}", self._url, send)
        data.close()  # its buffer goes now, not when the future does
        return {"PartNumber": number, "ETag": response["ETag"]}

    def commit(self) -> None:
        match = {} if self._overwrite else {"IfNoneMatch": "*"}
        if self._upload_id is None:
            data = self._part.getvalue()
            self._part = io.BytesIO()
            self._store._put_checked(
                self._url,
                lambda: self._store._conditional(
                    self._url, "put_object", Bucket=self._bucket, Key=self._key, Body=data, **match
                ),
            )
            return
        if self._part.tell():
            self._send(self._part)
            self._part = io.BytesIO()
        parts = [future.result() for future in self._parts]
        self._store._put_checked(
            self._url,
            lambda: self._complete(parts, match),
        )
        self._close_pool()
        self._remove_marker()

    def _complete(self, parts: list[dict[str, Any]], match: dict[str, str]) -> None:
        from botocore.exceptions import ClientError

        try:
            self._store._conditional(
                self._url,
                "complete_multipart_upload",
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": parts},
                **match,
            )
        except ClientError as error:
            # A retried completion that the service had done already: the upload is gone, and
            # the object is ours if its size is what we sent.
            if error.response.get("Error", {}).get("Code") == "NoSuchUpload":
                found = self._store._info(self._store.path(self._url))
                if found is not None and found.size == self.size:
                    return
            raise

    def abort(self) -> None:
        """Stop and abort the upload (its parts are deleted); nothing appears under the name."""
        for future in self._parts:
            future.cancel()
        self._close_pool()
        if self._upload_id is not None:
            with log_failure("aborting the upload", self._url):
                self._store._retry(
                    "abort upload", self._url, lambda: self._store._abort(self._bucket, self._key, str(self._upload_id))
                )
            self._upload_id = None
        self._remove_marker()

    def _close_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _remove_marker(self) -> None:
        if self._marker is not None:
            with log_failure("removing the upload marker", self._marker):
                self._store.remove(self._marker)
            self._marker = None


@contextlib.contextmanager
def log_failure(what: str, url: str) -> Iterator[None]:
    """A clean-up that must not hide the error it cleans up after: logged, not raised."""
    try:
        yield
    except Exception as error:
        log.warning("%s %s failed: %s", what, url, scrub(str(error)))


def read_heads(
    store: ObjectStore, objects: Iterable[ObjectInfo], work: Callable[[ObjectInfo], T], *, workers: int = 16
) -> list[T]:
    """``work`` on each object, ``workers`` at a time (inventory reads many small heads at once)."""
    items = list(objects)
    if len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(min(workers, len(items)), thread_name_prefix="aeroops-heads") as pool:
        return list(pool.map(work, items))
