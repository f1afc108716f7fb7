"""Forwarding: every request reaches the upstream as sent, every answer the client as sent."""

from __future__ import annotations

import gzip
import http.client
import json
import time
from urllib.parse import urlsplit

import pytest
import requests

from contract_tests.proxy import Fallback
from tests.proxy.conftest import API_KEY, AUTH, SESSIONS, StartProxy, cart, new_id, serving
from tests.proxy.stubs import (
    BigAnswerApp,
    EchoApp,
    gzipped,
    keep_alive_server,
    rewriting_mock,
    slow_app,
    status_app,
)

CLIENT_HEADERS = [
    ("Authorization", f"ApiKey-v1 {API_KEY}"),
    ("Content-Type", "application/json"),
    ("X-Request-Id", "r-1"),
    ("Prefer", "code=200"),
    ("Accept", "application/json"),
]


def _send(
    url: str, method: str, target: str, headers: list[tuple[str, str]], body: bytes
) -> tuple[int, str, list[tuple[str, str]], bytes]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.putrequest(method, target, skip_host=False, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        answer = connection.getresponse()
        return answer.status, answer.reason, answer.getheaders(), answer.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    "target",
    [
        "/v2/customer_sessions/a%2Fb%20c?dry=1&x=%C3%A9&x=2",  # a checked path
        "/some/other/path%3Bx?q=%2F",  # not the contract's: forwarded all the same
    ],
    ids=["contract-path", "other-path"],
)
def test_the_request_and_the_answer_pass_unchanged(start_proxy: StartProxy, target: str) -> None:
    # Given an upstream that echoes what it gets
    echo = EchoApp()
    with serving(echo) as upstream:
        proxied = start_proxy(upstream)
        body = b'{"customerSession": {"state": "closed"}}'
        # When the same request goes straight to it, then through the proxy
        direct = _send(upstream, "PUT", target, CLIENT_HEADERS, body)
        through = _send(proxied.url, "PUT", target, CLIENT_HEADERS, body)
    # Then the upstream received the same request both times, but for its own Host
    first, second = echo.received
    assert second["target"] == first["target"] == target
    assert second["body"] == first["body"] == body
    strip_host = [h for h in first["headers"] if h[0] != "Host"]
    assert [h for h in second["headers"] if h[0] != "Host"] == strip_host
    assert ("Host", urlsplit(upstream).netloc) in second["headers"]
    # And the client got the same answer: status, reason, headers and body bytes
    assert through[0:2] == direct[0:2] == (299, "Custom Reason")
    assert through[3] == direct[3]
    own = {"X-Contract-Violations", "X-Contract-Violations-Detail"}
    passed = [(n, v) for n, v in through[2] if n not in own and n != "Date"]
    assert passed == [(n, v) for n, v in direct[2] if n != "Date"]
    assert [n for n, _ in through[2] if n == "Date"] == ["Date"]  # the upstream's, once
    assert ("X-Upstream-Header", "caf\xe9 \xbd") in passed
    assert [v for n, v in passed if n == "Set-Cookie"] == ["a=1; Path=/", "b=2; Path=/"]
    checked = target.startswith(SESSIONS)
    assert any(n == "X-Contract-Violations" for n, _ in through[2]) is checked


def test_hop_by_hop_headers_stop_at_the_proxy(start_proxy: StartProxy) -> None:
    echo = EchoApp()
    with serving(echo) as upstream:
        proxied = start_proxy(upstream)
        headers = [
            *CLIENT_HEADERS,
            ("Connection", "keep-alive, X-Secret-Hop"),
            ("X-Secret-Hop", "1"),
            ("Keep-Alive", "timeout=5"),
            ("TE", "trailers"),
            ("Proxy-Authorization", "Basic abc"),
        ]
        _send(proxied.url, "GET", "/v2/customer_sessions/x", headers, b"")
    names = {name.lower() for name, _ in echo.received[0]["headers"]}
    assert not names & {"x-secret-hop", "keep-alive", "te", "proxy-authorization", "connection"}
    # Nothing added: no client identity of the proxy's own, no forwarding headers.
    assert not names & {"user-agent", "x-forwarded-for", "via", "accept-encoding", "forwarded"}
    assert ("Authorization", f"ApiKey-v1 {API_KEY}") in echo.received[0]["headers"]


def test_connections_to_the_upstream_are_pooled(start_proxy: StartProxy) -> None:
    with keep_alive_server() as (upstream, ports):
        proxied = start_proxy(upstream)
        answers = [proxied.http.get(proxied.url + "/elsewhere", timeout=10) for _ in range(20)]
    assert all(answer.status_code == 200 for answer in answers)
    assert len(ports) == 1


def test_large_bodies_stream_through_unchecked_and_say_so(start_proxy: StartProxy) -> None:
    # Given an upstream whose answers are larger than the proxy checks
    big = BigAnswerApp(3 * 1024 * 1024)
    with serving(big) as upstream:
        proxied = start_proxy(upstream, max_check_bytes=64 * 1024)
        sent = json.dumps({"customerSession": {"attributes": {"blob": "y" * 2_000_000}}})
        # When a large request goes through
        answer = proxied.http.put(
            proxied.url + SESSIONS + "big",
            data=sent,
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
    # Then both bodies arrived whole, and the proxy says it did not check them
    assert big.received_bytes == len(sent)
    assert answer.status_code == 200 and len(answer.content) == 3 * 1024 * 1024
    assert answer.headers["X-Contract-Violations"] == "0"
    skipped = answer.headers["X-Contract-Check-Skipped"]
    assert "request body over 65536 bytes" in skipped and "answer body over 65536" in skipped


def test_compressed_answers_pass_compressed_and_are_still_checked(start_proxy: StartProxy) -> None:
    with serving(rewriting_mock(gzipped)) as upstream:
        proxied = start_proxy(upstream)
        sent = {"Accept-Encoding": "gzip"}
        answer = proxied.http.put(
            proxied.url + SESSIONS + new_id(), json=cart(), headers=sent, stream=True, timeout=10
        )
        raw = answer.raw.read(decode_content=False)
    assert answer.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(raw))["customerSession"]["total"] == 95.24
    assert answer.headers["X-Contract-Violations"] == "0"
    assert "X-Contract-Check-Skipped" not in answer.headers


def test_an_unreachable_upstream_is_a_502(start_proxy: StartProxy) -> None:
    with serving(EchoApp()) as upstream:
        pass  # the port is free again: nothing listens there
    proxied = start_proxy(upstream)
    answer = proxied.get(new_id())
    assert answer.status_code == 502
    assert answer.headers["X-Contract-Source"] == "proxy"
    body = answer.json()
    assert body["message"] == "The upstream cannot be reached"
    assert body["errors"][0]["title"] == "Bad gateway"
    # A failure of the network is no verdict on the contract.
    assert answer.headers["X-Contract-Violations"] == "0"


def test_a_slow_upstream_is_a_504_after_the_timeout(start_proxy: StartProxy) -> None:
    with serving(slow_app(2.0)) as upstream:
        proxied = start_proxy(upstream, timeout=0.3)
        began = time.perf_counter()
        answer = proxied.get(new_id())
        waited = time.perf_counter() - began
    assert answer.status_code == 504 and waited < 1.5
    assert answer.json()["errors"][0]["title"] == "Gateway timeout"


def test_with_fallback_an_unreachable_upstream_gets_the_mocks_answer(
    start_proxy: StartProxy,
) -> None:
    with serving(EchoApp()) as upstream:
        pass
    proxied = start_proxy(upstream, fallback=Fallback.parse("unreachable"))
    session_id = new_id()
    created = proxied.put(session_id, cart())
    again = proxied.get(session_id)
    assert created.status_code == 200 and again.status_code == 200
    assert created.headers["X-Contract-Source"] == again.headers["X-Contract-Source"] == "mock"
    assert again.json()["customerSession"]["total"] == 95.24  # the mock keeps state
    assert created.headers["X-Contract-Violations"] == "0"
    assert [e["proxy"]["source"] for e in proxied.journal()] == ["mock", "mock"]


def test_fallback_on_a_status_replaces_only_that_status(start_proxy: StartProxy) -> None:
    with serving(status_app(501)) as upstream:
        proxied = start_proxy(upstream, fallback=Fallback.parse("501"))
        answer = proxied.put(new_id(), cart())
        other = proxied.http.get(proxied.url + "/not/an/operation", timeout=10)
    assert answer.status_code == 200 and answer.headers["X-Contract-Source"] == "mock"
    assert answer.json()["customerSession"]["cartItemTotal"] == 90.29
    # Only what was asked for: the mock also answers the path it does not know.
    assert other.headers["X-Contract-Source"] == "mock"
    entry = proxied.journal()[0]
    assert entry["proxy"]["upstreamStatus"] == 501 and entry["status"] == 200


def test_without_fallback_a_status_passes_through(start_proxy: StartProxy) -> None:
    with serving(status_app(501)) as upstream:
        proxied = start_proxy(upstream)
        answer = proxied.put(new_id(), cart())
    assert answer.status_code == 501 and "X-Contract-Source" not in answer.headers
    # 501 is not an answer the contract documents.
    assert "status_code_conformance" in answer.headers["X-Contract-Violations-Detail"]


def test_the_api_key_never_reaches_the_journal_or_the_log(
    start_proxy: StartProxy, mock_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    proxied = start_proxy(mock_url)
    with caplog.at_level("DEBUG"):
        proxied.put(new_id(), {"customerSession": {"cartItems": [{"name": 1}]}})
        proxied.get(new_id())
    journal = requests.get(proxied.url + "/__admin/requests", timeout=10).text
    violations = requests.get(proxied.url + "/__admin/violations", timeout=10).text
    assert API_KEY not in journal and API_KEY not in violations
    assert API_KEY[:4] not in journal  # not even the part the mock's own journal shows
    assert API_KEY not in caplog.text
    assert "ApiKey-v1 [Filtered]" in journal
    assert AUTH["Authorization"] not in violations
