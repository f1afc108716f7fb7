"""Helpers of the hostile battery: real `serve` processes, raw HTTP, slow clients, Redis.

Nothing here imports `mock_server`: a server is the command line, a port read from its banner
("customer-session-mock serving http://HOST:PORT"), its stderr in a file, and its process
tree in /proc. Every helper is bounded in time, so a hung server fails a test, never the run.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

API_KEY = "hostile-key-0001"
AUTH = {"Authorization": f"ApiKey-v1 {API_KEY}"}
JSON_BODY = {**AUTH, "Content-Type": "application/json"}
BANNER = re.compile(r"customer-session-mock serving http://(?P<host>.*):(?P<port>\d+)\s*$")
START_TIMEOUT = 30.0
# What every error answer must look like once hardened: JSON, at most this many error items.
MAX_ERROR_ITEMS = 101  # "the first 100 problems, with a count of the rest"


def cli_path() -> str | None:
    """The `customer-session-mock` script of this interpreter's environment."""
    beside = Path(sys.executable).with_name("customer-session-mock")
    if beside.exists():
        return str(beside)
    return shutil.which("customer-session-mock")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def session_path(integration_id: str) -> str:
    """The path of a customer session (the id as given: callers percent-encode)."""
    return f"/v2/customer_sessions/{integration_id}"


# ----------------------------------------------------------------------------- processes


def children(pid: int) -> list[int]:
    """The process ids whose parent is `pid`, read from /proc."""
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue
        # The command name (in parentheses) may hold spaces: split after its closing one.
        fields = text.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.split("/")[2]))
    return sorted(found)


def socket_inodes(server_port: int, client_port: int) -> set[str]:
    """Inodes of the server-side sockets of one TCP connection (IPv4 and IPv6 tables)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            local_port = int(parts[1].rsplit(":", 1)[1], 16)
            remote_port = int(parts[2].rsplit(":", 1)[1], 16)
            if local_port == server_port and remote_port == client_port:
                inodes.add(parts[9])
    return inodes


def process_holding(pids: Iterable[int], inodes: set[str]) -> int | None:
    """The first of `pids` that has one of the socket `inodes` open."""
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for pid in pids:
        for fd in glob.glob(f"/proc/{pid}/fd/*"):
            with contextlib.suppress(OSError):
                if os.readlink(fd) in wanted:
                    return pid
    return None


class PreconditionFailed(Exception):
    """The test could not set up what it checks: never an expected (xfail) failure."""


def require(condition: object, message: str) -> None:
    """Like assert, but not an AssertionError, so that `xfail(raises=AssertionError)` does
    not take a broken set-up for the failure it expects."""
    if not condition:
        raise PreconditionFailed(message)


class ServerExited(Exception):
    """The server ended before printing its banner."""

    def __init__(self, returncode: int, output: str) -> None:
        last = output.strip().splitlines()[-1] if output.strip() else ""
        super().__init__(f"serve exited with {returncode}: {last}")
        self.returncode = returncode
        self.output = output


@dataclass
class MockServer:
    """`customer-session-mock serve --port 0 ARGS` in its own process group."""

    args: list[str]
    log_path: Path
    host: str = "127.0.0.1"
    # Where clients connect: the bound host, or loopback for a wildcard bind.
    connect_host: str = "127.0.0.1"
    process: subprocess.Popen[str] | None = None
    port: int = 0
    banner: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.connect_host}]" if ":" in self.connect_host else self.connect_host
        return f"http://{host}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, *, wait_ready: bool = True) -> MockServer:
        """Start, read the port from the banner, wait until the API answers."""
        cli = cli_path()
        require(cli is not None, "customer-session-mock is not installed")
        assert cli is not None  # for the type checker
        env = {k: v for k, v in os.environ.items() if not k.startswith("CSM_")}
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [cli, "serve", "--host", self.host, "--port", "0", *self.args],
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                text=True,
                env=env,
                start_new_session=True,
            )
        ready = threading.Event()
        self._reader = threading.Thread(target=self._read_banner, args=(ready,), daemon=True)
        self._reader.start()
        ready.wait(START_TIMEOUT)
        if not self.port:
            try:
                code = self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()
                message = f"serve printed no banner: {self.log_text()[-2000:]}"
                raise PreconditionFailed(message) from None
            self._join_reader()
            raise ServerExited(code, "\n".join(self.banner) + "\n" + self.log_text())
        if wait_ready:
            self.wait_ready()
        return self

    def _read_banner(self, ready: threading.Event) -> None:
        assert self.process is not None and self.process.stdout is not None
        with self.process.stdout as lines:  # this thread owns the pipe, to its end
            for line in lines:
                self.banner.append(line.rstrip("\n"))
                match = BANNER.search(line)
                if match and not self.port:
                    self.port = int(match.group("port"))
                    ready.set()
        ready.set()

    def _join_reader(self) -> None:
        if self._reader is not None:
            self._reader.join(5)

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Until an API request is answered (gunicorn's workers boot after the banner)."""
        deadline = time.monotonic() + timeout
        problem = ""
        while time.monotonic() < deadline:
            try:
                answer = requests.get(self.url + session_path("__ready__"), headers=AUTH, timeout=2)
                if answer.status_code in (200, 404):
                    return
                problem = f"status {answer.status_code}"
            except requests.RequestException as exc:
                problem = repr(exc)
            time.sleep(0.1)
        raise PreconditionFailed(f"server at {self.url} never answered: {problem}")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_lines(self) -> list[str]:
        return self.log_text().splitlines()

    def workers(self) -> list[int]:
        """gunicorn's worker processes (children of `serve`)."""
        return children(self.pid)

    def terminate(self, timeout: float) -> float | None:
        """SIGTERM; seconds until exit, or None when it outlived `timeout` (then killed)."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        self._join_reader()
        return time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL the whole process group (gunicorn's workers too)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        self._join_reader()


def _counter() -> Callable[[], int]:
    """Numbers for log files and folders, unique within the run."""
    numbers = iter(range(1_000_000))
    return lambda: next(numbers)


next_number = _counter()


# ----------------------------------------------------------------------------- raw HTTP


@dataclass
class RawResponse:
    """What came back on a raw connection: a parsed HTTP answer, or why there was none."""

    raw: bytes
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None  # "timeout", "reset", ...

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        return json.loads(self.body)

    def describe(self) -> str:
        head = self.raw[:300]
        return f"status={self.status} type={self.content_type!r} error={self.error} raw={head!r}"


def parse_response(raw: bytes) -> RawResponse:
    """Split an HTTP/1.x answer; an answer without a status line keeps status None."""
    response = RawResponse(raw)
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not raw.startswith(b"HTTP/") or not sep:
        response.body = raw
        return response
    lines = head.decode("latin-1").split("\r\n")
    response.status = int(lines[0].split(" ", 2)[1])
    for line in lines[1:]:
        name, _, value = line.partition(":")
        response.headers[name.strip().lower()] = value.strip()
    length = response.headers.get("content-length")
    response.body = rest[: int(length)] if length is not None else rest
    return response


def _complete(buffer: bytes) -> bool:
    head, sep, rest = buffer.partition(b"\r\n\r\n")
    if not sep:
        return False
    match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return match is not None and len(rest) >= int(match.group(1))


def read_answer(sock: socket.socket, timeout: float) -> RawResponse:
    """Read one answer: up to its Content-Length, or the connection's end, or `timeout`."""
    deadline = time.monotonic() + timeout
    buffer = b""
    error = None
    while not _complete(buffer):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            error = "timeout"
            break
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            error = "timeout"
            break
        except ConnectionResetError:
            error = "reset"
            break
        except OSError as exc:
            error = type(exc).__name__
            break
        if not chunk:
            break
        buffer += chunk
    response = parse_response(buffer)
    response.error = error
    return response


def raw_exchange(host: str, port: int, request: bytes, *, timeout: float = 5.0) -> RawResponse:
    """Send bytes on a fresh connection and read the answer."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        try:
            sock.sendall(request)
        except OSError as exc:  # the server may answer and close before reading it all
            answer = read_answer(sock, timeout)
            answer.error = answer.error or f"send: {type(exc).__name__}"
            return answer
        return read_answer(sock, timeout)


def request_head(method: str, path: str, headers: dict[str, str], *, host: str = "x") -> bytes:
    """A request line and header block, without body."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def assert_error_response(answer: RawResponse, status: int | tuple[int, ...]) -> dict[str, Any]:
    """The answer is JSON `ErrorResponse` with one of the statuses."""
    statuses = (status,) if isinstance(status, int) else status
    assert answer.status in statuses, f"expected {statuses}: {answer.describe()}"
    assert answer.content_type.startswith("application/json"), answer.describe()
    try:
        document = answer.json()
    except ValueError:
        raise AssertionError(f"not JSON: {answer.describe()}") from None
    assert isinstance(document, dict) and isinstance(document.get("message"), str), document
    assert isinstance(document.get("errors"), list), document
    return document


# ----------------------------------------------------------------------------- slow clients


class SlowClients:
    """Connections that send a request a little at a time, one piece a second."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.sockets: list[socket.socket] = []
        self._stop = threading.Event()
        self._pieces: dict[socket.socket, Iterator[bytes]] = {}
        self._thread = threading.Thread(target=self._drip, daemon=True)

    def open(self, first: bytes, pieces: Iterator[bytes], count: int) -> None:
        for _ in range(count):
            sock = socket.create_connection((self.host, self.port), timeout=5)
            sock.sendall(first)
            self.sockets.append(sock)
            self._pieces[sock] = pieces
        if not self._thread.is_alive():
            self._thread.start()

    def _drip(self) -> None:
        while not self._stop.wait(1.0):
            for sock, pieces in list(self._pieces.items()):
                with contextlib.suppress(OSError, StopIteration):
                    sock.sendall(next(pieces))

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        for sock in self.sockets:
            sock.close()


def endless(piece: bytes) -> Iterator[bytes]:
    while True:
        yield piece


# ----------------------------------------------------------------------------- redis


@dataclass
class RedisServer:
    """A throwaway redis-server on a fixed port, restartable with the data it persisted."""

    binary: str
    folder: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        # appendfsync always: a SIGKILL loses nothing, so a restart shows what was written.
        self.process = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.folder),
             "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.process.poll() is None:
            if self.ping():
                return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait(10)
