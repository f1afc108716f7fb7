"""`customer-session-mock contract` end to end: the mock passes, broken servers fail."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from contract_tests.broken_server import Fault
from mock_server.cli import main
from tests.contract.conftest import API_KEY

FAST = ["--max-examples", "5", "--seed", "3"]

# Schemathesis probes that its report file is writable and leaves that handle to the GC.
pytestmark = [
    pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def contract(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["contract", *FAST, *args])
    return result.exit_code, result.output


def test_the_mock_it_starts_itself_passes_clean(tmp_path: Path) -> None:
    report = tmp_path / "contract.xml"

    code, output = contract("--junit-xml", str(report))

    assert code == 0, output
    assert "The server keeps the contract." in output
    suites = {s.get("name"): s for s in ET.parse(report).getroot().iter("testsuite")}
    workflows = suites["contract workflows"]
    assert workflows.get("failures") == "0"
    assert int(workflows.get("tests", "0")) >= 10
    assert len(suites) >= 2  # Schemathesis' own suites are kept


@pytest.mark.parametrize(
    ("broken_url", "expected"),
    [
        (Fault.WRONG_TOTALS, "totals_add_up"),
        (Fault.MISSING_REQUIRED_FIELD, "response_schema_conformance"),
        (Fault.WRONG_TYPE, "response_schema_conformance"),
        (Fault.ILLEGAL_TRANSITION_ACCEPTED, "illegal transition"),
        (Fault.SERVER_ERROR_ON_BAD_INPUT, "Server error"),
    ],
    ids=lambda value: value.value if isinstance(value, Fault) else None,
    indirect=["broken_url"],
)
def test_a_broken_server_is_reported(broken_url: str, expected: str, tmp_path: Path) -> None:
    report = tmp_path / "contract.xml"

    code, output = contract(
        "--base-url", broken_url, "--api-key", API_KEY, "--junit-xml", str(report)
    )

    assert code == 1, output
    assert "The server BREAKS the contract." in output
    assert expected in output
    assert "curl -X " in output
    assert API_KEY not in output
    assert 'failures="0"' not in report.read_text().split("contract workflows")[1][:200]


@pytest.fixture
def read_only_mock() -> Iterator[str]:
    from contract_tests.broken_server import create_broken_app
    from tests.contract.conftest import serve

    yield from serve(create_broken_app(None, API_KEY))


def test_read_only_sends_only_gets_and_dry_runs(read_only_mock: str) -> None:
    # Given a server whose store we can inspect afterwards over HTTP
    code, output = contract(
        "--base-url", read_only_mock, "--api-key", API_KEY, "--read-only",
        "--header", "X-Request-Source: contract-test", "--rate-limit", "1000/s",
    )  # fmt: skip

    # Then it passes, and no session was created by any request
    assert code == 0, output
    assert "read-only" in output
    import requests

    for session_id in ("0", "contract"):
        answer = requests.get(
            f"{read_only_mock}/v2/customer_sessions/{session_id}",
            headers={"Authorization": f"ApiKey-v1 {API_KEY}"},
            timeout=10,
        )
        assert answer.status_code == 404


def test_bad_options_are_refused() -> None:
    code, output = contract("--rate-limit", "fast", "--base-url", "http://127.0.0.1:9")
    assert code == 2
    assert "10/s" in output
    code, output = contract("--header", "no-colon")
    assert code == 2
