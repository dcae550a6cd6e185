"""The archive's digest on the second core: BLAKE3 (the default) or SHA-256, for the sidecar.
Both libraries release the GIL while they hash a large buffer, so hashing an archive's bytes in
a thread overlaps with reading, CRC-32 and writing them: the digest comes at almost no cost in
wall time. Used by backup (to write the sidecar) and verify (to check it)."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from aeroops.formats.sidecar import Algorithm, check_algorithm, format_digest

if TYPE_CHECKING:
    import queue


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> object: ...

    def hexdigest(self) -> str: ...


def _new_hasher(algorithm: Algorithm) -> _Hasher:
    # blake3 stays single-threaded (its default): the main pass has the other core.
    # Each library is imported when its digest is first wanted: a verify without a sidecar, the
    # usual small one, wants neither, and the imports are felt at every start.
    if algorithm == "blake3":
        import blake3

        return blake3.blake3()
    import hashlib  # here: only SHA-256 sidecars need it, and OpenSSL's loading is felt at every start

    return hashlib.sha256()


class Digest:
    """The ``algorithm`` digest of what `update` is given, computed in the calling thread (for
    small inputs and tests; `BackgroundDigest` for an archive's bytes)."""

    def __init__(self, algorithm: Algorithm) -> None:
        self.algorithm = check_algorithm(algorithm)
        self._hash = _new_hasher(self.algorithm)

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def tagged_digest(self) -> str:
        """The digest of everything given to `update`, tagged: ``blake3:<hex>`` or ``sha256:<hex>``."""
        return format_digest(self.algorithm, self._hash.hexdigest())


def digest_of(algorithm: Algorithm, data: bytes) -> str:
    """The tagged digest of ``data`` (a small file: a record)."""
    digest = Digest(algorithm)
    digest.update(data)
    return digest.tagged_digest()


class BackgroundDigest:
    """The ``algorithm`` digest of the archive, computed beside the main pass: on a second core
    the hash overlaps the CRC and WAL work instead of adding to it. Updates keep their order;
    the queue bounds how far the reader runs ahead."""

    _BATCH = 64 << 10  # small reads (tar headers) are batched: one queue hop per 64 KiB

    def __init__(self, algorithm: Algorithm) -> None:
        import queue  # with threading: only a run with a sidecar to write or check starts a thread
        import threading

        self._digest = Digest(algorithm)
        self.algorithm = self._digest.algorithm
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=2)  # 2 MiB ahead at most
        self._small = bytearray()
        self._thread = threading.Thread(target=self._run, name=f"aeroops-{self.algorithm}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            self._digest.update(data)

    def update(self, data: bytes) -> None:
        if len(data) < self._BATCH:
            self._small += data
            if len(self._small) < self._BATCH:
                return
            data, self._small = bytes(self._small), bytearray()
        elif self._small:
            self._queue.put(bytes(self._small))
            self._small = bytearray()
        self._queue.put(data)

    def close(self) -> None:
        if self._thread.is_alive():
            if self._small:
                self._queue.put(bytes(self._small))
                self._small = bytearray()
            self._queue.put(None)
            self._thread.join()

    def tagged_digest(self) -> str:
        """The digest of everything given to `update`, tagged: ``blake3:<hex>`` or ``sha256:<hex>``."""
        self.close()
        return self._digest.tagged_digest()

    def __enter__(self) -> BackgroundDigest:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()  # stops the thread whatever happened
