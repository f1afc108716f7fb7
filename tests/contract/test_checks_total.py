"""Every check gives a verdict for every schema-valid answer and never raises.

Answers are generated from the contract's response schemas (see `answers.py`), with extreme
numbers, long Unicode ids, unusual timestamps and empty and huge carts, and served by a stub
server on a real port; the checks run as a contract run runs them. A check that cannot decide
says so as a doubt. And a correct answer, however unusual, never fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

import contract_tests.checks as business
from contract_tests.client import Client, RequestsTransport
from contract_tests.exchange import read_exchange
from contract_tests.rules import applied_verdict, kept_verdict, session_differences, session_verdict
from contract_tests.runner import schemathesis_config
from contract_tests.verdicts import CrossCallRules, business_rejection, error_response
from contract_tests.workflows import run_workflows
from tests.contract.answers import (
    LONG_UNICODE,
    documents,
    unusual_sessions,
    validator,
)
from tests.contract.stub_servers import AUTH, SPEC_PATH, ScriptedServer, serving

PROPERTY = settings(
    deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None
)
OUR_CHECKS = [
    business.totals_add_up,
    business.error_response_well_formed,
    business.business_rejection_justified,
]


@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[ScriptedServer, str]]:
    server = ScriptedServer()
    with serving(server) as url:
        yield server, url


@pytest.fixture(scope="module")
def contract_schema(scripted: tuple[ScriptedServer, str]) -> Any:
    _, url = scripted
    config = SchemathesisConfig.from_str(
        f'base-url = "{url}"\nheaders = {{ Authorization = "{AUTH["Authorization"]}" }}\n'
        + schemathesis_config()
    )
    return schemathesis.openapi.from_path(str(SPEC_PATH), config=config)


def answers_for(method: str) -> st.SearchStrategy[tuple[int, Any]]:
    """(status, body) of a documented answer of the operation."""
    errors = st.tuples(
        st.sampled_from([400, 401, 404 if method == "GET" else 409]), documents("ErrorResponse")
    )
    wrapper = "IntegrationCustomerSessionResponse" if method == "GET" else "IntegrationStateV2"

    def wrap(pair: tuple[tuple[str, dict[str, Any]], Any]) -> tuple[int, Any]:
        (_, session), envelope = pair
        return 200, {**envelope, "customerSession": session, "effects": envelope.get("effects", [])}

    sessions = st.tuples(unusual_sessions(), documents(wrapper)).map(wrap)
    return st.one_of(sessions, errors, documents(wrapper).map(lambda body: (200, body)))


def _validate(case: Any, url: str, checks: list[Any] | None = None) -> list[Any]:
    """Call the stub and run the checks; return the failures (never another exception)."""
    response = case.call(base_url=url, headers=AUTH)
    try:
        case.validate_response(response, checks=checks, headers=AUTH)
    except FailureGroup as group:
        return list(group.exceptions)
    return []


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_every_check_decides_on_every_schema_valid_answer(
    method: str, scripted: tuple[ScriptedServer, str], contract_schema: Any
) -> None:
    server, url = scripted
    operation = contract_schema["/v2/customer_sessions/{customerSessionId}"][method]
    business.NOTES.drain()
    failed: set[str] = set()

    @settings(PROPERTY, max_examples=20)
    @given(
        case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        answer=answers_for(method),
    )
    def served(case: Any, answer: tuple[int, Any]) -> None:
        status, body = answer
        server.current = (status, "application/json", json.dumps(body).encode())
        # Every check, Schemathesis' and ours, the rules across calls included.
        failed.update(
            getattr(failure, "check", type(failure).__name__) for failure in _validate(case, url)
        )

    served()
    doubts, crashes = business.NOTES.drain()
    assert crashes == [], crashes[0].trace
    # The checks did decide: random totals fail, and so do random error bodies' shapes
    assert "totals_add_up" in failed


@settings(PROPERTY, max_examples=30)
@given(answer=unusual_sessions(consistent=True), data=st.data())
def test_a_correct_answer_never_fails_a_business_check(
    answer: tuple[str, dict[str, Any]], data: st.DataObject, scripted: tuple[ScriptedServer, str],
    contract_schema: Any,
) -> None:  # fmt: skip
    # Given a session that keeps every rule, with unusual numbers, ids and timestamps
    path_id, session = answer
    server, url = scripted
    server.current = (
        200,
        "application/json",
        json.dumps({"customerSession": session, "effects": []}).encode(),
    )
    operation = contract_schema["/v2/customer_sessions/{customerSessionId}"]["GET"]
    # Percent-encoded as Schemathesis encodes the ids it generates (a hand-made case is not)
    case = operation.Case(path_parameters={"customerSessionId": quote(path_id, safe="")})

    # When it is served and our checks run on it
    failures = _validate(case, url, checks=OUR_CHECKS)

    # Then none fails, and the rules say the same on the document itself
    assert failures == []
    assert session_verdict(session, path_id).problems == ()


@settings(PROPERTY, max_examples=30)
@given(
    first=unusual_sessions(),
    second=unusual_sessions(),
    sent=documents("NewCustomerSessionV2"),
    error=documents("ErrorResponse"),
    status=st.sampled_from([200, 400, 401, 404, 409]),
)
def test_the_rules_decide_on_any_pair_of_answers(
    first: tuple[str, dict[str, Any]],
    second: tuple[str, dict[str, Any]],
    sent: dict[str, Any],
    error: Any,
    status: int,
) -> None:
    # The pure rules, many more examples than a server round trip allows.
    (path_id, before), (_, after) = first, second
    for verdict in (
        session_verdict(after, path_id),
        applied_verdict(sent, after),
        kept_verdict(sent, before, after),
    ):
        assert all(p.key and p.message for p in verdict.problems)
    assert isinstance(session_differences(before, after), list)

    # And the exchange-level checks, on a PUT and the GET after it
    rules = CrossCallRules()
    url = f"http://127.0.0.1:1/v2/customer_sessions/{path_id}"
    for method, query, document in (
        ("PUT", "", after),
        ("PUT", "?dry=true", before),
        ("GET", "", after),
    ):
        body = {"customerSession": document} if status == 200 else error
        exchange = read_exchange(
            method, url + query, AUTH, json.dumps({"customerSession": sent}).encode(), status,
            {"Content-Type": "application/json"}, json.dumps(body).encode(),
        )  # fmt: skip
        rules.verdict(exchange, lambda _: (200, before))
        error_response(exchange)
        business_rejection(exchange, lambda _: (200, before), positive=True)


def test_huge_and_empty_carts_of_extreme_prices_add_up(
    scripted: tuple[ScriptedServer, str], contract_schema: Any
) -> None:
    # Given 5,000 items at every extreme price, and an empty cart, with correct totals
    from tests.contract.answers import consistent_totals

    prices = [1e300, -1e300, -0.0, 0.1, 0.2, 0.3, 12345678901234567890, 5e-324, 0.005, 99.99]
    items = [
        {
            "name": LONG_UNICODE[: i % 50 + 1],
            "sku": f"s{i}",
            "quantity": 1 + i % 7,
            "price": prices[i % 10],
        }
        for i in range(5000)
    ]
    base = {
        "id": 12345678901234567890, "integrationId": "huge", "created": "2026-01-01T00:00:00Z",
        "updated": "2026-01-01T00:00:00Z", "applicationId": 1, "profileId": "", "state": "open",
        "attributes": {}, "firstSession": True,
    }  # fmt: skip
    server, url = scripted
    operation = contract_schema["/v2/customer_sessions/{customerSessionId}"]["GET"]
    for cart in (items, []):
        session = consistent_totals({**base, "cartItems": cart, "additionalCosts": {}})
        assert session is not None and validator("CustomerSessionV2").is_valid(session)
        server.current = (
            200,
            "application/json",
            json.dumps({"customerSession": session, "effects": []}).encode(),
        )

        # When our checks run on it, Then it passes
        assert (
            _validate(
                operation.Case(path_parameters={"customerSessionId": "huge"}), url, OUR_CHECKS
            )
            == []
        )

        # And a cent more in total is caught when the amounts are whole cents, not before
        wrong = {**session, "total": session["total"] + 0.01}
        assert session_verdict(wrong, "huge").problems != () or session["total"] > 1e11


@settings(PROPERTY, max_examples=3)
@given(answers=st.lists(st.one_of(answers_for("PUT"), answers_for("GET")), min_size=3, max_size=3))
def test_workflows_finish_whatever_the_server_answers(
    answers: list[tuple[int, Any]], scripted: tuple[ScriptedServer, str]
) -> None:
    # Given a server answering schema-valid documents in turn, whatever was asked
    server, url = scripted
    server.cycle = [
        (status, "application/json", json.dumps(body).encode()) for status, body in answers
    ]
    transport = RequestsTransport(timeout=5)
    try:
        # When every workflow runs against it
        results = list(run_workflows(Client(url, transport, AUTH)))
    finally:
        server.cycle = None
        transport.close()

    # Then each one finishes with a verdict (most with violations), none with an exception
    assert [r.error for r in results if r.error] == []
    assert all(r.violations or r.passes for r in results)
