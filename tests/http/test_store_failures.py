"""A store that fails under the mock: 503 ErrorResponse naming no address, marks still released."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from flask.testing import FlaskClient

from mock_server import Settings, create_app
from mock_server.core.errors import StoreUnavailable
from mock_server.core.store import MemorySessionStore
from mock_server.http import pipeline
from tests.conftest import API_KEY, APPLICATION_ID, AUTH, cart_body, session_url

ADDRESS = "10.9.8.7:6379"


class FlakyStore(MemorySessionStore):
    """A memory store whose chosen operations fail as a Redis store's do when Redis is down."""

    def __init__(self) -> None:
        super().__init__()
        self.failing: set[str] = set()

    def __getattribute__(self, name: str) -> Any:
        if name in object.__getattribute__(self, "failing"):
            raise StoreUnavailable(f"Error 111 connecting to {ADDRESS}. Connection refused.")
        return super().__getattribute__(name)


@pytest.fixture
def flaky() -> FlakyStore:
    return FlakyStore()


@pytest.fixture
def flaky_client(flaky: FlakyStore) -> FlaskClient:
    settings = Settings(store_url="memory://", api_keys={API_KEY: APPLICATION_ID}, preload=0)
    return create_app(settings, store=flaky).test_client()


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_a_failing_store_is_a_503_naming_no_address(
    flaky: FlakyStore, flaky_client: FlaskClient, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    flaky.failing |= {"get", "try_lock", "unlock"}
    with caplog.at_level(logging.WARNING, logger="mock_server"):
        answer = flaky_client.open(
            session_url("s-1"), method=method, json=cart_body(), headers=AUTH
        )
    assert answer.status_code == 503 and answer.mimetype == "application/json"
    assert answer.get_json()["message"] == "The session store is unavailable"
    assert ADDRESS not in answer.get_data(as_text=True)
    assert ADDRESS in caplog.text  # the operator's log names the backend


def test_a_mark_the_store_failed_to_release_is_released_once_it_is_back(
    flaky: FlakyStore, flaky_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline._MarkReleases, "RETRY_SECONDS", 0.05)
    flaky.failing.add("unlock")
    first = flaky_client.put(session_url("s-1"), json=cart_body(), headers=AUTH)
    assert first.status_code == 200  # the answer was made; a failed release does not undo it
    assert flaky_client.put(session_url("s-1"), json=cart_body(), headers=AUTH).status_code == 409
    flaky.failing.clear()
    for _ in range(100):  # the background retry lands within ~50 ms
        time.sleep(0.02)
        answer = flaky_client.put(session_url("s-1"), json=cart_body(), headers=AUTH)
        if answer.status_code == 200:
            return
    pytest.fail("the mark was never released")


def test_a_mark_lives_for_its_delay_and_a_margin(
    flaky: FlakyStore, flaky_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    lifetimes: list[float] = []
    original = MemorySessionStore.try_lock

    def recording(self: MemorySessionStore, app: int, sid: str, token: str, ttl: float) -> bool:
        lifetimes.append(ttl)
        return original(self, app, sid, token, ttl)

    monkeypatch.setattr(MemorySessionStore, "try_lock", recording)
    headers = {**AUTH, "Prefer": "delay=100"}
    assert (
        flaky_client.put(session_url("s-1"), json=cart_body(), headers=headers).status_code == 200
    )
    assert lifetimes == [0.1 + pipeline.MARK_MARGIN_SECONDS]


def test_an_invalid_body_takes_no_mark(flaky: FlakyStore, flaky_client: FlaskClient) -> None:
    flaky.failing.add("try_lock")  # a mark taken would be a 503
    answer = flaky_client.put(
        session_url("s-1"), json={"customerSession": {"state": "lost"}}, headers=AUTH
    )
    assert answer.status_code == 400
