"""Fixtures of the hostile battery: servers started per session or per test, and Redis."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.hostile.support import (
    API_KEY,
    MockServer,
    RedisServer,
    SlowClients,
    cli_path,
    free_port,
    next_number,
)


@pytest.fixture(scope="session")
def serve_cli() -> str:
    """The command under test; its absence skips the battery."""
    cli = cli_path()
    if cli is None:
        pytest.skip("customer-session-mock is not installed (pip install -e .)")
    return cli


@pytest.fixture(scope="session")
def hostile_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture
def start_mock(serve_cli: str, hostile_tmp: Path) -> Iterator[Callable[..., MockServer]]:
    """A factory of servers that live as long as the test."""
    started: list[MockServer] = []

    def start(*args: str, host: str = "127.0.0.1", connect_host: str | None = None,
              wait_ready: bool = True) -> MockServer:  # fmt: skip
        number = next_number()
        server = MockServer(
            list(args),
            hostile_tmp / f"serve-{number}.log",
            host=host,
            connect_host=connect_host or host,
        )
        started.append(server)
        return server.start(wait_ready=wait_ready)

    yield start
    for server in started:
        server.kill()


def _shared(hostile_tmp: Path, name: str, *args: str) -> Iterator[MockServer]:
    """A server shared by the tests of a session, killed at its end."""
    server = MockServer(list(args), hostile_tmp / f"{name}.log").start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="session")
def threaded_mock(serve_cli: str, hostile_tmp: Path) -> Iterator[MockServer]:
    """`serve` without workers (werkzeug, a thread per connection), memory store, JSON logs."""
    yield from _shared(
        hostile_tmp, "threaded",
        "--store", "memory://", "--preload", "1", "--api-key", f"{API_KEY}=1",
        "--log-format", "json",
    )  # fmt: skip


@pytest.fixture(scope="session")
def workers_mock(serve_cli: str, hostile_tmp: Path) -> Iterator[MockServer]:
    """`serve --workers 2` (gunicorn sync workers) on a SQLite file."""
    yield from _shared(
        hostile_tmp, "workers",
        "--workers", "2", "--store", f"sqlite:///{hostile_tmp / 'workers.db'}",
        "--preload", "1", "--api-key", f"{API_KEY}=1",
    )  # fmt: skip


@pytest.fixture(params=["threaded", "workers"])
def any_mock(request: pytest.FixtureRequest) -> MockServer:
    """Each of the two ways `serve` runs."""
    server: MockServer = request.getfixturevalue(f"{request.param}_mock")
    return server


@pytest.fixture
def slow_clients() -> Iterator[Callable[[str, int], SlowClients]]:
    made: list[SlowClients] = []

    def make(host: str, port: int) -> SlowClients:
        clients = SlowClients(host, port)
        made.append(clients)
        return clients

    yield make
    for clients in made:
        clients.close()


@pytest.fixture
def redis_server(hostile_tmp: Path) -> Iterator[RedisServer]:
    """A started redis-server of this test; skipped when the binary is missing."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    folder = hostile_tmp / f"redis-{next_number()}"
    folder.mkdir()
    server = None
    for _ in range(5):  # another process may take the free port first
        try:
            server = RedisServer(binary, folder, free_port()).start()
            break
        except RuntimeError:
            continue
    if server is None:
        pytest.fail("redis-server did not start")
    yield server
    server.kill()
