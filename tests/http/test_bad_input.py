"""A corpus of client mistakes: each gets a 4xx ErrorResponse naming it, and the store is intact."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient

from mock_server import Settings, create_app
from mock_server.contract.schemas import compile_schema
from mock_server.contract.spec import load_spec
from mock_server.core.store import SessionStore
from mock_server.wire.codec import dumps_session
from tests.conftest import API_KEY, APPLICATION_ID, AUTH, session_url

JSON = "application/json"
ITEM = {"name": "Socks", "sku": "SKU-1", "quantity": 1, "price": 1.5}
ERROR_SCHEMA = compile_schema(load_spec(), "ErrorResponse")


def body_with(**session: Any) -> dict[str, Any]:
    return {"customerSession": session}


def deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels):
        value = {"x": value}
    return value


def snapshot(store: SessionStore) -> list[str]:
    return [dumps_session(s) for s in store.list()]


def assert_error(
    response: Any, status: int, *, pointer: str | None = None, parameter: str | None = None
) -> None:
    assert response.status_code == status, response.data
    assert response.mimetype == JSON
    body = response.json
    assert ERROR_SCHEMA.violations(body) == []
    assert body["message"] and body["errors"]
    sources = [error["source"] for error in body["errors"]]
    if pointer is not None:
        assert {"pointer": pointer} in sources, sources
    if parameter is not None:
        assert {"parameter": parameter} in sources, sources


@pytest.fixture(autouse=True)
def existing_session(client: FlaskClient) -> None:
    """A session that a bad request to its id must leave exactly as it was."""
    body = {"customerSession": {"profileId": "p", "cartItems": [ITEM]}}
    assert client.put(session_url("cart-1"), json=body, headers=AUTH).status_code == 200


AUTH_CASES = [
    pytest.param({}, id="missing"),
    pytest.param({"Authorization": ""}, id="empty"),
    pytest.param({"Authorization": f"Bearer {API_KEY}"}, id="wrong-scheme"),
    pytest.param({"Authorization": "ApiKey-v1"}, id="no-key"),
    pytest.param({"Authorization": f"ApiKey-v1 {API_KEY} extra"}, id="two-keys"),
    pytest.param({"Authorization": "ApiKey-v1 not-a-key"}, id="unknown-key"),
]


@pytest.mark.parametrize("headers", AUTH_CASES)
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_bad_auth_is_401(
    client: FlaskClient, store: SessionStore, headers: dict[str, str], method: str
) -> None:
    before = snapshot(store)
    response = client.open(
        session_url("cart-1"), method=method, json=body_with(cartItems=[]), headers=headers
    )
    assert_error(response, 401, parameter="Authorization")
    assert snapshot(store) == before


RAW_BODY_CASES = [
    pytest.param(b'{"customerSession": {', JSON, "", id="malformed-json"),
    pytest.param(b"", JSON, "", id="empty-body"),
    pytest.param(b"   ", JSON, "", id="blank-body"),
    pytest.param(b'{"customerSession": {"profileId": "\xff\xfe"}}', JSON, "", id="not-utf8"),
    pytest.param(
        b'{"customerSession": {"cartItems": [{"name": "a", "sku": "b", "quantity": 1, '
        b'"price": NaN}]}}',
        JSON,
        "",
        id="nan",
    ),
    pytest.param(
        b'{"customerSession": {"additionalCosts": {"x": {"price": Infinity}}}}',
        JSON,
        "",
        id="infinity",
    ),
    pytest.param(
        b'{"customerSession": {"additionalCosts": {"x": {"price": -Infinity}}}}',
        JSON,
        "",
        id="minus-infinity",
    ),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, JSON, "", id="very-deep-array"),
    pytest.param(b"[]", JSON, "", id="array-body"),
    pytest.param(b'"text"', JSON, "", id="string-body"),
    pytest.param(b"null", JSON, "", id="null-body"),
    pytest.param(
        b'{"customerSession": {"attributes": {"n": 1' + b"0" * 5000 + b"}}}",
        JSON,
        "",
        id="5000-digit-integer",
    ),
    pytest.param(b'\xef\xbb\xbf{"customerSession": {}}', JSON, "", id="utf8-bom"),
    pytest.param(
        b'{"customerSession": {"cartItems": [{"name": "a", "sku": "b", "quantity": 1, '
        b'"price": 1e400}]}}',
        JSON,
        "/customerSession/cartItems/0/price",
        id="price-beyond-double",
    ),
]


@pytest.mark.parametrize(("raw", "content_type", "pointer"), RAW_BODY_CASES)
def test_unparseable_bodies_are_400(
    client: FlaskClient, store: SessionStore, raw: bytes, content_type: str, pointer: str
) -> None:
    before = snapshot(store)
    response = client.put(session_url("cart-1"), data=raw, content_type=content_type, headers=AUTH)
    assert_error(response, 400, pointer=pointer)
    assert snapshot(store) == before


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", None],
    ids=["text", "form", "xml", "none"],
)
def test_wrong_content_type_is_400_naming_the_header(
    client: FlaskClient, store: SessionStore, content_type: str | None
) -> None:
    before = snapshot(store)
    response = client.put(
        session_url("cart-1"),
        data=b'{"customerSession": {}}',
        content_type=content_type,
        headers=AUTH,
    )
    assert_error(response, 400, parameter="Content-Type")
    assert snapshot(store) == before


SCHEMA_CASES = [
    pytest.param({}, "/customerSession", id="no-customer-session"),
    pytest.param({"customerSession": []}, "/customerSession", id="customer-session-array"),
    pytest.param(
        body_with(cartItems=[{**ITEM, "quantity": 0}]),
        "/customerSession/cartItems/0/quantity",
        id="quantity-zero",
    ),
    pytest.param(
        body_with(cartItems=[{**ITEM, "quantity": -2}]),
        "/customerSession/cartItems/0/quantity",
        id="quantity-negative",
    ),
    pytest.param(
        body_with(cartItems=[{**ITEM, "quantity": 1.5}]),
        "/customerSession/cartItems/0/quantity",
        id="quantity-fraction",
    ),
    pytest.param(
        body_with(cartItems=[{**ITEM, "quantity": "2"}]),
        "/customerSession/cartItems/0/quantity",
        id="quantity-string",
    ),
    pytest.param(
        body_with(cartItems=[{**ITEM, "sku": ""}]),
        "/customerSession/cartItems/0/sku",
        id="empty-sku",
    ),
    pytest.param(
        body_with(cartItems=[{**ITEM, "name": ""}]),
        "/customerSession/cartItems/0/name",
        id="empty-name",
    ),
    pytest.param(
        body_with(cartItems=[{"sku": "a", "quantity": 1, "price": 1}]),
        "/customerSession/cartItems/0/name",
        id="missing-name",
    ),
    pytest.param(
        body_with(cartItems=[{**ITEM, "price": "1.50"}]),
        "/customerSession/cartItems/0/price",
        id="price-string",
    ),
    pytest.param(
        body_with(cartItems=[{**ITEM, "price": None}]),
        "/customerSession/cartItems/0/price",
        id="price-null",
    ),
    pytest.param(
        body_with(cartItems=[{**ITEM, "price": True}]),
        "/customerSession/cartItems/0/price",
        id="price-bool",
    ),
    pytest.param(body_with(cartItems={"0": ITEM}), "/customerSession/cartItems", id="cart-object"),
    pytest.param(body_with(state="paused"), "/customerSession/state", id="unknown-state"),
    pytest.param(body_with(state=None), "/customerSession/state", id="null-state"),
    pytest.param(
        body_with(additionalCosts={"shipping": {}}),
        "/customerSession/additionalCosts/shipping/price",
        id="cost-without-price",
    ),
    pytest.param(
        body_with(additionalCosts={"shipping": 4.95}),
        "/customerSession/additionalCosts/shipping",
        id="cost-not-object",
    ),
    pytest.param(
        body_with(referralCode="R" * 101), "/customerSession/referralCode", id="referral-too-long"
    ),
    pytest.param(body_with(profileId=42), "/customerSession/profileId", id="profile-number"),
    pytest.param(
        body_with(couponCodes="SPRING"), "/customerSession/couponCodes", id="coupons-string"
    ),
    pytest.param(
        body_with(attributes=[1, 2]), "/customerSession/attributes", id="attributes-array"
    ),
    pytest.param(
        {"customerSession": {}, "responseContent": ["everything"]},
        "/responseContent/0",
        id="unknown-response-part",
    ),
    pytest.param(body_with(attributes=deep(40)), "", id="too-deep"),
    pytest.param(
        body_with(cartItems=[{**ITEM, "price": 1e20}]),
        "/customerSession/cartItems/0/price",
        id="price-overflow",
    ),
    pytest.param(
        body_with(cartItems=[{**ITEM, "quantity": 10**40}]),
        "/customerSession/cartItems/0/price",
        id="quantity-overflow",
    ),
    pytest.param(
        body_with(state="open", cartItems=[ITEM, {**ITEM, "quantity": 0}]),
        "/customerSession/cartItems/1/quantity",
        id="second-item",
    ),
]


@pytest.mark.parametrize(("body", "pointer"), SCHEMA_CASES)
def test_invalid_bodies_are_400_with_a_pointer(
    client: FlaskClient, store: SessionStore, body: Any, pointer: str
) -> None:
    before = snapshot(store)
    response = client.put(session_url("cart-1"), json=body, headers=AUTH)
    assert_error(response, 400, pointer=pointer)
    assert snapshot(store) == before


def test_every_problem_is_listed(client: FlaskClient) -> None:
    body = body_with(state="paused", cartItems=[{**ITEM, "quantity": 0, "sku": ""}])
    response = client.put(session_url("cart-1") + "?dry=maybe", json=body, headers=AUTH)
    sources = [e["source"] for e in response.json["errors"]]
    assert {"parameter": "dry"} in sources
    assert {"pointer": "/customerSession/state"} in sources
    assert {"pointer": "/customerSession/cartItems/0/quantity"} in sources
    assert {"pointer": "/customerSession/cartItems/0/sku"} in sources


@pytest.mark.parametrize(
    "query", ["?dry=maybe", "?dry=", "?dry=2"], ids=["word", "empty", "number"]
)
def test_bad_dry_parameter(client: FlaskClient, store: SessionStore, query: str) -> None:
    before = snapshot(store)
    response = client.put(
        session_url("cart-1") + query, json=body_with(state="closed"), headers=AUTH
    )
    assert_error(response, 400, parameter="dry")
    assert snapshot(store) == before


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_overlong_session_id(client: FlaskClient, method: str) -> None:
    response = client.open(session_url("x" * 1001), method=method, json=body_with(), headers=AUTH)
    assert_error(response, 400, parameter="customerSessionId")


def test_oversized_body_is_413_json(store: SessionStore) -> None:
    app = create_app(
        Settings(
            store_url="memory://",
            api_keys={API_KEY: APPLICATION_ID},
            preload=0,
            max_body_bytes=2048,
        )
    )
    client = app.test_client()
    items = [{**ITEM, "sku": f"SKU-{i}"} for i in range(200)]
    response = client.put(session_url("big"), json=body_with(cartItems=items), headers=AUTH)
    assert response.status_code == 413
    assert response.mimetype == JSON
    assert ERROR_SCHEMA.violations(response.json) == []


def test_unknown_route_is_404_json(client: FlaskClient) -> None:
    response = client.get("/v2/customer_session/cart-1", headers=AUTH)
    assert_error(response, 404)
    assert_error(client.get("/v3", headers=AUTH), 404)
    # "/" is no API route: it leads people to the inspector.
    assert client.get("/", headers=AUTH).status_code == 302


@pytest.mark.parametrize("method", ["POST", "DELETE", "PATCH"])
def test_wrong_method_is_405_json(client: FlaskClient, store: SessionStore, method: str) -> None:
    before = snapshot(store)
    response = client.open(session_url("cart-1"), method=method, headers=AUTH)
    assert_error(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "PUT"}
    assert snapshot(store) == before


def test_unknown_session_is_404_naming_it(client: FlaskClient) -> None:
    response = client.get(session_url("nope"), headers=AUTH)
    assert_error(response, 404, parameter="customerSessionId")
    assert "nope" in response.json["errors"][0]["details"]


@pytest.mark.parametrize("prefer", ["dynamic=maybe", "dynamic=true, seed=abc"])
def test_bad_prefer_is_400(client: FlaskClient, prefer: str) -> None:
    response = client.get(session_url("cart-1"), headers={**AUTH, "Prefer": prefer})
    assert_error(response, 400, parameter="Prefer")


def test_an_invalid_answer_fails_loudly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Given a contract that demands a field the mock never sends
    document = yaml.safe_load(load_spec().path.read_text())
    document["components"]["schemas"]["CustomerSessionV2"]["required"].append("loyaltyCards")
    spec_path = tmp_path / "openapi.yaml"
    spec_path.write_text(yaml.safe_dump(document))
    client = create_app(
        Settings(store_url="memory://", preload=0, spec_path=spec_path)
    ).test_client()
    headers = {"Authorization": "ApiKey-v1 k"}
    body = {"customerSession": {}, "responseContent": ["customerSession"]}
    # When the mock answers
    with caplog.at_level(logging.ERROR, logger="mock_server"):
        response = client.put(session_url("s"), json=body, headers=headers)
    # Then it says so with a 500 and a log line, instead of sending the invalid answer
    assert response.status_code == 500
    assert "loyaltyCards" in response.json["errors"][0]["details"]
    assert any("loyaltyCards" in record.getMessage() for record in caplog.records)
    # And with response validation off, the same answer goes out
    quiet = create_app(
        Settings(store_url="memory://", preload=0, spec_path=spec_path, validate_responses=False)
    )
    assert quiet.test_client().put(session_url("s"), json=body, headers=headers).status_code == 200


def test_each_missing_property_of_an_element_is_named_once(client: FlaskClient) -> None:
    response = client.put(session_url("cart-1"), json=body_with(cartItems=[{}]), headers=AUTH)
    assert_error(response, 400)
    pointers = [error["source"]["pointer"] for error in response.json["errors"]]
    assert sorted(pointers) == [
        f"/customerSession/cartItems/0/{name}" for name in ("name", "price", "quantity", "sku")
    ]


def test_a_body_of_thousands_of_bad_elements_lists_the_first_hundred(
    client: FlaskClient, store: SessionStore
) -> None:
    before = snapshot(store)
    body = {"customerSession": {}, "responseContent": [0] * 30_000}
    response = client.put(session_url("cart-1"), json=body, headers=AUTH)
    assert_error(response, 400, pointer="/responseContent/0")
    errors = response.json["errors"]
    assert len(errors) == 101 and errors[-1]["title"] == "More problems"
    assert snapshot(store) == before
