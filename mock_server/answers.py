"""JSON answers serialised once, keeping the document they came from for response validation.

Validating the document an answer was serialised from spares parsing the answer back; the
bytes are made from that document right here. (orjson writes a non-finite float as null; no
request body can bring one in, as both JSON parsers refuse them.)
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from flask import Response, g

from mock_server.validation import UNPARSED


def serialise(document: object) -> bytes:
    """Compact JSON, keys in the order the document has them."""
    try:
        return orjson.dumps(document)  # several times faster than json.dumps
    except TypeError:  # integers beyond 64 bits, which a client may send in attributes
        return json.dumps(document, separators=(",", ":")).encode()


def json_answer(document: object, status: int = 200) -> Response:
    """An `application/json` answer of `document`, remembered as this request's answer."""
    response = Response(serialise(document), status=status, mimetype="application/json")
    g.answer = (response, document)
    return response


def document_of(response: Response) -> Any:
    """The document `response` was serialised from, or UNPARSED when it is not known."""
    answer = g.get("answer")
    if answer is not None and answer[0] is response:
        return answer[1]
    return UNPARSED
