"""JSON answers serialised once, keeping the document they came from for response validation.

Validating the document an answer was serialised from spares parsing the answer back; the
bytes are made from that document right here. (orjson writes a non-finite float as null; no
request body can bring one in, as both JSON parsers refuse them.)
"""

from __future__ import annotations

from typing import Any

from flask import Response, g

from mock_server.validation import UNPARSED
from mock_server.wire import dumps_json


def json_answer(document: object, status: int = 200) -> Response:
    """An `application/json` answer of `document`, remembered as this request's answer."""
    response = Response(dumps_json(document), status=status, mimetype="application/json")
    g.answer = (response, document)
    return response


def document_of(response: Response) -> Any:
    """The document `response` was serialised from, or UNPARSED when it is not known."""
    answer = g.get("answer")
    if answer is not None and answer[0] is response:
        return answer[1]
    return UNPARSED
