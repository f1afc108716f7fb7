"""Verdicts on single exchanges that a correct server must not fail, and a broken one must."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contract_tests.exchange import Exchange, read_exchange
from contract_tests.rules import definitely_before, session_verdict
from contract_tests.verdicts import CrossCallRules, business_rejection

URL = "http://127.0.0.1:1/v2/customer_sessions/s-1"
OPEN = {"state": "open", "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z"}


def exchange(method: str, status: int, answer: Any, sent: Any = None, query: str = "") -> Exchange:
    return read_exchange(
        method, URL + query, {"Authorization": "ApiKey-v1 k"},
        json.dumps(sent).encode() if sent is not None else None, status,
        {"Content-Type": "application/json"}, json.dumps(answer).encode(),
    )  # fmt: skip


def refusal(title: str, pointer: str) -> dict[str, Any]:
    return {"message": "no", "errors": [{"title": title, "source": {"pointer": pointer}}]}


CART = {"customerSession": {"cartItems": [{"name": "a", "sku": "b", "quantity": 1, "price": 5e9}]}}


@pytest.mark.parametrize(
    ("title", "pointer", "justified"),
    [
        # A server's own, lower amount limit, pointing at the amount it refuses
        ("Amount out of range", "/customerSession/cartItems/0/price", True),
        ("Amount out of range", "/customerSession/cartItems", True),
        # ... but not at a text, nor at nothing the request sent
        ("Amount out of range", "/customerSession/cartItems/0/name", False),
        ("Amount out of range", "/customerSession/cartItems/3/price", False),
        # A transition or a final cart is believed only when the stored session confirms it
        ("Invalid state transition", "/customerSession/cartItems/0/price", False),
        ("Cart is final", "/customerSession/cartItems", False),
        # A rule of the server's own, named precisely
        ("Unknown SKU", "/customerSession/cartItems/0/sku", True),
    ],
)
def test_a_refusal_is_justified_only_by_a_rule_that_applies(
    title: str, pointer: str, justified: bool
) -> None:
    refused = exchange("PUT", 400, refusal(title, pointer), CART)

    # The stored session is open: no transition or final cart explains anything
    verdict = business_rejection(refused, lambda _: (200, dict(OPEN)), positive=True)

    assert (verdict.problems == ()) is justified


def test_a_dry_run_on_an_existing_session_is_not_taken_for_a_creation() -> None:
    # Given a session created before this run (created == updated: never changed since)
    rules = CrossCallRules()
    stored = {**OPEN, "integrationId": "s-1"}
    dry = exchange("PUT", 200, {"customerSession": stored}, {"customerSession": {}}, "?dry=true")

    # When a dry run answers it and a GET finds it: no evidence the dry run created it
    assert rules.verdict(dry, lambda _: (200, stored)).problems == ()

    # But after a 404 in this run, the same sequence is a dry run that persisted
    rules.verdict(exchange("GET", 404, refusal("Not found", "")), lambda _: (404, None))
    problems = rules.verdict(dry, lambda _: (200, stored)).problems
    assert [p.key for p in problems] == ["dry-run-created"]


@pytest.mark.parametrize(
    ("first", "second", "before"),
    [
        ("2026-01-01T12:00:00Z", "2026-01-01T12:00:00.5Z", False),  # cut to whole seconds
        ("2026-01-01T12:00:00Z", "2026-01-01T12:00:01.5Z", True),
        ("2026-01-01T12:00:00.1Z", "2026-01-01T12:00:00.2Z", True),
        ("2026-01-01T17:30:00+05:30", "2026-01-01T12:00:00.000001Z", False),
        ("2026-12-31T23:59:60Z", "2027-01-01T00:00:00Z", False),  # undecidable: not "before"
    ],
)
def test_timestamps_of_different_precision(first: str, second: str, before: bool) -> None:
    assert definitely_before(first, second) is before


def test_a_session_stamped_at_two_precisions_is_not_behind_itself() -> None:
    session = {"created": "2026-01-01T12:00:00.731Z", "updated": "2026-01-01T12:00:00Z"}

    assert session_verdict(session, None).problems == ()
    assert session_verdict({**session, "updated": "2026-01-01T11:59:58Z"}, None).problems != ()
