"""Both operations through the real app (WSGI, in-process)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from mock_server import Settings, create_app
from mock_server.contract.schemas import compile_schema
from mock_server.contract.spec import load_spec
from mock_server.core.store import SessionStore
from tests.conftest import APPLICATION_ID, AUTH, cart_body, session_url
from tests.rules import assert_session_rules

CART = [
    {"name": "Trail Running Shoe", "sku": "SKU-1", "quantity": 1, "price": 89.99},
    {"name": "Merino Socks", "sku": "SKU-2", "quantity": 3, "price": 0.1},
]


def put(client: FlaskClient, integration_id: str, body: dict[str, Any], query: str = "") -> Any:
    return client.put(session_url(integration_id) + query, json=body, headers=AUTH)


def created_session(client: FlaskClient, integration_id: str = "cart-1", **fields: Any) -> Any:
    response = put(client, integration_id, cart_body(**fields))
    assert response.status_code == 200, response.json
    return response.json["customerSession"]


def test_create_then_get(client: FlaskClient) -> None:
    # Given a new session with a cart and shipping
    session = created_session(
        client, profileId="p-1", cartItems=CART, additionalCosts={"shipping": {"price": 0.2}}
    )
    # Then the answer is complete and consistent
    assert session["integrationId"] == "cart-1"
    assert session["applicationId"] == APPLICATION_ID
    assert session["state"] == "open"
    assert session["cartItemTotal"] == 90.29
    assert session["additionalCostTotal"] == 0.2
    assert session["total"] == 90.49
    assert session["firstSession"] is True
    assert session["created"] == session["updated"]
    assert_session_rules(session)
    # And a GET answers the same session
    got = client.get(session_url("cart-1"), headers=AUTH)
    assert got.status_code == 200
    assert got.json == {"customerSession": session, "effects": []}


def test_each_update_builds_on_the_previous_one(client: FlaskClient) -> None:
    first = created_session(
        client, profileId="p-1", cartItems=CART, couponCodes=["SPRING-1"], attributes={"a": 1}
    )
    second = created_session(client, identifiers=["device-1"])
    assert second["cartItems"] == first["cartItems"]
    assert second["couponCodes"] == ["SPRING-1"]
    assert second["attributes"] == {"a": 1}
    assert second["profileId"] == "p-1"
    assert second["identifiers"] == ["device-1"]
    assert second["created"] == first["created"]
    assert second["updated"] > first["updated"]
    assert second["id"] == first["id"]


def test_life_cycle_open_closed_cancelled(client: FlaskClient) -> None:
    created_session(client, cartItems=CART)
    assert created_session(client, state="closed")["state"] == "closed"
    assert created_session(client, state="closed")["state"] == "closed"  # same state: no-op
    assert created_session(client, state="cancelled")["state"] == "cancelled"


@pytest.mark.parametrize(
    ("path", "illegal"),
    [(["closed"], "open"), (["cancelled"], "open"), (["cancelled"], "closed")],
    ids=["closed-to-open", "cancelled-to-open", "cancelled-to-closed"],
)
def test_illegal_transition_is_a_400_naming_it(
    client: FlaskClient, store: SessionStore, path: list[str], illegal: str
) -> None:
    created_session(client, cartItems=CART)
    for state in path:
        created_session(client, state=state)
    before = store.get(APPLICATION_ID, "cart-1")
    response = put(client, "cart-1", cart_body(state=illegal))
    assert response.status_code == 400
    [error] = response.json["errors"]
    assert error["source"] == {"pointer": "/customerSession/state"}
    assert illegal in error["details"] and path[-1] in error["details"]
    assert store.get(APPLICATION_ID, "cart-1") == before


def test_new_session_must_start_open_or_move_from_open(client: FlaskClient) -> None:
    # A first PUT may close at once: the session starts open, then moves on.
    assert created_session(client, "quick", state="closed")["state"] == "closed"


def test_closed_cart_cannot_change(client: FlaskClient, store: SessionStore) -> None:
    created_session(client, cartItems=CART)
    created_session(client, state="closed")
    before = store.get(APPLICATION_ID, "cart-1")
    response = put(client, "cart-1", cart_body(cartItems=CART[:1]))
    assert response.status_code == 400
    assert response.json["errors"][0]["source"] == {"pointer": "/customerSession/cartItems"}
    assert store.get(APPLICATION_ID, "cart-1") == before


def test_dry_run_answers_but_persists_nothing(client: FlaskClient, store: SessionStore) -> None:
    created_session(client, cartItems=CART)
    before = store.get(APPLICATION_ID, "cart-1")
    response = put(client, "cart-1", cart_body(state="closed", cartItems=[]), "?dry=true")
    assert response.status_code == 200
    assert response.json["customerSession"]["state"] == "closed"
    assert response.json["customerSession"]["total"] == 0
    assert store.get(APPLICATION_ID, "cart-1") == before
    # A dry run of a new id creates nothing either.
    assert put(client, "ghost", cart_body(), "?dry=true").status_code == 200
    assert store.get(APPLICATION_ID, "ghost") is None
    assert client.get(session_url("ghost"), headers=AUTH).status_code == 404


def test_first_session_per_profile(client: FlaskClient) -> None:
    assert created_session(client, "s-1", profileId="p-9")["firstSession"] is True
    assert created_session(client, "s-2", profileId="p-9")["firstSession"] is False
    assert created_session(client, "s-1", attributes={"x": 1})["firstSession"] is True
    assert created_session(client, "s-3", profileId="")["firstSession"] is True
    assert created_session(client, "s-4")["firstSession"] is True  # anonymous by default


def test_a_rejected_update_does_not_claim_the_profile(client: FlaskClient) -> None:
    huge = [{"name": "Yacht", "sku": "Y", "quantity": 1, "price": 1e20}]
    assert put(client, "s-1", cart_body(profileId="p-5", cartItems=huge)).status_code == 400
    assert created_session(client, "s-2", profileId="p-5")["firstSession"] is True


def test_response_content_is_honoured(client: FlaskClient) -> None:
    body = {"customerSession": {"profileId": "p-1", "cartItems": CART}}
    bare = put(client, "cart-1", body).json
    assert bare == {"effects": [], "createdCoupons": [], "createdReferrals": []}
    parts = ["customerSession", "customerProfile", "event", "coupons", "triggeredCampaigns"]
    full = put(client, "cart-1", {**body, "responseContent": parts}).json
    assert set(full) == {"effects", "createdCoupons", "createdReferrals", *parts}
    assert full["customerProfile"]["integrationId"] == "p-1"
    assert full["event"]["sessionId"] == "cart-1"


def test_customer_profile_counts_closed_sessions(client: FlaskClient) -> None:
    created_session(client, "a", profileId="p-2", cartItems=CART, state="closed")
    body = {"customerSession": {"profileId": "p-2"}, "responseContent": ["customerProfile"]}
    profile = put(client, "b", body).json["customerProfile"]
    assert profile["closedSessions"] == 1
    assert profile["totalSales"] == 90.29


def test_applications_do_not_see_each_other() -> None:
    app = create_app(Settings(store_url="memory://", api_keys={"key-a": 1, "key-b": 2}, preload=0))
    client = app.test_client()
    key_a = {"Authorization": "ApiKey-v1 key-a"}
    key_b = {"Authorization": "ApiKey-v1 key-b"}
    body = cart_body(cartItems=CART)
    assert (
        client.put(session_url("shared"), json=body, headers=key_a).json["customerSession"][
            "applicationId"
        ]
        == 1
    )
    assert client.get(session_url("shared"), headers=key_b).status_code == 404
    assert client.get(session_url("shared"), headers=key_a).status_code == 200


def test_preloaded_sessions_answer_at_once(client: FlaskClient, store: SessionStore) -> None:
    sessions = store.list(APPLICATION_ID)
    assert len(sessions) == 6
    schema = compile_schema(load_spec(), "IntegrationCustomerSessionResponse")
    for session in sessions:
        response = client.get(session_url(session.integration_id), headers=AUTH)
        assert response.status_code == 200
        assert schema.violations(response.json) == []
        assert_session_rules(response.json["customerSession"])


def test_dynamic_get_generates_without_touching_the_store(
    client: FlaskClient, store: SessionStore
) -> None:
    headers = {**AUTH, "Prefer": "dynamic=true"}
    first = client.get(session_url("made-up"), headers=headers).json
    assert first == client.get(session_url("made-up"), headers=headers).json
    assert first["customerSession"]["integrationId"] == "made-up"
    assert first["customerSession"]["applicationId"] == APPLICATION_ID
    other_seed = client.get(
        session_url("made-up"), headers={**headers, "Prefer": "dynamic=true, seed=5"}
    )
    assert other_seed.json != first
    assert store.get(APPLICATION_ID, "made-up") is None
    assert client.get(session_url("made-up"), headers=AUTH).status_code == 404


def test_ids_with_slashes_and_unicode(client: FlaskClient) -> None:
    assert created_session(client, "shop/cart%20ü")["integrationId"] == "shop/cart ü"
    assert client.get(session_url("shop/cart%20ü"), headers=AUTH).status_code == 200


@pytest.mark.parametrize("path", ["/openapi.json", "/openapi.yaml"])
def test_spec_is_served_without_a_key(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert b"updateCustomerSessionV2" in response.data


def test_any_key_acts_for_the_default_application_when_none_is_configured() -> None:
    client = create_app(Settings(store_url="memory://", preload=0)).test_client()
    response = client.put(
        session_url("x"), json=cart_body(), headers={"Authorization": "ApiKey-v1 whatever"}
    )
    assert response.json["customerSession"]["applicationId"] == 1


def test_head_answers_like_get_without_a_body(client: FlaskClient) -> None:
    created_session(client, cartItems=CART)
    head = client.head(session_url("cart-1"), headers=AUTH)
    assert head.status_code == 200 and head.data == b""
    assert client.head(session_url("nope"), headers=AUTH).status_code == 404
    assert client.head(session_url("cart-1")).status_code == 401


def test_options_needs_no_key_and_lists_the_methods(client: FlaskClient) -> None:
    response = client.options(session_url("cart-1"))
    assert response.status_code == 200
    assert {"GET", "PUT"} <= set(response.headers["Allow"].split(", "))
