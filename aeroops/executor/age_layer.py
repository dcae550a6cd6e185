"""The age layer (age-encryption.org/v1): a streaming writer and reader around the next stream,
through `pyrage` (Rust's `age` crate): no cryptography is written here.

pyrage 1.4's `encrypt_io` / `decrypt_io` stream (measured: 300 MiB through each at a peak RSS of
10 MiB) but are copy loops that pull from a reader and push to a writer, and hold the GIL for as
long as they run. The writer runs its loop on a thread of its own behind a bounded queue; the
reader runs it in a forked child between two pipes (see `AgeReader`: on a thread it stopped the
decompression and the checks beside it). Either way each is a plain ``write()`` / ``read()``
object like the zstd layer, and memory stays bounded.

Damage maps onto codes from what age reports: the header (unknown format, a bad header MAC),
no matching identity, a chunk failing authentication, the stream ending before its final chunk
(age: "truncated"). A failure in the file's last chunk is reported as truncation *or* damage:
a file cut inside a chunk and a flipped byte in its last chunk fail the same check.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import signal
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
_QUEUED = 2  # batches in flight between the writer and its thread: memory, not speed, is short here
_BATCH = 256 << 10
_PIPE = 1 << 20  # the pipes to and from the decrypting child

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
    """Raised into the feeding loop when the reader was closed before the end."""


def _write_all(fd: int, data: Any) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _bigger_pipe(fd: int) -> None:
    # 1 MiB pipes: a read or write per MiB instead of per 64 KiB (Linux; elsewhere the default)
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE)


class _FdReader:
    """What pyrage's loop reads from in the child: the ciphertext pipe."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def read(self, n: int = -1) -> bytes:
        return os.read(self._fd, n if n > 0 else _PIPE)

    def readinto(self, target: Any) -> int:
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)


class _FdWriter:
    """What pyrage's loop writes to in the child: the plaintext pipe (unbuffered: every byte
    age released reaches the parent before the child reports how it ended)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def write(self, data: Any) -> int:
        _write_all(self._fd, data)
        return len(data)

    def flush(self) -> None:
        pass


def _decrypt_child(cipher: int, plain: int, report: int, identities: list[Identity]) -> int:
    """The forked child's whole life: age's decryption loop between two pipes; how it ended
    (the exception's class and pyrage's message, never a key) on the report pipe."""
    start = 3  # every other descriptor closed: other pipes' readers must see their EOF
    for fd in sorted((cipher, plain, report)):
        os.closerange(start, fd)
        start = fd + 1
    os.closerange(start, os.sysconf("SC_OPEN_MAX"))
    try:
        pyrage.decrypt_io(_FdReader(cipher), _FdWriter(plain), identities)
    except BaseException as error:
        os.close(plain)
        _write_all(report, f"{type(error).__name__}\n{error}".encode("utf-8", "replace"))
        return 1
    return 0


class AgeReader:
    """``read(n)`` the plaintext of an age stream read from ``upstream``, decrypted with the first
    of ``identities`` that opens it; damage raises `FormatError` with its AERO_AGE_* code.

    pyrage's loop holds the GIL for as long as it runs (it is a Rust function handed Python
    objects), so on a thread it would stop the rest of the process while it decrypts. It runs
    in a forked child instead, between two pipes: a thread here feeds it the stored bytes (and
    counts them, for the offsets of findings), and `read` takes the plaintext from the other
    pipe. The identities reach the child as the process's memory, through no pipe or file."""

    def __init__(self, upstream: Readable, identities: Iterable[Identity], *, path: object = None) -> None:
        self._path = path
        self._source = _Counting(upstream)
        keys = list(identities)
        cipher_r, cipher_w = os.pipe()
        plain_r, plain_w = os.pipe()
        report_r, report_w = os.pipe()
        for fd in (cipher_w, plain_w):
            _bigger_pipe(fd)
        pid = os.fork()
        if pid == 0:  # pragma: no cover  (the child: coverage is not collected there)
            status = 1
            try:
                for fd in (cipher_w, plain_r, report_r):
                    os.close(fd)
                status = _decrypt_child(cipher_r, plain_w, report_w, keys)
            finally:
                os._exit(status)
        for fd in (cipher_r, plain_w, report_w):
            os.close(fd)
        self._pid: int | None = pid
        self._cipher = cipher_w
        self._plain = plain_r
        self._report = report_r
        self._stopped = threading.Event()
        self._received = 0  # plaintext bytes age released
        self._view = memoryview(bytearray(_PIPE))
        self._ended = False
        self.bytes_out = 0
        self._thread = threading.Thread(target=self._feed, name="aeroops-age-feeder", daemon=True)
        self._thread.start()

    def _feed(self) -> None:
        try:
            while not self._stopped.is_set():
                data = self._source.read(_PIPE)
                if not data:
                    break
                _write_all(self._cipher, data)
        except BaseException:  # the child stopped reading (its verdict is on the report pipe),
            pass  # or the upstream failed (kept by _Counting, reported first)
        finally:
            os.close(self._cipher)

    def _finish(self) -> None:
        """The child ended its output: raise what it reported, if anything."""
        self._ended = True
        self._thread.join()
        chunks = []
        while chunk := os.read(self._report, 1 << 16):
            chunks.append(chunk)
        self._reap()
        if chunks:
            kind, _, text = b"".join(chunks).decode("utf-8", "replace").partition("\n")
            raise self._classify(kind, text)
        if self._source.error is not None:
            raise self._source.error

    def _reap(self) -> None:
        if self._pid is not None:
            os.waitpid(self._pid, 0)
            self._pid = None

    def _classify(self, kind: str, text: str) -> BaseException:
        if self._source.error is not None:
            return self._source.error
        if kind == "DecryptError":
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
        chunk = self._received // CHUNK
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
        # Pipe reads fill one reused buffer, handed out as one bytes of the right size: a fresh
        # 1 MiB bytes per pipe read, cut to the 64 KiB it got, fragmented the heap (141 MiB RSS).
        parts: list[bytes] = []
        total = 0
        while (n < 0 or total < n) and not self._ended:
            want = _PIPE if n < 0 else min(n - total, _PIPE)
            got = 0
            while got < want:
                size = os.readv(self._plain, [self._view[got:want]])
                if not size:
                    self._finish()  # raises what the child reported, if anything
                    break
                got += size
                self._received += size  # before a later read of this call raises, for its offset
                self.bytes_out += size
            parts.append(bytes(self._view[:got]))
            total += got
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def close(self) -> None:
        """Stop the child and the feeding thread (reading ended early, or finished); idempotent."""
        self._stopped.set()
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            self._reap()
        self._thread.join()
        for fd in (self._plain, self._report):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._plain = self._report = -1


__all__ = [
    "ARMOR_MAGIC",
    "MAGIC",
    "AgeReader",
    "AgeWriter",
    "parse_identities",
    "parse_recipient",
    "parse_recipients_file",
]
