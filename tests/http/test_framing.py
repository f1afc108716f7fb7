"""The framing step: chunked bodies read whole within the limit, raw paths read as UTF-8."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder, run_wsgi_app

from mock_server import Settings, create_app
from tests.conftest import API_KEY, APPLICATION_ID, AUTH, session_url

LIMIT = 4096


@pytest.fixture
def small_app() -> Flask:
    settings = Settings(
        store_url="memory://", api_keys={API_KEY: APPLICATION_ID}, preload=0, max_body_bytes=LIMIT
    )
    return create_app(settings)


class BrokenChunks(io.RawIOBase):
    """A server's de-chunking input that meets a chunk size that is not hex."""

    def readable(self) -> bool:
        return True

    def readinto(self, _buffer: Any) -> int:
        raise OSError("Invalid chunk header")


def chunked_put(
    app: Flask, integration_id: str, stream: Any, content_length: str | None = None
) -> tuple[int, dict[str, Any]]:
    """A PUT as a server hands over a chunked body: the input terminated, no Content-Length
    unless the client sent one beside it."""
    environ = EnvironBuilder(
        path=session_url(integration_id),
        method="PUT",
        headers={**AUTH, "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    ).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    if content_length is not None:
        environ["CONTENT_LENGTH"] = content_length
    environ.update({"wsgi.input": stream, "wsgi.input_terminated": True})
    body, status, _headers = run_wsgi_app(app.wsgi_app, environ, buffered=True)
    return int(status.split()[0]), json.loads(b"".join(body))


def padded(size: int) -> bytes:
    document = json.dumps({"customerSession": {"profileId": "chunky"}}).encode()
    return document + b" " * (size - len(document))


def test_a_chunked_body_within_the_limit_is_applied_and_journaled(small_app: Flask) -> None:
    status, _ = chunked_put(small_app, "c-1", io.BytesIO(padded(LIMIT)))
    assert status == 200
    client = small_app.test_client()
    entry = client.get("/__admin/requests?sessionId=c-1").get_json()["requests"][0]
    assert entry["request"]["body"].rstrip() == '{"customerSession": {"profileId": "chunky"}}'


def test_a_chunked_body_over_the_limit_is_refused_whole(small_app: Flask) -> None:
    status, document = chunked_put(small_app, "c-2", io.BytesIO(padded(LIMIT + 1)))
    assert status == 413 and document["errors"][0]["source"] == {"pointer": ""}
    assert small_app.test_client().get("/__admin/sessions/c-2").status_code == 404


def test_a_content_length_beside_chunks_does_not_hide_them(small_app: Flask) -> None:
    status, _ = chunked_put(small_app, "c-4", io.BytesIO(padded(LIMIT + 1)), content_length="2")
    assert status == 413


def test_malformed_chunks_are_a_400(small_app: Flask) -> None:
    status, document = chunked_put(small_app, "c-3", BrokenChunks())
    assert status == 400
    assert document["errors"][0]["source"] == {"parameter": "Transfer-Encoding"}


@pytest.mark.parametrize("raw", ["a%FEb", "a%FFb", "a%C3"])
def test_an_id_whose_escapes_are_not_utf8_is_a_400(client: FlaskClient, raw: str) -> None:
    path = session_url(raw)
    answer = client.get(path, headers=AUTH, environ_base={"RAW_URI": path})
    assert answer.status_code == 400
    assert answer.get_json()["errors"][0]["source"] == {"parameter": "customerSessionId"}


def test_an_id_of_utf8_escapes_is_read(client: FlaskClient) -> None:
    path = session_url("caf%C3%A9")
    answer = client.put(
        path, json={"customerSession": {}}, headers=AUTH, environ_base={"RAW_URI": path}
    )
    assert answer.status_code == 200
    assert client.get("/__admin/sessions/café").status_code == 200
