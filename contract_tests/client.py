"""A small HTTP client for the workflows: real sockets or a WSGI app, polite, and printable."""

from __future__ import annotations

import json
import shlex
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlencode

import requests

from contract_tests.budget import DEFAULT_REQUEST_TIMEOUT, Budget

if TYPE_CHECKING:
    from flask.testing import FlaskClient

SESSIONS_PATH = "/v2/customer_sessions/"
FILTERED = "[Filtered]"


@dataclass(frozen=True)
class Sent:
    """A request as it went out."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None

    def as_curl(self) -> str:
        """The request as a curl command, with the API key filtered out."""
        parts = ["curl", "-X", self.method]
        for name, value in self.headers.items():
            shown = f"ApiKey-v1 {FILTERED}" if name.lower() == "authorization" else value
            parts += ["-H", f"{name}: {shown}"]
        if self.body is not None:
            parts += ["-d", self.body.decode("utf-8", "replace")]
        parts.append(self.url)
        return " ".join(shlex.quote(part) for part in parts)


@dataclass(frozen=True)
class Answer:
    """A response, with its JSON body parsed when it has one."""

    sent: Sent
    status: int
    content_type: str
    raw: bytes
    json: Any = None

    @property
    def session(self) -> dict[str, Any] | None:
        """The `customerSession` object of the answer, if any."""
        if isinstance(self.json, dict) and isinstance(self.json.get("customerSession"), dict):
            session: dict[str, Any] = self.json["customerSession"]
            return session
        return None


class Transport(Protocol):
    """Sends one request; returns status, Content-Type and body."""

    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, str, bytes]: ...


class RequestTimedOut(requests.Timeout):
    """No complete answer within the request timeout, however slowly the bytes came."""


class RequestsTransport:
    """Over the network, with `requests`; each request ends within `timeout` seconds in all.

    `requests` bounds each socket read, not the whole answer: a server that sends one byte
    every few seconds would never time out. So the body is read as it arrives (urllib3's
    `read1`: what one socket read returns, not a full chunk) and checked against a deadline.
    """

    def __init__(
        self, timeout: float = DEFAULT_REQUEST_TIMEOUT, budget: Budget | None = None
    ) -> None:
        self._session = requests.Session()
        self._timeout = timeout
        self._budget = budget

    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, str, bytes]:
        timeout = self._budget.cap(self._timeout) if self._budget else self._timeout
        deadline = time.monotonic() + timeout
        response = self._session.request(
            method, url, headers=dict(headers), data=body, timeout=timeout, stream=True
        )
        try:
            chunks = []
            while chunk := response.raw.read1(65536, decode_content=True):
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise RequestTimedOut(f"no complete answer within {timeout:g} s")
            content = b"".join(chunks)
        finally:
            response.close()
        return response.status_code, response.headers.get("Content-Type", ""), content

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()


class WsgiTransport:
    """In-process, through a Flask test client (no socket)."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, str, bytes]:
        response = self._client.open(url, method=method, headers=dict(headers), data=body)
        return response.status_code, response.headers.get("Content-Type", ""), response.data


class RateLimit:
    """At most `count` requests per `seconds`, spaced evenly."""

    UNITS: dict[str, float] = {"s": 1, "m": 60, "h": 3600}

    def __init__(self, count: int, seconds: float) -> None:
        self.interval = seconds / count
        self._next = 0.0
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """Parse `10/s`, `100/m` or `1000/h`."""
        count, _, unit = text.partition("/")
        if not count.strip().isdigit() or int(count) < 1 or unit.strip() not in cls.UNITS:
            raise ValueError(f"rate limit {text!r} is not like 10/s, 100/m or 1000/h")
        return cls(int(count), cls.UNITS[unit.strip()])

    def wait(self) -> None:
        """Sleep until the next request may go out."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


@dataclass
class Client:
    """Talks to one server with one set of credentials; every request goes to a log."""

    base_url: str
    transport: Transport
    headers: Mapping[str, str] = field(default_factory=dict)
    rate_limit: RateLimit | None = None
    # Checked before every request: a spent budget stops the caller (BudgetExhausted).
    budget: Budget | None = None
    # Told of every answer (the run's coverage counts them).
    on_answer: Callable[[Answer], None] | None = None

    def url(self, session_id: str, query: Mapping[str, str] | None = None) -> str:
        """The URL of a session (the id percent-encoded as one path segment)."""
        url = self.base_url.rstrip("/") + SESSIONS_PATH + quote(session_id, safe="")
        return url + ("?" + urlencode(query) if query else "")

    def request(
        self,
        method: str,
        session_id: str,
        *,
        body: Any = None,
        raw_body: bytes | None = None,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> Answer:
        """Send a request; `headers` add to (or, with None values, remove) the defaults."""
        merged = {k: v for k, v in self.headers.items() if auth or k.lower() != "authorization"}
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            merged.setdefault("Content-Type", "application/json")
        merged.update(headers or {})
        sent = Sent(method, self.url(session_id, query), merged, data)
        if self.budget is not None:
            self.budget.check()
        if self.rate_limit is not None:
            self.rate_limit.wait()
        status, content_type, raw = self.transport.send(method, sent.url, merged, data)
        parsed = None
        if "json" in content_type.lower():
            try:
                parsed = json.loads(raw)
            except (ValueError, RecursionError):
                parsed = None
        answer = Answer(sent, status, content_type, raw, parsed)
        if self.on_answer is not None:
            self.on_answer(answer)
        return answer

    def get(self, session_id: str, **kwargs: Any) -> Answer:
        """GET a session."""
        return self.request("GET", session_id, **kwargs)

    def put(
        self, session_id: str, session: Mapping[str, Any], *, dry: bool = False, **kwargs: Any
    ) -> Answer:
        """PUT an update, asking for the session back."""
        body = {"customerSession": dict(session), "responseContent": ["customerSession"]}
        query = {"dry": "true"} if dry else None
        return self.request("PUT", session_id, body=body, query=query, **kwargs)
