"""HTTP throughput and latency of the mock, side by side with a bare Flask app and Prism.

Every server runs at the same time on loopback, each on a free port; wrk (Debian's package, a
C load generator that leaves the two cores to the servers as much as any generator can) drives
each in turn with 32 connections for a bounded time. Rounds are interleaved, so a noisy minute
hurts every server alike; the table reports medians over rounds and ratios to the bare app.

    python benchmarks/http_load.py [--duration 5] [--rounds 3] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SPEC = ROOT / "openapi.yaml"
API_KEY = "bench-key"
AUTH_HEADER = f"ApiKey-v1 {API_KEY}"
CONNECTIONS = 32
WORKERS = 2
# Threads per worker, as `serve --workers` runs them by default (Settings.threads).
THREADS = 32
PRELOAD = 200
PRISM = "@stoplight/prism-cli@5"

# A realistic update: two items, a coupon and shipping, as in openapi.yaml's example.
PUT_BODY = {
    "customerSession": {
        "profileId": "customer-7f3a",
        "couponCodes": ["WINTER-10"],
        "cartItems": [
            {
                "name": "Trail Running Shoe",
                "sku": "SKU-4821-RUN",
                "quantity": 1,
                "price": 89.99,
                "category": "Footwear",
            },
            {
                "name": "Merino Socks",
                "sku": "SKU-1022-SOC",
                "quantity": 3,
                "price": 12.5,
                "category": "Apparel",
            },
        ],
        "additionalCosts": {"shipping": {"price": 4.95}},
        "attributes": {"channel": "web"},
    },
    "responseContent": ["customerSession"],
}


def gunicorn(app: str, *, threads: int = THREADS) -> list[str]:
    """gunicorn with the workers `serve --workers` runs: threaded, `threads` each (0: sync)."""
    workers = ["--workers", str(WORKERS)]
    if threads:
        workers += ["--worker-class", "gthread", "--threads", str(threads)]
    return [str(BIN / "gunicorn"), *workers, "--bind", "127.0.0.1:{port}", app]


# The one place that says how "our mock" is served: as its users serve it, on the default SQLite
# store (a fresh file per server, in the run's temporary folder).
MOCK_SERVER_COMMAND = [
    str(BIN / "customer-session-mock"),
    "serve",
    "--workers",
    str(WORKERS),
    "--port",
    "{port}",
    "--store",
    "sqlite:///{tmp}/{port}.db",
]
MOCK_ENV = {"CSM_PRELOAD": str(PRELOAD), "CSM_SEED": "42"}


@dataclass(frozen=True)
class Server:
    """One contestant: how to start it and what it is."""

    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    baseline: bool = False


def servers(with_prism: bool) -> list[Server]:
    """Every server of the run; Prism only when Node.js is there."""
    chosen = [
        Server("bare Flask (ceiling)", gunicorn("benchmarks.bare_app:app"), baseline=True),
        Server("bare Flask, sync workers", gunicorn("benchmarks.bare_app:app", threads=0)),
        Server("mock, compiled validation", MOCK_SERVER_COMMAND, MOCK_ENV),
        Server(
            "mock, compiled, responses unchecked",
            MOCK_SERVER_COMMAND,
            {**MOCK_ENV, "CSM_VALIDATE_RESPONSES": "false"},
        ),
        Server(
            "mock, openapi-core validation",
            MOCK_SERVER_COMMAND,
            {**MOCK_ENV, "CSM_VALIDATOR": "openapi-core"},
        ),
        Server("mock, 1 thread per worker", MOCK_SERVER_COMMAND, {**MOCK_ENV, "CSM_THREADS": "1"}),
    ]
    if with_prism:
        prism = ["npx", "--yes", PRISM, "mock", "--host", "127.0.0.1", "--port", "{port}"]
        chosen += [
            Server("Prism, static examples", [*prism, str(SPEC)]),
            Server("Prism, dynamic (-d)", [*prism, "--dynamic", str(SPEC)]),
        ]
    return chosen


def free_port() -> int:
    """A port nobody listens on right now (port 0: let the OS pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def preloaded_ids() -> list[str]:
    """The integration ids the mock preloads with the bench's seed, to GET real sessions."""
    from mock_server import Settings, create_app
    from mock_server.http.state import mock_state

    app = create_app(Settings(store_url="memory://", preload=PRELOAD, seed=42))
    with app.app_context():
        return list(mock_state().preloaded_ids)


def wait_until_ready(url: str, timeout: float) -> float:
    """Seconds until `url` answers 200; RuntimeError after `timeout`."""
    start = time.perf_counter()
    request = urllib.request.Request(url, headers={"Authorization": AUTH_HEADER})
    while time.perf_counter() - start < timeout:
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.02)
    raise RuntimeError(f"{url} not ready after {timeout} s")


def cpu_seconds(process_group: int) -> float:
    """User + system CPU time used so far by every live process of a process group."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[2]) == process_group:  # fields after "comm)": state ppid pgrp ...
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Running:
    """A started server: where it listens, how long it took, its process group."""

    url: str
    startup: float
    process_group: int


@contextmanager
def running(server: Server, probe_path: str, timeout: float = 60) -> Iterator[Running]:
    """Start a server on a free port, with a scratch folder; yield where it runs; stop it."""
    port = free_port()
    scratch = tempfile.TemporaryDirectory()
    command = [part.format(port=port, tmp=scratch.name) for part in server.command]
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **server.env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so its workers stop with it
    )
    base = f"http://127.0.0.1:{port}"
    try:
        startup = wait_until_ready(base + probe_path, timeout)
        yield Running(base, startup, process.pid)
    except RuntimeError:
        log.seek(0)
        sys.stderr.write(log.read().decode(errors="replace")[-2000:])
        raise
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()
        log.close()
        scratch.cleanup()


def lua_scripts(directory: Path, ids: list[str]) -> dict[str, Path]:
    """wrk scripts: GET cycles over preloaded sessions, PUT over 1,000 ids per thread."""
    headers = f'wrk.headers["Authorization"] = "{AUTH_HEADER}"\n'
    get = directory / "get.lua"
    get.write_text(
        headers
        + "local ids = {"
        + ",".join(json.dumps(i) for i in ids)
        + "}\nlocal n = 0\n"
        + "request = function()\n  n = n + 1\n"
        + '  return wrk.format("GET", "/v2/customer_sessions/" .. ids[n % #ids + 1])\nend\n'
    )
    put = directory / "put.lua"
    put.write_text(
        headers
        + 'wrk.headers["Content-Type"] = "application/json"\n'
        + 'wrk.method = "PUT"\nwrk.body = \''
        + json.dumps(PUT_BODY)
        + "'\nlocal threads = 0\n"
        + 'function setup(thread)\n  threads = threads + 1\n  thread:set("tid", threads)\nend\n'
        + "local n = 0\n"
        + "request = function()\n  n = n + 1\n"
        + '  return wrk.format(nil, "/v2/customer_sessions/bench-" .. tid .. "-" .. n % 1000)\n'
        + "end\n"
    )
    return {"GET": get, "PUT": put}


@dataclass
class Sample:
    """One wrk run."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    # CPU the server's processes spent per answered request: unlike req/s, barely moved by
    # other work on the machine.
    cpu_us_per_request: float = 0.0


def _milliseconds(text: str) -> float:
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
    for unit in ("us", "ms", "s", "m"):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    return float(text)


def wrk(server: Running, script: Path, duration: float) -> Sample:
    """One bounded wrk run against a server."""
    cpu_before = cpu_seconds(server.process_group)
    output = subprocess.run(
        [
            "wrk",
            "--threads",
            "2",
            "--connections",
            str(CONNECTIONS),
            "--duration",
            f"{duration:g}s",
            "--timeout",
            "5s",
            "--latency",
            "--script",
            str(script),
            server.url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    ).stdout
    cpu = cpu_seconds(server.process_group) - cpu_before
    rate = p50 = p99 = 0.0
    errors = requests = 0
    for line in output.splitlines():
        words = line.split()
        if len(words) > 2 and words[1] == "requests" and words[2] == "in":
            requests = int(words[0])
        elif line.startswith("Requests/sec:"):
            rate = float(words[1])
        elif len(words) == 2 and words[0] == "50%":
            p50 = _milliseconds(words[1])
        elif len(words) == 2 and words[0] == "99%":
            p99 = _milliseconds(words[1])
        elif line.strip().startswith("Non-2xx or 3xx responses:"):
            errors += int(words[-1])
        elif line.strip().startswith("Socket errors:"):
            errors += sum(int(w.strip(",")) for w in words if w.strip(",").isdigit())
    return Sample(rate, p50, p99, errors, cpu / max(requests, 1) * 1e6)


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass

    def version(command: list[str]) -> str:
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=120)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "not available"

    return {
        "cpu": f"{cpu} ({os.cpu_count()} logical cores)",
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "wrk": version(["wrk", "--version"]),
        "node": version(["node", "--version"]),
        "gunicorn": version([str(BIN / "gunicorn"), "--version"]),
        "load average before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def measure(duration: float, rounds: int, with_prism: bool, only: list[str]) -> dict[str, object]:
    """Run every server, interleaving rounds; return raw samples and start-up times."""
    ids = preloaded_ids()
    chosen = [
        s
        for s in servers(with_prism)
        if s.baseline or not only or any(word in s.name for word in only)
    ]
    samples: dict[str, dict[str, list[Sample]]] = {s.name: {"GET": [], "PUT": []} for s in chosen}
    startups: dict[str, float] = {}
    probe = f"/v2/customer_sessions/{ids[0]}"
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        scripts = lua_scripts(Path(tmp), ids)
        started: dict[str, Running] = {}
        for server in chosen:
            started[server.name] = stack.enter_context(
                running(server, probe, timeout=180 if "Prism" in server.name else 60)
            )
            startups[server.name] = started[server.name].startup
            sys.stderr.write(f"started {server.name} in {startups[server.name]:.2f} s\n")
        for server in chosen:  # warm-up: imports, caches, JIT of Node
            for script in scripts.values():
                wrk(started[server.name], script, min(2.0, duration))
        for round_number in range(rounds):
            for server in chosen:
                for method, script in scripts.items():
                    sample = wrk(started[server.name], script, duration)
                    samples[server.name][method].append(sample)
                    sys.stderr.write(
                        f"round {round_number + 1}/{rounds} {server.name:38} {method} "
                        f"{sample.requests_per_second:8.0f} req/s  p99 {sample.p99_ms:6.1f} ms"
                        f"  errors {sample.errors}  cpu {sample.cpu_us_per_request:5.0f} us/req\n"
                    )
    return {
        "servers": [
            {
                "name": s.name,
                "baseline": s.baseline,
                "command": " ".join(s.command).replace(f"{ROOT}/", ""),
                "env": s.env,
            }
            for s in chosen
        ],
        "samples": {
            name: {m: [vars(x) for x in runs] for m, runs in by_method.items()}
            for name, by_method in samples.items()
        },
        "startup_seconds": startups,
    }


def summarise(raw: dict[str, object]) -> list[dict[str, object]]:
    """Medians per server and method, and ratios to the baseline."""
    samples = raw["samples"]
    assert isinstance(samples, dict)
    servers_ = raw["servers"]
    assert isinstance(servers_, list)
    baseline = next(s["name"] for s in servers_ if s["baseline"])
    medians: dict[str, dict[str, dict[str, float]]] = {}
    for name, by_method in samples.items():
        medians[name] = {}
        for method, runs in by_method.items():
            medians[name][method] = {
                key: statistics.median(run[key] for run in runs)
                for key in ("requests_per_second", "p50_ms", "p99_ms", "cpu_us_per_request")
            }
            medians[name][method]["errors"] = sum(run["errors"] for run in runs)
    rows = []
    for server in servers_:
        name = server["name"]
        row: dict[str, object] = {"server": name}
        for method in ("GET", "PUT"):
            stats = medians[name][method]
            base = medians[baseline][method]["requests_per_second"]
            row[method] = {**stats, "ratio": stats["requests_per_second"] / base}
        rows.append(row)
    return rows


def markdown(
    rows: list[dict[str, object]], raw: dict[str, object], info: dict[str, str], rounds: int
) -> str:
    """The results table, the start-up times and the machine, as markdown."""
    lines = [
        "# HTTP benchmark: customer-session-mock vs a bare Flask app and Prism",
        "",
        f"wrk, {CONNECTIONS} connections, 2 threads, loopback; every Python server on gunicorn "
        f"with {WORKERS} threaded workers ({THREADS} threads each), the mock as its users start it "
        f"(`customer-session-mock serve --workers {WORKERS}`, on its default SQLite store, "
        f"access log on). Medians of {rounds} interleaved runs; ratio = req/s over the "
        "bare Flask app's in the same run. CPU us/req: user + system CPU time of the server's "
        "processes per answered request (the load generator excluded), which other work on "
        "the machine disturbs far less than req/s.",
        "",
        "| server | GET req/s | GET ratio | GET p99 ms | GET CPU us/req | PUT req/s | PUT ratio "
        "| PUT p99 ms | PUT CPU us/req | non-2xx |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        get, put = row["GET"], row["PUT"]
        assert isinstance(get, dict) and isinstance(put, dict)
        lines.append(
            f"| {row['server']} | {get['requests_per_second']:,.0f} | {get['ratio']:.2f} "
            f"| {get['p99_ms']:.1f} | {get['cpu_us_per_request']:.0f} "
            f"| {put['requests_per_second']:,.0f} | {put['ratio']:.2f} "
            f"| {put['p99_ms']:.1f} | {put['cpu_us_per_request']:.0f} "
            f"| {int(get['errors']) + int(put['errors'])} |"
        )
    startups = raw["startup_seconds"]
    assert isinstance(startups, dict)
    lines += ["", "Start-up, from launch to the first 200 answer (spec loaded, validators built,"]
    lines += [f"{PRELOAD} sessions preloaded per worker):", ""]
    lines += [f"- {name}: {seconds:.2f} s" for name, seconds in startups.items()]
    lines += ["", "## Machine", ""]
    lines += [f"- {key}: {value}" for key, value in info.items()]
    return "\n".join(lines) + "\n"


def chart(rows: list[dict[str, object]], path: Path) -> None:
    """Requests per second and CPU per request, per server, GET and PUT side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [str(row["server"]) for row in rows]
    figure, (rates, cpu) = plt.subplots(1, 2, figsize=(14, 5.5))
    width = 0.38
    for offset, method in ((-width / 2, "GET"), (width / 2, "PUT")):
        stats = [row[method] for row in rows]
        positions = [i + offset for i in range(len(rows))]
        bars = rates.bar(positions, [s["requests_per_second"] for s in stats], width, label=method)  # type: ignore[index]
        rates.bar_label(bars, fmt="%.0f", fontsize=7)
        bars = cpu.bar(positions, [s["cpu_us_per_request"] for s in stats], width, label=method)  # type: ignore[index]
        cpu.bar_label(bars, fmt="%.0f", fontsize=7)
    for axis in (rates, cpu):
        axis.set_xticks(range(len(rows)), names, rotation=25, ha="right", fontsize=8)
        axis.legend()
    rates.set_ylabel("requests per second (median, higher is better)")
    cpu.set_ylabel("server CPU us per request (median, lower is better)")
    cpu.set_yscale("log")
    figure.suptitle(f"wrk, {CONNECTIONS} connections, loopback; gunicorn with {WORKERS} workers")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    """Measure, then write results.json, results.md and throughput.png."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--no-prism", action="store_true", help="skip Prism even with Node.js")
    parser.add_argument(
        "--only", action="append", default=[], help="servers whose name has this (repeatable)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    with_prism = not args.no_prism and shutil.which("npx") is not None
    info = machine()
    if with_prism:
        info["prism"] = subprocess.run(
            ["npx", "--yes", PRISM, "--version"], capture_output=True, text=True, timeout=600
        ).stdout.strip()
    raw = measure(args.duration, args.rounds, with_prism, args.only)
    info["load average after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = summarise(raw)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "http_load.json").write_text(
        json.dumps({"machine": info, "summary": rows, **raw}, indent=2) + "\n"
    )
    (args.out / "http_load.md").write_text(markdown(rows, raw, info, args.rounds))
    chart(rows, args.out / "http_load.png")
    sys.stdout.write(markdown(rows, raw, info, args.rounds))


if __name__ == "__main__":
    main()
