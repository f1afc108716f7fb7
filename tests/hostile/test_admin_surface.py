"""Issue item 8 and its neighbours: what the admin API shows, and to whom.

Goal: "nothing secret in the journal; the admin API checks `Host` against the addresses it
serves and counts IPv4-mapped loopback as loopback" and "the journal and log lines bounded".
"""

from __future__ import annotations

import json
import socket
import time
import urllib.parse
import uuid
from collections.abc import Callable

import pytest
import requests

from tests.hostile.support import (
    API_KEY,
    AUTH,
    MockServer,
    raw_exchange,
    request_head,
    require,
    session_path,
)

MAX_JOURNAL_ENTRY_BYTES = 64 * 1024


def _journal_entry(server: MockServer, integration_id: str) -> dict[str, object]:
    journal = requests.get(
        server.url + "/__admin/requests",
        params={"sessionId": integration_id, "limit": "1"},
        timeout=10,
    )
    require(journal.status_code == 200, journal.text[:300])
    entries = journal.json()["requests"]
    require(len(entries) == 1, f"no journal entry for {integration_id}")
    entry: dict[str, object] = entries[0]
    return entry


def test_journal_and_log_keep_no_secret_headers(threaded_mock: MockServer) -> None:
    """Desired: X-Admin-Token, Cookie and Proxy-Authorization values appear nowhere."""
    integration_id = f"secrets-{uuid.uuid4().hex[:10]}"
    secrets = {
        "X-Admin-Token": f"admin-secret-{uuid.uuid4().hex}",
        "Cookie": f"sid=cookie-secret-{uuid.uuid4().hex}",
        "Proxy-Authorization": f"Basic proxy-secret-{uuid.uuid4().hex}",
    }
    answer = requests.get(
        threaded_mock.url + session_path(integration_id), headers={**AUTH, **secrets}, timeout=10
    )
    require(answer.status_code == 404, answer.text[:200])
    journal = json.dumps(_journal_entry(threaded_mock, integration_id))
    log = "\n".join(line for line in threaded_mock.log_lines() if integration_id in line)
    require(log, "the request was not logged")
    leaked = {
        f"{name} in the {where}"
        for name, value in secrets.items()
        for where, text in (("journal", journal), ("log", log))
        if value.split("=", 1)[-1].split(" ", 1)[-1] in text
    }
    assert not leaked, sorted(leaked)


@pytest.mark.parametrize("host", ["rebound.example", "rebound.example:{port}"])
def test_admin_refuses_a_foreign_host(threaded_mock: MockServer, host: str) -> None:
    """Desired: a request naming another host is refused (403 or 421), JSON."""
    answer = requests.get(
        threaded_mock.url + "/__admin/requests",
        params={"limit": "1"},
        headers={"Host": host.format(port=threaded_mock.port)},
        timeout=10,
    )
    assert answer.status_code in (403, 421), f"{answer.status_code}: {answer.text[:120]}"
    assert answer.headers.get("Content-Type", "").startswith("application/json")


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "127.0.0.1"])
def test_admin_answers_its_own_host_names(threaded_mock: MockServer, host: str) -> None:
    """Keeps a Host check honest: the names the server is reached by still work."""
    answer = requests.get(
        threaded_mock.url + "/__admin/requests",
        params={"limit": "1"},
        headers={"Host": host.format(port=threaded_mock.port)},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text[:200]


def _dual_stack_loopback() -> str | None:
    """Why IPv4 clients cannot reach a `::` listener here, or None when they can."""
    if not socket.has_ipv6:
        return "no IPv6 in this Python"
    try:
        listener = socket.socket(socket.AF_INET6)
    except OSError as exc:
        return f"no IPv6 sockets: {exc}"
    with listener:
        try:
            listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            listener.bind(("::", 0))
            listener.listen(1)
            with socket.create_connection(("127.0.0.1", listener.getsockname()[1]), timeout=2):
                pass
            with socket.create_connection(("::1", listener.getsockname()[1]), timeout=2):
                pass
        except OSError as exc:
            return f"no dual-stack loopback: {exc}"
    return None


@pytest.fixture
def dual_stack_mock(start_mock: Callable[..., MockServer]) -> MockServer:
    """`serve --host ::`, reached over ::1; skipped where IPv4 cannot reach a `::` listener."""
    missing = _dual_stack_loopback()
    if missing is not None:
        pytest.skip(missing)
    return start_mock("--store", "memory://", "--preload", "0", host="::", connect_host="::1")


def test_admin_counts_ipv4_mapped_loopback_as_loopback(dual_stack_mock: MockServer) -> None:
    """Desired: on `--host ::` a client on 127.0.0.1 (seen as ::ffff:127.0.0.1) is local."""
    over_v6 = requests.get(dual_stack_mock.url + "/__admin/requests?limit=1", timeout=10)
    require(over_v6.status_code == 200, f"::1 refused too: {over_v6.text[:200]}")
    over_v4 = requests.get(
        f"http://127.0.0.1:{dual_stack_mock.port}/__admin/requests?limit=1", timeout=10
    )
    assert over_v4.status_code == 200, f"{over_v4.status_code}: {over_v4.text[:160]}"


def test_banner_of_an_ipv6_host_is_a_usable_url(dual_stack_mock: MockServer) -> None:
    """Desired: `customer-session-mock serving http://[::]:PORT` (or a loopback URL)."""
    line = next(line for line in dual_stack_mock.banner if "serving http" in line)
    url = line.split("serving ", 1)[1].strip()
    host = urllib.parse.urlsplit(url).netloc.rsplit(":", 1)[0]
    assert host.startswith("[") and host.endswith("]"), f"unusable URL {url!r}"


ADMIN_INPUTS = {
    # int() of more than 4,300 digits raises ValueError after the isdigit() check passes.
    "limit-5000-digits": ("GET", "/__admin/requests?limit=" + "9" * 5000, None),
    # str.isdigit() accepts superscripts that int() refuses.
    "limit-superscript-two": ("GET", "/__admin/requests?limit=%C2%B2", None),
    # request.get_json(silent=True) lets RecursionError through (no depth limit, unlike the API).
    "conditions-nested-100000": ("PUT", "/__admin/conditions", b"[" * 100_000),
}


@pytest.mark.parametrize("case", list(ADMIN_INPUTS))
def test_admin_refuses_bad_input_with_400(threaded_mock: MockServer, case: str) -> None:
    """Desired: a malformed admin request is the client's error, 400 `ErrorResponse`."""
    method, path, body = ADMIN_INPUTS[case]
    answer = requests.request(
        method,
        threaded_mock.url + path,
        data=body,
        headers={"Content-Type": "application/json"} if body is not None else {},
        timeout=10,
    )
    assert answer.status_code == 400, f"{answer.status_code}: {answer.text[:200]}"
    assert answer.headers.get("Content-Type", "").startswith("application/json")


def test_journal_entry_of_huge_headers_is_bounded(threaded_mock: MockServer) -> None:
    """Desired: whatever its headers and query, a request's journal entry stays small."""
    integration_id = f"huge-headers-{uuid.uuid4().hex[:10]}"
    query = "&".join(f"q{number}={'x' * 50}" for number in range(1000))
    headers = {**AUTH, **{f"X-Pad-{number}": "v" * 60_000 for number in range(95)}}
    request = request_head("GET", f"{session_path(integration_id)}?{query}", headers)
    answer = raw_exchange(threaded_mock.connect_host, threaded_mock.port, request, timeout=10)
    require(answer.status == 404, answer.describe())
    size = len(json.dumps(_journal_entry(threaded_mock, integration_id)))
    log_sizes = [len(line) for line in threaded_mock.log_lines() if integration_id in line]
    require(log_sizes, "the request was not logged")
    assert size <= MAX_JOURNAL_ENTRY_BYTES and max(log_sizes) <= 64 * 1024, (
        f"journal entry {size:,} bytes, log line {max(log_sizes):,} bytes "
        f"for a {len(request):,}-byte request"
    )


def test_journal_keeps_the_body_of_a_chunked_request(threaded_mock: MockServer) -> None:
    """Desired: the journal shows the body a chunked PUT sent, as it does for Content-Length."""
    integration_id = f"chunked-journal-{uuid.uuid4().hex[:10]}"
    body = json.dumps({"customerSession": {"profileId": "chunky"}}).encode()
    head = request_head(
        "PUT",
        session_path(integration_id),
        {**AUTH, "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    request = head + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
    answer = raw_exchange(threaded_mock.connect_host, threaded_mock.port, request)
    require(answer.status == 200, answer.describe())
    shown = _journal_entry(threaded_mock, integration_id)["request"]
    require(isinstance(shown, dict), repr(shown))
    assert isinstance(shown, dict) and shown.get("body") == body.decode(), shown


def test_text_log_lines_cannot_be_forged(start_mock: Callable[..., MockServer]) -> None:
    """New: an id may hold a newline (%0A); the text access log must still write one line per
    request, not a line the client wrote."""
    server = start_mock("--store", "memory://", "--preload", "0")
    forged = "FORGED-" + uuid.uuid4().hex[:8]
    answer = requests.get(
        server.url + session_path(f"a%0A{forged}%0D%0A{forged}"), headers=AUTH, timeout=10
    )
    require(answer.status_code == 404, answer.text[:200])
    time.sleep(0.2)
    lines = server.log_lines()
    require(any(forged in line for line in lines), "the request was not logged")
    assert not [line for line in lines if line.startswith(forged)], lines[-3:]


def test_a_short_api_key_is_never_shown_whole(start_mock: Callable[..., MockServer]) -> None:
    """New: the masking showed the first four characters of a key, so a key of four or fewer
    was journaled in full."""
    server = start_mock(
        "--store", "memory://", "--preload", "0", "--api-key", "k3y=1", "--api-key", f"{API_KEY}=1"
    )  # fmt: skip
    integration_id = f"short-key-{uuid.uuid4().hex[:8]}"
    answer = requests.get(
        server.url + session_path(integration_id),
        headers={"Authorization": "ApiKey-v1 k3y"},
        timeout=10,
    )
    require(answer.status_code == 404, answer.text[:200])
    shown = _journal_entry(server, integration_id)["request"]
    assert isinstance(shown, dict) and "k3y" not in json.dumps(shown["headers"]), shown
