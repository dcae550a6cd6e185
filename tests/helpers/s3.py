"""A real S3 endpoint over HTTP for the tests: moto's standalone server (what s3fs's own suite
uses), on 127.0.0.1 and a free port, stopped by its pid; and a fault proxy in front of it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# Test credentials (moto accepts any): distinctive, so a test can look for them in every output.
ACCESS_KEY = "AKIATESTAEROOPS00001"
SECRET_KEY = "aeroops-Secret+Key/MustNeverShow-7f3a9c"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MotoServer:
    endpoint: str
    process: subprocess.Popen[bytes]

    def client(self, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name="us-east-1",
        )

    def reset(self) -> None:
        """Empty the server (every bucket, every upload): moto's reset endpoint."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).read()


@contextlib.contextmanager
def moto_server(*, no_auth_actions: int | None = None) -> Iterator[MotoServer]:
    """The server on a free port; ``no_auth_actions``: IAM checks every request after that many
    (the setup's), so credentials can be limited."""
    port = free_port()
    env = dict(os.environ)
    if no_auth_actions is not None:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(no_auth_actions)
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield MotoServer(endpoint, process)
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


def s3_environment(endpoint: str) -> dict[str, str]:
    """The environment a command needs to reach the server with the test credentials."""
    return {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AEROOPS_REMOTE_BACKOFF": "0.01",
    }


def aim_at(endpoint: str, setenv: Callable[[str, str], None]) -> None:
    """This process's environment pointing at the S3 server at ``endpoint`` (``setenv``: a
    MonkeyPatch's), and aeroops' object stores made anew so they read it."""
    from aeroops.executor import objectstore

    for name, value in s3_environment(endpoint).items():
        setenv(name, value)
    objectstore.reset_stores()


# --- the fault proxy ------------------------------------------------------------------------


@dataclass
class Fault:
    """What the proxy does to the requests ``matches`` accepts, ``times`` times (-1: always):
    ``"503"`` (ServiceUnavailable), ``"slowdown"`` (503 SlowDown), ``"drop"`` (close the
    connection without an answer), ``"cut"`` (half the body, then close), ``"lost"`` (forward it,
    then drop the answer: the service did it, the client never hears), ``"stall"`` (hold the
    request until the proxy stops: a kill test's moment)."""

    action: str
    matches: Callable[[str, str], bool]  # (method, path with query) -> this request?
    times: int = 1
    hits: int = 0


def upload_part(number: int) -> Callable[[str, str], bool]:
    return lambda method, path: method == "PUT" and f"partNumber={number}&" in path + "&"


def complete_upload(method: str, path: str) -> bool:
    return method == "POST" and "uploadId=" in path


def ranged_get(method: str, path: str) -> bool:
    return method == "GET" and "list-type" not in path and "uploads" not in path and path.count("/") >= 2


class FaultProxy:
    """An HTTP proxy in front of the moto server that fails chosen requests (`Fault`)."""

    def __init__(self, upstream: str) -> None:
        import http.server
        import threading

        self.upstream = upstream.removeprefix("http://")
        self.faults: list[Fault] = []
        self.seen: list[tuple[str, str]] = []
        self._stop = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy.seen.append((self.command, self.path))
                fault = proxy._fault(self.command, self.path)
                action = fault.action if fault else None
                if action == "stall":
                    proxy._stop.wait(120)
                    action = "drop"
                if action == "drop":
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if action in ("503", "slowdown"):
                    code = "SlowDown" if action == "slowdown" else "ServiceUnavailable"
                    error = f"<Error><Code>{code}</Code><Message>try later</Message></Error>".encode()
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(error)))
                    self.end_headers()
                    self.wfile.write(error)
                    return
                import http.client

                upstream = http.client.HTTPConnection(proxy.upstream, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                upstream.close()
                if action == "lost":
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                        self.send_header(key, value)
                length = answer.getheader("Content-Length") if self.command == "HEAD" else None
                self.send_header("Content-Length", length or str(len(data)))
                self.end_headers()
                if self.command == "HEAD":
                    return
                if action == "cut" and len(data) > 1:
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        class Quiet(http.server.ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that went away (a kill, a retry that gave up): expected here

        self.server = Quiet(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times != 0 and fault.matches(method, path):
                fault.times -= 1
                fault.hits += 1
                return fault
        return None

    def close(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(10)


def verify_killing_its_first_worker(url: str):  # type: ignore[no-untyped-def]
    """A Dask task for the fleet tests: the first task to run anywhere kills its worker process
    (a marker file, named by AEROOPS_TEST_CRASH_MARKER, says it happened); the scheduler must run
    it again elsewhere."""
    from aeroops.executor.audit import verify_archive
    from aeroops.executor.fileops import REAL

    marker = os.environ["AEROOPS_TEST_CRASH_MARKER"]
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return verify_archive(url, ops=REAL)
    os.close(fd)
    os._exit(1)


@contextlib.contextmanager
def proxied(server: MotoServer, setenv: Callable[[str, str], None]) -> Iterator[FaultProxy]:
    """The server emptied, with one bucket ``backups``, and a `FaultProxy` in front of it that
    this process's environment points at (3 retries); stopped after."""
    from aeroops.executor import objectstore

    server.reset()
    server.client().create_bucket(Bucket="backups")
    found = FaultProxy(server.endpoint)
    setenv("AEROOPS_REMOTE_RETRIES", "3")
    aim_at(found.endpoint, setenv)
    try:
        yield found
    finally:
        found.close()
        objectstore.reset_stores()


def killed_at_stall(proxy: FaultProxy, *args: str) -> None:
    """``aeroops ARGS`` in a child process, SIGKILLed once the proxy holds the request its
    first fault (a ``"stall"``) matches: a run killed at that moment of an upload."""
    child = subprocess.Popen(
        [sys.executable, "-m", "aeroops", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while proxy.faults[0].hits == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proxy.faults[0].hits == 1
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
