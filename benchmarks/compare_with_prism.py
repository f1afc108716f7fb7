"""Send the same Prism-style requests to Prism and to the mock; print where they differ.

Run: .venv/bin/python benchmarks/compare_with_prism.py [PRISM_BIN]
PRISM_BIN defaults to `npx --yes @stoplight/prism-cli@5` (needs node and the npm registry).
Not part of `make test`: it downloads and starts Prism.
"""

from __future__ import annotations

import shlex
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from werkzeug.serving import make_server

from mock_server import Settings, create_app

SPEC = Path(__file__).resolve().parent.parent / "openapi.yaml"
KEY = {"Authorization": "ApiKey-v1 compare"}
PATH = "/v2/customer_sessions/compare-1"
BODY = {"customerSession": {"profileId": "p-1"}, "responseContent": ["customerSession"]}
CASES: list[tuple[str, dict[str, str], str]] = [
    (method, {**KEY, "Prefer": prefer} if prefer else dict(KEY), query)
    for method in ("GET", "PUT")
    for prefer, query in (
        ("code=404", ""),
        ("code=409", ""),
        ("code=503", ""),
        ("code=400", ""),
        ("code=401", ""),
        ("code=400, example=invalidBody", ""),
        ("example=closedSession", ""),
        ("example=nope", ""),
        ("code=200, example=nope", ""),
        ("dynamic=true, example=anonymousSession", ""),
        ("", "?__code=404"),
        ("code=401", "?__code=404"),
        ("", "?__example=openCart"),
    )
] + [("GET", {"Prefer": "code=200"}, "")]


def report(line: str) -> None:
    """One line of results on stdout."""
    sys.stdout.write(line + "\n")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    prism_bin = (
        shlex.split(sys.argv[1])
        if len(sys.argv) > 1
        else ["npx", "--yes", "@stoplight/prism-cli@5"]
    )
    prism_port = free_port()
    prism = subprocess.Popen(
        [*prism_bin, "mock", str(SPEC), "-h", "127.0.0.1", "-p", str(prism_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = make_server(
        "127.0.0.1",
        0,
        create_app(Settings(store_url="memory://", api_keys={"compare": 1}, preload=0)),
        threaded=True,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    mock_url = f"http://127.0.0.1:{server.server_port}"
    prism_url = f"http://127.0.0.1:{prism_port}"
    try:
        for _ in range(300):  # bounded wait for Prism to listen
            try:
                requests.get(prism_url, timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        differences = 0
        for method, headers, query in CASES:
            body = BODY if method == "PUT" else None
            theirs = requests.request(method, prism_url + PATH + query, json=body, headers=headers)
            ours = requests.request(method, mock_url + PATH + query, json=body, headers=headers)
            same_body = theirs.json() == ours.json()
            mark = "same" if theirs.status_code == ours.status_code else "DIFF"
            differences += mark == "DIFF"
            report(
                f"{mark} {method:<3} {headers.get('Prefer', ''):<40} {query:<22} "
                f"prism {theirs.status_code}  mock {ours.status_code}  body "
                f"{'equal' if same_body else 'differs'}"
            )
        report(f"{differences} status differences in {len(CASES)} requests")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        prism.terminate()
        prism.wait(timeout=10)


if __name__ == "__main__":
    main()
