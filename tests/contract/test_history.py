"""Rules across calls, from observed exchanges."""

from __future__ import annotations

import json
from typing import Any

from contract_tests.exchange import Exchange, read_exchange
from contract_tests.history import SessionHistory

URL = "http://127.0.0.1:1/v2/customer_sessions/s-1"


def answered(
    method: str,
    state: str,
    updated: str,
    sent: dict[str, Any] | None = None,
    dry: bool = False,
    **fields: Any,
) -> Exchange:
    session = {
        **fields,
        "integrationId": "s-1",
        "state": state,
        "created": "2026-01-01T00:00:00.000000Z",
        "updated": updated,
        "cartItems": [],
        "attributes": {},
        "profileId": "",
        "firstSession": True,
    }
    body = json.dumps({"customerSession": sent}).encode() if sent is not None else None
    return read_exchange(
        method,
        URL + ("?dry=true" if dry else ""),
        {"Authorization": "ApiKey-v1 k"},
        body,
        200,
        {"Content-Type": "application/json"},
        json.dumps({"customerSession": session}).encode(),
    )


def test_an_illegal_transition_across_calls_is_reported() -> None:
    history = SessionHistory()
    assert (
        history.observe(answered("PUT", "closed", "2026-01-01T00:00:01Z", {"state": "closed"}))
        == []
    )

    problems = history.observe(answered("PUT", "open", "2026-01-01T00:00:02Z", {"state": "open"}))

    assert any("closed -> open" in problem for problem in problems)


def test_a_read_that_moves_backwards_is_reported() -> None:
    history = SessionHistory()
    history.observe(answered("GET", "cancelled", "2026-01-01T00:00:05Z"))

    problems = history.observe(answered("GET", "closed", "2026-01-01T00:00:06Z"))

    assert any("from cancelled to closed" in problem for problem in problems)


def test_concurrent_clients_compare_only_in_the_servers_order() -> None:
    # Given two updates whose answers arrive in the reverse of the server's order
    history = SessionHistory(concurrent=True)
    later = answered("PUT", "cancelled", "2026-01-01T00:00:02Z", {"state": "cancelled"})
    earlier = answered("PUT", "closed", "2026-01-01T00:00:01Z", {"state": "closed"})

    # Then neither is reported
    assert history.observe(later) == []
    assert history.observe(earlier) == []


def test_an_update_that_forgets_unnamed_fields_is_reported() -> None:
    history = SessionHistory()
    sent = {"couponCodes": ["A"]}
    assert history.observe(answered("PUT", "open", "2026-01-01T00:00:01Z", sent, **sent)) == []

    problems = history.observe(answered("PUT", "open", "2026-01-01T00:00:02Z", {"attributes": {}}))

    assert any("couponCodes was not sent but changed" in problem for problem in problems)


def test_a_dry_run_of_an_illegal_transition_is_reported() -> None:
    history = SessionHistory()
    history.observe(answered("GET", "cancelled", "2026-01-01T00:00:01Z"))

    problems = history.observe(
        answered("PUT", "open", "2026-01-01T00:00:02Z", {"state": "open"}, dry=True)
    )

    assert problems and "dry run" in problems[0]
