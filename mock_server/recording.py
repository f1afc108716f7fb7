"""What the journal keeps of a request: the client's headers and body, and what was wrong."""

from __future__ import annotations

from flask import Response, request

from mock_server.answers import document_of
from mock_server.delivery import exchange_of
from mock_server.journal import MAX_JOURNAL_BODY, header_fields
from mock_server.validation import UNPARSED


def record_exchange(response: Response) -> Response:
    """Copy the request and the problems an error answer names into the exchange."""
    current = request._get_current_object()  # type: ignore[attr-defined]
    exchange = exchange_of(current.environ)
    exchange.request_headers = header_fields(current.environ)
    length = current.content_length
    limit = current.max_content_length
    if length and (limit is None or length <= limit):  # else nothing sent, or never read (413)
        raw = current.get_data(cache=True)
        exchange.request_body, exchange.request_body_size = raw[:MAX_JOURNAL_BODY], len(raw)
    if response.status_code >= 400 and response.is_json:
        document = document_of(response)
        if document is UNPARSED:
            document = response.get_json(silent=True)
        errors = document.get("errors", []) if isinstance(document, dict) else []
        for item in errors if isinstance(errors, list) else []:
            if isinstance(item, dict):
                source = item.get("source") or {}
                where = source.get("pointer", source.get("parameter", ""))
                exchange.problems.append(f"{where}: {item.get('details') or item.get('title')}")
    return response
