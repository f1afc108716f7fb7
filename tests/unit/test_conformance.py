"""The record check: the contract and the rules, each failure named by record and field."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from mock_server.contract.sessions import InvalidRecord, SessionChecker
from mock_server.contract.spec import load_spec
from mock_server.core.errors import MockServerError

Document = dict[str, Any]


def valid_session(**changes: Any) -> Document:
    document: Document = {
        "id": 1,
        "integrationId": "s-1",
        "created": "2025-06-01T10:00:00.000000Z",
        "applicationId": 1,
        "profileId": "p-1",
        "state": "open",
        "cartItems": [
            {"name": "Mug", "sku": "MUG-1", "quantity": 3, "price": 0.1, "position": 0},
            {"name": "Tea", "sku": "TEA-1", "quantity": 1, "price": 0.2, "position": 1},
        ],
        "additionalCosts": {"shipping": {"price": 4.95}, "giftWrap": {"price": 2.5}},
        "attributes": {"ünïcode": "✓"},
        "firstSession": True,
        "total": 7.95,
        "cartItemTotal": 0.5,
        "additionalCostTotal": 7.45,
        "updated": "2025-06-01T10:05:00.000000Z",
    }
    document.update(changes)
    return document


def check_all(*documents: Document) -> None:
    checker = SessionChecker(load_spec())
    for index, document in enumerate(documents, start=1):
        checker.check(document, source="set.json", index=index)


def test_a_valid_session_passes() -> None:
    check_all(valid_session())


def test_money_is_exact_even_where_floats_are_not() -> None:
    # 0.1 + 0.2 is 0.3 to the cent, not 0.30000000000000004.
    items = [
        {"name": "A", "sku": "A", "quantity": 1, "price": 0.1},
        {"name": "B", "sku": "B", "quantity": 1, "price": 0.2},
    ]
    check_all(
        valid_session(
            cartItems=items, additionalCosts={}, total=0.3, cartItemTotal=0.3, additionalCostTotal=0
        )
    )
    with pytest.raises(InvalidRecord, match="/cartItemTotal"):
        check_all(
            valid_session(
                cartItems=items,
                additionalCosts={},
                total=0.1 + 0.2,
                cartItemTotal=0.1 + 0.2,
                additionalCostTotal=0,
            )
        )


def test_amounts_finer_than_a_cent_are_summed_exactly() -> None:
    items = [{"name": "Screw", "sku": "S", "quantity": 3, "price": 0.333}]
    check_all(valid_session(cartItems=items, total=8.449, cartItemTotal=0.999))


def without(key: str) -> Callable[[Document], None]:
    return lambda d: d.pop(key)


def setter(path: tuple[Any, ...], value: Any) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        target: Any = document
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


BROKEN = [
    (without("integrationId"), "/", "integrationId"),
    (setter(("state",), "paused"), "/state", "paused"),
    (setter(("cartItems", 1, "price"), "0.2"), "/cartItems/1/price", "number"),
    (setter(("cartItems", 0, "quantity"), 0), "/cartItems/0/quantity", "minimum"),
    (setter(("cartItems", 0, "sku"), ""), "/cartItems/0/sku", ""),
    (setter(("additionalCosts", "giftWrap"), {}), "/additionalCosts/giftWrap", "price"),
    (setter(("created",), "yesterday"), "/created", "date-time"),
    (setter(("cartItemTotal",), 0.51), "/cartItemTotal", "0.50"),
    (setter(("additionalCostTotal",), 7.4), "/additionalCostTotal", "7.45"),
    (setter(("total",), 7.96), "/total", "7.95"),
    (setter(("cartItems", 1, "position"), 5), "/cartItems/1/position", "index 1"),
    (setter(("updated",), "2025-06-01T09:00:00.000000Z"), "/updated", "before created"),
    (setter(("firstSession",), False), "/firstSession", "first session of profile"),
    (setter(("profileId",), ""), None, None),  # anonymous and first: fine
]


@pytest.mark.parametrize(
    ("change", "pointer", "reason"),
    BROKEN,
    ids=[
        "missing-id",
        "state",
        "price-type",
        "quantity",
        "empty-sku",
        "cost-price",
        "created",
        "cart-total",
        "cost-total",
        "total",
        "position",
        "updated",
        "first-session",
        "anonymous-ok",
    ],
)
def test_each_broken_field_is_named(
    change: Callable[[Document], None], pointer: str | None, reason: str | None
) -> None:
    document = copy.deepcopy(valid_session())
    change(document)
    if pointer is None:
        check_all(document)
        return
    with pytest.raises(InvalidRecord) as raised:
        check_all(valid_session(integrationId="s-0", profileId="other"), document)
    error = raised.value
    assert isinstance(error, MockServerError)
    assert (error.source, error.index, error.pointer) == ("set.json", 2, pointer)
    assert reason is not None and reason in error.reason
    assert str(error).startswith("set.json: record 2")
    assert f": {pointer}: " in str(error)


def test_first_session_is_checked_across_the_set() -> None:
    first = valid_session()
    again_first = valid_session(
        integrationId="s-2",
        created="2025-06-02T10:00:00.000000Z",
        updated="2025-06-02T10:00:00.000000Z",
    )
    with pytest.raises(InvalidRecord, match="has an earlier session") as raised:
        check_all(first, again_first)
    assert raised.value.pointer == "/firstSession"
    check_all(first, {**again_first, "firstSession": False})


def test_the_same_profile_in_another_application_is_another_customer() -> None:
    check_all(valid_session(), valid_session(integrationId="s-2", applicationId=2))


def test_anonymous_sessions_are_always_first() -> None:
    with pytest.raises(InvalidRecord, match="anonymous"):
        check_all(valid_session(profileId="", firstSession=False))


def test_an_id_twice_in_one_application_is_refused() -> None:
    with pytest.raises(InvalidRecord, match="appears twice") as raised:
        check_all(valid_session(), valid_session(profileId="", firstSession=True))
    assert (raised.value.index, raised.value.pointer) == (2, "/integrationId")


def test_a_record_that_is_not_an_object_is_named() -> None:
    with pytest.raises(InvalidRecord, match=r"set.json: record 1: /: .*object"):
        check_all(["not", "a", "session"])  # type: ignore[arg-type]
