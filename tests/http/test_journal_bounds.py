"""What the journal keeps of a request: bounded whatever was sent, and no credential in full."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from mock_server.http.journal import (
    MAX_JOURNAL_HEADERS,
    MAX_JOURNAL_PROBLEMS,
    fitted,
    header_fields,
    masked_authorization,
    masked_secret,
    printable,
)
from tests.conftest import AUTH, session_url


@pytest.mark.parametrize(
    ("value", "shown"),
    [("test-key", "test..."), ("abcd", "ab..."), ("a", "..."), ("", "...")],
)
def test_a_secret_shows_at_most_half_of_itself(value: str, shown: str) -> None:
    assert masked_secret(value) == shown


def test_a_short_key_is_not_shown_in_full() -> None:
    assert masked_authorization("ApiKey-v1 k3y") == "ApiKey-v1 k..."


def test_secret_looking_headers_are_masked() -> None:
    fields, omitted = header_fields(
        {
            "HTTP_X_ADMIN_TOKEN": "admin-secret-0123456789",
            "HTTP_COOKIE": "sid=cookie-secret",
            "HTTP_PROXY_AUTHORIZATION": "Basic proxy-secret",
            "HTTP_X_API_KEY": "key-secret",
            "HTTP_PREFER": "code=404",
        }
    )
    assert omitted == 0
    assert fields == {
        "HTTP_X_ADMIN_TOKEN": "admi...",
        "HTTP_COOKIE": "sid=...",
        "HTTP_PROXY_AUTHORIZATION": "Basic prox...",
        "HTTP_X_API_KEY": "key-...",
        "HTTP_PREFER": "code=404",
    }


def test_a_huge_header_block_is_cut_and_counted() -> None:
    environ = {f"HTTP_X_PAD_{n}": "v" * 60_000 for n in range(95)}
    fields, omitted = header_fields(environ)
    assert sum(len(name) + len(value) for name, value in fields.items()) <= MAX_JOURNAL_HEADERS
    assert omitted == 95 - len(fields) and fields


@pytest.mark.parametrize("text", ["a" * 100_000, "\x01" * 100_000, "é" * 100_000, '"' * 9])
def test_a_fitted_text_fits_as_json(text: str) -> None:
    shown = fitted(text, 1000)
    assert len(json.dumps(shown)) - 2 <= 1000
    assert text.startswith(shown.removesuffix("...")) and (shown == text or shown[-3:] == "...")


def test_the_journal_keeps_the_first_problems_of_an_answer(client: FlaskClient) -> None:
    body = {"customerSession": {}, "responseContent": [0] * 1000}
    assert client.put(session_url("many"), json=body, headers=AUTH).status_code == 400
    entry = client.get("/__admin/requests?sessionId=many").get_json()["requests"][0]
    problems = entry["validationErrors"]
    assert len(problems) == MAX_JOURNAL_PROBLEMS + 1
    assert problems[-1] == "... and 81 more (the answer lists them)"


def test_a_text_log_line_stays_one_line() -> None:
    assert printable("a\nb\r\x1b[31m\\x0a\x85") == "a\\x0ab\\x0d\\x1b[31m\\x5cx0a\\x85"
