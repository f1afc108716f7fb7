"""The admin API: sessions, reset, fixtures, the journal, conditions, and who may use it."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mock_server import Settings, create_app
from mock_server.core.store import SessionStore
from mock_server.http.state import mock_state
from tests.conftest import API_KEY, APPLICATION_ID, AUTH, cart_body, session_url


def fixture_document(integration_id: str, **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": 1,
        "integrationId": integration_id,
        "created": "2026-03-01T10:00:00.000000Z",
        "updated": "2026-03-01T10:05:00.000000Z",
        "applicationId": APPLICATION_ID,
        "profileId": "fixture-customer",
        "state": "closed",
        "cartItems": [{"name": "Mug", "sku": "SKU-1", "quantity": 3, "price": 0.1}],
        "additionalCosts": {"shipping": {"price": 0.2}},
        "attributes": {},
        "firstSession": True,
        "cartItemTotal": 0.3,
        "additionalCostTotal": 0.2,
        "total": 0.5,
    }
    document.update(changes)
    return document


def test_sessions_can_be_listed_read_and_deleted(client: FlaskClient, store: SessionStore) -> None:
    listed = client.get(f"/__admin/sessions?applicationId={APPLICATION_ID}").get_json()
    ids = [s["integrationId"] for s in listed["sessions"]]
    assert len(ids) == 6
    one = client.get(f"/__admin/sessions/{ids[0]}")
    assert one.status_code == 200
    assert one.get_json()["integrationId"] == ids[0]
    assert client.delete(f"/__admin/sessions/{ids[0]}").status_code == 204
    assert store.get(APPLICATION_ID, ids[0]) is None
    assert client.get(f"/__admin/sessions/{ids[0]}").status_code == 404
    assert client.get(session_url(ids[0]), headers=AUTH).status_code == 404


def test_reset_goes_back_to_the_preloaded_sessions(
    client: FlaskClient, store: SessionStore
) -> None:
    before = store.list()
    client.put(session_url("extra"), json=cart_body(profileId="p"), headers=AUTH)
    client.delete(f"/__admin/sessions/{before[0].integration_id}")
    response = client.post("/__admin/reset")
    assert response.get_json() == {"sessions": 6}
    assert store.list() == before


def test_fixtures_load_and_are_served(client: FlaskClient) -> None:
    # Two sessions of one profile: only the first is its first session.
    documents = [
        fixture_document("fx-1"),
        fixture_document("fx-2", state="open", firstSession=False),
    ]
    loaded = client.post("/__admin/fixtures", json=documents)
    assert loaded.status_code == 200
    assert loaded.get_json() == {"loaded": 2, "sessionIds": ["fx-1", "fx-2"]}
    served = client.get(session_url("fx-1"), headers=AUTH).get_json()["customerSession"]
    assert served["total"] == 0.5
    closed = client.put(session_url("fx-1"), json=cart_body(state="open"), headers=AUTH)
    assert closed.status_code == 400


@pytest.mark.parametrize(
    ("documents", "pointer"),
    [
        ({"not": "a list"}, ""),
        ([fixture_document("ok"), fixture_document("bad", state="gone")], "/1/state"),
        ([fixture_document("bad", total=1)], "/0/total"),
        ([{**fixture_document("bad"), "cartItems": [{"name": "x"}]}], "/0/cartItems/0"),
        ([fixture_document("twice"), fixture_document("twice")], "/1/integrationId"),
    ],
    ids=["not-a-list", "bad-state", "wrong-total", "bad-item", "duplicate"],
)
def test_invalid_fixtures_are_refused_with_a_pointer_and_load_nothing(
    client: FlaskClient, store: SessionStore, documents: Any, pointer: str
) -> None:
    before = store.list()
    response = client.post("/__admin/fixtures", json=documents)
    assert response.status_code == 400
    pointers = [e["source"]["pointer"] for e in response.get_json()["errors"]]
    assert any(p == pointer or p.startswith(pointer + "/") for p in pointers), pointers
    assert store.list() == before


def test_the_journal_records_a_known_sequence(client: FlaskClient) -> None:
    assert client.delete("/__admin/requests").status_code == 204
    client.put(session_url("j-1"), json=cart_body(profileId="p"), headers=AUTH)
    client.put(session_url("j-1"), json=cart_body(state="bogus"), headers=AUTH)
    client.get(session_url("j-2"), headers={**AUTH, "Prefer": "code=404"})
    client.get(session_url("j-1"))
    entries = client.get("/__admin/requests").get_json()["requests"]
    assert [(e["method"], e["sessionId"], e["status"]) for e in entries] == [
        ("GET", "j-1", 401),
        ("GET", "j-2", 404),
        ("PUT", "j-1", 400),
        ("PUT", "j-1", 200),
    ]
    assert entries[1]["scenario"] == "code=404"
    assert entries[2]["validationErrors"] and entries[2]["validationErrors"][0].startswith(
        "/customerSession/state"
    )
    assert entries[3]["applicationId"] == APPLICATION_ID
    assert all(e["latencyMs"] >= 0 and e["time"].endswith("Z") for e in entries)
    only_j1 = client.get("/__admin/requests?sessionId=j-1&limit=2").get_json()
    assert [e["status"] for e in only_j1["requests"]] == [401, 400]
    assert only_j1["meta"] == {"total": 3, "lastId": entries[0]["id"]}
    client.delete("/__admin/requests")
    # Ids go on after a clear: a reader polling with ?after= never sees an id twice.
    assert client.get("/__admin/requests").get_json() == {
        "requests": [],
        "meta": {"total": 0, "lastId": 0},
    }


def test_conditions_are_set_shown_and_cleared(client: FlaskClient, app: Flask) -> None:
    changed = client.put("/__admin/conditions", json={"latency": "5ms", "errorRate": 1})
    assert changed.get_json() == {
        "latency": "5ms",
        "errorRate": 1.0,
        "fault": None,
        "faultRate": 1.0,
    }
    client.put(session_url("e-1"), json=cart_body(profileId="p"), headers=AUTH)
    with app.app_context():
        entry = mock_state().journal.entries(limit=1)[0]
    assert (entry.status, entry.delay_ms) == (409, 5.0)
    assert client.get("/__admin/conditions").get_json()["errorRate"] == 1.0
    cleared = client.delete("/__admin/conditions").get_json()
    assert cleared == {"latency": None, "errorRate": 0.0, "fault": None, "faultRate": 1.0}


@pytest.mark.parametrize(
    ("document", "pointer"),
    [
        ({"latency": "soon"}, "/latency"),
        ({"errorRate": 2}, "/errorRate"),
        ({"errorRate": True}, "/errorRate"),
        ({"fault": "fire"}, "/fault"),
        ({"speed": 1}, "/speed"),
        ([], ""),
    ],
    ids=["latency", "rate-range", "rate-bool", "fault", "unknown", "not-object"],
)
def test_invalid_conditions_are_a_400_naming_the_field(
    client: FlaskClient, document: Any, pointer: str
) -> None:
    response = client.put("/__admin/conditions", json=document)
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["source"] == {"pointer": pointer}
    assert client.get("/__admin/conditions").get_json()["latency"] is None


def test_remote_clients_need_the_admin_token() -> None:
    app = create_app(
        Settings(
            store_url="memory://",
            api_keys={API_KEY: APPLICATION_ID},
            preload=0,
            admin_token="s3cret",
        )
    )
    remote = app.test_client()
    remote.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    refused = remote.get("/__admin/requests")
    assert refused.status_code == 403
    assert refused.get_json()["errors"][0]["source"] == {"parameter": "X-Admin-Token"}
    assert remote.get("/__admin/requests", headers={"X-Admin-Token": "wrong"}).status_code == 403
    assert remote.get("/__admin/requests", headers={"X-Admin-Token": "s3cret"}).status_code == 200
    # The API itself is not the admin API's business: keys decide there.
    assert remote.get(session_url("x"), headers=AUTH).status_code == 404


def test_without_a_token_remote_clients_are_refused(client: FlaskClient) -> None:
    client.environ_base["REMOTE_ADDR"] = "192.0.2.1"
    assert client.get("/__admin/sessions").status_code == 403
    assert client.get("/__admin/sessions", headers={"X-Admin-Token": ""}).status_code == 403


@pytest.mark.parametrize(
    "host", ["rebound.example", "rebound.example:8080", "127.0.0.1.nip.io", "localhost.evil"]
)
def test_a_loopback_client_naming_another_host_is_refused(client: FlaskClient, host: str) -> None:
    refused = client.get("/__admin/requests", headers={"Host": host})
    assert refused.status_code == 403
    assert refused.get_json()["errors"][0]["source"] == {"parameter": "Host"}


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST.:8080", "127.0.0.1:8080", "127.0.0.2", "[::1]:8080"]
)
def test_a_loopback_client_naming_this_server_is_answered(client: FlaskClient, host: str) -> None:
    assert client.get("/__admin/requests", headers={"Host": host}).status_code == 200


def test_the_token_answers_whatever_the_host() -> None:
    settings = Settings(store_url="memory://", preload=0, admin_token="s3cret")
    client = create_app(settings).test_client()
    headers = {"Host": "mock.internal:8080", "X-Admin-Token": "s3cret"}
    assert client.get("/__admin/requests", headers=headers).status_code == 200


def test_an_ipv4_mapped_loopback_client_is_a_loopback_client(client: FlaskClient) -> None:
    client.environ_base["REMOTE_ADDR"] = "::ffff:127.0.0.1"
    assert client.get("/__admin/requests").status_code == 200
    client.environ_base["REMOTE_ADDR"] = "::ffff:192.0.2.1"
    assert client.get("/__admin/requests").status_code == 403


@pytest.mark.parametrize("limit", ["9" * 5000, "%C2%B2", "%D9%A3", "-1", "1.5", ""])
def test_a_malformed_journal_limit_is_a_400(client: FlaskClient, limit: str) -> None:
    answer = client.get(f"/__admin/requests?limit={limit}")
    assert answer.status_code == 400
    assert answer.get_json()["errors"][0]["source"] == {"parameter": "limit"}


def test_deeply_nested_conditions_are_a_400(client: FlaskClient) -> None:
    answer = client.put("/__admin/conditions", data=b"[" * 100_000)
    assert answer.status_code == 400
    assert answer.get_json()["errors"][0]["title"] == "Too deeply nested"


def test_the_admin_api_is_not_in_the_contract(app: Flask) -> None:
    with app.app_context():
        paths = mock_state().spec.document["paths"]
    assert not any(path.startswith("/__admin") for path in paths)


def test_fixtures_replace_a_stored_session_of_the_same_id(
    client: FlaskClient, store: SessionStore
) -> None:
    client.put(session_url("fx-3"), json=cart_body(profileId="someone"), headers=AUTH)
    assert client.post("/__admin/fixtures", json=[fixture_document("fx-3")]).status_code == 200
    stored = store.get(APPLICATION_ID, "fx-3")
    assert stored is not None
    assert (stored.session.profile_id, stored.session.state.value) == ("fixture-customer", "closed")


def test_the_journal_shows_what_the_client_sent_with_the_key_masked(client: FlaskClient) -> None:
    client.put(
        session_url("sent-1"),
        data='{"customerSession": {"profileId": "p-sent"}}',
        headers={**AUTH, "Content-Type": "application/json", "Prefer": "delay=0"},
    )
    entry = client.get("/__admin/requests?sessionId=sent-1").get_json()["requests"][0]
    assert entry["request"]["body"] == '{"customerSession": {"profileId": "p-sent"}}'
    headers = entry["request"]["headers"]
    assert headers["Prefer"] == "delay=0"
    assert headers["Authorization"] == "ApiKey-v1 test..."
    assert API_KEY not in str(entry)
