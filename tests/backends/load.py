"""Client load for process-level tests: threads in a (spawned) process, each with its own
connection, sending random updates of one session."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from tests.backends.serial_order import random_update
from tests.conftest import AUTH, session_url

Outcome = tuple[list[tuple[dict[str, Any], dict[str, Any]]], int]


def hammer(
    base_url: str, integration_id: str, seed: int, threads: int, requests_each: int
) -> Outcome:
    """Send `threads` x `requests_each` PUTs at once; return (body, session) per 200 and the 409s.

    Any other answer fails the caller: a 5xx is never acceptable for a valid update.
    """
    start = threading.Barrier(threads)

    def client(number: int) -> Outcome:
        rng = random.Random(f"{seed}/{number}")
        acknowledged: list[tuple[dict[str, Any], dict[str, Any]]] = []
        conflicts = 0
        with requests.Session() as http:
            http.headers.update(AUTH)
            start.wait()
            for request in range(requests_each):
                body = random_update(rng, f"{seed}-{number}-{request}")
                response = http.put(base_url + session_url(integration_id), json=body, timeout=30)
                if response.status_code == 409:
                    conflicts += 1
                    continue
                if response.status_code != 200:
                    raise AssertionError(f"{response.status_code}: {response.text}")
                acknowledged.append((body, response.json()["customerSession"]))
        return acknowledged, conflicts

    with ThreadPoolExecutor(threads) as pool:
        outcomes = list(pool.map(client, range(threads)))
    return [ack for acks, _ in outcomes for ack in acks], sum(c for _, c in outcomes)
