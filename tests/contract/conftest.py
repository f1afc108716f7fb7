"""Fixtures of the contract tests: the mock and broken variants, in-process and on a port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from contract_tests.broken_server import Fault, create_broken_app
from contract_tests.runner import serve_app

API_KEY = "contract-test-key"
AUTH = {"Authorization": f"ApiKey-v1 {API_KEY}"}


@pytest.fixture
def mock_app() -> Flask:
    """The correct mock, accepting API_KEY, with an empty store."""
    return create_broken_app(None, API_KEY)


def serve(app: Flask) -> Iterator[str]:
    """Serve an app on a free loopback port until the generator closes; yield its URL."""
    with serve_app(app) as url:
        yield url


@pytest.fixture
def broken_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A broken server (the fault is the test's parameter) on a real port."""
    fault: Fault = request.param
    yield from serve(create_broken_app(fault, API_KEY))
