"""A browser's view: CORS preflight, then the call, from allowed and other origins."""

from __future__ import annotations

import requests
from flask.testing import FlaskClient

from mock_server import Settings, create_app
from tests.conftest import API_KEY, APPLICATION_ID, AUTH, LiveServer, cart_body, session_url

ORIGIN = "http://localhost:5173"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "PUT",
    "Access-Control-Request-Headers": "authorization, content-type, prefer",
}


def test_a_browser_flow_preflight_then_put(live_server: LiveServer) -> None:
    url = live_server.url + session_url("browser-cart")
    # Given the preflight a browser sends before a PUT with Authorization and Prefer
    preflight = requests.options(url, headers=PREFLIGHT, timeout=10)
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] in {"*", ORIGIN}
    allowed_headers = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert {"authorization", "prefer", "content-type"} <= {
        h.strip() for h in allowed_headers.split(",")
    }
    assert "PUT" in preflight.headers["Access-Control-Allow-Methods"]
    # When the browser sends the call itself
    call = requests.put(
        url,
        json=cart_body(profileId="browser"),
        headers={**AUTH, "Origin": ORIGIN, "Prefer": "delay=1"},
        timeout=10,
    )
    # Then the answer is readable by the page
    assert call.status_code == 200
    assert call.headers["Access-Control-Allow-Origin"] in {"*", ORIGIN}
    assert call.json()["customerSession"]["profileId"] == "browser"
    # and the error screens are readable too
    error = requests.get(
        live_server.url + session_url("nope"), headers={**AUTH, "Origin": ORIGIN}, timeout=10
    )
    assert error.status_code == 404
    assert error.headers["Access-Control-Allow-Origin"] in {"*", ORIGIN}


def test_configured_origins_are_the_only_ones_allowed() -> None:
    app = create_app(
        Settings(
            store_url="memory://",
            api_keys={API_KEY: APPLICATION_ID},
            preload=0,
            cors_origins=(ORIGIN,),
        )
    )
    client: FlaskClient = app.test_client()
    allowed = client.options(session_url("x"), headers=PREFLIGHT)
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    other = client.options(session_url("x"), headers={**PREFLIGHT, "Origin": "https://evil.test"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_the_admin_api_is_not_open_to_web_pages(client: FlaskClient) -> None:
    preflight = client.options("/__admin/requests", headers=PREFLIGHT)
    assert "Access-Control-Allow-Origin" not in preflight.headers
    from_a_page = client.post("/__admin/reset", headers={"Origin": ORIGIN})
    assert from_a_page.status_code == 403
