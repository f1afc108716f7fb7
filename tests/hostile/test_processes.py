"""Issue items 6 and 9 (SIGTERM): what the death or the stop of a server process leaves behind.

Goal: "marks released on every path" and "no request can hold a worker hostage".
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import requests

from tests.hostile.support import (
    API_KEY,
    AUTH,
    JSON_BODY,
    MockServer,
    process_holding,
    request_head,
    require,
    session_path,
    socket_inodes,
)

StartMock = Callable[..., MockServer]


def _wait_for_workers(server: MockServer, count: int, gone: int | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = server.workers()
        if len(workers) == count and gone not in workers:
            return
        time.sleep(0.1)
    require(False, f"workers of {server.pid}: {server.workers()}, wanted {count} without {gone}")


def test_killed_worker_does_not_leave_its_session_locked(
    start_mock: StartMock, hostile_tmp: Path
) -> None:
    """Desired: once the worker that held a PUT is dead, the session takes the next PUT."""
    database = hostile_tmp / f"killed-worker-{os.getpid()}-{time.monotonic_ns()}.db"
    server = start_mock(
        "--workers", "2", "--store", f"sqlite:///{database}", "--preload", "0",
        "--api-key", f"{API_KEY}=1",
    )  # fmt: skip
    _wait_for_workers(server, 2, None, 15)
    body = json.dumps({"customerSession": {"profileId": "held"}}).encode()
    head = request_head(
        "PUT",
        session_path("held-by-the-dead"),
        {**JSON_BODY, "Prefer": "delay=5000", "Content-Length": str(len(body))},
    )
    with socket.create_connection((server.connect_host, server.port), timeout=10) as held:
        held.sendall(head + body)
        time.sleep(0.8)  # the worker has marked the session and sleeps in the delay
        inodes = socket_inodes(server.port, held.getsockname()[1])
        holder = process_holding(server.workers(), inodes)
        require(holder is not None, f"no worker holds the connection ({inodes})")
        assert holder is not None  # for the type checker
        os.kill(holder, signal.SIGKILL)
        killed = time.monotonic()
        held.settimeout(5)
        require(held.recv(100) == b"", "the killed worker still answered")
    _wait_for_workers(server, 2, holder, 15)
    server.wait_ready(15)
    answer = requests.put(
        server.url + session_path("held-by-the-dead"),
        data=body,
        headers=JSON_BODY,
        timeout=10,
    )
    assert answer.status_code == 200, (
        f"{answer.status_code} {time.monotonic() - killed:.1f} s after the holder died: "
        f"{answer.text[:160]}"
    )


def test_sigterm_is_prompt_next_to_an_eager_keep_alive_client(start_mock: StartMock) -> None:
    """Desired: SIGTERM stops `serve` within a few seconds, whatever idle clients do.

    The client writes its next request as soon as the first byte of an answer arrives
    (as keep-alive load generators do, ignoring `Connection: close`).
    """
    server = start_mock("--store", "memory://", "--preload", "0")
    get = request_head("GET", session_path("eager"), AUTH)
    with socket.create_connection((server.connect_host, server.port), timeout=5) as eager:
        eager.sendall(get)
        require(eager.recv(1) == b"H", "no answer to the first request")
        eager.sendall(get)
        time.sleep(0.3)
        seconds = server.terminate(timeout=5)
    assert seconds is not None, "serve still running 5 s after SIGTERM (it takes ~30 s)"
