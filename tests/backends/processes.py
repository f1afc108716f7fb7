"""The real `customer-session-mock serve` command as a child process, for process-level tests."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import redis

CLI = str(Path(sys.executable).with_name("customer-session-mock"))
BANNER = re.compile(r"serving http://127\.0\.0\.1:(\d+)")
START_TIMEOUT = 60.0


class ServeProcess:
    """`customer-session-mock serve --port 0 ...`, with the port read from its banner.

    It runs in its own process group, so that the gunicorn workers it forks are ended with it.
    """

    def __init__(self, *args: str, log: Path) -> None:
        self.args = ["serve", "--host", "127.0.0.1", "--port", "0", *args]
        self.log = log
        self.process: subprocess.Popen[str] | None = None
        self.port = 0
        self.banner: list[str] = []
        self._reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL of the running server."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServeProcess:
        """Start the server and wait until it listens."""
        with self.log.open("a") as errors:
            self.process = subprocess.Popen(
                [CLI, *self.args],
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                start_new_session=True,
            )
        ready = threading.Event()
        self._reader = threading.Thread(target=self._read_banner, args=(ready,), daemon=True)
        self._reader.start()
        if not ready.wait(START_TIMEOUT) or not self.port:
            self.kill()
            raise AssertionError(f"server did not start: {self.banner} {self.log.read_text()}")
        return self

    def _read_banner(self, ready: threading.Event) -> None:
        assert self.process is not None and self.process.stdout is not None
        # This thread owns the pipe: it reads to the end (every process of the group gone).
        with self.process.stdout as lines:
            for line in lines:
                self.banner.append(line.rstrip())
                match = BANNER.search(line)
                if match:  # printed once the socket listens
                    self.port = int(match.group(1))
                    ready.set()
        ready.set()  # the process ended: let start() report it

    def signal(self, signum: int) -> None:
        """Send a signal to the server process (gunicorn's master with workers)."""
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float = 60.0) -> int:
        """Wait for the server to exit; its exit code."""
        assert self.process is not None
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL the server and everything it forked."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)
        if self._reader is not None:
            self._reader.join(10)

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.kill()


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))  # port 0: let the OS pick
        return int(probe.getsockname()[1])


def start_redis_server(binary: str, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A throwaway redis-server on a free port, persisting nothing; the process and its URL."""
    for _ in range(5):  # another process may take the free port before Redis binds it
        port = free_port()
        process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
             "--appendonly", "no", "--dir", str(folder), "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 10
        while process.poll() is None and time.monotonic() < deadline:
            try:
                client.ping()
                client.close()
                return process, url
            except redis.ConnectionError:
                time.sleep(0.05)
        client.close()
        process.kill()
        process.wait()
    raise RuntimeError("redis-server did not start")
