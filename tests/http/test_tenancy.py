"""Several API keys, each bound to an application: sessions never cross applications."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import talon_one
from talon_one.rest import ApiException

from mock_server import Settings, create_app
from tests.conftest import LiveServer, serve_in_thread, session_url

KEYS = {"shop-key": 1, "outlet-key": 2}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"ApiKey-v1 {key}"}


@pytest.fixture(scope="module")
def two_apps() -> Iterator[LiveServer]:
    """A mock with two applications, each with its own key and preloaded sessions."""
    yield from serve_in_thread(
        create_app(Settings(store_url="memory://", api_keys=KEYS, preload=3, seed=3))
    )


def sdk(server: LiveServer, key: str, prefer: str | None = None) -> talon_one.IntegrationApi:
    configuration = talon_one.Configuration(host=server.url)
    configuration.api_key["Authorization"] = key
    configuration.api_key_prefix["Authorization"] = "ApiKey-v1"
    client = talon_one.ApiClient(
        configuration, header_name="Prefer" if prefer else None, header_value=prefer
    )
    return talon_one.IntegrationApi(client)


def test_each_key_sees_its_own_application_only(two_apps: LiveServer) -> None:
    # Given a session of application 1
    created = requests.put(
        two_apps.url + session_url("tenant-cart"),
        json={"customerSession": {"profileId": "p-1"}, "responseContent": ["customerSession"]},
        headers=auth("shop-key"),
        timeout=10,
    )
    assert created.json()["customerSession"]["applicationId"] == 1
    # When the other application's key probes it
    probe = requests.get(
        two_apps.url + session_url("tenant-cart"), headers=auth("outlet-key"), timeout=10
    )
    # Then it does not exist there
    assert probe.status_code == 404
    # and a PUT with that key makes a separate session of application 2
    separate = requests.put(
        two_apps.url + session_url("tenant-cart"),
        json={"customerSession": {"state": "cancelled"}, "responseContent": ["customerSession"]},
        headers=auth("outlet-key"),
        timeout=10,
    )
    assert separate.json()["customerSession"]["applicationId"] == 2
    mine = requests.get(
        two_apps.url + session_url("tenant-cart"), headers=auth("shop-key"), timeout=10
    ).json()["customerSession"]
    assert (mine["applicationId"], mine["state"], mine["profileId"]) == (1, "open", "p-1")


def test_preloaded_sessions_belong_to_their_application(two_apps: LiveServer) -> None:
    assert requests.post(two_apps.url + "/__admin/reset", timeout=10).json() == {"sessions": 6}
    listed = requests.get(two_apps.url + "/__admin/sessions", timeout=10).json()["sessions"]
    for key, application_id in KEYS.items():
        own = [s for s in listed if s["applicationId"] == application_id]
        others = [s for s in listed if s["applicationId"] != application_id]
        assert len(own) >= 3
        got = requests.get(
            two_apps.url + session_url(own[0]["integrationId"]), headers=auth(key), timeout=10
        )
        assert got.json()["customerSession"]["applicationId"] == application_id
        for other in others:
            assert other["integrationId"] not in {s["integrationId"] for s in own}
            crossed = requests.get(
                two_apps.url + session_url(other["integrationId"]), headers=auth(key), timeout=10
            )
            assert crossed.status_code == 404


def test_an_unknown_key_is_401(two_apps: LiveServer) -> None:
    response = requests.get(two_apps.url + session_url("x"), headers=auth("stolen"), timeout=10)
    assert response.status_code == 401
    assert response.json()["errors"][0]["source"] == {"parameter": "Authorization"}


def test_the_official_sdk_works_per_application(two_apps: LiveServer) -> None:
    shop, outlet = sdk(two_apps, "shop-key"), sdk(two_apps, "outlet-key")
    state = shop.update_customer_session_v2(
        "sdk-cart",
        talon_one.IntegrationRequest(
            customer_session=talon_one.NewCustomerSessionV2(
                profile_id="sdk-customer",
                cart_items=[
                    talon_one.CartItem(name="Mug", sku="SKU-1", quantity=2, price=0.1),
                    talon_one.CartItem(name="Cap", sku="SKU-2", quantity=1, price=0.2),
                ],
            ),
            response_content=["customerSession"],
        ),
    )
    assert state.customer_session.application_id == 1
    assert state.customer_session.total == pytest.approx(0.4)
    fetched = shop.get_customer_session("sdk-cart")
    assert fetched.customer_session.integration_id == "sdk-cart"
    with pytest.raises(ApiException) as raised:
        outlet.get_customer_session("sdk-cart")
    assert raised.value.status == 404


def test_the_sdk_reads_forced_answers(two_apps: LiveServer) -> None:
    example = sdk(two_apps, "outlet-key", "example=closedSession").get_customer_session("any")
    assert example.customer_session.state == "closed"
    assert example.customer_session.application_id == 2
    with pytest.raises(ApiException) as raised:
        sdk(two_apps, "shop-key", "code=401").get_customer_session("any")
    assert raised.value.status == 401
