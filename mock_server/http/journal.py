"""The request journal: the last N exchanges, what was asked and what was answered.

An entry keeps what it is given as it came (headers as WSGI names them, the body as bytes)
and formats it only when someone reads the journal: most entries are never read.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from werkzeug.datastructures import EnvironHeaders

# Enough to see what a client sent; a journal of 1000 full 1 MiB bodies would not fit memory.
MAX_JOURNAL_BODY: Final = 16 * 1024
# The journal shows which key was sent, not the whole key.
SHOWN_KEY_CHARS: Final = 4


def masked_authorization(value: str) -> str:
    """`ApiKey-v1 secret-key` -> `ApiKey-v1 secr...`."""
    scheme, _, key = value.partition(" ")
    if not key:
        return scheme[:SHOWN_KEY_CHARS] + "..." if len(scheme) > SHOWN_KEY_CHARS else scheme
    shown = key[:SHOWN_KEY_CHARS] + ("..." if len(key) > SHOWN_KEY_CHARS else "")
    return f"{scheme} {shown}"


def header_fields(environ: Mapping[str, Any]) -> dict[str, str]:
    """The request header fields of a WSGI environ, under their WSGI names, key masked.

    Masked now, so that no copy of a full key is kept, logged or shown.
    """
    fields = {
        name: value
        for name, value in environ.items()
        if name.startswith("HTTP_") or name in ("CONTENT_TYPE", "CONTENT_LENGTH")
    }
    if "HTTP_AUTHORIZATION" in fields:
        fields["HTTP_AUTHORIZATION"] = masked_authorization(fields["HTTP_AUTHORIZATION"])
    return fields


def shown_headers(fields: Mapping[str, str]) -> dict[str, str]:
    """Header fields as the journal shows them: under their HTTP names."""
    return dict(EnvironHeaders(dict(fields)).items())


def shown_body(head: bytes | None, size: int) -> str | None:
    """A body as text, cut after MAX_JOURNAL_BODY bytes (`head` holds at most those)."""
    if head is None:
        return None
    text = head.decode("utf-8", errors="replace")
    return text + ("..." if size > len(head) else "")


@dataclass(slots=True)
class JournalEntry:
    """One request and its answer, as the journal and the access log show it."""

    time: datetime
    method: str
    path: str
    query: str = ""
    status: int = 0
    latency_ms: float = 0.0
    session_id: str | None = None
    application_id: int | None = None
    scenario: str | None = None
    fault: str | None = None
    delay_ms: float = 0.0
    problems: list[str] = field(default_factory=list)
    # WSGI names (HTTP_AUTHORIZATION), key masked: shown_headers() names them when read.
    request_headers: dict[str, str] = field(default_factory=dict)
    # The first MAX_JOURNAL_BODY bytes of the body, and its whole size.
    request_body: bytes | None = None
    request_body_size: int = 0
    # Entries of the contract proxy only: what its checks found (each a JSON object with
    # check, message and pointer or parameter), and what it forwarded and got back.
    violations: list[dict[str, Any]] | None = None
    proxy: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The entry as `GET /__admin/requests` lists it."""
        shown: dict[str, Any] = {
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status or None,  # None: a fault, no answer was sent
            "latencyMs": round(self.latency_ms, 3),
            "delayMs": round(self.delay_ms, 3),
            "sessionId": self.session_id,
            "applicationId": self.application_id,
            "scenario": self.scenario,
            "fault": self.fault,
            "validationErrors": list(self.problems),
            "request": {
                "headers": shown_headers(self.request_headers),
                "body": shown_body(self.request_body, self.request_body_size),
            },
        }
        if self.violations is not None:
            shown["violations"] = self.violations
        if self.proxy is not None:
            shown["proxy"] = self.proxy
        return shown


class RequestJournal:
    """A bounded, thread-safe record of recent requests, newest last."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: deque[JournalEntry] = deque(maxlen=max(capacity, 0))
        self._lock = threading.Lock()

    def record(self, entry: JournalEntry) -> None:
        """Keep an entry, forgetting the oldest beyond the capacity."""
        with self._lock:
            self._entries.append(entry)

    def entries(
        self, session_id: str | None = None, limit: int | None = None
    ) -> list[JournalEntry]:
        """Recorded entries, newest first, optionally of one session only."""
        with self._lock:
            newest_first = list(reversed(self._entries))
        if session_id is not None:
            newest_first = [e for e in newest_first if e.session_id == session_id]
        return newest_first if limit is None else newest_first[:limit]

    def clear(self) -> int:
        """Forget every entry; return how many there were."""
        with self._lock:
            count = len(self._entries)
            self._entries.clear()
            return count
