"""Small upstreams for what the broken mock cannot show: echoes, rewrites, odd but valid data."""

from __future__ import annotations

import contextlib
import gzip
import http.server
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, request
from werkzeug.wsgi import get_input_stream

from mock_server import Settings, create_app

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

from tests.proxy.conftest import API_KEY


class EchoApp:
    """Answers with what it received; remembers every request and the connections used."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.ports: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        body = get_input_stream(environ).read()
        seen = {
            "method": environ["REQUEST_METHOD"],
            "target": environ.get("RAW_URI") or environ.get("REQUEST_URI"),
            "headers": sorted(
                (key[5:].replace("_", "-").title(), value)
                for key, value in environ.items()
                if key.startswith("HTTP_")
            )
            + [
                (name, environ[key])
                for key, name in (
                    ("CONTENT_TYPE", "Content-Type"),
                    ("CONTENT_LENGTH", "Content-Length"),
                )
                if environ.get(key)
            ],
            "bodyLength": len(body),
        }
        with self._lock:
            self.received.append({**seen, "body": body})
            self.ports.add(str(environ.get("REMOTE_PORT")))
        status = environ.get("QUERY_STRING", "").partition("status=")[2][:3] or "299"
        data = json.dumps(seen).encode()
        start_response(
            f"{status} Custom Reason",
            [
                ("Content-Type", "application/vnd.echo+json; charset=utf-8"),
                ("Content-Length", str(len(data))),
                ("Set-Cookie", "a=1; Path=/"),
                ("Set-Cookie", "b=2; Path=/"),
                ("X-Upstream-Header", "caf\xe9 \xbd"),  # latin-1 bytes on the wire
                ("Cache-Control", "no-store"),
            ],
        )
        return [data]


def rewriting_mock(rewrite: Callable[[Response], None]) -> Flask:
    """The correct mock, each answer changed by `rewrite` after the mock made it."""
    # Answers unchecked by the mock itself: the rewrite would turn them into its 500s.
    app = create_app(
        Settings(api_keys={API_KEY: 1}, preload=0, validate_responses=False, store_url="memory://")
    )

    def after(response: Response) -> Response:
        if request.path.startswith("/v2/"):
            rewrite(response)
        return response

    app.after_request(after)
    return app


def as_text_plain(response: Response) -> None:
    """Wrong content type: the JSON document labelled text/plain."""
    response.headers["Content-Type"] = "text/plain"


def bad_state_enum(response: Response) -> None:
    """A state that is none of open, closed, cancelled."""
    document = response.get_json(silent=True)
    if isinstance(document, dict) and isinstance(document.get("customerSession"), dict):
        document["customerSession"]["state"] = "pending"
        response.set_data(json.dumps(document))


def without_effects(response: Response) -> None:
    """A 200 answer without its required `effects` array."""
    document = response.get_json(silent=True)
    if response.status_code == 200 and isinstance(document, dict):
        document.pop("effects", None)
        response.set_data(json.dumps(document))


def gzipped(response: Response) -> None:
    """Every answer gzip-encoded, as many real servers send them."""
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response.direct_passthrough = False
        response.set_data(gzip.compress(response.get_data()))
        response.headers["Content-Encoding"] = "gzip"


def unusual_session(session_id: str, profile_id: str = "") -> dict[str, Any]:
    """A session no ordinary cart makes, but valid: 1e300 prices, long ids, plain Unicode."""
    price = 1e300
    return {
        "id": 7,
        "integrationId": session_id,
        "created": "2026-01-01T00:00:00.000000Z",
        "updated": "2026-01-01T00:00:00.000000Z",
        "applicationId": 1,
        "profileId": profile_id,
        "couponCodes": [],
        "referralCode": "",
        "state": "open",
        "cartItems": [
            {"name": "Ölgemälde ✓", "sku": "x" * 1000, "quantity": 1, "price": price, "position": 0}
        ],
        "additionalCosts": {},
        "identifiers": [],
        "attributes": {"note": "日本語"},
        "firstSession": True,
        "total": price,
        "cartItemTotal": price,
        "additionalCostTotal": 0,
    }


def unusual_app() -> Flask:
    """Answers every GET and PUT with a valid but unusual session of the path's id."""
    app = Flask(__name__)

    @app.route("/v2/customer_sessions/<path:session_id>", methods=["GET", "PUT"])
    def session(session_id: str) -> Response:
        document: dict[str, Any] = {"customerSession": unusual_session(session_id), "effects": []}
        if request.method == "PUT":
            document.update(createdCoupons=[], createdReferrals=[])
        return Response(json.dumps(document), mimetype="application/json")

    return app


def slow_app(seconds: float) -> Flask:
    """Answers after `seconds`."""
    app = Flask(__name__)

    @app.route("/<path:anything>", methods=["GET", "PUT"])
    def slow(anything: str) -> Response:
        time.sleep(seconds)
        return Response("{}", mimetype="application/json")

    return app


def status_app(status: int) -> Flask:
    """Answers every request with `status` and a small JSON body."""
    app = Flask(__name__)

    @app.route("/<path:anything>", methods=["GET", "PUT"])
    def answer(anything: str) -> Response:
        return Response('{"message": "not here"}', status=status, mimetype="application/json")

    return app


class BigAnswerApp:
    """Answers every request with a JSON body of `size` bytes, sent in pieces."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.received_bytes = 0

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        stream = get_input_stream(environ)
        while chunk := stream.read(65536):
            self.received_bytes += len(chunk)
        filler = b"x" * (self.size - 2)
        start_response("200 OK", [("Content-Type", "application/json"), ("X-Size", str(self.size))])
        return [b'"', filler[: len(filler) // 2], filler[len(filler) // 2 :], b'"']


class _KeepAliveHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep connections open, unlike werkzeug's dev server
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        data = json.dumps({"port": self.client_address[1]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        ports: set[int] = self.server.ports  # type: ignore[attr-defined]
        ports.add(self.client_address[1])

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        pass


@contextlib.contextmanager
def keep_alive_server() -> Iterator[tuple[str, set[int]]]:
    """A server that keeps connections alive; yields its URL and the client ports it saw."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _KeepAliveHandler)
    server.daemon_threads = True
    ports: set[int] = set()
    server.ports = ports  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", ports
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
