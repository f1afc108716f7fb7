"""Measure latency models, the error rate, faults and the cost of scenarios from outside.

Run: .venv/bin/python benchmarks/traffic.py   (a few seconds on 2 cores; not part of `make test`)
Every figure is a ratio or a distribution measured in this run, against this run's baseline.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable

import requests
from werkzeug.serving import make_server

from mock_server import Settings, create_app

AUTH = {"Authorization": "ApiKey-v1 bench"}


def report(line: str) -> None:
    """One line of results on stdout."""
    sys.stdout.write(line + "\n")


def serve(settings: Settings) -> tuple[str, Callable[[], None]]:
    server = make_server("127.0.0.1", 0, create_app(settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()

    return f"http://127.0.0.1:{server.server_port}", stop


def timed_gets(url: str, count: int, headers: dict[str, str]) -> list[float]:
    times = []
    with requests.Session() as http:
        for _ in range(count):
            started = time.perf_counter()
            http.get(url, headers=headers, timeout=30)
            times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    base = Settings(store_url="memory://", api_keys={"bench": 1}, preload=1)
    url, stop = serve(base)
    session = url + "/v2/customer_sessions/bench-1"
    requests.put(session, json={"customerSession": {"profileId": "p"}}, headers=AUTH, timeout=30)
    baseline = statistics.median(timed_gets(session, 300, AUTH))
    report(f"stateful GET median           {baseline:7.2f} ms (baseline)")
    for prefer in ("code=200, example=openCart", "dynamic=true", "code=404"):
        median = statistics.median(timed_gets(session, 300, {**AUTH, "Prefer": prefer}))
        report(f"GET Prefer: {prefer:<18} {median:7.2f} ms  x{median / baseline:.2f}")
    for delay in (50, 200):
        observed = timed_gets(session, 20, {**AUTH, "Prefer": f"delay={delay}"})
        extra = statistics.median(observed) - baseline
        report(f"Prefer: delay={delay:<4} added      {extra:7.2f} ms (median, minus baseline)")
    faults: Counter[str] = Counter()
    for fault in ("connection-reset", "empty", "malformed"):
        for _ in range(50):
            try:
                requests.get(session, headers={**AUTH, "Prefer": f"fault={fault}"}, timeout=30)
                faults[f"{fault}: answered"] += 1
            except requests.ConnectionError:
                faults[f"{fault}: broken"] += 1
    report(f"faults {dict(faults)}")
    stop()

    for latency, label in (
        ("50ms", "fixed 50ms"),
        ("20-200ms", "uniform 20-200ms"),
        ("median=80ms,sigma=0.4", "lognormal median=80ms,sigma=0.4"),
    ):
        url, stop = serve(
            Settings(store_url="memory://", api_keys={"bench": 1}, preload=0, latency=latency)
        )
        observed = [t - baseline for t in timed_gets(url + "/v2/customer_sessions/x", 60, AUTH)]
        quartiles = statistics.quantiles(observed, n=4)
        report(
            f"{label:<34} added: min {min(observed):6.1f}  q1 {quartiles[0]:6.1f}  "
            f"median {quartiles[1]:6.1f}  q3 {quartiles[2]:6.1f}  max {max(observed):6.1f} ms"
        )
        stop()

    url, stop = serve(
        Settings(store_url="memory://", api_keys={"bench": 1}, preload=0, error_rate=0.05)
    )
    statuses: Counter[int] = Counter()
    with requests.Session() as http:
        for index in range(2000):
            statuses[
                http.put(
                    f"{url}/v2/customer_sessions/e-{index}",
                    json={"customerSession": {}},
                    headers=AUTH,
                    timeout=30,
                ).status_code
            ] += 1
    report(f"error rate 0.05 over 2000 PUTs: {dict(statuses)} -> {statuses[409] / 2000:.3f}")
    stop()


if __name__ == "__main__":
    main()
