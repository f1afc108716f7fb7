"""Start-up, fixture-generation rate and peak memory, and the contract suite's wall time.

Each measurement runs in a fresh interpreter, so imports, caches and peak memory are those of
a real start. Medians of several runs; results appended to benchmarks/results/offline.md.

    python benchmarks/offline.py [--runs 5] [--sessions 20000] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(sys.executable).parent

# Spec loaded, validators compiled, store preloaded: what a worker does before serving.
STARTUP = """
import time
start = time.perf_counter()
from mock_server import Settings, create_app
create_app(Settings(store_url="memory://", preload={preload}, validator="{validator}"))
print(time.perf_counter() - start)
"""

# What `customer-session-mock fixtures` does: generate, check each session, write NDJSON.
GENERATOR = """
import os, resource, time
from mock_server.fixtures.files import write_records
from mock_server.fixtures.sessions import generate_sessions
start = time.perf_counter()
with open(os.devnull, "wb") as sink:
    count = write_records(generate_sessions({sessions}, 42), sink, "ndjson")
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


def contract_suite(runs: int) -> tuple[str, float]:
    """Median wall time of `customer-session-mock contract` against the mock it starts.

    Workflows and Schemathesis with the business checks, at the command's defaults: what a
    CI job runs.
    """
    command = [str(BIN / "customer-session-mock"), "contract"]
    times = []
    with tempfile.TemporaryDirectory() as scratch:  # its cache and reports stay out of the tree
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(command, cwd=scratch, capture_output=True, timeout=1800, check=True)
            times.append(time.perf_counter() - start)
    return "customer-session-mock contract", statistics.median(times)


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
        f"| fixture generator, {args.sessions:,} sessions generated, checked and written "
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
