"""The inspector's pages and the admin API it reads, through WSGI: access, data, escaping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mock_server import Settings, create_app
from mock_server.core.store import SessionStore
from mock_server.fixtures.sessions import load_fixture_sessions
from mock_server.http.admin import ADMIN_COOKIE, admin_cookie_value
from mock_server.http.journal import masked_secret as masked_key
from tests.conftest import API_KEY, APPLICATION_ID, AUTH, cart_body, session_url

UI = "/__admin/ui"
PAGES = [f"{UI}/", f"{UI}/sessions", f"{UI}/try", f"{UI}/contract", f"{UI}/server"]
TOKEN = "s3cret-token"


def remote(app: Flask, address: str = "203.0.113.9") -> FlaskClient:
    """A client on another machine."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_the_root_leads_to_the_inspector(client: FlaskClient) -> None:
    answer = client.get("/")
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"{UI}/"


@pytest.mark.parametrize("path", PAGES, ids=["requests", "sessions", "try", "contract", "server"])
def test_every_page_renders_with_headers_that_keep_it_inert(client: FlaskClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-store"
    # No asset from elsewhere: every script and style sheet is served by the mock itself.
    html = page.get_data(as_text=True)
    assert "http://" not in html.replace("http://localhost", "") and "https://" not in html
    for asset in ("inspector.js", "inspector.css"):
        assert asset in html


def test_assets_are_served_from_the_package(client: FlaskClient) -> None:
    for path in (f"{UI}/static/inspector.js", f"{UI}/contract/assets/swagger-ui-bundle.js"):
        with client.get(path) as answer:  # files: close what send_file opened
            assert answer.status_code == 200
    assert client.get(f"{UI}/contract/assets/index.html").status_code == 404
    spec = client.get(f"{UI}/contract/openapi.json").get_json()
    assert spec == client.get("/openapi.json").get_json()


# -- who may use it ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", [*PAGES, f"{UI}/requests/1"], ids=lambda p: p.rsplit("/", 1)[-1] or "requests"
)
def test_remote_people_get_the_token_form_and_no_data(app: Flask, path: str) -> None:
    page = remote(app).get(path)
    assert page.status_code == 403
    html = page.get_data(as_text=True)
    assert "--admin-token" in html  # this server has none: say how to get one
    assert "<details" not in html and "entries" not in html and "Tenancy" not in html


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({}, True),
        ({"Origin": "http://localhost"}, True),  # the inspector's own pages
        ({"Origin": "http://localhost:3000"}, False),  # another local server's page
        ({"Origin": "null"}, False),
        ({"Host": "127.0.0.1:8080"}, True),
        ({"Host": "[::1]:8080"}, True),
        ({"Host": "app.localhost:8080"}, True),
        ({"Host": "evil.example:8080"}, False),  # a DNS-rebound page
        ({"Host": "evil.example:8080", "Origin": "http://evil.example:8080"}, False),
        ({"Host": "0.0.0.0:8080"}, False),
    ],
    ids=[
        "no-origin",
        "own-origin",
        "other-port",
        "null-origin",
        "ipv4",
        "ipv6",
        "dot-localhost",
        "foreign-host",
        "rebound",
        "unspecified",
    ],
)
def test_loopback_clients_are_let_in_by_name_and_origin(
    client: FlaskClient, headers: dict[str, str], allowed: bool
) -> None:
    for method, path in (
        ("GET", "/__admin/requests"),
        ("POST", "/__admin/reset"),
        ("GET", f"{UI}/"),
    ):
        answer = client.open(path, method=method, headers=headers)
        assert (answer.status_code != 403) is allowed, (method, path)


def test_the_token_logs_a_remote_person_in_with_a_cookie() -> None:
    app = create_app(
        Settings(
            store_url="memory://", api_keys={API_KEY: APPLICATION_ID}, preload=2, admin_token=TOKEN
        )
    )
    browser = remote(app)
    refused = browser.get(f"{UI}/sessions")
    assert refused.status_code == 403 and 'type="password"' in refused.get_data(as_text=True)
    wrong = browser.post(f"{UI}/login", data={"token": "guess", "next": f"{UI}/sessions"})
    assert wrong.status_code == 403
    assert browser.get_cookie(ADMIN_COOKIE, path="/__admin") is None
    right = browser.post(f"{UI}/login", data={"token": TOKEN, "next": f"{UI}/sessions?q=x"})
    assert right.status_code == 303 and right.headers["Location"] == f"{UI}/sessions?q=x"
    cookie = browser.get_cookie(ADMIN_COOKIE, path="/__admin")
    assert cookie is not None and cookie.value == admin_cookie_value(TOKEN) != TOKEN
    assert cookie.http_only and cookie.same_site == "Strict"
    assert browser.get(f"{UI}/sessions").status_code == 200
    assert browser.get("/__admin/sessions").status_code == 200
    # The cookie works from the inspector's own pages only.
    other_page = browser.post("/__admin/reset", headers={"Origin": "http://localhost:3000"})
    assert other_page.status_code == 403
    assert browser.post("/__admin/reset", headers={"Origin": "http://localhost"}).status_code == 200
    browser.post(f"{UI}/logout")
    assert browser.get(f"{UI}/sessions").status_code == 403


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/elsewhere", "javascript:alert(1)"]
)
def test_logging_in_never_leads_elsewhere(target: str) -> None:
    app = create_app(Settings(store_url="memory://", preload=0, admin_token=TOKEN))
    answer = remote(app).post(f"{UI}/login", data={"token": TOKEN, "next": target})
    assert answer.headers["Location"] == f"{UI}/"


def test_the_snippet_endpoint_is_behind_the_rule_too(app: Flask) -> None:
    answer = remote(app).post(f"{UI}/snippets", json={})
    assert answer.status_code == 403 and answer.is_json


# -- the journal, as the live list reads it ---------------------------------------------------


def test_the_journal_keeps_the_answer_and_locates_problems(client: FlaskClient) -> None:
    client.put(session_url("a-1"), json=cart_body(state="gone"), headers=AUTH)
    entry = client.get("/__admin/requests").get_json()["requests"][0]
    assert entry["response"]["status"] == 400
    assert entry["response"]["headers"]["Content-Type"] == "application/json"
    assert json.loads(entry["response"]["body"])["errors"][0]["source"] == {
        "pointer": "/customerSession/state"
    }
    assert entry["problems"][0]["pointer"] == "/customerSession/state"
    assert entry["problems"][0]["message"].startswith("'gone' is not one of")
    assert entry["request"]["headers"]["Authorization"] == "ApiKey-v1 test..."
    assert client.get(f"/__admin/requests/{entry['id']}").get_json() == entry
    assert client.get("/__admin/requests/999").status_code == 404


def test_the_journal_answers_cut_bodies(client: FlaskClient) -> None:
    big = cart_body(attributes={"text": "x" * 40_000})
    client.put(session_url("big"), json=big, headers=AUTH)
    entry = client.get("/__admin/requests").get_json()["requests"][0]
    assert (
        entry["request"]["body"].endswith("...") and len(entry["request"]["body"]) <= 16 * 1024 + 3
    )
    assert entry["response"]["body"].endswith("...")


def test_the_journal_is_filtered_as_the_list_asks(client: FlaskClient) -> None:
    client.delete("/__admin/requests")
    client.put(session_url("f-1"), json=cart_body(), headers=AUTH)
    client.put(session_url("f-2"), json=cart_body(state="gone"), headers=AUTH)
    client.get(session_url("f-1"), headers=AUTH)
    client.get(session_url("f-1"))

    def listed(query: str) -> list[tuple[str, str, int]]:
        entries = client.get(f"/__admin/requests?{query}").get_json()["requests"]
        return [(e["method"], e["sessionId"], e["status"]) for e in entries]

    assert listed("method=PUT") == [("PUT", "f-2", 400), ("PUT", "f-1", 200)]
    assert listed("status=4xx&hasProblems=true") == [("GET", "f-1", 401), ("PUT", "f-2", 400)]
    assert listed("status=200&sessionId=f-1") == [("GET", "f-1", 200), ("PUT", "f-1", 200)]
    assert listed(f"applicationId={APPLICATION_ID}&hasProblems=false") == [
        ("GET", "f-1", 200),
        ("PUT", "f-1", 200),
    ]
    newest = client.get("/__admin/requests?limit=1").get_json()
    assert newest["meta"]["total"] == 4
    assert listed(f"after={newest['meta']['lastId'] - 1}") == [("GET", "f-1", 401)]
    assert listed(f"after={newest['meta']['lastId']}") == []


@pytest.mark.parametrize(
    "query", ["status=4x", "status=200a", "hasProblems=yes", "after=-1", "applicationId=x"]
)
def test_bad_journal_filters_are_a_400_naming_the_parameter(
    client: FlaskClient, query: str
) -> None:
    answer = client.get(f"/__admin/requests?{query}")
    assert answer.status_code == 400
    assert answer.get_json()["errors"][0]["source"] == {"parameter": query.split("=")[0]}


# -- sessions ---------------------------------------------------------------------------------


def test_sessions_are_searched_by_id_or_profile(client: FlaskClient) -> None:
    client.put(session_url("Find-Me-1"), json=cart_body(profileId="customer-42"), headers=AUTH)
    by_id = client.get("/__admin/sessions?q=find-me").get_json()["sessions"]
    by_profile = client.get("/__admin/sessions?q=R-42").get_json()["sessions"]
    assert (
        [s["integrationId"] for s in by_id]
        == [s["integrationId"] for s in by_profile]
        == ["Find-Me-1"]
    )
    page = client.get(f"{UI}/sessions?applicationId={APPLICATION_ID}&q=customer-42")
    assert "Find-Me-1" in page.get_data(as_text=True)


def test_the_ndjson_download_is_a_fixture_file(
    client: FlaskClient, store: SessionStore, tmp_path: Path
) -> None:
    client.put(session_url("dl-1"), json=cart_body(profileId="p"), headers=AUTH)
    answer = client.get(f"/__admin/sessions?applicationId={APPLICATION_ID}&format=ndjson")
    assert answer.mimetype == "application/x-ndjson"
    assert "attachment" in answer.headers["Content-Disposition"]
    fixture = tmp_path / "sessions.ndjson"
    fixture.write_bytes(answer.data)
    assert load_fixture_sessions(fixture) == store.list(APPLICATION_ID)


def test_one_application_is_reset_alone() -> None:
    app = create_app(Settings(store_url="memory://", api_keys={"a": 7, "b": 8}, preload=3))
    client = app.test_client()
    for key, session_id in (("a", "extra-7"), ("b", "extra-8")):
        client.put(
            session_url(session_id), json=cart_body(), headers={"Authorization": f"ApiKey-v1 {key}"}
        )
    answer = client.post("/__admin/reset?applicationId=7")
    assert answer.get_json() == {"sessions": 3, "applicationId": 7}
    remaining = {s["integrationId"] for s in client.get("/__admin/sessions").get_json()["sessions"]}
    assert "extra-7" not in remaining and "extra-8" in remaining and len(remaining) == 7


# -- the server view ----------------------------------------------------------------------------


def test_server_info_masks_keys_and_secrets() -> None:
    app = create_app(
        Settings(
            store_url="memory://",
            api_keys={"secret-key-1": 7, "k2": 8},
            preload=2,
            admin_token="hide-me",
        )
    )
    client = app.test_client()
    info: dict[str, Any] = client.get("/__admin/info").get_json()
    assert [(a["applicationId"], a["keys"], a["sessions"]) for a in info["applications"]] == [
        (7, ["secr..."], 2),
        (8, ["k..."], 2),
    ]
    assert info["settings"]["admin_token"] == "set"
    assert "api_keys" not in info["settings"]
    assert info["journal"] == {"recorded": 0, "withProblems": 0, "kept": 0, "capacity": 1000}
    page = client.get(f"{UI}/server").get_data(as_text=True)
    for secret in ("secret-key-1", "hide-me", '"k2"'):
        assert secret not in page


@pytest.mark.parametrize(
    ("key", "shown"), [("test-key", "test..."), ("abc", "a..."), ("k", "..."), ("", "...")]
)
def test_masked_keys_show_at_most_half(key: str, shown: str) -> None:
    assert masked_key(key) == shown


# -- request data is text ------------------------------------------------------------------------

HOSTILE = '<img src=x onerror="alert(1)">'


def test_request_data_is_escaped_in_every_page(client: FlaskClient) -> None:
    from urllib.parse import quote

    client.put(
        "/v2/customer_sessions/" + quote(HOSTILE, safe=""),
        json=cart_body(profileId=HOSTILE, attributes={"x": HOSTILE}),
        headers={**AUTH, "X-Hostile": HOSTILE},
    )
    entry_id = client.get("/__admin/requests").get_json()["requests"][0]["id"]
    for path in (f"{UI}/requests/{entry_id}", f"{UI}/sessions?applicationId="):
        html = client.get(path).get_data(as_text=True)
        assert "<img" not in html
        assert "&lt;img src=x onerror=" in html


def test_the_journal_shows_paths_as_the_client_wrote_them(client: FlaskClient) -> None:
    client.put(session_url("caf%C3%A9-1"), json=cart_body(), headers=AUTH)
    entry = client.get("/__admin/requests").get_json()["requests"][0]
    assert entry["path"] == "/v2/customer_sessions/café-1" and entry["sessionId"] == "café-1"
