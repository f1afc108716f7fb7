"""`customer-session-mock contract` end to end, against servers on real ports.

A correct server with unusual answers passes; broken servers fail, each by the check named for
its fault; gates and baselines decide as documented; and the reports say the same thing.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from contract_tests.broken_server import Fault, create_broken_app
from mock_server.cli import main
from tests.contract.stub_servers import API_KEY, UnusualServer, serving

FAST = ["--max-examples", "1", "--seed", "7"]


def contract(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["contract", *FAST, *args])
    return result.exit_code, result.output


def report(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


@pytest.fixture
def unusual_url() -> Iterator[str]:
    with serving(UnusualServer()) as url:
        yield url


def test_a_correct_server_with_unusual_answers_passes(unusual_url: str, tmp_path: Path) -> None:
    # Given a correct server answering 1e300 totals, 20-digit ids, -0.0 and +05:30 nanoseconds
    paths = {kind: tmp_path / f"report.{kind}" for kind in ("json", "html", "xml")}

    # When the whole contract runs against it, with gates it can meet
    code, output = contract(
        "--base-url", unusual_url, "--api-key", API_KEY,
        "--json-report", str(paths["json"]), "--html-report", str(paths["html"]),
        "--junit-xml", str(paths["xml"]),
        "--min-coverage", "75", "--require-status", "getCustomerSession:404",
    )  # fmt: skip

    # Then it passes, and every report says so
    assert code == 0, output
    assert "The server keeps the contract." in output
    document = report(paths["json"])
    assert document["verdict"] == "pass"
    assert document["failures"] == [] and document["errors"] == []
    pairs = {(p["operationId"], p["status"]): p for p in document["coverage"]["pairs"]}
    assert pairs[("getCustomerSession", 404)]["seen"] is True
    assert pairs[("updateCustomerSessionV2", 409)] == {
        "operationId": "updateCustomerSessionV2", "method": "PUT",
        "path": "/v2/customer_sessions/{customerSessionId}", "status": 409,
        "documented": True, "seen": False, "count": 0,
    }  # fmt: skip
    assert document["coverage"]["percent"] == 87.5
    assert all(gate["passed"] for gate in document["gates"]) and len(document["gates"]) == 2
    assert document["options"]["apiKey"] == "[Filtered]"
    assert API_KEY not in paths["json"].read_text() + paths["html"].read_text() + output
    assert "PASS" in paths["html"].read_text()
    suites = ET.parse(paths["xml"]).getroot()
    assert suites.get("failures") == "0" and suites.get("errors") == "0"


def test_min_coverage_above_what_the_run_reached_fails_it(unusual_url: str, tmp_path: Path) -> None:
    # Given a correct server that never answers 409 (nothing runs PUTs in parallel)
    out = tmp_path / "report.json"

    # When the run must see every documented answer
    code, output = contract(
        "--base-url", unusual_url, "--api-key", API_KEY, "--read-only", "--json-report", str(out),
        "--min-coverage", "100", "--require-status", "updateCustomerSessionV2:409",
    )  # fmt: skip

    # Then it fails on the gates alone, and says which answers it never saw
    assert code == 1, output
    document = report(out)
    assert document["verdict"] == "fail" and document["failures"] == []
    assert [gate["passed"] for gate in document["gates"]] == [False, False]
    assert "updateCustomerSessionV2 409" in document["gates"][0]["detail"]
    assert "MISSED" in output


def test_bad_gate_and_baseline_options_are_usage_errors(tmp_path: Path) -> None:
    broken = tmp_path / "baseline.yaml"
    broken.write_text("entries: [{check: x}]\n")
    for args in (
        ["--require-status", "noSuchOperation:200"],
        ["--require-status", "getCustomerSession"],
        ["--min-coverage", "120"],
        ["--baseline", str(broken)],
        ["--baseline", str(tmp_path / "missing.yaml")],
    ):
        code, output = contract("--base-url", "http://127.0.0.1:9", *args)
        assert code == 2, (args, output)
    code, output = CliRunner().invoke(main, ["contract", "--help"]).exit_code, ""
    help_text = CliRunner().invoke(main, ["contract", "--help"]).output
    assert code == 0 and "2  no verdict" in help_text and "--max-duration" in help_text


@pytest.fixture
def broken_urls() -> Iterator[dict[Fault, str]]:
    faults = (Fault.WRONG_TOTALS, Fault.WRONG_INTEGRATION_ID)
    with serving(create_broken_app(faults[0], API_KEY)) as first:
        with serving(create_broken_app(faults[1], API_KEY)) as second:
            yield dict(zip(faults, (first, second), strict=True))


def test_a_baseline_accepts_known_failures_and_still_catches_new_ones(
    broken_urls: dict[Fault, str], tmp_path: Path
) -> None:
    baseline, first, second = tmp_path / "baseline.yaml", tmp_path / "1.json", tmp_path / "2.json"
    common = ["--api-key", API_KEY, "--read-only"]

    # Given a baseline written against a server whose totals are a cent off
    code, output = contract(
        "--base-url", broken_urls[Fault.WRONG_TOTALS], *common, "--write-baseline", str(baseline),
    )  # fmt: skip
    assert code == 1, output
    entries = yaml.safe_load(baseline.read_text())["entries"]
    assert entries and {e["check"] for e in entries} <= {"totals_add_up", "session_rules"}
    assert all(e["reason"] == "" and e["expires"] is None and e["fingerprint"] for e in entries)

    # When the same server runs again with it, Then it passes, its failures listed as known
    code, output = contract(
        "--base-url", broken_urls[Fault.WRONG_TOTALS], *common, "--baseline", str(baseline),
        "--json-report", str(first),
    )  # fmt: skip
    assert code == 0, output
    assert report(first)["failures"] == [] and report(first)["knownFailures"]

    # And a server broken another way still fails, by the check named for its fault
    code, output = contract(
        "--base-url", broken_urls[Fault.WRONG_INTEGRATION_ID], *common, "--baseline", str(baseline),
        "--json-report", str(second),
    )  # fmt: skip
    assert code == 1, output
    failures = report(second)["failures"]
    assert any("integrationId" in f["message"] for f in failures if f["check"] == "totals_add_up")
    assert all(f["curl"].startswith("curl ") and f["operationId"] for f in failures)
    assert API_KEY not in second.read_text()
