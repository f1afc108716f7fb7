"""What the journal keeps of a request: the client's headers and body, and what was wrong."""

from __future__ import annotations

from typing import Final

from flask import Response, request

from mock_server.delivery import exchange_of

# Enough to see what a client sent; a journal of 1000 full 1 MiB bodies would not fit memory.
MAX_JOURNAL_BODY: Final = 16 * 1024
# The journal shows which key was sent, not the whole key.
SHOWN_KEY_CHARS: Final = 4


def masked_authorization(value: str) -> str:
    """`ApiKey-v1 secret-key` -> `ApiKey-v1 secr...`."""
    scheme, _, key = value.partition(" ")
    if not key:
        return scheme[:SHOWN_KEY_CHARS] + "..." if len(scheme) > SHOWN_KEY_CHARS else scheme
    shown = key[:SHOWN_KEY_CHARS] + ("..." if len(key) > SHOWN_KEY_CHARS else "")
    return f"{scheme} {shown}"


def _request_body() -> str | None:
    length = request.content_length
    limit = request.max_content_length
    if not length or (limit is not None and length > limit):
        return None  # nothing sent, or never read (413)
    raw = request.get_data(cache=True)
    text = raw[:MAX_JOURNAL_BODY].decode("utf-8", errors="replace")
    return text + ("..." if len(raw) > MAX_JOURNAL_BODY else "")


def record_exchange(response: Response) -> Response:
    """Copy the request and the problems an error answer names into the exchange."""
    exchange = exchange_of(request.environ)
    exchange.request_headers = {
        name: masked_authorization(value) if name.lower() == "authorization" else value
        for name, value in request.headers.items()
    }
    exchange.request_body = _request_body()
    if response.status_code >= 400 and response.is_json:
        document = response.get_json(silent=True)
        errors = document.get("errors", []) if isinstance(document, dict) else []
        for item in errors if isinstance(errors, list) else []:
            if isinstance(item, dict):
                source = item.get("source") or {}
                where = source.get("pointer", source.get("parameter", ""))
                exchange.problems.append(f"{where}: {item.get('details') or item.get('title')}")
    return response
