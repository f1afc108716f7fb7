"""--enforce refuses what breaks the contract; --record keeps what keeps it, as fixtures."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask

from contract_tests.broken_server import Fault, create_broken_app
from contract_tests.recording import Recorder, scrub_session
from mock_server import Settings, create_app
from mock_server.contract.spec import load_spec
from mock_server.http.state import state_of
from tests.proxy.conftest import API_KEY, AUTH, StartProxy, cart, new_id, serving


def test_enforce_replaces_a_broken_answer_with_a_502(start_proxy: StartProxy) -> None:
    with serving(create_broken_app(Fault.WRONG_TOTALS, API_KEY)) as upstream:
        proxied = start_proxy(upstream, enforce=True)
        answer = proxied.put(new_id(), cart())
    assert answer.status_code == 502
    assert answer.headers["X-Contract-Source"] == "proxy"
    body = answer.json()
    assert body["message"] == "The upstream's answer (200) breaks openapi.yaml"
    assert body["errors"][0]["title"] == "session_rules"
    assert "total is 95.25, but the cart adds up to 95.24" in body["errors"][0]["details"]
    entry = proxied.journal()[0]
    assert entry["status"] == 502 and entry["proxy"]["upstreamStatus"] == 200


def test_enforce_refuses_a_bad_request_before_it_leaves(start_proxy: StartProxy) -> None:
    upstream_app: Flask = create_broken_app(None, API_KEY)
    with serving(upstream_app) as upstream:
        proxied = start_proxy(upstream, enforce=True)
        refused = proxied.put(new_id(), {"customerSession": {"cartItems": [{"name": ""}]}})
        passed = proxied.put(new_id(), cart())
    assert refused.status_code == 400
    assert refused.headers["X-Contract-Source"] == "proxy"
    pointers = {error["source"].get("pointer") for error in refused.json()["errors"]}
    assert "/customerSession/cartItems/0/sku" in pointers
    assert passed.status_code == 200 and passed.headers["X-Contract-Violations"] == "0"
    # The upstream saw only the good request.
    assert [e.method for e in state_of(upstream_app).journal.entries()] == ["PUT"]


def test_enforce_lets_a_correct_server_answer(start_proxy: StartProxy, mock_url: str) -> None:
    proxied = start_proxy(mock_url, enforce=True)
    session_id = new_id()
    created = proxied.put(session_id, cart())
    closed = proxied.put(session_id, {"customerSession": {"state": "closed"}})
    reopened = proxied.put(session_id, {"customerSession": {"state": "open"}})
    assert [created.status_code, closed.status_code, reopened.status_code] == [200, 200, 400]
    assert reopened.json()["errors"][0]["source"]["pointer"] == "/customerSession/state"
    assert "X-Contract-Source" not in reopened.headers


def _walk(start_proxy: StartProxy, upstream: str, recorder: Recorder) -> dict[str, dict]:
    proxied = start_proxy(upstream, recorder=recorder)
    profile = new_id("p")
    first, second, guest = new_id("a"), new_id("b"), new_id("g")
    proxied.put(first, cart(profileId=profile))
    proxied.put(first, {"customerSession": {"state": "closed"}})
    proxied.put(second, cart(profileId=profile, attributes={"email": "x@example.com"}))
    proxied.put(second, {"customerSession": {"state": "cancelled"}}, params={"dry": "true"})
    proxied.put(guest, cart(profileId=""))
    proxied.put(new_id("bad"), {"customerSession": {"state": "nope"}})  # a 400: nothing kept
    stored = {}
    for session_id in (first, second, guest):
        stored[session_id] = proxied.get(session_id).json()["customerSession"]
    proxied.proxy.close()  # writes what the recorder holds
    return stored


def _served(directory: Path, session_ids: list[str]) -> dict[str, dict]:
    app = create_app(
        Settings(store_url="memory://", fixtures_path=directory, api_keys={API_KEY: 1})
    )
    client = app.test_client()
    return {
        session_id: client.get(f"/v2/customer_sessions/{session_id}", headers=AUTH).get_json()[
            "customerSession"
        ]
        for session_id in session_ids
    }


def test_record_then_serve_fixtures_serves_the_same_sessions(
    start_proxy: StartProxy, mock_url: str, tmp_path: Path
) -> None:
    # Given sessions recorded through the proxy
    recorder = Recorder(tmp_path / "recorded", load_spec())
    stored = _walk(start_proxy, mock_url, recorder)
    written = (tmp_path / "recorded" / "sessions.ndjson").read_text()
    assert len(written.splitlines()) == 3 == recorder.written
    assert API_KEY not in written
    # When the mock starts from that folder, then it serves the same sessions
    assert _served(tmp_path / "recorded", list(stored)) == stored
    # and the dry run was not taken for the stored state
    assert [json.loads(line)["state"] for line in written.splitlines()].count("cancelled") == 0


def test_scrubbed_recordings_hash_people_and_still_load(
    start_proxy: StartProxy, mock_url: str, tmp_path: Path
) -> None:
    recorder = Recorder(tmp_path, load_spec(), scrub=True, salt="team-secret")
    stored = _walk(start_proxy, mock_url, recorder)
    written = (tmp_path / "sessions.ndjson").read_text()
    for session in stored.values():
        if session["profileId"]:
            assert session["profileId"] not in written
    assert "x@example.com" not in written
    served = _served(tmp_path, list(stored))
    for session_id, session in stored.items():
        assert served[session_id] == scrub_session(session, "team-secret")
        assert served[session_id]["cartItems"] == session["cartItems"]
    profiles = {s["profileId"] for s in served.values() if s["profileId"]}
    assert len(profiles) == 1 and next(iter(profiles)).startswith("p-")


def test_a_session_whose_first_session_was_not_seen_is_left_out(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path, load_spec())
    later = create_broken_app(None, API_KEY)
    client = later.test_client()
    client.put("/v2/customer_sessions/one", headers=AUTH, json=cart(profileId="p-1"))
    answer = client.put("/v2/customer_sessions/two", headers=AUTH, json=cart(profileId="p-1"))
    assert answer.get_json()["customerSession"]["firstSession"] is False
    # Only the second session of the profile passes the proxy.
    from tests.proxy.test_traffic import routed_for

    recorder.observe(routed_for("PUT", "/v2/customer_sessions/two"), 200, answer.get_data())
    assert recorder.flush() == 0
    assert "first session" in recorder.left_out["two"]
    assert (tmp_path / "sessions.ndjson").read_text() == ""
