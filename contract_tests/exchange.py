"""One request and its answer, read back from what was actually sent over the wire."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

SESSIONS_PREFIX = "/v2/customer_sessions/"


@dataclass(frozen=True)
class Exchange:
    """The parts of an HTTP exchange the business checks reason about."""

    method: str
    url: str
    session_id: str | None
    dry: bool
    request_headers: dict[str, str]
    sent: Any  # the JSON body as sent, or None
    status: int
    content_type: str
    answer: Any  # the JSON body of the answer, or None

    @property
    def base_url(self) -> str:
        """Scheme, host and any prefix in front of the API paths."""
        parts = urlsplit(self.url)
        prefix = parts.path.split(SESSIONS_PREFIX, 1)[0]
        return f"{parts.scheme}://{parts.netloc}{prefix}"

    @property
    def sent_session(self) -> dict[str, Any] | None:
        """The `customerSession` object of a PUT body, when there is one."""
        if isinstance(self.sent, dict) and isinstance(self.sent.get("customerSession"), dict):
            session: dict[str, Any] = self.sent["customerSession"]
            return session
        return None

    @property
    def answered_session(self) -> dict[str, Any] | None:
        """The `customerSession` object of a JSON answer, when there is one."""
        if isinstance(self.answer, dict) and isinstance(self.answer.get("customerSession"), dict):
            session: dict[str, Any] = self.answer["customerSession"]
            return session
        return None

    @property
    def client_key(self) -> str:
        """Who is asking: sessions are per application, and an API key names one."""
        return self.request_headers.get("authorization", "")


def _json_or_none(raw: bytes | str | None) -> Any:
    if raw is None or raw in (b"", ""):
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def read_exchange(
    method: str,
    url: str,
    request_headers: Any,
    request_body: bytes | str | None,
    status: int,
    response_headers: Any,
    response_body: bytes,
) -> Exchange:
    """Build an Exchange from raw request and response parts."""
    parts = urlsplit(url)
    session_id = None
    if SESSIONS_PREFIX in parts.path:
        session_id = unquote(parts.path.split(SESSIONS_PREFIX, 1)[1])
    dry_values = parse_qs(parts.query, keep_blank_values=True).get("dry", [])
    lowered = {str(k).lower(): v for k, v in dict(response_headers or {}).items()}
    content_type = str(lowered.get("content-type", "") or "")
    is_json = "json" in content_type.lower()
    return Exchange(
        method=method.upper(),
        url=url,
        session_id=session_id,
        dry=any(value.lower() == "true" for value in dry_values),
        request_headers={str(k).lower(): str(v) for k, v in dict(request_headers or {}).items()},
        sent=_json_or_none(request_body),
        status=status,
        content_type=content_type,
        answer=_json_or_none(response_body) if is_json else None,
    )
