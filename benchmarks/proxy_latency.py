"""What the contract proxy adds to each call: latency (median, p99) and CPU, next to the mock's.

The mock runs as `customer-session-mock serve` runs it (one process, SQLite store), the proxy
as `customer-session-mock proxy --upstream <the mock>`; both are separate processes on
loopback. One client sends the same calls straight to the mock and through the proxy, in
turn, one at a time (so both see the same machine), each on a new connection as both servers
close theirs after an answer. Added latency = through the proxy minus direct; the target is
to add less than the mock itself costs per call.

    python -m benchmarks.proxy_latency [--calls 1500] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks.http_load import BIN, PUT_BODY, Server, cpu_seconds, running

API_KEY = "bench-key"
HEADERS = {"Authorization": f"ApiKey-v1 {API_KEY}", "Content-Type": "application/json"}
MOCK = Server(
    "mock",
    [
        str(BIN / "customer-session-mock"),
        "serve",
        "--port",
        "{port}",
        "--store",
        "sqlite:///{tmp}/sessions.db",
        "--api-key",
        API_KEY,
        "--preload",
        "0",
    ],
)


def proxy_server(upstream: str) -> Server:
    """The proxy in front of `upstream`, as its users start it."""
    return Server(
        "proxy",
        [
            str(BIN / "customer-session-mock"),
            "proxy",
            "--upstream",
            upstream,
            "--port",
            "{port}",
            "--log-format",
            "text",
        ],
        {"PYTHONWARNINGS": "ignore"},
    )


def call(
    base: str, method: str, path: str, body: bytes | None
) -> tuple[float, int, dict[str, str]]:
    """One request on a new connection: seconds until the whole answer, status, headers."""
    parts = urlsplit(base)
    began = time.perf_counter()
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=HEADERS)
        answer = connection.getresponse()
        answer.read()
        elapsed = time.perf_counter() - began
        return elapsed, answer.status, dict(answer.getheaders())
    finally:
        connection.close()


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def measure(direct: str, proxied: str, calls: int) -> dict[str, dict[str, list[float]]]:
    """Latencies of GET and PUT, straight and through the proxy, interleaved."""
    body = json.dumps(PUT_BODY).encode()
    sessions = {
        route: [f"bench-{route}-{uuid.uuid4().hex[:8]}-{i}" for i in range(20)]
        for route in ("direct", "proxy")
    }
    times: dict[str, dict[str, list[float]]] = {
        op: {"direct": [], "proxy": []} for op in ("GET", "PUT")
    }
    for route, base in (("direct", direct), ("proxy", proxied)):  # every session exists
        for session_id in sessions[route]:
            call(base, "PUT", "/v2/customer_sessions/" + session_id, body)
    for index in range(calls):
        for op in ("PUT", "GET"):
            for route, base in (("direct", direct), ("proxy", proxied)):
                session_id = sessions[route][index % 20]
                elapsed, status, headers = call(
                    base, op, "/v2/customer_sessions/" + session_id, body if op == "PUT" else None
                )
                if status != 200 or (
                    route == "proxy" and headers.get("X-Contract-Violations") != "0"
                ):
                    raise RuntimeError(f"{op} via {route}: {status} {headers}")
                times[op][route].append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1500, help="calls per operation and route")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    options = parser.parse_args()
    with ExitStack() as stack:
        mock = stack.enter_context(running(MOCK, "/openapi.json"))
        proxy = stack.enter_context(running(proxy_server(mock.url), "/openapi.json"))
        measure(mock.url, proxy.url, options.warmup)
        mock_cpu, proxy_cpu = cpu_seconds(mock.process_group), cpu_seconds(proxy.process_group)
        times = measure(mock.url, proxy.url, options.calls)
        mock_cpu = cpu_seconds(mock.process_group) - mock_cpu
        proxy_cpu = cpu_seconds(proxy.process_group) - proxy_cpu
    # The mock answers every call (2 routes x 2 operations); the proxy half of them.
    mock_calls, proxy_calls = 4 * options.calls, 2 * options.calls
    rows: list[dict[str, Any]] = []
    for op, routes in times.items():
        direct, via = routes["direct"], routes["proxy"]
        direct_median, via_median = statistics.median(direct), statistics.median(via)
        direct_p99, via_p99 = percentile(direct, 0.99), percentile(via, 0.99)
        rows.append(
            {
                "operation": op,
                "calls": len(direct),
                "direct_median_ms": direct_median * 1000,
                "direct_p99_ms": direct_p99 * 1000,
                "proxy_median_ms": via_median * 1000,
                "proxy_p99_ms": via_p99 * 1000,
                "added_median_ms": (via_median - direct_median) * 1000,
                "added_p99_ms": (via_p99 - direct_p99) * 1000,
            }
        )
    result = {
        "rows": rows,
        "mock_cpu_us_per_call": mock_cpu / mock_calls * 1e6,
        "proxy_cpu_us_per_call": proxy_cpu / proxy_calls * 1e6,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "os": platform.platform(),
        },
    }
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "proxy_latency.json").write_text(json.dumps(result, indent=2) + "\n")
    (options.out / "proxy_latency.md").write_text(render(result))
    print(render(result))  # noqa: T201 - a benchmark's report


def render(result: dict[str, Any]) -> str:
    """The result as a Markdown page."""
    lines = [
        "# Proxy benchmark: what `customer-session-mock proxy` adds per call",
        "",
        "One client, one call at a time, a new connection per call; the mock as `serve` runs "
        "it (one process, SQLite), the proxy in front of it (`proxy --upstream`, observe mode, "
        "every exchange checked). Added = through the proxy minus straight to the mock.",
        "",
        "| operation | calls | direct median ms | direct p99 ms | via proxy median ms | "
        "via proxy p99 ms | added median ms | added p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['operation']} | {row['calls']} | {row['direct_median_ms']:.2f} | "
            f"{row['direct_p99_ms']:.2f} | {row['proxy_median_ms']:.2f} | "
            f"{row['proxy_p99_ms']:.2f} | {row['added_median_ms']:.2f} | "
            f"{row['added_p99_ms']:.2f} |"
        )
    mock_cpu, proxy_cpu = result["mock_cpu_us_per_call"], result["proxy_cpu_us_per_call"]
    lines += [
        "",
        f"CPU per call (user + system, server processes only): the mock {mock_cpu:.0f} us, "
        f"the proxy {proxy_cpu:.0f} us.",
        "",
    ]
    for row in result["rows"]:
        met = row["added_median_ms"] < row["direct_median_ms"]
        lines.append(
            f"- {row['operation']}: the proxy adds {row['added_median_ms']:.2f} ms (median) to a "
            f"call that costs {row['direct_median_ms']:.2f} ms straight to the mock: target "
            f"{'met' if met else 'NOT met'}."
        )
    machine = result["machine"]
    lines += [
        "",
        f"Machine: {machine['cpus']} CPUs, Python {machine['python']}, {machine['os']}.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
