"""Fixtures for running one behavioural suite on every store backend.

The Redis backend is tested against a real `redis-server` that this module starts on a free
port (and stops); a machine without the binary skips those tests, except in CI, where a
missing Redis is a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mock_server.core.store import SessionStore
from mock_server.stores import open_store
from tests.backends.processes import start_redis_server

BACKENDS = ("memory", "sqlite", "redis")
DURABLE_BACKENDS = ("sqlite", "redis")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a redis-server of this test run."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    process, url = start_redis_server(binary, tmp_path_factory.mktemp("redis"))
    yield url
    process.terminate()
    process.wait(timeout=10)


def store_url_for(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store of one backend for one test."""
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'sessions.db'}"
    base: str = request.getfixturevalue("redis_url")
    # A namespace per test keeps tests apart without flushing the shared server.
    return f"{base}?namespace=test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store, once per backend."""
    return store_url_for(request.param, request, tmp_path)


@pytest.fixture(params=DURABLE_BACKENDS)
def durable_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store that outlives its process, once per durable backend."""
    return store_url_for(request.param, request, tmp_path)


@pytest.fixture
def backend_store(store_url: str) -> Iterator[SessionStore]:
    """An open, empty store, once per backend."""
    store = open_store(store_url)
    yield store
    store.close()
