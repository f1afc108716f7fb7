"""Throughput of each store backend and a soak of one hammered session, on real servers.

Every number is a ratio against the memory store in one process, measured in the same run on
the same machine, because absolute requests per second say more about the machine than about
the mock. Run with `make bench` (about two minutes).
"""

from __future__ import annotations

import multiprocessing
import random
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.backends.load import hammer
from tests.backends.processes import ServeProcess, start_redis_server
from tests.backends.serial_order import Acknowledged, check_serial_order
from tests.conftest import API_KEY, APPLICATION_ID, AUTH, cart_body, session_url

LOAD_SECONDS = 6.0
CLIENT_PROCESSES = 2
THREADS_PER_CLIENT = 4
SOAK_ROUNDS = 4
ITEM = {"name": "Mug", "sku": "MUG-1", "quantity": 2, "price": 12.5}


def _client_load(base_url: str, seed: int, seconds: float) -> tuple[int, int]:
    """Half PUTs of new sessions, half GETs of them, for `seconds`; (requests, failures)."""

    def one_thread(number: int) -> tuple[int, int]:
        rng = random.Random(f"{seed}/{number}")
        done = failed = 0
        made: list[str] = []
        deadline = time.monotonic() + seconds
        with requests.Session() as http:
            http.headers.update(AUTH)
            while time.monotonic() < deadline:
                if made and rng.random() < 0.5:
                    response = http.get(base_url + session_url(rng.choice(made)), timeout=30)
                else:
                    integration_id = f"load-{seed}-{number}-{done}"
                    response = http.put(
                        base_url + session_url(integration_id),
                        json=cart_body(profileId=f"p-{rng.randint(1, 50)}", cartItems=[ITEM]),
                        timeout=30,
                    )
                    made.append(integration_id)
                done += 1
                failed += response.status_code != 200
        return done, failed

    with ThreadPoolExecutor(THREADS_PER_CLIENT) as pool:
        results = list(pool.map(one_thread, range(THREADS_PER_CLIENT)))
    return sum(d for d, _ in results), sum(f for _, f in results)


def _throughput(base_url: str) -> tuple[float, int]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(CLIENT_PROCESSES) as pool:
        started = time.monotonic()
        results = pool.starmap(
            _client_load, [(base_url, seed, LOAD_SECONDS) for seed in range(CLIENT_PROCESSES)]
        )
        elapsed = time.monotonic() - started
    return sum(d for d, _ in results) / elapsed, sum(f for _, f in results)


def _soak(base_url: str) -> tuple[int, int]:
    """Rounds of 2 processes x 4 threads hammering one session, each checked for a serial order."""
    total_acks = total_conflicts = 0
    for round_number in range(SOAK_ROUNDS):
        integration_id = f"soak-{round_number}"
        initial = requests.put(
            base_url + session_url(integration_id),
            json=cart_body(cartItems=[ITEM], attributes={"writer": "0"}),
            headers=AUTH,
            timeout=30,
        ).json()["customerSession"]
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            outcomes = pool.starmap(
                hammer, [(base_url, integration_id, seed, 4, 25) for seed in range(2)]
            )
        acknowledged = [Acknowledged(b, s) for acks, _ in outcomes for b, s in acks]
        final = requests.get(
            base_url + session_url(integration_id), headers=AUTH, timeout=30
        ).json()["customerSession"]
        check_serial_order(initial, acknowledged, final)
        total_acks += len(acknowledged)
        total_conflicts += sum(c for _, c in outcomes)
    return total_acks, total_conflicts


def main() -> None:
    """Run every configuration and write a table to stdout."""
    out = sys.stdout
    folder = Path(tempfile.mkdtemp(prefix="csm-bench-"))
    redis_binary = shutil.which("redis-server")
    redis_process = None
    configurations = [
        ("memory, 1 process", "memory://", 1),
        ("sqlite, 1 process", f"sqlite:///{folder / 'one.db'}", 1),
        ("sqlite, 2 workers", f"sqlite:///{folder / 'workers.db'}", 2),
    ]
    if redis_binary is not None:
        redis_process, redis_url = start_redis_server(redis_binary, folder)
        configurations.append(("redis, 2 workers", redis_url, 2))
    baseline = 0.0
    try:
        out.write(f"{'store':<20} {'req/s':>8} {'vs memory':>10} {'failed':>7}  soak\n")
        for name, url, workers in configurations:
            args = ("--api-key", f"{API_KEY}={APPLICATION_ID}", "--preload", "3")
            with ServeProcess(
                *args, "--store", url, "--workers", str(workers), log=folder / "server.log"
            ) as server:
                rate, failed = _throughput(server.url)
                baseline = baseline or rate
                soak = ""
                if url != "memory://":
                    acks, conflicts = _soak(server.url)
                    soak = f"serial order held: {acks} acknowledged, {conflicts} x 409"
            out.write(f"{name:<20} {rate:>8.0f} {rate / baseline:>9.2f}x {failed:>7}  {soak}\n")
            out.flush()
    finally:
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
