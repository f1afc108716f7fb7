"""Transport faults over a real socket: reset, empty close, garbage; the server lives on."""

from __future__ import annotations

import socket

import pytest
import requests

from mock_server.http.state import mock_state
from mock_server.play.faults import GARBAGE
from tests.conftest import API_KEY, AUTH, LiveServer, session_url


def raw_exchange(server: LiveServer, request_head: str) -> bytes:
    """Send a raw HTTP/1.1 request and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", server.server.server_port), timeout=10) as sock:
        sock.sendall(request_head.encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def head(prefer: str, method: str = "GET", body: str = "") -> str:
    lines = [
        f"{method} {session_url('faulty')} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: ApiKey-v1 {API_KEY}",
        f"Prefer: {prefer}",
        "Content-Type: application/json",
        f"Content-Length: {len(body.encode())}",
    ]
    return "\r\n".join(lines) + "\r\n\r\n" + body


def test_connection_reset_resets(live_server: LiveServer) -> None:
    with pytest.raises(ConnectionResetError):
        raw_exchange(live_server, head("fault=connection-reset"))


def test_empty_closes_without_a_byte(live_server: LiveServer) -> None:
    assert raw_exchange(live_server, head("fault=empty")) == b""


def test_malformed_sends_garbage_then_closes(live_server: LiveServer) -> None:
    received = raw_exchange(live_server, head("fault=malformed"))
    assert received == GARBAGE
    assert not received.startswith(b"HTTP/")


@pytest.mark.parametrize("fault", ["connection-reset", "empty", "malformed"])
def test_an_http_client_sees_a_broken_connection_and_the_server_carries_on(
    live_server: LiveServer, http: requests.Session, fault: str
) -> None:
    body = '{"customerSession": {"profileId": "p-9"}}'
    with pytest.raises(requests.ConnectionError):
        requests.put(
            live_server.url + session_url("faulty"),
            data=body,
            headers={**AUTH, "Prefer": f"fault={fault}", "Content-Type": "application/json"},
            timeout=10,
        )
    # A faulted request is answered by no one, and stores nothing.
    assert http.get(live_server.url + session_url("faulty")).status_code == 404
    follow_up = http.put(
        live_server.url + session_url("faulty"), json={"customerSession": {"profileId": "p-9"}}
    )
    assert follow_up.status_code == 200


def test_a_fault_rate_set_at_run_time_hits_every_request_then_clears(
    live_server: LiveServer, http: requests.Session
) -> None:
    admin = live_server.url + "/__admin/conditions"
    assert http.put(admin, json={"fault": "empty", "faultRate": 1}).status_code == 200
    try:
        for _ in range(3):
            with pytest.raises(requests.ConnectionError):
                requests.get(live_server.url + session_url("any"), headers=AUTH, timeout=10)
    finally:
        assert http.delete(admin).json()["fault"] is None
    assert http.get(live_server.url + session_url("any")).status_code == 404
    with live_server.app.app_context():
        faults = [e.fault for e in mock_state().journal.entries(limit=4)]
    assert faults == [None, "empty", "empty", "empty"]
