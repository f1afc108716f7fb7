"""The API's persistence behaviour, the same on every store backend."""

from __future__ import annotations

import multiprocessing
import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mock_server import Settings, create_app
from mock_server.core.store import SessionStore
from mock_server.http.state import EXTENSION, MockState
from mock_server.stores import open_store
from tests.backends.serial_order import Acknowledged, check_serial_order, random_update
from tests.conftest import API_KEY, APPLICATION_ID, AUTH, cart_body, session_url

ITEM = {"name": "Mug", "sku": "MUG-1", "quantity": 2, "price": 12.5}


def state_of(app: Flask) -> MockState:
    """The state of an app outside of a request."""
    state: MockState = app.extensions[EXTENSION]
    return state


class Mock:
    """An app over a store URL, that a test can stop and start again like a process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.settings = Settings(
            store_url="memory://", api_keys={API_KEY: APPLICATION_ID}, preload=4, seed=3
        )
        self.store: SessionStore = open_store(url)
        self.app = create_app(self.settings, store=self.store)

    @property
    def client(self) -> FlaskClient:
        """A client of the real app through WSGI."""
        return self.app.test_client()

    def restart(self) -> None:
        """Drop the app and its connections; build a new one on the same store URL."""
        self.store.close()
        self.store = open_store(self.url)
        self.app = create_app(self.settings, store=self.store)

    def reset(self) -> None:
        """The admin reset: forget everything, preload again."""
        state = state_of(self.app)
        state.service.store.clear()
        state.preload()


@pytest.fixture
def mock(store_url: str) -> Iterator[Mock]:
    """A mock on each backend."""
    instance = Mock(store_url)
    yield instance
    instance.store.close()


@pytest.fixture
def durable_mock(durable_store_url: str) -> Iterator[Mock]:
    """A mock on each backend that survives a restart."""
    instance = Mock(durable_store_url)
    yield instance
    instance.store.close()


def put(client: FlaskClient, integration_id: str, **fields: Any) -> dict[str, Any]:
    """PUT a session update; return the session of the 200 answer."""
    response = client.put(session_url(integration_id), json=cart_body(**fields), headers=AUTH)
    assert response.status_code == 200, response.get_json()
    session: dict[str, Any] = response.get_json()["customerSession"]
    return session


def get(client: FlaskClient, integration_id: str) -> dict[str, Any] | None:
    """GET a session; None for 404."""
    response = client.get(session_url(integration_id), headers=AUTH)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.get_json()
    session: dict[str, Any] = response.get_json()["customerSession"]
    return session


def test_a_put_is_what_later_gets_and_updates_build_on(mock: Mock) -> None:
    client = mock.client
    put(client, "s-1", profileId="p-1", cartItems=[ITEM])
    updated = put(client, "s-1", additionalCosts={"shipping": {"price": 4.95}})

    stored = get(client, "s-1")

    assert stored == updated
    assert stored["cartItems"][0]["sku"] == "MUG-1"
    assert stored["total"] == 29.95
    assert stored["firstSession"] is True
    assert put(client, "s-2", profileId="p-1")["firstSession"] is False


def test_a_dry_run_persists_nothing(mock: Mock) -> None:
    client = mock.client
    response = client.put(
        session_url("dry-1") + "?dry=true", json=cart_body(profileId="p-dry"), headers=AUTH
    )

    assert response.status_code == 200
    assert get(client, "dry-1") is None
    assert put(client, "real-1", profileId="p-dry")["firstSession"] is True


def test_reset_brings_back_the_preloaded_sessions_only(mock: Mock) -> None:
    client = mock.client
    preloaded = list(state_of(mock.app).preloaded_ids)
    original = get(client, preloaded[0])
    put(client, "made-by-a-test", cartItems=[ITEM])
    # Cancelling works from every generated state, and changes what a GET answers
    cancelled = put(client, preloaded[0], state="cancelled")
    assert cancelled != original

    mock.reset()

    assert get(client, "made-by-a-test") is None
    assert get(client, preloaded[0]) == original
    assert len(mock.store.list(APPLICATION_ID)) == len(preloaded)


def test_a_restart_keeps_sessions_profiles_and_edits_of_preloaded_ones(
    durable_mock: Mock,
) -> None:
    # Given a new session, a profile's first session and an edited preloaded session
    client = durable_mock.client
    made = put(durable_mock.client, "s-1", profileId="p-1", cartItems=[ITEM])
    preloaded_id = state_of(durable_mock.app).preloaded_ids[0]
    edited = put(client, preloaded_id, state="cancelled")

    # When the mock restarts on the same store (and preloads again)
    durable_mock.restart()
    client = durable_mock.client

    # Then everything is as it was
    assert get(client, "s-1") == made
    assert get(client, preloaded_id) == edited
    assert put(client, "s-2", profileId="p-1")["firstSession"] is False


def test_concurrent_puts_on_one_session_are_serial_or_conflicts(mock: Mock) -> None:
    # Given one session and 6 clients that each send 12 random updates of it at once
    initial = put(mock.client, "hot", cartItems=[ITEM], attributes={"writer": "initial"})
    clients, per_client = 6, 12
    start = threading.Barrier(clients)

    def hammer(number: int) -> tuple[list[Acknowledged], int]:
        rng = random.Random(number)
        client = mock.app.test_client()
        acknowledged, conflicts = [], 0
        start.wait()
        for request in range(per_client):
            body = random_update(rng, f"{number}-{request}")
            response = client.put(session_url("hot"), json=body, headers=AUTH)
            if response.status_code == 409:
                conflicts += 1
                continue
            assert response.status_code == 200, response.get_json()
            acknowledged.append(Acknowledged(body, response.get_json()["customerSession"]))
        return acknowledged, conflicts

    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(hammer, range(clients)))

    # Then the acknowledged updates explain every answer and the final state
    acknowledged = [ack for acks, _ in results for ack in acks]
    assert acknowledged, "no update was acknowledged"
    assert len(acknowledged) + sum(c for _, c in results) == clients * per_client
    final = get(mock.client, "hot")
    assert final is not None
    check_serial_order(initial, acknowledged, final)


def _start_app(url: str) -> list[str]:
    """What a gunicorn worker does at start: build the app on the shared store."""
    app = create_app(Settings(api_keys={API_KEY: APPLICATION_ID}, preload=6, seed=5, store_url=url))
    state = state_of(app)
    state.service.store.close()
    return list(state.preloaded_ids)


def test_workers_preloading_one_store_at_once_store_each_session_once(
    durable_store_url: str,
) -> None:
    # When three processes start on one empty store at the same moment
    with multiprocessing.get_context("fork").Pool(3) as pool:
        preloaded = pool.map(_start_app, [durable_store_url] * 3)

    # Then they agree on the preloaded sessions, each stored once, at its first version
    assert preloaded[0] == preloaded[1] == preloaded[2]
    store = open_store(durable_store_url)
    revisions = [store.get(APPLICATION_ID, i) for i in preloaded[0]]
    stored = store.list()
    store.close()
    assert len(stored) == 6
    assert all(r is not None and r.version == 1 for r in revisions)
