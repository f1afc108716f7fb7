"""Fixture generation: rate, the cost of validation, and peak memory of a million sessions.

Run with `make bench` (or `python benchmarks/fixtures_bench.py --help`). Everything runs on
one core: one process, one thread. Validated and unvalidated generation run side by side,
interleaved, in the same process, so the ratio compares like with like on a busy machine.
Peak memory is that of the real command, in a child process, writing NDJSON to /dev/null.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from mock_server.fixtures.files import write_records
from mock_server.fixtures.sessions import generate_sessions


def cpu_seconds(count: int, *, validate: bool, fmt: str = "ndjson") -> float:
    """CPU time to generate `count` sessions and write them to /dev/null."""
    with open(os.devnull, "wb", buffering=1 << 20) as sink:
        started = time.process_time()
        written = write_records(generate_sessions(count, 1, validate=validate), sink, fmt)
        elapsed = time.process_time() - started
    assert written == count
    return elapsed


def run_command(count: int) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of the real command for `count` sessions."""
    command = Path(sys.executable).parent / "customer-session-mock"
    with open(os.devnull, "wb") as sink:
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(command), "fixtures", "--count", str(count), "--quiet"], stdout=sink
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"the fixtures command failed with exit code {process.returncode}")
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024  # ru_maxrss is in kilobytes on Linux


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="sessions per rate run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; best kept")
    parser.add_argument("--memory-count", type=int, default=1_000_000)
    args = parser.parse_args()
    out = sys.stdout.write

    cpu_seconds(2_000, validate=True)  # warm up: faker catalogue, spec, compiled schema
    validated, plain = [], []
    for _ in range(args.rounds):
        validated.append(cpu_seconds(args.count, validate=True))
        plain.append(cpu_seconds(args.count, validate=False))
    best_validated, best_plain = min(validated), min(plain)
    out(f"NDJSON, {args.count:,} sessions, best of {args.rounds} (CPU time, one core)\n")
    out(f"  validated     {args.count / best_validated:>10,.0f} sessions/s\n")
    out(f"  not validated {args.count / best_plain:>10,.0f} sessions/s\n")
    out(f"  validated / not validated cost: {best_validated / best_plain:.2f}x\n")

    small = max(args.count // 10, 1)
    for fmt in ("json", "yaml"):
        seconds = cpu_seconds(small, validate=True, fmt=fmt)
        out(f"  {fmt:<13} {small / seconds:>10,.0f} sessions/s (validated, {small:,})\n")

    out("The command, NDJSON to /dev/null, start-up included:\n")
    for count in (1_000, args.count, args.memory_count):
        wall, cpu, peak = run_command(count)
        out(
            f"  {count:>9,} sessions: {wall:6.1f} s wall, {cpu:6.1f} s CPU "
            f"({count / cpu:,.0f} sessions/s of CPU), peak RSS {peak:.0f} MB\n"
        )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out(f"(this benchmark process itself peaked at {own:.0f} MB)\n")


if __name__ == "__main__":
    main()
