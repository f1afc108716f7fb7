"""Every error answered as JSON `ErrorResponse`, never as HTML: the Flask side of `as_api_error`."""

from __future__ import annotations

from http import HTTPStatus

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from mock_server.core.errors import ApiError, ErrorItem, as_api_error
from mock_server.http.exchange import json_answer
from mock_server.wire.codec import dumps_json

# Where the problem of a request that werkzeug refused lies, by status: a parameter or header
# it names, else the body (pointer "").
_HTTP_ERROR_SOURCES: dict[int, str] = {
    404: "path",
    405: "method",
    411: "Content-Length",
    413: "Content-Length",
    414: "path",
    431: "headers",
    505: "HTTP-version",
}


def http_error(exc: HTTPException) -> ApiError:
    """The ApiError of a request that routing or werkzeug refused (unknown path, 405, 413...)."""
    status = exc.code or 500
    title = exc.name
    details = exc.description or title
    parameter = _HTTP_ERROR_SOURCES.get(status)
    item = (
        ErrorItem(title, details, parameter=parameter)
        if parameter is not None
        else ErrorItem(title, details, pointer="")
    )
    return ApiError(status, title, [item])


def protocol_error_body(status: int, details: str) -> bytes:
    """The ErrorResponse, as bytes, of a request the HTTP server refused before the app saw it
    (a request line it cannot read, a path or header block too long, HTTP/2 and later)."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Bad Request"
    parameter = _HTTP_ERROR_SOURCES.get(status, "request-line")
    error = ApiError(status, title, [ErrorItem(title, details, parameter=parameter)])
    return dumps_json(error.to_body())


def register_error_handlers(app: Flask) -> None:
    """Answer every error as JSON `ErrorResponse`, never as HTML."""

    def handle(exc: Exception) -> Response:
        error = http_error(exc) if isinstance(exc, HTTPException) else as_api_error(exc)
        response = json_answer(error.to_body(), error.status)
        if error.status == 405 and isinstance(exc, HTTPException):
            allowed = exc.get_headers()
            response.headers.extend(h for h in allowed if h[0] == "Allow")
        return response

    app.register_error_handler(Exception, handle)
