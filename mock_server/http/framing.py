"""The WSGI step before Flask: a request read as the client sent it, not as the server guessed.

The servers read two things leniently that the mock must read strictly:

- A chunked body (no Content-Length) is cut at `--max-body-bytes` without a word (werkzeug's
  LimitedStream just stops there): the mock would parse and store the first MiB of a larger
  body. This step reads such a body whole, up to one byte past the limit. Over it, the request
  is refused (413); within it, Flask gets the bytes with their Content-Length, as if the client
  had sent one, and the journal shows the body like any other. A chunk size that is not hex
  is refused (400), whichever server de-chunks it.
- A path whose percent-escapes are not UTF-8 (`a%FEb`) is decoded with replacement characters,
  so `a%FEb` and `a%FFb` would name one session. This step reads the raw path, and refuses
  such a path (400) instead.

A refusal travels on the request's Exchange and is raised by the app's first step
(`raise_refusal`), so that it is answered, journaled and logged like any other error.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote_to_bytes, urlsplit

from flask import request

from mock_server.core.errors import ApiError, ErrorItem
from mock_server.http.exchange import exchange_of

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

SESSION_PATH_PREFIX: Final = "/v2/customer_sessions/"
_READ_SIZE: Final = 64 * 1024


class StrictFraming:
    """WSGI middleware: chunked bodies read whole (within the limit), raw paths checked."""

    def __init__(self, app: WSGIApplication, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        refusal = _undecodable_path(environ) or _read_chunked_body(environ, self.max_body_bytes)
        if refusal is not None:
            exchange_of(environ).refusal = refusal
        return self.app(environ, start_response)


def raise_refusal() -> None:
    """The first step of every request: raise what the framing step refused, if anything."""
    refusal = exchange_of(request.environ).refusal
    if refusal is not None:
        raise refusal


def _undecodable_path(environ: WSGIEnvironment) -> ApiError | None:
    """A 400 for a path whose percent-escapes do not decode as UTF-8, else None."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    if "%" not in raw or not raw.isascii():
        # Without escapes the server reads every byte as it is; raw bytes beyond ASCII (not
        # escaped) are each read as one character, so no two ids fold into one either.
        return None
    raw_path = raw.split("?", 1)[0] if raw.startswith("/") else urlsplit(raw).path
    try:
        unquote_to_bytes(raw_path).decode("utf-8")
    except UnicodeDecodeError as exc:
        path = str(environ.get("PATH_INFO", ""))
        parameter = "customerSessionId" if path.startswith(SESSION_PATH_PREFIX) else "path"
        return ApiError.bad_request(
            "Invalid path",
            [
                ErrorItem(
                    "Invalid path",
                    f"The path's percent-escapes are not UTF-8 ({exc.reason} at byte "
                    f"{exc.start}); ids are UTF-8 text.",
                    parameter=parameter,
                )
            ],
        )
    return None


def _read_chunked_body(environ: WSGIEnvironment, limit: int) -> ApiError | None:
    """Read a chunked body whole into the environ; a 413 past `limit`, a 400 if malformed."""
    # Chunked wins over a Content-Length sent beside it (RFC 9112), as werkzeug reads it: the
    # length must not hide a chunked body from this step. An unterminated input is no body.
    if not environ.get("wsgi.input_terminated"):
        return None
    if "chunked" not in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower():
        return None
    stream = environ["wsgi.input"]
    parts: list[bytes] = []
    size = 0
    try:
        while size <= limit:
            part = stream.read(min(_READ_SIZE, limit + 1 - size))
            if not part:
                break
            parts.append(part)
            size += len(part)
    except Exception:  # whatever the server's de-chunking raises: the framing is at fault
        return ApiError.bad_request(
            "Malformed chunked body",
            [
                ErrorItem(
                    "Malformed body",
                    "The body's chunked transfer coding is malformed (a chunk size must be "
                    "hexadecimal, each chunk followed by CRLF).",
                    parameter="Transfer-Encoding",
                )
            ],
        )
    # From here on the body is an ordinary one of known length; Flask (and the journal) read it
    # as such. A Transfer-Encoding beside a Content-Length would make werkzeug ignore the length.
    environ["wsgi.input"] = io.BytesIO(b"".join(parts))
    environ["CONTENT_LENGTH"] = str(size)
    del environ["HTTP_TRANSFER_ENCODING"]
    if size > limit:
        return ApiError(
            413,
            "Request Entity Too Large",
            [
                ErrorItem(
                    "Request Entity Too Large",
                    f"The chunked body is larger than the limit of {limit} bytes.",
                    pointer="",
                )
            ],
        )
    return None
