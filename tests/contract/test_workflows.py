"""The deterministic workflows pass on the mock and catch every fault of the broken server."""

from __future__ import annotations

import pytest
from flask import Flask

from contract_tests.broken_server import Fault, create_broken_app
from contract_tests.client import Client, WsgiTransport
from contract_tests.workflows import WorkflowResult, run_workflows
from tests.contract.conftest import API_KEY, AUTH

# Faults that only a read-write run can reveal (they need a stored session to change).
NEEDS_WRITES = {
    Fault.ILLEGAL_TRANSITION_ACCEPTED,
    Fault.RETURNING_CUSTOMER_FIRST,
    Fault.CREATED_CHANGES,
    Fault.UPDATE_REPLACES,
    Fault.UPDATES_LOST,
    Fault.CART_CHANGE_AFTER_CLOSE,
}


def run_all(app: Flask, *, read_only: bool = False) -> list[WorkflowResult]:
    client = Client("", WsgiTransport(app.test_client()), AUTH)
    return list(run_workflows(client, read_only=read_only))


@pytest.mark.parametrize("read_only", [False, True], ids=["read-write", "read-only"])
def test_the_mock_passes_every_workflow(mock_app: Flask, read_only: bool) -> None:
    results = run_all(mock_app, read_only=read_only)

    assert results
    assert [r.workflow.name for r in results if not r.passed] == []
    assert all(r.workflow.read_only for r in results) or not read_only


@pytest.mark.parametrize("fault", list(Fault), ids=[f.value for f in Fault])
def test_every_fault_is_caught(fault: Fault) -> None:
    # Given the mock with one fault switched on
    app = create_broken_app(fault, API_KEY)

    # When every workflow runs against it
    results = run_all(app)

    # Then at least one workflow reports a violation, with a reproducible request
    violations = [v for r in results for v in r.violations]
    assert violations, f"{fault} went unnoticed"
    assert all(v.curl.startswith("curl ") for v in violations if v.operation)
    assert all(API_KEY not in v.curl for v in violations)


@pytest.mark.parametrize("fault", sorted(set(Fault) - NEEDS_WRITES), ids=lambda f: f.value)
def test_read_only_runs_catch_what_they_can_see(fault: Fault) -> None:
    results = run_all(create_broken_app(fault, API_KEY), read_only=True)

    assert any(not r.passed for r in results), f"{fault} went unnoticed in a read-only run"


def test_a_violation_reads_as_operation_check_request_and_expectation() -> None:
    results = run_all(create_broken_app(Fault.WRONG_TOTALS, API_KEY))

    text = next(v for r in results for v in r.violations if v.check == "totals_add_up").describe()

    assert "PUT /v2/customer_sessions/{customerSessionId}" in text
    assert "[totals_add_up]" in text
    assert "exactly" in text
    assert "curl -X PUT" in text
