"""`customer-session-mock serve` as people run it: options reach the server, logs are JSON."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

SCRIPT = Path(sys.executable).with_name("customer-session-mock")


@pytest.fixture
def served() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The command on a free port, with two keys, JSON logs and conflicts off."""
    with subprocess.Popen(
        [
            str(SCRIPT),
            "serve",
            "--port",
            "0",
            "--preload",
            "1",
            "--api-key",
            "k1=1",
            "--api-key",
            "k2=2",
            "--log-format",
            "json",
            "--latency",
            "1ms",
            "--no-parallel-conflicts",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CSM_CORS_ORIGINS": "http://a.test,http://b.test"},
    ) as process:  # leaving the block closes the pipes and reaps the process
        try:
            assert process.stdout is not None
            first_line = process.stdout.readline()
            match = re.search(r"http://127\.0\.0\.1:(\d+)", first_line)
            assert match, first_line
            yield f"http://127.0.0.1:{match.group(1)}", process
        finally:
            process.terminate()
            process.communicate(timeout=10)


def test_serve_logs_one_json_line_per_request(served: tuple[str, subprocess.Popen[str]]) -> None:
    url, process = served
    answer = requests.get(
        url + "/v2/customer_sessions/cli-1", headers={"Authorization": "ApiKey-v1 k2"}, timeout=10
    )
    assert answer.status_code == 404
    journal = requests.get(url + "/__admin/requests", timeout=10).json()["requests"]
    assert [(e["path"], e["applicationId"], e["delayMs"]) for e in journal] == [
        ("/v2/customer_sessions/cli-1", 2, 1.0)
    ]
    process.terminate()
    _, stderr = process.communicate(timeout=10)
    access = [
        json.loads(line)
        for line in stderr.splitlines()
        if line.startswith("{") and '"mock_server.access"' in line
    ]
    assert len(access) == 1
    assert access[0]["status"] == 404
    assert access[0]["sessionId"] == "cli-1"


def test_serve_reads_comma_separated_origins(served: tuple[str, subprocess.Popen[str]]) -> None:
    url, _ = served
    preflight = {"Access-Control-Request-Method": "GET"}

    def allowed(origin: str) -> str | None:
        return requests.options(
            url + "/v2/customer_sessions/x", headers={**preflight, "Origin": origin}, timeout=10
        ).headers.get("Access-Control-Allow-Origin")

    assert allowed("http://b.test") == "http://b.test"
    assert allowed("http://a.test") == "http://a.test"
    assert allowed("http://c.test") is None
