"""Start-up, fixture-generation rate and peak memory, and the contract suite's wall time.

Each measurement runs in a fresh interpreter, so imports, caches and peak memory are those of
a real start. Medians of several runs; results appended to benchmarks/results/offline.md.

    python benchmarks/offline.py [--runs 5] [--sessions 20000] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(sys.executable).parent

# Spec loaded, validators compiled, store preloaded: what a worker does before serving.
STARTUP = """
import time
start = time.perf_counter()
from mock_server import Settings, create_app
create_app(Settings(preload={preload}, validator="{validator}"))
print(time.perf_counter() - start)
"""

GENERATOR = """
import resource, time
from mock_server.generator import SessionGenerator, GeneratorOptions
from mock_server.wire import dumps_session
start = time.perf_counter()
generator = SessionGenerator(42, GeneratorOptions(application_id=1))
count = 0
for session in generator.sessions({sessions}):
    dumps_session(session)
    count += 1
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(count / elapsed, peak)
"""


def _python(code: str) -> list[float]:
    out = subprocess.run(
        [PYTHON, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=600
    ).stdout
    return [float(word) for word in out.split()]


def startup(runs: int, preload: int) -> dict[str, float]:
    """Median seconds to import the package and build a ready app, per validator."""
    return {
        validator: statistics.median(
            _python(STARTUP.format(preload=preload, validator=validator))[0] for _ in range(runs)
        )
        for validator in ("compiled", "openapi-core")
    }


def generator(runs: int, sessions: int) -> tuple[float, float]:
    """Median sessions per second (generated and serialised) and peak resident MiB."""
    samples = [_python(GENERATOR.format(sessions=sessions)) for _ in range(runs)]
    return (
        statistics.median(rate for rate, _ in samples),
        statistics.median(peak for _, peak in samples),
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))  # port 0: let the OS pick
        port: int = probe.getsockname()[1]
        return port


def _schemathesis_against_live_mock() -> tuple[str, float]:
    """One Schemathesis CLI run against `customer-session-mock serve` on a free port."""
    port = _free_port()
    server = subprocess.Popen(
        [str(BIN / "customer-session-mock"), "serve", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/openapi.json"
    try:
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline:
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        command = [
            str(BIN / "schemathesis"),
            "run",
            url,
            "--header",
            "Authorization: ApiKey-v1 bench",
            "--max-examples",
            "30",
            "--seed",
            "1",
        ]
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as scratch:  # its cache and reports stay out of the tree
            subprocess.run(command, cwd=scratch, capture_output=True, timeout=900)
        shown = ["schemathesis", *command[1:]]
        shown[2] = "http://127.0.0.1:PORT/openapi.json"
        return " ".join(shown), time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=10)


def contract_suite(runs: int) -> tuple[str, float]:
    """Median wall time of the contract tests against the mock.

    The project's contract_tests/ when it has tests; otherwise Schemathesis' own CLI against
    a live mock, so the number exists either way.
    """
    suite = ROOT / "contract_tests"
    if not any(suite.glob("test_*.py")):
        samples = [_schemathesis_against_live_mock() for _ in range(runs)]
        return samples[0][0], statistics.median(seconds for _, seconds in samples)
    command = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite)]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, capture_output=True, timeout=1800)
        times.append(time.perf_counter() - start)
    return "pytest -q contract_tests", statistics.median(times)


def main() -> None:
    """Measure and write offline.json and offline.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--preload", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    starts = startup(args.runs, args.preload)
    rate, peak = generator(max(1, args.runs // 2), args.sessions)
    suite, suite_seconds = contract_suite(min(args.runs, 3))
    results = {
        "startup_seconds": starts,
        "preload": args.preload,
        "generator_sessions_per_second": rate,
        "generator_peak_rss_mib": peak,
        "generator_sessions": args.sessions,
        "contract_suite": suite,
        "contract_suite_seconds": suite_seconds,
        "load_average": os.getloadavg(),
    }
    lines = [
        "# Start-up, fixture generation and contract suite",
        "",
        f"Medians of {args.runs} fresh interpreters (generator: {max(1, args.runs // 2)}).",
        "",
        "| measurement | value |",
        "|---|---:|",
    ]
    for validator, seconds in starts.items():
        lines.append(
            f"| start-up, {validator} validator ({args.preload} sessions preloaded) "
            f"| {seconds:.2f} s |"
        )
    lines.append(
        f"| fixture generator, {args.sessions:,} sessions generated and serialised "
        f"| {rate:,.0f} sessions/s |"
    )
    lines.append(f"| fixture generator, peak resident memory | {peak:.0f} MiB |")
    lines.append(f"| contract suite wall time (`{suite}`) | {suite_seconds:.1f} s |")
    lines += ["", f"Load average during the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "offline.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "offline.md").write_text("\n".join(lines) + "\n")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
