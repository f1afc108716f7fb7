"""verify-traffic: saved traffic (HAR, the journal's export) gets the live proxy's verdicts."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from werkzeug.test import EnvironBuilder

from contract_tests.broken_server import Fault, create_broken_app
from contract_tests.conformance import Routed, TrafficChecker
from mock_server.cli import main
from tests.proxy.conftest import API_KEY, AUTH, Proxied, StartProxy, serving
from tests.proxy.test_violations import ordinary_traffic


def routed_for(method: str, path: str, body: bytes = b"") -> Routed:
    """A request routed as the proxy routes it, for tests of the parts behind the router."""
    environ = EnvironBuilder(method=method, path=path, headers=AUTH, data=body).get_environ()
    routed = TrafficChecker().route(environ, body)
    assert routed is not None
    return routed


class HarRecorder:
    """Keeps every exchange of a requests.Session as a HAR 1.2 entry, as devtools do."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        sent = response.request
        body = sent.body.encode() if isinstance(sent.body, str) else sent.body
        request: dict[str, Any] = {
            "method": sent.method,
            "url": sent.url,
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": n, "value": v} for n, v in sent.headers.items()],
            "queryString": [],
            "headersSize": -1,
            "bodySize": len(body or b""),
        }
        if body:
            request["postData"] = {
                "mimeType": sent.headers.get("Content-Type", ""),
                "text": body.decode(),
            }
        started = datetime.now(UTC) - response.elapsed
        self.entries.append(
            {
                "startedDateTime": started.isoformat().replace("+00:00", "Z"),
                "time": response.elapsed.total_seconds() * 1000,
                "request": request,
                "response": {
                    "status": response.status_code,
                    "statusText": response.reason,
                    "httpVersion": "HTTP/1.1",
                    "headers": [{"name": n, "value": v} for n, v in response.headers.items()],
                    "content": {
                        "size": len(response.content),
                        "mimeType": response.headers.get("Content-Type", ""),
                        "text": base64.b64encode(response.content).decode(),
                        "encoding": "base64",
                    },
                    "redirectURL": "",
                    "headersSize": -1,
                    "bodySize": len(response.content),
                },
                "cache": {},
                "timings": {"send": 0, "wait": 0, "receive": 0},
            }
        )

    def write(self, path: Path) -> Path:
        har = {"log": {"version": "1.2", "creator": {"name": "tests", "version": "1"}}}
        har["log"]["entries"] = self.entries  # type: ignore[index]
        path.write_text(json.dumps(har), encoding="utf-8")
        return path


def _live_verdicts(proxied: Proxied) -> list[tuple[str, str, list[str]]]:
    return [
        (e["method"], e["path"], sorted(v["check"] for v in e["violations"]))
        for e in proxied.journal()
    ]


def _offline_verdicts(report: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    return [
        (e["method"], e["path"], sorted(v["check"] for v in e["violations"]))
        for e in report["exchanges"]
    ]


def _verify(path: Path, tmp_path: Path) -> tuple[int, str, dict[str, Any], ET.Element]:
    junit, report = tmp_path / "junit.xml", tmp_path / "report.json"
    result = CliRunner().invoke(
        main, ["verify-traffic", str(path), "--junit-xml", str(junit), "--json", str(report)]
    )
    return (
        result.exit_code,
        result.output,
        json.loads(report.read_text()),
        ET.parse(junit).getroot(),
    )


SERVERS = [
    None,
    Fault.WRONG_TOTALS,
    Fault.ILLEGAL_TRANSITION_ACCEPTED,
    Fault.DRY_RUN_PERSISTS,
    Fault.MISSING_REQUIRED_FIELD,
]


@pytest.mark.parametrize("fault", SERVERS, ids=[f.value if f else "correct" for f in SERVERS])
def test_a_har_file_and_the_journal_get_the_live_verdicts(
    start_proxy: StartProxy, tmp_path: Path, fault: Fault | None
) -> None:
    # Given ordinary traffic through the proxy, saved as a browser saves it
    har = HarRecorder()
    with serving(create_broken_app(fault, API_KEY)) as upstream:
        proxied = start_proxy(upstream)
        proxied.http.hooks["response"].append(har)
        ordinary_traffic(proxied)
        journal = requests.get(proxied.url + "/__admin/requests", timeout=10).text
    live = _live_verdicts(proxied)
    export = tmp_path / "journal.json"
    export.write_text(journal, encoding="utf-8")
    for saved in (har.write(tmp_path / "traffic.har"), export):
        # When verify-traffic checks the file
        code, output, report, junit = _verify(saved, tmp_path)
        # Then it reaches the same verdict on every exchange, and says so
        assert _offline_verdicts(report) == live, saved.name
        broken = any(checks for _, _, checks in live)
        assert code == (1 if broken else 0), output
        assert report["verdict"] == ("fail" if broken else "pass")
        assert ("BREAKS" in output) is broken
        failures = sum(1 for _, _, checks in live if checks)
        assert junit.get("failures") == str(failures) and junit.get("tests") == str(len(live))
    assert (fault is None) is not broken


def test_unreadable_and_unknown_files_are_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    (tmp_path / "other.json").write_text('{"x": 1}', encoding="utf-8")
    for name in ("bad.json", "other.json"):
        result = CliRunner().invoke(main, ["verify-traffic", str(tmp_path / name)])
        assert result.exit_code == 2 and "Error:" in result.output


def test_a_har_file_with_other_traffic_and_missing_bodies(tmp_path: Path) -> None:
    entries = [
        {
            "startedDateTime": "2026-01-01T00:00:00Z",
            "time": 5,
            "request": {"method": "GET", "url": "https://cdn.example/logo.png", "headers": []},
            "response": {"status": 200, "headers": [], "content": {"mimeType": "image/png"}},
        },
        {
            "startedDateTime": "2026-01-01T00:00:01Z",
            "time": 5,
            "request": {
                "method": "GET",
                "url": "https://api.example/v2/customer_sessions/s-1",
                "headers": [{"name": "Authorization", "value": "ApiKey-v1 k"}],
            },
            "response": {"status": 200, "headers": [], "content": {"mimeType": "application/json"}},
        },
    ]
    path = tmp_path / "t.har"
    path.write_text(json.dumps({"log": {"entries": entries}}), encoding="utf-8")
    result = CliRunner().invoke(main, ["verify-traffic", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 exchanges checked (1 not an operation of openapi.yaml)" in result.output
    assert "answer body not saved whole" in result.output
