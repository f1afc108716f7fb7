"""Fixtures of the proxy tests: real upstreams and a real proxy, each on its own loopback port."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from contract_tests.broken_server import create_broken_app
from contract_tests.proxy import ContractProxy, ProxyOptions, create_proxy, make_proxy_server
from contract_tests.recording import Recorder
from mock_server.settings import Settings

API_KEY = "Zq7-proxy-test-key-0123456789"
AUTH = {"Authorization": f"ApiKey-v1 {API_KEY}"}
SESSIONS = "/v2/customer_sessions/"

# Each request of every server would be a line on the terminal.
logging.getLogger("werkzeug").setLevel(logging.ERROR)


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve a WSGI app on a free loopback port in a thread; yield its base URL."""
    # Port 0: let the OS pick. A proxy gets the server its command gives it.
    if isinstance(app, ContractProxy):
        server = make_proxy_server("127.0.0.1", 0, app)
    else:
        server = make_server("127.0.0.1", 0, app, threaded=True)
    # A short poll: shutdown() waits for it, and tests start and stop many servers.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def new_id(label: str = "s") -> str:
    """A session id no other test uses."""
    return f"{label}-{uuid.uuid4().hex[:12]}"


def cart(**session: Any) -> dict[str, Any]:
    """A body naming a cart, asking for the session back."""
    fields: dict[str, Any] = {
        "profileId": new_id("p"),
        "cartItems": [
            {"name": "Shoe", "sku": "SKU-1", "quantity": 1, "price": 89.99},
            {"name": "Socks", "sku": "SKU-2", "quantity": 3, "price": 0.1},
        ],
        "additionalCosts": {"shipping": {"price": 4.95}},
    }
    fields.update(session)
    return {"customerSession": fields, "responseContent": ["customerSession"]}


@dataclass
class Proxied:
    """A proxy on a real port in front of an upstream, and a client that talks through it."""

    url: str
    upstream: str
    proxy: ContractProxy
    http: requests.Session = field(default_factory=requests.Session)

    def put(self, session_id: str, body: Any, **kwargs: Any) -> requests.Response:
        """PUT a body (JSON) through the proxy."""
        return self.http.put(self.url + SESSIONS + session_id, json=body, timeout=10, **kwargs)

    def get(self, session_id: str, **kwargs: Any) -> requests.Response:
        """GET a session through the proxy."""
        return self.http.get(self.url + SESSIONS + session_id, timeout=10, **kwargs)

    def journal(self) -> list[dict[str, Any]]:
        """The proxy's journal, oldest first."""
        answer = requests.get(self.url + "/__admin/requests", timeout=10)
        answer.raise_for_status()
        return list(reversed(answer.json()["requests"]))

    def checks(self) -> set[str]:
        """Every check that found a violation so far."""
        return set(self.proxy.tally.by_check)


StartProxy = Callable[..., Proxied]


@pytest.fixture
def start_proxy() -> Iterator[StartProxy]:
    """Start proxies in front of upstreams; all stop when the test ends."""
    started: list[Any] = []

    def start(
        upstream: str,
        *,
        settings: Settings | None = None,
        recorder: Recorder | None = None,
        **options: Any,
    ) -> Proxied:
        proxy = create_proxy(
            ProxyOptions(upstream=upstream, **options), settings, recorder=recorder
        )
        context = serving(proxy)
        url = context.__enter__()
        started.append((context, proxy))
        proxied = Proxied(url, upstream, proxy)
        proxied.http.headers.update(AUTH)
        return proxied

    yield start
    for context, proxy in reversed(started):
        context.__exit__(None, None, None)
        proxy.close()


@pytest.fixture(scope="session")
def mock_upstream() -> Iterator[tuple[Flask, str]]:
    """The correct mock, accepting API_KEY (application 1), on a real port for the whole run."""
    app = create_broken_app(None, API_KEY)
    with serving(app) as url:
        yield app, url


@pytest.fixture
def mock_url(mock_upstream: tuple[Flask, str]) -> str:
    """The URL of the correct mock."""
    return mock_upstream[1]
