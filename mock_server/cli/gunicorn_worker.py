"""gunicorn's threaded worker, answering the requests gunicorn refuses itself as JSON.

gunicorn parses requests before the app sees them; one it cannot take (a request line over
its limit: 414, too many or too large headers: 431, a malformed line or chunk: 400) it
answers with an HTML page of its own. Clients of this API expect an `ErrorResponse`, so this
worker writes those answers through the same mapping as the app's errors (`http_error`).
"""

from __future__ import annotations

import socket
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker
from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions

from mock_server.http.errors import http_error
from mock_server.wire.codec import dumps_json

# gunicorn's message may quote the refused request line: keep the answer small.
MAX_DETAILS = 300


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """What gunicorn's `util.write_error` writes, as an `ErrorResponse` instead of HTML."""
    details = (mesg or reason)[:MAX_DETAILS]
    exception: type[HTTPException] = default_exceptions.get(status_int, InternalServerError)
    error = http_error(exception(description=details))
    body = dumps_json(error.to_body())
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


class JsonErrorThreadWorker(ThreadWorker):  # type: ignore[misc]
    """The gthread worker, with gunicorn's own error answers in JSON."""

    def init_process(self) -> Any:
        # gunicorn's Worker.handle_error calls util.write_error; in this worker process it
        # writes JSON. Set before serving starts, in the worker only (not the arbiter).
        util.write_error = write_json_error
        return super().init_process()
