"""Schema-valid answers of the contract, generated from its own response schemas.

Schemathesis generates request bodies from schemas; an API whose request bodies are the
contract's response schemas (`CustomerSessionV2`, `ErrorResponse`, ...) makes it generate
answers. On top of what it draws, `unusual_sessions()` puts the values the mock never sends
where the checks look: 1e300, -0.0, 20-digit integers, 0.1 steps, 1,000-character Unicode
ids, leap seconds and far years in timestamps. Every document drawn is checked against the
schema again, so a test never blames a check for an invalid answer.
"""

from __future__ import annotations

from decimal import Context, Decimal
from functools import cache
from typing import Any

import jsonschema
import schemathesis
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from tests.contract.stub_servers import spec_document

ANSWER_SCHEMAS = (
    "NewCustomerSessionV2",  # what a PUT sends, for the rules comparing sent and answered
    "CustomerSessionV2",
    "IntegrationStateV2",
    "IntegrationCustomerSessionResponse",
    "ErrorResponse",
)
EXTREME_NUMBERS = (
    1e300, -1e300, -0.0, 0.0, 0.1, 0.2, 0.3, 0.30000000000000004, 1.7976931348623157e308,
    5e-324, 12345678901234567890, -12345678901234567890, 10**25, 99999999999.99, 0.005,
)  # fmt: skip
EXTREME_INTEGERS = (1, 2, 10**19 + 7, 12345678901234567890, 10**30)
LONG_UNICODE = ("ü€𝄞 \u202e<b>&amp;</b>'\"" * 80)[:1000]
UNUSUAL_IDS = (
    LONG_UNICODE,
    "x" * 1000,
    "<script>alert(1)</script>",
    "a/b?c=d#e",
    "👩‍👩‍👧‍👦",
    "\u0000nul",
    " ",
)
UNUSUAL_TIMES = (
    "2026-12-31T23:59:60Z",  # a leap second: valid RFC 3339, no Python datetime
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999999+14:00",
    "2026-06-01t12:00:00.1-12:00",
)


@cache
def _answers_api() -> Any:
    components = spec_document()["components"]
    paths = {
        f"/{name}": {
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}
                    },
                },
                "responses": {"200": {"description": "unused"}},
            }
        }
        for name in ANSWER_SCHEMAS
    }
    document = {
        "openapi": "3.0.3",
        "info": {"title": "answers of the customer session contract", "version": "1"},
        "paths": paths,
        "components": {"schemas": components["schemas"]},
    }
    return schemathesis.openapi.from_dict(document)


@cache
def validator(name: str) -> jsonschema.Draft4Validator:
    """A validator of one component schema (draft 4, as OpenAPI 3.0)."""
    components = spec_document()["components"]
    return jsonschema.Draft4Validator(
        {"$ref": f"#/components/schemas/{name}", "components": components}
    )


def documents(name: str) -> st.SearchStrategy[Any]:
    """Documents valid against one component schema, as Schemathesis generates them."""
    operation = _answers_api()[f"/{name}"]["POST"]
    cases: st.SearchStrategy[Any] = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
    return cases.map(lambda case: case.body)


numbers = st.one_of(
    st.sampled_from(EXTREME_NUMBERS),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(10**22), 10**22),
    st.integers(-(10**6), 10**6).map(lambda cents: cents / 10),  # 0.1 steps
)
quantities = st.one_of(st.sampled_from(EXTREME_INTEGERS), st.integers(1, 10**6))


def consistent_totals(session: dict[str, Any]) -> dict[str, Any] | None:
    """The session with the totals a correct server answers (None beyond what a double holds)."""
    exact = Context(prec=400)
    cart = Decimal(0)
    for item in session.get("cartItems", []):
        cart = exact.add(
            cart, exact.multiply(Decimal(repr(item["price"])), Decimal(item["quantity"]))
        )
    costs = Decimal(0)
    for cost in (session.get("additionalCosts") or {}).values():
        costs = exact.add(costs, Decimal(repr(cost["price"])))
    totals = {"cartItemTotal": cart, "additionalCostTotal": costs, "total": exact.add(cart, costs)}
    result = dict(session)
    for name, value in totals.items():
        number = float(value)
        if number in (float("inf"), float("-inf")):
            return None
        result[name] = number
    return result


@st.composite
def unusual_sessions(draw: st.DrawFn, *, consistent: bool = False) -> tuple[str, dict[str, Any]]:
    """(path id, CustomerSessionV2): drawn from the schema, then pushed to unusual values.

    With `consistent`, the session keeps every rule a correct server keeps: its totals add up,
    its integrationId is the path id, an anonymous session is a first one, updated >= created.
    """
    session = dict(draw(documents("CustomerSessionV2")))
    items = []
    for item in session.get("cartItems", []):
        item = dict(item)
        if draw(st.booleans()):
            item["price"] = draw(numbers)
        if draw(st.booleans()):
            item["quantity"] = draw(quantities)
        items.append(item)
    if draw(st.booleans()):
        items += [
            {"name": "n", "sku": "s", "quantity": draw(quantities), "price": draw(numbers)}
            for _ in range(draw(st.integers(0, 6)))
        ]
    session["cartItems"] = items
    if draw(st.booleans()):
        session["additionalCosts"] = {
            draw(st.sampled_from(UNUSUAL_IDS + ("shipping",))): {"price": draw(numbers)}
            for _ in range(draw(st.integers(0, 3)))
        }
    if draw(st.booleans()):
        session["integrationId"] = draw(st.sampled_from(UNUSUAL_IDS))
    for name in ("total", "cartItemTotal", "additionalCostTotal"):
        if draw(st.booleans()):
            session[name] = draw(numbers)
    if draw(st.booleans()):
        session["id"] = draw(st.sampled_from(EXTREME_INTEGERS))
    if draw(st.booleans()):
        session["created"] = session["updated"] = draw(st.sampled_from(UNUSUAL_TIMES))
    path_id = session.get("integrationId") or "s"
    if consistent:
        session["integrationId"] = path_id
        session["updated"] = session["created"]
        if session.get("profileId") == "":
            session["firstSession"] = True
        made = consistent_totals(session)
        if made is None:
            made = consistent_totals({**session, "cartItems": [], "additionalCosts": {}})
            assert made is not None
        session = made
    assert validator("CustomerSessionV2").is_valid(session), session
    return path_id, session
