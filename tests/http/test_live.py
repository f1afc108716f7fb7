"""The mock on a real port: plain HTTP and the official Talon.One SDK."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import talon_one
from talon_one.rest import ApiException

from tests.conftest import API_KEY, APPLICATION_ID, LiveServer
from tests.rules import assert_session_rules


def test_put_and_get_over_http(live_server: LiveServer, http: requests.Session) -> None:
    url = f"{live_server.url}/v2/customer_sessions/live-1"
    body = {
        "customerSession": {
            "profileId": "p-live",
            "cartItems": [{"name": "Mug", "sku": "M-1", "quantity": 3, "price": 0.1}],
        },
        "responseContent": ["customerSession"],
    }
    put = http.put(url, json=body, timeout=10)
    assert put.status_code == 200
    assert put.headers["Content-Type"] == "application/json"
    assert put.json()["customerSession"]["cartItemTotal"] == 0.3
    got = http.get(url, timeout=10).json()["customerSession"]
    assert got == put.json()["customerSession"]
    assert_session_rules(got)


def test_concurrent_puts_on_many_sessions_all_land(
    live_server: LiveServer, http: requests.Session
) -> None:
    def create(index: int) -> int:
        body = {
            "customerSession": {
                "cartItems": [{"name": "A", "sku": "A", "quantity": index + 1, "price": 1.1}]
            }
        }
        url = f"{live_server.url}/v2/customer_sessions/many-{index}"
        return requests.put(url, json=body, headers=dict(http.headers), timeout=10).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(create, range(24))) == [200] * 24
    for index in (0, 23):
        session = http.get(
            f"{live_server.url}/v2/customer_sessions/many-{index}", timeout=10
        ).json()
        assert session["customerSession"]["cartItemTotal"] == pytest.approx(1.1 * (index + 1))


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[talon_one.IntegrationApi]:
    configuration = talon_one.Configuration(host=live_server.url)
    configuration.api_key["Authorization"] = API_KEY
    configuration.api_key_prefix["Authorization"] = "ApiKey-v1"
    with talon_one.ApiClient(configuration) as client:
        yield talon_one.IntegrationApi(client)


def _request(**session: object) -> talon_one.IntegrationRequest:
    return talon_one.IntegrationRequest(
        customer_session=talon_one.NewCustomerSessionV2(**session),
        response_content=["customerSession", "customerProfile"],
    )


def test_sdk_full_life_cycle(api: talon_one.IntegrationApi) -> None:
    items = [
        talon_one.CartItem(name="Trail Shoe", sku="SKU-1", quantity=1, price=89.99),
        talon_one.CartItem(name="Socks", sku="SKU-2", quantity=2, price=12.5),
    ]
    costs = {"shipping": talon_one.AdditionalCost(price=4.95)}
    # Create with a cart
    state = api.update_customer_session_v2(
        "sdk-1", _request(profile_id="sdk-profile", cart_items=items, additional_costs=costs)
    )
    session = state.customer_session
    assert (session.integration_id, session.application_id) == ("sdk-1", APPLICATION_ID)
    assert session.total == pytest.approx(119.94)
    assert session.first_session is True
    assert state.customer_profile.integration_id == "sdk-profile"
    # Update keeps the cart
    state = api.update_customer_session_v2("sdk-1", _request(coupon_codes=["SPRING-10"]))
    assert state.customer_session.coupon_codes == ["SPRING-10"]
    assert len(state.customer_session.cart_items) == 2
    # Close, then cancel
    assert (
        api.update_customer_session_v2("sdk-1", _request(state="closed")).customer_session.state
        == "closed"
    )
    assert (
        api.update_customer_session_v2("sdk-1", _request(state="cancelled")).customer_session.state
        == "cancelled"
    )
    # Get
    fetched = api.get_customer_session("sdk-1")
    assert fetched.customer_session.state == "cancelled"
    assert fetched.customer_session.created <= fetched.customer_session.updated
    assert fetched.effects == []


def test_sdk_illegal_transition_is_400(api: talon_one.IntegrationApi) -> None:
    api.update_customer_session_v2("sdk-2", _request(state="closed"))
    with pytest.raises(ApiException) as caught:
        api.update_customer_session_v2("sdk-2", _request(state="open"))
    assert caught.value.status == 400
    assert "/customerSession/state" in caught.value.body


def test_sdk_missing_key_is_401(live_server: LiveServer) -> None:
    with talon_one.ApiClient(talon_one.Configuration(host=live_server.url)) as client:
        with pytest.raises(ApiException) as caught:
            talon_one.IntegrationApi(client).get_customer_session("anything")
    assert caught.value.status == 401


def test_sdk_unknown_session_is_404(api: talon_one.IntegrationApi) -> None:
    with pytest.raises(ApiException) as caught:
        api.get_customer_session("no-such-session")
    assert caught.value.status == 404


def test_sdk_reads_every_preloaded_session(
    api: talon_one.IntegrationApi, live_server: LiveServer
) -> None:
    with live_server.app.app_context():
        from mock_server.http.state import mock_state

        ids = [s.integration_id for s in mock_state().service.store.list(APPLICATION_ID)]
    assert ids
    for integration_id in ids:
        assert (
            api.get_customer_session(integration_id).customer_session.integration_id
            == integration_id
        )
