"""Fixtures of the contract tests: the mock and broken variants, in-process and on a port."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import schemathesis
from flask import Flask
from schemathesis.config import SchemathesisConfig
from werkzeug.serving import make_server

from contract_tests.broken_server import Fault, create_broken_app
from contract_tests.runner import schemathesis_config

API_KEY = "contract-test-key"
AUTH = {"Authorization": f"ApiKey-v1 {API_KEY}"}


@pytest.fixture
def mock_app() -> Flask:
    """The correct mock, accepting API_KEY, with an empty store."""
    return create_broken_app(None, API_KEY)


@pytest.fixture
def api_schema(mock_app: Flask) -> schemathesis.BaseSchema:
    """openapi.yaml as the mock serves it, bound to the app through WSGI."""
    config = SchemathesisConfig.from_str(schemathesis_config())
    return schemathesis.openapi.from_wsgi("/openapi.json", mock_app, config=config)


def serve(app: Flask) -> Iterator[str]:
    """Serve an app on a free loopback port until the generator closes; yield its URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)  # port 0: let the OS pick
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def broken_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A broken server (the fault is the test's parameter) on a real port."""
    fault: Fault = request.param
    yield from serve(create_broken_app(fault, API_KEY))
