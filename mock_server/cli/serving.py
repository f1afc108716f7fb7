"""Running the app: one threaded process (werkzeug) or many worker processes (gunicorn).

Both stop the same way on SIGTERM: no new connections, in-flight requests answered, then exit.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication
from werkzeug.serving import WSGIRequestHandler, make_server

from mock_server.cli.gunicorn_worker import JsonErrorThreadWorker
from mock_server.http.app import create_app
from mock_server.http.errors import protocol_error_body
from mock_server.http.state import state_of
from mock_server.settings import Settings

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# How long a stopping server waits for in-flight requests before it exits anyway.
DRAIN_TIMEOUT = 30.0
# How long a worker keeps an idle client connection open for its next request.
KEEPALIVE_SECONDS = 5
# A connection whose client sends (or reads) nothing for this long is closed, freeing its thread.
CLIENT_SOCKET_TIMEOUT = 30.0

# Called once the server listens: the port it bound and the preloaded integration ids.
OnReady = Callable[[int, list[str]], None]


def host_in_url(host: str) -> str:
    """A host as a URL (and gunicorn's bind) writes it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


class InFlightRequests:
    """WSGI middleware that counts requests until their answer is written."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        self._count = 0
        self._idle = threading.Condition()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        with self._idle:
            self._count += 1
        try:
            body = self.app(environ, start_response)
        except BaseException:
            self._done()
            raise
        return _ClosingBody(body, self._done)

    def _done(self) -> None:
        with self._idle:
            self._count -= 1
            self._idle.notify_all()

    @property
    def count(self) -> int:
        """Requests being answered right now."""
        return self._count

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is in flight; False if `timeout` ran out first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout)


class _ClosingBody:
    """A response body that reports its end once its last byte is written, or when the server
    closes it (or drops it), whichever comes first.

    Not only at close: after an answer werkzeug reads what the client sent meanwhile before it
    closes the body, and a keep-alive client that sends its next request at once keeps it
    reading; the request would count as in flight, and hold up a SIGTERM, for as long.
    """

    def __init__(self, body: Iterable[bytes], on_close: Callable[[], None]) -> None:
        self._body = body
        self._on_close: Callable[[], None] | None = on_close

    def __iter__(self) -> Iterator[bytes]:
        try:
            # The server writes each piece before it asks for the next: past the loop, the
            # last byte is written.
            yield from self._body
        finally:
            self._report()

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._report()

    def _report(self) -> None:
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close()


class _RequestHandler(WSGIRequestHandler):
    """werkzeug's request handler, answering as the mock does, and not waiting forever."""

    # Applied to each connection by socketserver: a silent client frees its thread.
    timeout = CLIENT_SOCKET_TIMEOUT

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The errors http.server finds before the app runs (a request line or header block it
        cannot read, HTTP/2 and later), answered as JSON ErrorResponse instead of HTML."""
        self.log_error("code %d, message %s", code, message)
        # A request line it could not read leaves the request taken for HTTP/0.9, which
        # http.server answers without a status line or headers: answer as HTTP/1.x.
        if self.request_version not in ("HTTP/1.0", "HTTP/1.1"):
            self.request_version = "HTTP/1.0"
        _phrase, description = self.responses.get(code, ("", "The request cannot be read."))
        body = protocol_error_body(code, explain or message or description)
        self.send_response(code)  # the standard phrase: never an echo of the request line
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def serve_threaded(settings: Settings, on_ready: OnReady) -> None:
    """Serve in this process with a thread per connection until SIGTERM or SIGINT."""
    app = create_app(settings)
    tracker = InFlightRequests(app.wsgi_app)
    app.wsgi_app = tracker  # type: ignore[method-assign]
    server = make_server(
        settings.host, settings.port, app, threaded=True, request_handler=_RequestHandler
    )
    stopping = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        if not stopping.is_set():
            stopping.set()
            # shutdown() waits for serve_forever to return: call it from another thread.
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    on_ready(server.server_port, list(state_of(app).preloaded_ids))
    server.serve_forever()
    # No more accepting; answer what is in flight before the socket and the store close.
    tracker.wait_idle(DRAIN_TIMEOUT)
    server.server_close()
    state_of(app).service.store.close()


class _GunicornServer(BaseApplication):  # type: ignore[misc]
    """gunicorn configured in code: each worker builds its own app from the same settings."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> WSGIApplication:
        return create_app(self.settings)


def serve_workers(settings: Settings, on_ready: OnReady) -> None:
    """Serve with `settings.workers` gunicorn processes sharing the store, until SIGTERM or SIGINT.

    gunicorn's threaded workers, `settings.threads` threads each: a sync worker reads a
    request's headers in its only thread with no deadline, so two clients that trickle their
    headers stall every other request; threads hold them apart, and kept-alive connections
    cost less per request than the sync worker's one connection per request. SIGTERM drains
    in-flight requests (gunicorn's graceful stop); SIGINT stops at once.
    """
    # Fill the store once before forking, so the workers start on a preloaded store; the
    # connections of this process must not be inherited by the workers.
    state = state_of(create_app(settings))
    state.service.store.close()

    def when_ready(arbiter: Any) -> None:
        on_ready(arbiter.LISTENERS[0].getsockname()[1], list(state.preloaded_ids))

    options: dict[str, Any] = {
        "bind": f"{host_in_url(settings.host)}:{settings.port}",
        "workers": settings.workers,
        "worker_class": f"{JsonErrorThreadWorker.__module__}.{JsonErrorThreadWorker.__name__}",
        "threads": settings.threads,
        "keepalive": KEEPALIVE_SECONDS,
        # gunicorn's largest: a 5,000-character session id fits; longer is a 414 (as JSON).
        "limit_request_line": 8190,
        "graceful_timeout": int(DRAIN_TIMEOUT),
        "timeout": 120,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "when_ready": when_ready,
    }
    _GunicornServer(settings, options).run()
