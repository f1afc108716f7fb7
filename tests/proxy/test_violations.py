"""Verdicts: a server that breaks one rule shows that violation, a correct one shows none."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from flask import Flask

from contract_tests.broken_server import Fault, create_broken_app
from contract_tests.violations import Violation, detail_header
from tests.proxy.conftest import API_KEY, Proxied, StartProxy, cart, new_id, serving
from tests.proxy.stubs import (
    as_text_plain,
    bad_state_enum,
    rewriting_mock,
    unusual_app,
    unusual_session,
    without_effects,
)

DETAIL = "X-Contract-Violations-Detail"


def ordinary_traffic(proxied: Proxied) -> list[requests.Response]:
    """What a checkout does: create, evaluate, read, update, close, a refused move, a guest."""
    session_id, guest = new_id("cart"), new_id("guest")
    return [
        proxied.put(session_id, cart()),
        proxied.put(session_id, {"customerSession": {"state": "closed"}}, params={"dry": "true"}),
        proxied.get(session_id),
        proxied.put(
            session_id,
            {"customerSession": {"attributes": {"channel": "web"}}, "responseContent": []},
        ),
        proxied.get(session_id),
        proxied.put(
            session_id,
            {"customerSession": {"state": "closed"}, "responseContent": ["customerSession"]},
        ),
        proxied.put(
            session_id,
            {"customerSession": {"state": "open"}, "responseContent": ["customerSession"]},
        ),
        proxied.get(session_id),
        proxied.put(guest, cart(profileId="", additionalCosts={"a": {"price": 0.1}})),
        proxied.put(
            guest,
            {"customerSession": {"couponCodes": ["X"]}, "responseContent": ["customerSession"]},
        ),
        proxied.get(guest),
        proxied.get(new_id("unknown")),
        proxied.http.head(proxied.url + "/v2/customer_sessions/" + session_id, timeout=10),
    ]


def _found(answers: list[requests.Response]) -> set[str]:
    return {
        violation["check"]
        for answer in answers
        for violation in json.loads(answer.headers.get(DETAIL, "[]"))
    }


def test_the_mock_itself_shows_no_violation(start_proxy: StartProxy, mock_url: str) -> None:
    proxied = start_proxy(mock_url)
    answers = ordinary_traffic(proxied)
    assert [a.status_code for a in answers] == [200] * 6 + [400] + [200] * 4 + [404, 200]
    assert {a.headers["X-Contract-Violations"] for a in answers} == {"0"}
    assert all(entry["violations"] == [] for entry in proxied.journal())
    summary = requests.get(proxied.url + "/__admin/violations", timeout=10).json()
    assert summary["checked"] == len(answers) and summary["violations"] == 0
    assert {"operationId": "getCustomerSession", "status": 404, "count": 1} in summary["coverage"]


def test_unusual_but_valid_answers_show_no_violation(start_proxy: StartProxy) -> None:
    with serving(unusual_app()) as upstream:
        proxied = start_proxy(upstream)
        long_id = "L" * 1000
        served = unusual_session(long_id)
        items = [{k: v for k, v in item.items() if k != "position"} for item in served["cartItems"]]
        sent = {"profileId": "", "cartItems": items, "attributes": served["attributes"]}
        answers = [
            proxied.put(long_id, {"customerSession": sent, "responseContent": ["customerSession"]}),
            proxied.get(long_id),
            proxied.get("ünïcode-✓"),
            proxied.put(long_id, {"customerSession": {"attributes": served["attributes"]}}),
            proxied.get(long_id),
        ]
    assert [a.status_code for a in answers] == [200] * 5
    assert {a.headers["X-Contract-Violations"] for a in answers} == {"0"}, [
        a.headers.get(DETAIL) for a in answers
    ]
    assert answers[1].json()["customerSession"]["total"] == 1e300


BROKEN = [
    (Fault.WRONG_TOTALS, "session_rules", "/customerSession/total"),
    (Fault.FLOAT_DRIFT, "session_rules", "/customerSession/cartItemTotal"),
    (Fault.MISSING_REQUIRED_FIELD, "response_schema_conformance", "/customerSession/updated"),
    (Fault.WRONG_TYPE, "response_schema_conformance", "/customerSession/total"),
    (Fault.ILLEGAL_TRANSITION_ACCEPTED, "session_history", None),
    (Fault.WRONG_INTEGRATION_ID, "session_rules", "/customerSession/integrationId"),
    (Fault.ANONYMOUS_NOT_FIRST, "session_rules", "/customerSession/firstSession"),
    (Fault.DRY_RUN_PERSISTS, "session_history", None),
    (Fault.CREATED_CHANGES, "session_history", "/customerSession/created"),
    (Fault.UPDATE_REPLACES, "session_history", "/customerSession/cartItems"),
    (Fault.UPDATES_LOST, "session_history", None),
    (Fault.CREATED_STATUS, "status_code_conformance", None),
    (Fault.ERROR_SHAPE, "response_schema_conformance", "/message"),
]
STUBS: list[tuple[str, Callable[[Any], None], str, str | None]] = [
    ("wrong-content-type", as_text_plain, "content_type_conformance", None),
    ("bad-enum", bad_state_enum, "response_schema_conformance", "/customerSession/state"),
    ("missing-effects", without_effects, "response_schema_conformance", "/effects"),
]


def _assert_shows(
    proxied: Proxied, answers: list[requests.Response], check: str, pointer: str | None
) -> None:
    # In the header of the answers...
    assert check in _found(answers), [a.headers.get(DETAIL) for a in answers]
    # ...and in the journal, each violation an object with check, message and a location.
    found = [v for e in proxied.journal() for v in e["violations"] if v["check"] == check]
    assert found and all(v["message"] for v in found)
    if pointer is not None:
        assert pointer in {v.get("pointer") for v in found}, found


@pytest.mark.parametrize(("fault", "check", "pointer"), BROKEN, ids=[f.value for f, _, _ in BROKEN])
def test_a_broken_server_shows_its_violation(
    start_proxy: StartProxy, fault: Fault, check: str, pointer: str | None
) -> None:
    with serving(create_broken_app(fault, API_KEY)) as upstream:
        proxied = start_proxy(upstream)
        answers = ordinary_traffic(proxied)
    _assert_shows(proxied, answers, check, pointer)


@pytest.mark.parametrize(("name", "rewrite", "check", "pointer"), STUBS, ids=[s[0] for s in STUBS])
def test_a_server_with_a_wire_fault_shows_its_violation(
    start_proxy: StartProxy,
    name: str,
    rewrite: Callable[[Any], None],
    check: str,
    pointer: str | None,
) -> None:
    app: Flask = rewriting_mock(rewrite)
    with serving(app) as upstream:
        proxied = start_proxy(upstream)
        answers = ordinary_traffic(proxied)
    _assert_shows(proxied, answers, check, pointer)


def test_a_bad_request_is_reported_and_still_forwarded(
    start_proxy: StartProxy, mock_url: str
) -> None:
    proxied = start_proxy(mock_url)
    answer = proxied.put(new_id(), {"customerSession": {"cartItems": [{"name": "a"}]}})
    assert answer.status_code == 400  # the mock's own answer: the request reached it
    details = json.loads(answer.headers[DETAIL])
    assert {v["pointer"] for v in details} == {
        "/customerSession/cartItems/0/sku",
        "/customerSession/cartItems/0/quantity",
        "/customerSession/cartItems/0/price",
    }
    assert {v["side"] for v in details} == {"request"}
    unauthenticated = requests.get(proxied.url + "/v2/customer_sessions/x", timeout=10)
    assert json.loads(unauthenticated.headers[DETAIL])[0]["parameter"] == "Authorization"


def test_the_detail_header_is_ascii_and_capped(start_proxy: StartProxy) -> None:
    # Given a server that names every session wrongly, and a session id in Japanese
    with serving(create_broken_app(Fault.WRONG_INTEGRATION_ID, API_KEY)) as upstream:
        proxied = start_proxy(upstream, max_header_bytes=300)
        answer = proxied.put("カート-" + "x" * 400, cart())
    header = answer.headers[DETAIL]
    assert header.isascii() and len(header) <= 300
    shown = json.loads(header)
    assert shown[-1].get("truncated") is True or "\\u30ab" in header
    assert answer.headers["X-Contract-Violations"] == "1"


def test_the_detail_header_keeps_what_fits_and_counts_the_rest() -> None:
    violations = [
        Violation("session_rules", f"problème {i} " + "é" * 50, "response") for i in range(40)
    ]
    header = detail_header(violations, 1000)
    shown = json.loads(header)
    assert header.isascii() and len(header) <= 1000
    assert shown[-1] == {"truncated": True, "omitted": 40 - (len(shown) - 1)}
    assert shown[0]["message"].startswith("problème 0")
    assert detail_header(violations[:1], 1000) == json.dumps(
        [violations[0].to_json(limit=200)], separators=(",", ":")
    )


def test_admin_endpoints_follow_the_mocks_rule(start_proxy: StartProxy, mock_url: str) -> None:
    proxied = start_proxy(mock_url, settings=None)
    from_a_page = requests.get(
        proxied.url + "/__admin/violations", headers={"Origin": "http://evil.example"}, timeout=10
    )
    assert from_a_page.status_code == 403
    assert requests.get(proxied.url + "/__admin/violations", timeout=10).status_code == 200
    assert requests.delete(proxied.url + "/__admin/violations", timeout=10).status_code == 204
