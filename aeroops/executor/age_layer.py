"""The age layer (age-encryption.org/v1): a streaming writer and reader around the next stream,
through `pyrage` (Rust's `age` crate): no cryptography is written here.

pyrage 1.4's `encrypt_io` / `decrypt_io` stream (measured: 300 MiB through each at a peak RSS of
10 MiB) but are copy loops that pull from a reader and push to a writer. Each layer object runs
that loop on a thread of its own and trades bytes with it through a bounded queue, so it is a
plain ``write()`` / ``read()`` object like the zstd layer, and memory stays bounded.

Damage maps onto codes from what age reports: the header (unknown format, a bad header MAC),
no matching identity, a chunk failing authentication, the stream ending before its final chunk
(age: "truncated"). A failure in the file's last chunk is reported as truncation *or* damage:
a file cut inside a chunk and a flipped byte in its last chunk fail the same check.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import pyrage

from aeroops.errors import Code, FormatError, UsageError
from aeroops.formats.magic import AGE_ARMOR_MAGIC, AGE_MAGIC
from aeroops.formats.readable import Readable, Writable

MAGIC = AGE_MAGIC
ARMOR_MAGIC = AGE_ARMOR_MAGIC
CHUNK = 64 << 10  # plaintext bytes per STREAM chunk
SEALED_CHUNK = CHUNK + 16  # with its Poly1305 tag
_HEADER_LIMIT = 1 << 20  # where the header end is looked for
_QUEUED = 8  # chunks in flight between a layer and its thread
_BATCH = 1 << 20

Recipient = Any  # pyrage.x25519.Recipient | pyrage.ssh.Recipient (untyped library)
Identity = Any


def parse_recipient(text: str, *, where: str) -> Recipient:
    """An ``age1…`` (X25519) or ``ssh-ed25519 …`` recipient; `UsageError` for anything else.
    A value that is no recipient is never quoted, only named by ``where`` (``--encrypt-to``,
    ``line 3 of FILE``): what was typed there by mistake may be a secret key."""
    value = text.strip()
    if value.startswith("AGE-SECRET-KEY-") or "PRIVATE KEY" in value:
        raise UsageError(f"{where} is a secret key, not a recipient: encrypt to its public key (age-keygen -y)")
    try:
        if value.startswith("age1"):
            return pyrage.x25519.Recipient.from_str(value)
        if value.startswith("ssh-ed25519 "):
            return pyrage.ssh.Recipient.from_str(value)
    except pyrage.RecipientError:
        raise UsageError(f"{where} is not a valid key (an age1… or ssh-ed25519 recipient)") from None
    raise UsageError(f"{where} is neither an age1… key nor an ssh-ed25519 key")


def parse_recipients_file(text: str, *, source: str) -> list[Recipient]:
    """One recipient per line; blank lines and ``#`` comments skipped (age's -R format)."""
    return [
        parse_recipient(line, where=f"line {number} of {source}")
        for number, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


def parse_identities(data: bytes, *, source: str) -> list[Identity]:
    """The identities in an identity file's bytes: ``AGE-SECRET-KEY-1…`` lines (``#`` comments
    allowed, as age-keygen writes them) or an unencrypted OpenSSH ed25519 private key. Raises
    `UsageError` (AERO_IDENTITY) naming only ``source``: no byte of the key is ever shown."""
    text = data.decode("utf-8", "replace")
    if "-----BEGIN OPENSSH PRIVATE KEY-----" in text:
        try:
            return [pyrage.ssh.Identity.from_buffer(data)]
        except Exception:  # its message could quote the key: name the file only
            raise UsageError(
                f"{source} is an OpenSSH private key pyrage cannot use (encrypted, or not ed25519)",
                code=Code.IDENTITY,
            ) from None
    identities = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(pyrage.x25519.Identity.from_str(line))
        except Exception:
            raise UsageError(f"{source} holds a line that is no age identity", code=Code.IDENTITY) from None
    if not identities:
        raise UsageError(f"{source} holds no identity", code=Code.IDENTITY)
    return identities


class _QueueReader:
    """What pyrage's loop reads from: bytes a layer put in the queue (None ends the stream)."""

    def __init__(self, inbox: queue.Queue[bytes | None]) -> None:
        self._inbox = inbox
        self._buffer = b""
        self._at = 0
        self._ended = False

    def read(self, n: int = -1) -> bytes:
        if self._at == len(self._buffer) and not self._ended:
            item = self._inbox.get()
            if item is None:
                self._ended = True
            else:
                self._buffer, self._at = item, 0
        end = len(self._buffer) if n < 0 else min(len(self._buffer), self._at + n)
        data = self._buffer[self._at : end]
        self._at = end
        return data

    def readinto(self, target: Any) -> int:
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)


class _Writer:
    def __init__(self, write: Any) -> None:
        self.write = write


class AgeWriter:
    """``write()`` plain bytes; the age file goes to ``downstream.write`` (from the layer's thread);
    ``close()`` writes the final chunk and waits for the thread."""

    def __init__(self, downstream: Writable, recipients: Sequence[Recipient]) -> None:
        if not recipients:
            raise UsageError("encryption needs at least one recipient")
        self._inbox: queue.Queue[bytes | None] = queue.Queue(_QUEUED)
        self._error: BaseException | None = None
        self._pending = bytearray()
        self.bytes_in = 0
        self._thread = threading.Thread(
            target=self._run, args=(downstream, list(recipients)), name="aeroops-age-writer", daemon=True
        )
        self._thread.start()

    def _run(self, downstream: Writable, recipients: list[Recipient]) -> None:
        failed: list[BaseException] = []

        def write(data: bytes) -> object:
            try:
                return downstream.write(data)
            except BaseException as error:  # pyrage turns it into its own io error: keep the original
                failed.append(error)
                raise

        try:
            pyrage.encrypt_io(_QueueReader(self._inbox), _Writer(write), recipients)
        except BaseException as error:  # handed to the writer's caller
            self._error = failed[0] if failed else error
            while self._inbox.get() is not None:  # unblock the producer until it closes
                pass

    def _put(self, item: bytes | None) -> None:
        if self._error is not None:
            raise self._error
        self._inbox.put(item)

    def write(self, data: bytes) -> int:
        self.bytes_in += len(data)
        self._pending += data
        if len(self._pending) >= _BATCH:
            self._put(bytes(self._pending))
            self._pending.clear()
        return len(data)

    def abort(self) -> None:
        """End the thread without finishing the file (a backup that failed): no-op after close."""
        if self._thread.is_alive():
            self._inbox.put(None)
            self._thread.join()

    def close(self) -> None:
        if self._pending:
            self._put(bytes(self._pending))
            self._pending.clear()
        if self._thread.is_alive():
            self._inbox.put(None)
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            if isinstance(error, OSError):
                raise error
            raise OSError(f"age encryption failed: {type(error).__name__}")


class _Counting:
    """The upstream as pyrage reads it, counting and keeping the first bytes (to find where the
    header ends, for reports)."""

    def __init__(self, upstream: Readable) -> None:
        self._up = upstream
        self.count = 0
        self.ended = False
        self.head = b""
        self.error: BaseException | None = None  # what reading the upstream raised (not age's)

    def read(self, n: int = -1) -> bytes:
        try:
            data = self._up.read(n if n > 0 else 1 << 16)
        except BaseException as error:
            self.error = error
            raise
        if not data:
            self.ended = True
        if len(self.head) < _HEADER_LIMIT:
            self.head += data[: _HEADER_LIMIT - len(self.head)]
        self.count += len(data)
        return data

    def readinto(self, target: Any) -> int:
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)


class _Stop(Exception):
    """Raised into pyrage's loop when the reader was closed before the end."""


class _QueueWriter:
    """What pyrage's loop writes to: batches of plaintext into the queue."""

    def __init__(self, outbox: queue.Queue[bytes | BaseException | None], stopped: threading.Event) -> None:
        self._outbox = outbox
        self._stopped = stopped
        self._pending = bytearray()
        self.count = 0

    def write(self, data: Any) -> int:
        self._pending += data
        self.count += len(data)
        if len(self._pending) >= _BATCH:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self._pending:
            self.put(bytes(self._pending))
            self._pending.clear()

    def put(self, item: bytes | BaseException | None) -> None:
        while True:
            if self._stopped.is_set():
                raise _Stop
            try:
                self._outbox.put(item, timeout=0.1)
                return
            except queue.Full:
                continue


class AgeReader:
    """``read(n)`` the plaintext of an age stream read from ``upstream``, decrypted with the first
    of ``identities`` that opens it; damage raises `FormatError` with its AERO_AGE_* code."""

    def __init__(self, upstream: Readable, identities: Iterable[Identity], *, path: object = None) -> None:
        self._path = path
        self._source = _Counting(upstream)
        self._outbox: queue.Queue[bytes | BaseException | None] = queue.Queue(_QUEUED)
        self._stopped = threading.Event()
        self._sink = _QueueWriter(self._outbox, self._stopped)
        self._buffer = b""
        self._at = 0
        self._ended = False
        self.bytes_out = 0
        self._thread = threading.Thread(
            target=self._run, args=(list(identities),), name="aeroops-age-reader", daemon=True
        )
        self._thread.start()

    def _run(self, identities: list[Identity]) -> None:
        try:
            pyrage.decrypt_io(self._source, self._sink, identities)
            self._sink.flush()
            self._sink.put(None)
        except _Stop:
            return
        except BaseException as error:
            try:
                self._sink.flush()
                self._sink.put(self._classify(error))
            except _Stop:
                return

    def _classify(self, error: BaseException) -> BaseException:
        text = str(error)
        if self._source.error is not None:
            return self._source.error
        if isinstance(error, pyrage.DecryptError):
            if "No matching keys" in text:
                message = (
                    "the archive is encrypted to none of the identities given (or its header's recipient "
                    "stanzas were damaged: age cannot tell the two apart)"
                )
                return FormatError(message, path=self._path, code=Code.AGE_NO_IDENTITY)
            if "Header MAC" in text:
                return self._fail(Code.AGE_HEADER, "the age header fails its MAC: the header was changed", 0)
            if "fill whole buffer" in text or "Incomplete header" in text or not self._source.head:
                return self._fail(Code.AGE_TRUNCATED, "the age file ends inside its header", self._source.count)
            return self._fail(Code.AGE_HEADER, f"the age header is damaged or not age's ({text.splitlines()[0]})", 0)
        chunk = self._sink.count // CHUNK
        start = self._payload_start()
        offset = None if start is None else start + chunk * SEALED_CHUNK
        if "truncated" in text:
            return self._fail(
                Code.AGE_TRUNCATED, f"the age stream ends after chunk {chunk}, before its final chunk", offset
            )
        last = self._source.ended and offset is not None and offset + SEALED_CHUNK >= self._source.count
        if last:
            return self._fail(
                Code.AGE_TRUNCATED,
                f"the age stream's last chunk (chunk {chunk}) fails authentication: the file was cut inside a "
                "chunk, or its last chunk is damaged",
                offset,
            )
        return self._fail(Code.AGE_MAC, f"age chunk {chunk} fails authentication: its bytes were changed", offset)

    def _payload_start(self) -> int | None:
        head = self._source.head
        mark = head.find(b"\n--- ")
        if mark < 0:
            return None
        end = head.find(b"\n", mark + 1)
        return None if end < 0 else end + 1 + 16  # header, then the 16-byte nonce

    def _fail(self, code: Code, message: str, offset: int | None) -> FormatError:
        return FormatError(message, path=self._path, offset=offset, code=code)

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes, fewer only at the end (as a file's read)."""
        while (n < 0 or len(self._buffer) - self._at < n) and not self._ended:
            item = self._outbox.get()
            if item is None:
                self._ended = True
            elif isinstance(item, BaseException):
                self._ended = True
                self._buffer, self._at = b"", 0
                raise item
            else:
                self._buffer, self._at = self._buffer[self._at :] + item, 0
        end = len(self._buffer) if n < 0 else min(len(self._buffer), self._at + n)
        data = self._buffer[self._at : end]
        self._at = end
        self.bytes_out += len(data)
        return data

    def close(self) -> None:
        """Stop the thread (reading ended early, or finished)."""
        self._stopped.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._outbox.get(timeout=0.05)
        self._thread.join()


__all__ = [
    "ARMOR_MAGIC",
    "MAGIC",
    "AgeReader",
    "AgeWriter",
    "parse_identities",
    "parse_recipient",
    "parse_recipients_file",
]
