"""Issue item 2 and what follows from it: slow clients must not hold a worker, nor a session.

Goal: "no request can hold a worker hostage".
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import requests

from tests.hostile.support import (
    AUTH,
    JSON_BODY,
    MockServer,
    SlowClients,
    endless,
    request_head,
    session_path,
)

# A normal request next to the slow ones must be answered within this (it takes ~5 ms).
ANSWER_WITHIN = 1.5


def _timed_get(server: MockServer, timeout: float) -> tuple[int | None, float]:
    started = time.monotonic()
    try:
        answer = requests.get(server.url + session_path("bystander"), headers=AUTH, timeout=timeout)
    except requests.Timeout:
        return None, time.monotonic() - started
    return answer.status_code, time.monotonic() - started


def _slow_headers(server: MockServer, make: Callable[[str, int], SlowClients], count: int) -> None:
    """`count` connections that send a request's header block one field a second."""
    server.wait_ready(10)  # answering before: whatever stalls it comes from this test
    clients = make(server.connect_host, server.port)
    first = f"GET {session_path('slow-headers')} HTTP/1.1\r\nHost: x\r\n".encode()
    clients.open(first, endless(b"X-Slow: 1\r\n"), count)
    time.sleep(0.5)  # let the server accept them


def _assert_answered(server: MockServer, slow: str) -> None:
    status, seconds = _timed_get(server, ANSWER_WITHIN)
    assert status is not None, f"a GET next to {slow} got no answer within {seconds:.1f} s"
    assert status == 404, status


def test_slow_headers_do_not_stall_workers(
    workers_mock: MockServer, slow_clients: Callable[[str, int], SlowClients]
) -> None:
    """Desired: with 2 connections sending headers a line a second, a GET answers within ~1 s."""
    _slow_headers(workers_mock, slow_clients, 2)
    _assert_answered(workers_mock, "2 slow-header connections")


def test_slow_bodies_do_not_stall_workers(
    workers_mock: MockServer, slow_clients: Callable[[str, int], SlowClients]
) -> None:
    """Desired: with 2 connections dribbling a PUT body, a GET answers within ~1 s."""
    workers_mock.wait_ready(10)
    clients = slow_clients(workers_mock.connect_host, workers_mock.port)
    head = request_head("PUT", session_path("slow-body-w"), {**JSON_BODY, "Content-Length": "1000"})
    clients.open(head + b'{"customerSession":', endless(b" "), 2)
    time.sleep(0.5)
    _assert_answered(workers_mock, "2 slow-body connections")


def test_threaded_serve_holds_many_slow_clients(
    threaded_mock: MockServer, slow_clients: Callable[[str, int], SlowClients]
) -> None:
    """As the issue says: `serve` without workers answers next to 50 slow connections."""
    _slow_headers(threaded_mock, slow_clients, 50)
    _assert_answered(threaded_mock, "50 slow-header connections")


def test_a_withheld_body_does_not_hold_the_session(
    threaded_mock: MockServer, slow_clients: Callable[[str, int], SlowClients]
) -> None:
    """Desired: a PUT whose body has not arrived holds no mark; another PUT of it is applied."""
    threaded_mock.wait_ready(10)
    clients = slow_clients(threaded_mock.connect_host, threaded_mock.port)
    head = request_head(
        "PUT", session_path("withheld-body"), {**JSON_BODY, "Content-Length": "1000"}
    )
    clients.open(head + b'{"customerSession":', endless(b" "), 1)
    time.sleep(0.5)
    answer = requests.put(
        threaded_mock.url + session_path("withheld-body"),
        data=json.dumps({"customerSession": {"profileId": "on-time"}}),
        headers=JSON_BODY,
        timeout=5,
    )
    assert answer.status_code == 200, f"{answer.status_code}: {answer.text[:200]}"
