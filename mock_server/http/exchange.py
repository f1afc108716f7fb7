"""The one typed object a request carries through the mock: what was decided and answered.

It lives in the WSGI environ, so the Flask steps (pipeline, views, error handlers) and the
WSGI steps around them (delivery) read and write the same object.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Request, Response, request

from mock_server.core.errors import ApiError
from mock_server.http.journal import Problem
from mock_server.play.scenario import NO_SCENARIO, Scenario
from mock_server.wire.codec import dumps_json
from mock_server.wire.documents import UNPARSED

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

ENVIRON_KEY = "mock_server.exchange"
logger = logging.getLogger("mock_server")


@dataclass(slots=True)
class Exchange:
    """One request: what the pipeline decided, what was answered, what delivery must do."""

    # What the WSGI framing step refused (a chunked body over the limit, an undecodable path).
    refusal: ApiError | None = None
    # Request side, filled by the pipeline in this order.
    session_id: str | None = None
    scenario: Scenario = NO_SCENARIO
    # What shaped the answer, as the journal shows it: "code=404", "error-rate=0.1".
    played: str | None = None
    delay_ms: float = 0.0
    fault: str | None = None
    application_id: int | None = None
    body: Any = UNPARSED  # the request body as parsed JSON, once parsed
    scenario_answered: bool = False
    # The answer: the response and the document it was serialised from.
    response: Response | None = None
    document: Any = UNPARSED
    # Response side, for the journal and the access log.
    problems: list[Problem] = field(default_factory=list)
    request_headers: dict[str, str] = field(default_factory=dict)
    request_headers_omitted: int = 0
    request_body: bytes | None = None
    request_body_size: int = 0
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes | None = None
    response_body_size: int = 0
    # Run when the answer goes to the server (or the connection breaks), after any delay:
    # e.g. release an in-flight mark. Not later, when the server closes the answer: a client
    # that has read the answer may already send its next request by then.
    on_answered: list[Callable[[], None]] = field(default_factory=list)

    def answered(self) -> None:
        """Run and forget the `on_answered` callbacks; one that fails is logged, and the rest
        still run: the answer is made, and goes out as it is."""
        callbacks, self.on_answered = self.on_answered, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                logger.exception("a step after the answer failed")

    def document_of(self, response: Response) -> Any:
        """The document `response` was serialised from, or UNPARSED when it is not known."""
        return self.document if response is self.response else UNPARSED


def exchange_of(environ: WSGIEnvironment) -> Exchange:
    """The exchange of a request, created on first use."""
    exchange = environ.get(ENVIRON_KEY)
    if not isinstance(exchange, Exchange):
        exchange = Exchange()
        environ[ENVIRON_KEY] = exchange
    return exchange


def current_request() -> Request:
    """The request being handled: the object behind Flask's `request` proxy.

    Each read through the proxy costs a lookup; hot steps read the object once.
    """
    current: Request = request._get_current_object()  # type: ignore[attr-defined]
    return current


def current_exchange() -> Exchange:
    """The exchange of the request being handled."""
    return exchange_of(request.environ)


def json_answer(document: object, status: int = 200) -> Response:
    """An `application/json` answer of `document`, kept as this request's answer.

    Serialised once; the response side validates the document it came from instead of
    parsing the bytes back.
    """
    response = Response(dumps_json(document), status=status, mimetype="application/json")
    exchange = current_exchange()
    exchange.response, exchange.document = response, document
    return response
