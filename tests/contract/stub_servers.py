"""Servers the harness's own tests run against, each on a real port.

- `UnusualServer`: an independent, correct implementation of the contract that answers data the
  mock never does (amounts up to 1e300, 20-digit ids, offsets and nanoseconds in timestamps,
  -0.0 totals, undeclared extra fields, Unicode and 1,000-character ids). It must pass.
- `ScriptedServer`: answers whatever the test queued (schema-generated documents), for the
  property tests of the checks.
- `StallingServer`: accepts connections and answers nothing (or a byte at a time), for the
  time bounds.

They share no code with mock_server: a correct server written twice is the better proof.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Context, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jsonschema
import yaml
from werkzeug.wrappers import Request, Response

from contract_tests.runner import serve_app

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
PREFIX = "/v2/customer_sessions/"
API_KEY = "stub-key"
AUTH = {"Authorization": f"ApiKey-v1 {API_KEY}"}
TRANSITIONS = {"open": {"closed", "cancelled"}, "closed": {"cancelled"}, "cancelled": set()}
EXACT = Context(prec=80)
IST = timezone(timedelta(hours=5, minutes=30))


def spec_document() -> dict[str, Any]:
    """openapi.yaml, parsed."""
    document: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return document


def component_schema(name: str) -> dict[str, Any]:
    """A component schema with the components it refers to, as one JSON Schema document."""
    return {"$ref": f"#/components/schemas/{name}", "components": spec_document()["components"]}


def error(status: int, title: str, message: str, **source: str) -> Response:
    """An ErrorResponse."""
    body = {"message": message, "errors": [{"title": title, "details": message, "source": source}]}
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_pointer(path: Iterable[Any]) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


@dataclass
class UnusualServer:
    """A correct server with unusual but valid answers (see the module docstring)."""

    api_key: str = API_KEY
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    first_of_profile: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(10**19 + 7))
    _last: datetime = field(default_factory=lambda: datetime(2026, 12, 1, tzinfo=UTC))

    def __post_init__(self) -> None:
        self._validator = jsonschema.Draft4Validator(component_schema("IntegrationRequest"))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.answer(Request(environ))(environ, start_response)

    def _now(self) -> str:
        # Strictly increasing, in India's offset, with nanoseconds (RFC 3339 allows both).
        moment = max(datetime.now(UTC), self._last + timedelta(microseconds=1))
        self._last = moment
        return moment.astimezone(IST).strftime("%Y-%m-%dT%H:%M:%S.%f") + "789+05:30"

    def answer(self, request: Request) -> Response:
        raw = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI") or request.path
        path = urlsplit(raw).path
        if not path.startswith(PREFIX) or len(path) == len(PREFIX):
            return error(404, "Not found", "No such resource")
        if request.method not in ("GET", "HEAD", "PUT", "OPTIONS"):
            response = error(405, "Method not allowed", f"{request.method} is not allowed")
            response.headers["Allow"] = "GET, HEAD, PUT, OPTIONS"
            return response
        if request.method == "OPTIONS":
            return Response(status=204, headers={"Allow": "GET, HEAD, PUT, OPTIONS"})
        if request.headers.get("Authorization") != f"ApiKey-v1 {self.api_key}":
            return error(
                401, "Unauthorized", "Invalid or missing API key", parameter="Authorization"
            )
        session_id = unquote(path[len(PREFIX) :])
        if len(session_id) > 1000:
            return error(
                400, "Invalid path parameter", "id too long", parameter="customerSessionId"
            )
        with self._lock:
            if request.method in ("GET", "HEAD"):
                response = self._get(session_id)
                if request.method == "HEAD":
                    response.set_data(b"")
                return response
            return self._put(request, session_id)

    def _get(self, session_id: str) -> Response:
        session = self.sessions.get(session_id)
        if session is None:
            return error(404, "Not found", "No such session", parameter="customerSessionId")
        return self._json({"customerSession": session, "effects": []})

    def _json(self, document: Any) -> Response:
        text = json.dumps(document, ensure_ascii=False, allow_nan=False)
        return Response(text.encode(), mimetype="application/json")

    def _put(self, request: Request, session_id: str) -> Response:
        dry_values = parse_qs(urlsplit(request.url).query, keep_blank_values=True).get("dry", [])
        if any(value not in ("true", "false") for value in dry_values):
            return error(400, "Invalid query parameter", "dry is true or false", parameter="dry")
        dry = "true" in dry_values
        if request.mimetype != "application/json":
            return error(400, "Unsupported content type", "JSON only", parameter="Content-Type")
        try:
            body = json.loads(request.get_data(), parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            return error(400, "Invalid JSON", "The body is not JSON", pointer="")
        problem = next(iter(self._validator.iter_errors(body)), None)
        if problem is not None:
            pointer = _json_pointer(problem.absolute_path)
            return error(400, "Invalid value", problem.message[:300], pointer=pointer)
        update: dict[str, Any] = body["customerSession"]
        existing = self.sessions.get(session_id)
        session = dict(existing) if existing else self._new(session_id)
        state = session["state"]
        requested = update.get("state", state)
        if requested != state and requested not in TRANSITIONS[state]:
            return error(
                400,
                "Invalid state transition",
                f"{state} -> {requested}",
                pointer="/customerSession/state",
            )
        if state != "open":
            for name in ("cartItems", "additionalCosts"):
                if name in update and self._cart_value(name, update[name]) != self._cart_value(
                    name, session.get(name)
                ):
                    return error(
                        400,
                        "Cart is final",
                        f"the session is {state}",
                        pointer=f"/customerSession/{name}",
                    )
        for name in (
            "profileId",
            "couponCodes",
            "referralCode",
            "identifiers",
            "attributes",
            "additionalCosts",
        ):
            if name in update:
                session[name] = update[name]
        if "cartItems" in update:
            session["cartItems"] = [
                {**item, "position": position} for position, item in enumerate(update["cartItems"])
            ]
        session["state"] = requested
        if existing is None or "profileId" in update:
            profile = session["profileId"]
            first = self.first_of_profile.get(profile, session_id)
            session["firstSession"] = profile == "" or first == session_id
        totals = self._totals(session)
        if totals is None:
            return error(
                400, "Amount out of range", "a total is beyond a double", pointer="/customerSession"
            )
        session.update(totals)
        session["updated"] = self._now() if existing else session["created"]
        if not dry:
            if session["profileId"] and session["firstSession"]:
                self.first_of_profile.setdefault(session["profileId"], session_id)
            self.sessions[session_id] = session
        state_document: dict[str, Any] = {
            "effects": [],
            "createdCoupons": [],
            "createdReferrals": [],
        }
        if "customerSession" in body.get("responseContent", []):
            state_document["customerSession"] = session
        return self._json(state_document)

    def _new(self, session_id: str) -> dict[str, Any]:
        return {
            "id": next(self._ids),  # 20 digits
            "integrationId": session_id,
            "created": self._now(),
            "applicationId": 12345678901234567890,
            "profileId": "",
            "state": "open",
            "cartItems": [],
            "attributes": {},
            "firstSession": True,
            # Fields of later API versions: a client must ignore what it does not know.
            "storeIntegrationId": None,
            "evaluableCampaignIds": [],
        }

    @staticmethod
    def _cart_value(name: str, value: Any) -> Any:
        if name == "cartItems" and isinstance(value, list):
            return [{k: v for k, v in item.items() if k != "position"} for item in value]
        return value or ({} if name == "additionalCosts" else [])

    @staticmethod
    def _totals(session: dict[str, Any]) -> dict[str, float] | None:
        cart = sum(
            (
                EXACT.multiply(Decimal(repr(item["price"])), Decimal(item["quantity"]))
                for item in session.get("cartItems", [])
            ),
            Decimal(0),
        )
        costs = sum(
            (
                Decimal(repr(cost["price"]))
                for cost in (session.get("additionalCosts") or {}).values()
            ),
            Decimal(0),
        )
        totals = {
            "cartItemTotal": cart,
            "additionalCostTotal": costs,
            "total": EXACT.add(cart, costs),
        }
        answer = {}
        for name, value in totals.items():
            number = float(value)
            if number != number or number in (float("inf"), float("-inf")):
                return None
            answer[name] = -0.0 if number == 0 else number  # a zero with a sign, still zero
        return answer


Scripted = tuple[int, str, bytes]  # status, Content-Type, body


@dataclass
class ScriptedServer:
    """Answers what the test says: `current` to every request, or the `cycle` in turn."""

    current: Scripted = (404, "application/json", b'{"message": "nothing scripted"}')
    cycle: list[Scripted] | None = None
    served: int = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        answer = self.current
        if self.cycle:
            answer = self.cycle[self.served % len(self.cycle)]
        self.served += 1
        status, content_type, raw = answer
        return Response(raw, status=status, content_type=content_type)(environ, start_response)


class StallingServer:
    """A socket that accepts connections and then answers nothing, or one byte every second."""

    def __init__(self, *, trickle: bool = False) -> None:
        self.trickle = trickle
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._hold, args=(connection,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _hold(self, connection: socket.socket) -> None:
        with connection:
            if self.trickle:
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 100000\r\n\r\n"
                )
            while not self._stop.wait(0.5):
                if self.trickle:
                    try:
                        connection.sendall(b" ")
                    except OSError:
                        return

    def __enter__(self) -> StallingServer:
        thread = threading.Thread(target=self._serve, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._socket.close()


@contextmanager
def serving(app: Callable[..., Any]) -> Iterator[str]:
    """Serve a WSGI app on a free port; yield its base URL."""
    with serve_app(app) as url:  # type: ignore[arg-type]
        yield url


def free_port_url() -> str:
    """The URL of a loopback port nothing listens on (bound, then released)."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll a condition until it holds or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
