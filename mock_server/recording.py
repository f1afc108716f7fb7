"""What the journal keeps of a request: the client's headers and body, the answer, the problems."""

from __future__ import annotations

from flask import Response, request

from mock_server.answers import document_of
from mock_server.delivery import UNJOURNALED_PREFIX, exchange_of
from mock_server.journal import MAX_JOURNAL_BODY, Problem, header_fields
from mock_server.validation import UNPARSED


def record_exchange(response: Response) -> Response:
    """Copy the request, the answer and the problems an error answer names into the exchange."""
    current = request._get_current_object()  # type: ignore[attr-defined]
    if current.path.startswith(UNJOURNALED_PREFIX):
        return response  # the journal does not keep the admin API's own requests
    exchange = exchange_of(current.environ)
    exchange.request_headers = header_fields(current.environ)
    length = current.content_length
    limit = current.max_content_length
    if length and (limit is None or length <= limit):  # else nothing sent, or never read (413)
        raw = current.get_data(cache=True)
        exchange.request_body, exchange.request_body_size = raw[:MAX_JOURNAL_BODY], len(raw)
    exchange.response_headers = list(response.headers.items())
    if not response.is_streamed:  # every answer of the mock is bytes in memory
        answer = response.get_data()
        exchange.response_body, exchange.response_body_size = answer[:MAX_JOURNAL_BODY], len(answer)
    if response.status_code >= 400 and response.is_json:
        document = document_of(response)
        if document is UNPARSED:
            document = response.get_json(silent=True)
        errors = document.get("errors", []) if isinstance(document, dict) else []
        for item in errors if isinstance(errors, list) else []:
            if isinstance(item, dict):
                exchange.problems.append(_problem(item))
    return response


def _problem(item: dict[str, object]) -> Problem:
    source = item.get("source")
    source = source if isinstance(source, dict) else {}
    pointer, parameter = source.get("pointer"), source.get("parameter")
    return Problem(
        message=str(item.get("details") or item.get("title")),
        pointer=pointer if isinstance(pointer, str) else None,
        parameter=parameter if isinstance(parameter, str) else None,
    )
