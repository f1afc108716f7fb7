"""The business rules as the harness checks them from the outside."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract_tests.rules import (
    Amounts,
    applied_problems,
    error_response_problems,
    is_allowed_transition,
    kept_problems,
    session_problems,
    totals_problems,
)


def session(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "integrationId": "s-1",
        "profileId": "p-1",
        "state": "open",
        "created": "2026-01-01T00:00:00.000000Z",
        "updated": "2026-01-01T00:00:01.000000Z",
        "firstSession": True,
        "cartItems": [{"name": "a", "sku": "b", "quantity": 3, "price": 0.1}],
        "additionalCosts": {"shipping": {"price": 0.2}},
        "cartItemTotal": 0.3,
        "additionalCostTotal": 0.2,
        "total": 0.5,
    }
    return {**base, **fields}


@pytest.mark.parametrize(
    ("current", "requested", "allowed"),
    [
        ("open", "closed", True),
        ("open", "cancelled", True),
        ("closed", "cancelled", True),
        ("closed", "closed", True),
        ("closed", "open", False),
        ("cancelled", "open", False),
        ("cancelled", "closed", False),
    ],
)
def test_transitions(current: str, requested: str, allowed: bool) -> None:
    assert is_allowed_transition(current, requested) is allowed


def test_a_consistent_session_keeps_every_rule() -> None:
    assert session_problems(session(), "s-1") == []


@pytest.mark.parametrize(
    ("fields", "path_id", "fragment"),
    [
        ({"total": 0.51}, "s-1", "total is 0.51"),
        ({"cartItemTotal": 0.30000000000000004}, "s-1", "exactly"),
        ({"integrationId": "other"}, "s-1", "path names 's-1'"),
        ({"profileId": "", "firstSession": False}, "s-1", "anonymous"),
        ({"updated": "2025-12-31T23:59:59Z"}, "s-1", "behind created"),
        ({"state": "reopened"}, "s-1", "state 'reopened'"),
    ],
    ids=["total", "drift", "integration-id", "anonymous", "updated", "state"],
)
def test_each_broken_rule_is_named(fields: dict[str, Any], path_id: str, fragment: str) -> None:
    problems = session_problems(session(**fields), path_id)

    assert any(fragment in problem for problem in problems), problems


@given(prices=st.lists(st.tuples(st.integers(-(10**9), 10**9), st.integers(1, 1000)), max_size=8))
def test_totals_of_whole_cents_are_exact(prices: list[tuple[int, int]]) -> None:
    items = [{"name": "a", "sku": "b", "quantity": q, "price": cents / 100} for cents, q in prices]
    exact = sum(cents * q for cents, q in prices)
    doc = {
        "cartItems": items,
        "cartItemTotal": exact / 100,
        "additionalCostTotal": 0,
        "total": exact / 100,
    }

    assert totals_problems(doc) == []
    assert totals_problems({**doc, "total": (exact + 1) / 100}) != []


def test_out_of_range_amounts_are_a_legitimate_rejection() -> None:
    assert Amounts([{"price": 1e14, "quantity": 1}], {}).out_of_range()
    assert not Amounts([{"price": 1e12, "quantity": 1}], {}).out_of_range()


def test_an_update_must_apply_what_it_names_and_keep_the_rest() -> None:
    before = session(couponCodes=["A"], attributes={"x": 1})
    after = session(couponCodes=["B"], attributes={})

    assert applied_problems({"couponCodes": ["B"]}, after) == []
    assert kept_problems({"couponCodes": ["B"]}, before, after) == [
        "attributes was not sent but changed from {'x': 1} to {}"
    ]


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        ({"message": "m", "errors": [{"title": "t", "source": {"pointer": "/a"}}]}, True),
        ({"message": "m"}, True),
        ({"error": "m"}, False),
        ({"message": "m", "errors": [{"title": "t"}]}, False),
        ({"message": "m", "errors": [{"title": "t", "source": {"pointer": "a"}}]}, False),
        ("text", False),
    ],
)
def test_error_responses(body: Any, ok: bool) -> None:
    assert (error_response_problems(body) == []) is ok
