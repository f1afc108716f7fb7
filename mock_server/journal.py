"""The request journal: the last N exchanges, what was asked and what was answered."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The entry as `GET /__admin/requests` lists it."""
        return {
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
            "request": {"headers": dict(self.request_headers), "body": self.request_body},
        }


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
