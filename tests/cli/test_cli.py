"""The command line, as a user runs it: a real process, a real port, real signals."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import requests
from click.testing import CliRunner

from mock_server.cli import main


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_banner(process: subprocess.Popen[str]) -> list[str]:
    lines: list[str] = []
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.lstrip().startswith("try"):
            return lines
    raise AssertionError(f"no start-up banner: {lines}")


def test_serve_prints_a_banner_answers_and_stops_on_sigterm() -> None:
    port = free_port()
    env = {**os.environ, "CSM_SEED": "9", "CSM_PRELOAD": "8"}
    command = [
        sys.executable,
        "-m",
        "mock_server.cli",
        "serve",
        "--port",
        str(port),
        "--api-key",
        "k1=3",
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as process:
        try:
            banner = "".join(wait_for_banner(process))
            assert f"http://127.0.0.1:{port}" in banner
            assert "seed       9, 8 preloaded" in banner
            match = re.search(r"customer_sessions/(\S+)", banner)
            assert match is not None
            response = requests.get(
                f"http://127.0.0.1:{port}/v2/customer_sessions/{match.group(1)}",
                headers={"Authorization": "ApiKey-v1 k1"},
                timeout=10,
            )
            assert response.status_code == 200
            assert response.json()["customerSession"]["applicationId"] == 3
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 0


def test_bad_api_key_option_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["serve", "--api-key", "k=notanumber"])
    assert result.exit_code == 2
    assert "invalid application id" in result.output
