"""`verify-traffic FILE`: the proxy's checks over saved traffic, without standing in its path.

Reads a HAR file (what browsers' devtools and most HTTP tools export) or the proxy's own
journal export (`GET /__admin/requests` of a running proxy), and puts every exchange, in the
order it started, through the same `TrafficChecker` as the live proxy: the same verdicts on
the same traffic. What a file did not keep (a body cut short, an answer not saved) is
skipped and said so, never guessed.
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlsplit

from werkzeug.test import EnvironBuilder

from contract_tests.client import Sent
from contract_tests.conformance import CHECKED_METHODS, Routed, TrafficChecker, client_key
from contract_tests.violations import CheckedExchange, Violation
from mock_server.core.errors import MockServerError
from mock_server.http.journal import MAX_JOURNAL_BODY

CREDENTIALS: Final = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})
_CUT_MARK: Final = "..."


@dataclass
class SavedExchange:
    """One request and its answer as a file kept them."""

    started: datetime
    duration_ms: float
    method: str
    url: str  # as sent: absolute (HAR) or path and query (journal)
    request_headers: list[tuple[str, str]]
    request_body: bytes | None  # None: not kept whole
    status: int | None  # None: no answer
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes | None = None  # None: not kept whole
    source: str = "upstream"

    @property
    def target(self) -> str:
        """The path and query, percent-encoded as sent."""
        parts = urlsplit(self.url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    @property
    def ended(self) -> datetime:
        """When the answer was complete."""
        return self.started + timedelta(milliseconds=max(self.duration_ms, 0))


def _time(text: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return datetime.fromtimestamp(0, UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _pairs(headers: Any) -> list[tuple[str, str]]:
    """HAR's [{"name", "value"}] or the journal's {"name": "value"}, as pairs."""
    if isinstance(headers, Mapping):
        return [(str(name), str(value)) for name, value in headers.items()]
    if isinstance(headers, list):
        return [
            (str(item.get("name", "")), str(item.get("value", "")))
            for item in headers
            if isinstance(item, Mapping) and not str(item.get("name", "")).startswith(":")
        ]
    return []


def read_har(document: Mapping[str, Any]) -> list[SavedExchange]:
    """The exchanges of a HAR 1.2 document."""
    entries = document.get("log", {}).get("entries", [])
    if not isinstance(entries, list):
        raise MockServerError("not a HAR file: log.entries is not a list")
    saved = []
    for entry in entries:
        request, response = entry.get("request", {}), entry.get("response", {})
        post = request.get("postData")
        body: bytes | None = b""
        if isinstance(post, Mapping):
            body = str(post.get("text", "")).encode("utf-8") if "text" in post else None
        content = response.get("content", {}) if isinstance(response, Mapping) else {}
        answer: bytes | None = None
        if isinstance(content, Mapping) and isinstance(content.get("text"), str):
            text = content["text"]
            answer = (
                base64.b64decode(text) if content.get("encoding") == "base64" else text.encode()
            )
        status = int(response.get("status") or 0) if isinstance(response, Mapping) else 0
        headers = _pairs(response.get("headers")) if isinstance(response, Mapping) else []
        if isinstance(content, Mapping) and content.get("mimeType"):
            if not any(name.lower() == "content-type" for name, _ in headers):
                headers.append(("Content-Type", str(content["mimeType"])))
        saved.append(
            SavedExchange(
                started=_time(entry.get("startedDateTime")),
                duration_ms=float(entry.get("time") or 0),
                method=str(request.get("method", "GET")).upper(),
                url=str(request.get("url", "")),
                request_headers=_pairs(request.get("headers")),
                request_body=body,
                status=status or None,  # HAR writes 0 for no answer
                # HAR keeps bodies decoded: their Content-Encoding no longer applies.
                response_headers=[(n, v) for n, v in headers if n.lower() != "content-encoding"],
                response_body=answer,
            )
        )
    return saved


def _journal_body(text: Any, size: Any) -> bytes | None:
    if text is None:
        return b""
    data = str(text).encode("utf-8")
    if isinstance(size, int) and size > MAX_JOURNAL_BODY:
        return None  # cut short in the journal
    if not isinstance(size, int) and len(data) > MAX_JOURNAL_BODY and text.endswith(_CUT_MARK):
        return None
    return data


def read_journal(entries: Iterable[Any]) -> list[SavedExchange]:
    """The exchanges of the journal's export (`GET /__admin/requests`), oldest first."""
    saved = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        request = entry.get("request") or {}
        proxy = entry.get("proxy") or {}
        response = proxy.get("response") or {}
        query = entry.get("query") or ""
        path = quote(str(entry.get("path", "")), safe="/;:@&=+$,!~*'()")
        saved.append(
            SavedExchange(
                started=_time(entry.get("time")),
                duration_ms=float(entry.get("latencyMs") or 0),
                method=str(entry.get("method", "GET")).upper(),
                url=path + (f"?{query}" if query else ""),
                request_headers=_pairs(request.get("headers")),
                request_body=_journal_body(request.get("body"), proxy.get("requestBodyBytes")),
                status=response.get("status") if proxy else entry.get("status"),
                response_headers=_pairs(response.get("headers")),
                response_body=_journal_body(response.get("body"), response.get("bodyBytes"))
                if response.get("body") is not None
                else None,
                # Who sent the answer that was checked: an enforced 502 replaced the upstream's.
                source=str(response.get("source") or proxy.get("source") or "upstream")
                if proxy
                else "upstream",
            )
        )
    saved.reverse()  # the journal lists the newest first
    return saved


def read_traffic(path: Path) -> list[SavedExchange]:
    """The exchanges of a HAR file or a journal export, in the order they started."""
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise MockServerError(f"{path}: cannot read it as JSON: {exc}") from exc
    if isinstance(document, Mapping) and isinstance(document.get("log"), Mapping):
        saved = read_har(document)
    elif isinstance(document, Mapping) and isinstance(document.get("requests"), list):
        saved = read_journal(document["requests"])
    elif isinstance(document, list):
        saved = read_journal(document)
    else:
        raise MockServerError(
            f"{path}: neither a HAR file ({{'log': ...}}) nor a journal export "
            "({'requests': [...]}, from GET /__admin/requests)"
        )
    return sorted(saved, key=lambda exchange: exchange.started)


def _environ(saved: SavedExchange) -> dict[str, Any]:
    parts = urlsplit(saved.url)
    headers = [
        (name, value)
        for name, value in saved.request_headers
        if name.lower() not in ("content-length", "transfer-encoding", "content-type")
    ]
    content_type = next(
        (value for name, value in saved.request_headers if name.lower() == "content-type"), None
    )
    builder = EnvironBuilder(
        method=saved.method,
        path=parts.path or "/",
        query_string=parts.query,
        headers=headers,
        data=saved.request_body or b"",
        content_type=content_type,
    )
    try:
        environ: dict[str, Any] = builder.get_environ()
    finally:
        builder.close()
    return environ


def _overlapping(routed: list[Routed | None], saved: list[SavedExchange]) -> set[int]:
    """Exchanges of one session whose request-answer spans overlap: their order is unknown."""
    by_session: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, item in enumerate(routed):
        if item is not None:
            key = (client_key(item.request.headers.get("Authorization")), item.session_id)
            by_session[key].append(index)
    overlapping: set[int] = set()
    for indexes in by_session.values():
        active: list[int] = []
        for index in indexes:  # already in the order they started
            start = saved[index].started
            active = [other for other in active if saved[other].ended > start]
            if active:
                overlapping.update(active)
                overlapping.add(index)
            active.append(index)
    return overlapping


def _curl(saved: SavedExchange) -> str:
    headers = {
        name: ("[Filtered]" if name.lower() in CREDENTIALS else value)
        for name, value in saved.request_headers
        if name.lower() not in ("content-length", "host", "connection")
    }
    return Sent(saved.method, saved.url, headers, saved.request_body or None).as_curl()


def verify(saved: list[SavedExchange], checker: TrafficChecker) -> list[CheckedExchange]:
    """Every saved exchange through the proxy's checks, in order."""
    routed = [checker.route(_environ(item), item.request_body or b"") for item in saved]
    overlapping = _overlapping(routed, saved)
    checked = []
    for index, (item, route) in enumerate(zip(saved, routed, strict=True)):
        found: list[Violation] = []
        skipped: list[str] = []
        is_checked = route is not None and item.method != "OPTIONS"
        if route is not None and is_checked:
            if item.request_body is None:
                skipped.append("request body not saved whole")
            else:
                found.extend(checker.request_violations(route)[0])
            if item.method not in CHECKED_METHODS or route.operation_id is None:
                pass
            elif item.status is None or item.response_body is None or item.source == "proxy":
                if item.source != "proxy" and item.status is not None:
                    skipped.append("answer body not saved whole")
                checker.forget(route)
            else:
                # A request not kept whole cannot be compared with its answer: checked alone.
                remember = item.source == "upstream" and item.request_body is not None
                found.extend(
                    checker.response_violations(
                        route,
                        item.status,
                        item.response_headers,
                        item.response_body,
                        remember=remember,
                        overlapped=index in overlapping,
                    )
                )
                if not remember:
                    checker.forget(route)
        operation = None
        if route is not None and is_checked:
            operation = route.operation_id or f"{item.method} {route.template}"
        checked.append(
            CheckedExchange(
                time=item.started,
                method=item.method,
                path=urlsplit(item.url).path,
                query=urlsplit(item.url).query,
                operation_id=operation,
                status=item.status,
                source=item.source,
                violations=tuple(found),
                skipped=tuple(skipped),
                curl=_curl(item) if found else "",
            )
        )
    return checked
