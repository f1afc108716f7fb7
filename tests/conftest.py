"""Shared fixtures: the real app in-process, and the real app on a real port."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import BaseWSGIServer, make_server

from mock_server import Settings, create_app
from mock_server.core.store import SessionStore
from mock_server.http.state import mock_state

API_KEY = "test-key"
APPLICATION_ID = 7
AUTH = {"Authorization": f"ApiKey-v1 {API_KEY}"}

# `serve` keeps its sessions in a SQLite file by default; a server that a test starts without
# naming a store must not carry state from one test run into the next.
os.environ.setdefault("CSM_STORE_URL", "memory://")


def session_url(integration_id: str) -> str:
    """The path of a customer session."""
    return f"/v2/customer_sessions/{integration_id}"


def cart_body(**session: Any) -> dict[str, Any]:
    """An IntegrationRequest asking for the session back."""
    return {"customerSession": session, "responseContent": ["customerSession"]}


@pytest.fixture
def settings() -> Settings:
    """One key bound to one application, a small preload."""
    return Settings(store_url="memory://", api_keys={API_KEY: APPLICATION_ID}, preload=6, seed=1)


@pytest.fixture
def app(settings: Settings) -> Flask:
    """A fresh mock with its own store."""
    return create_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """The real app through WSGI."""
    return app.test_client()


@pytest.fixture
def store(app: Flask) -> SessionStore:
    """The store of the app under test, to check what a request left behind."""
    with app.app_context():
        return mock_state().service.store


@dataclass
class LiveServer:
    """A mock served over a real socket."""

    app: Flask
    server: BaseWSGIServer

    @property
    def url(self) -> str:
        """Base URL, with the port the OS picked."""
        return f"http://127.0.0.1:{self.server.server_port}"

    def reset(self) -> None:
        """Back to the preloaded sessions."""
        with self.app.app_context():
            state = mock_state()
            state.service.store.clear()
            state.preload()


def serve_in_thread(app: Flask) -> Iterator[LiveServer]:
    """Serve `app` on a free port in a daemon thread until the generator is closed."""
    server = make_server("127.0.0.1", 0, app, threaded=True)  # port 0: let the OS pick
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(app, server)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def live_server_session() -> Iterator[LiveServer]:
    """One live mock for the whole run (fresh state per test via `live_server`)."""
    app = create_app(
        Settings(store_url="memory://", api_keys={API_KEY: APPLICATION_ID}, preload=6, seed=1)
    )
    yield from serve_in_thread(app)


@pytest.fixture
def live_server(live_server_session: LiveServer) -> LiveServer:
    """The live mock, reset to its preloaded sessions."""
    live_server_session.reset()
    return live_server_session


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """An HTTP client that sends the test key."""
    with requests.Session() as session:
        session.headers.update(AUTH)
        yield session
