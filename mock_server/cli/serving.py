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
from werkzeug.serving import make_server

from mock_server.cli.gunicorn_worker import JsonErrorThreadWorker
from mock_server.http.app import create_app
from mock_server.http.state import state_of
from mock_server.settings import Settings

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# How long a stopping server waits for in-flight requests before it exits anyway.
DRAIN_TIMEOUT = 30.0
# How long a worker keeps an idle client connection open for its next request.
KEEPALIVE_SECONDS = 5

# Called once the server listens: the port it bound and the preloaded integration ids.
OnReady = Callable[[int, list[str]], None]


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
    """A response body that reports its end when the server closes it, after the last byte."""

    def __init__(self, body: Iterable[bytes], on_close: Callable[[], None]) -> None:
        self._body = body
        self._on_close: Callable[[], None] | None = on_close

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            if self._on_close is not None:
                on_close, self._on_close = self._on_close, None
                on_close()


def serve_threaded(settings: Settings, on_ready: OnReady) -> None:
    """Serve in this process with a thread per connection until SIGTERM or SIGINT."""
    app = create_app(settings)
    tracker = InFlightRequests(app.wsgi_app)
    app.wsgi_app = tracker  # type: ignore[method-assign]
    server = make_server(settings.host, settings.port, app, threaded=True)
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
        "bind": f"{settings.host}:{settings.port}",
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
