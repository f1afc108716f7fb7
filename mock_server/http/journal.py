"""The request journal: the last N exchanges, what was asked and what was answered.

An entry keeps what it is given as it came (headers as WSGI names them, the bodies as bytes)
and formats it only when someone reads the journal: most entries are never read.
"""

from __future__ import annotations

import itertools
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


def wsgi_text(value: str) -> str:
    """A WSGI environ string (bytes as latin-1) as the UTF-8 text the client sent."""
    try:
        return value.encode("latin-1").decode("utf-8", errors="replace")
    except UnicodeEncodeError:  # already text
        return value


def shown_headers(fields: Mapping[str, str]) -> dict[str, str]:
    """Header fields as the journal shows them: under their HTTP names."""
    return dict(EnvironHeaders(dict(fields)).items())


@dataclass(frozen=True, slots=True)
class Problem:
    """One error an answer names: where (a JSON pointer into the body, or a parameter) and what."""

    message: str
    pointer: str | None = None
    parameter: str | None = None

    def __str__(self) -> str:
        where = self.pointer if self.pointer is not None else self.parameter or ""
        return f"{where}: {self.message}"

    def to_json(self) -> dict[str, str]:
        """`{"message", "pointer"}` or `{"message", "parameter"}`, as `source` names it."""
        document = {"message": self.message}
        if self.pointer is not None:
            document["pointer"] = self.pointer
        elif self.parameter is not None:
            document["parameter"] = self.parameter
        return document


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
    problems: list[Problem] = field(default_factory=list)
    # WSGI names (HTTP_AUTHORIZATION), key masked: shown_headers() names them when read.
    request_headers: dict[str, str] = field(default_factory=dict)
    # The first MAX_JOURNAL_BODY bytes of the body, and its whole size.
    request_body: bytes | None = None
    request_body_size: int = 0
    # The answer as it was handed to the server, cut like the request body.
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes | None = None
    response_body_size: int = 0
    # Given by the journal when it records the entry: 1, 2, 3... in the order of recording.
    id: int = 0
    # Entries of the contract proxy only: what its checks found (each a JSON object with
    # check, message and pointer or parameter), and what it forwarded and got back.
    violations: list[dict[str, Any]] | None = None
    proxy: dict[str, Any] | None = None

    def to_json(self, *, full: bool = False) -> dict[str, Any]:
        """The entry as the access log writes it; `full` adds the answer and located problems.

        `GET /__admin/requests` lists full entries.
        """
        document = {
            "id": self.id,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "method": self.method,
            "path": wsgi_text(self.path),
            "query": self.query,
            "status": self.status or None,  # None: a fault, no answer was sent
            "latencyMs": round(self.latency_ms, 3),
            "delayMs": round(self.delay_ms, 3),
            "sessionId": self.session_id,
            "applicationId": self.application_id,
            "scenario": self.scenario,
            "fault": self.fault,
            "validationErrors": [str(problem) for problem in self.problems],
            "request": {
                "headers": shown_headers(self.request_headers),
                "body": shown_body(self.request_body, self.request_body_size),
            },
        }
        if full:
            document["problems"] = [problem.to_json() for problem in self.problems]
            document["response"] = (
                None  # a fault: the client got no answer
                if not self.status
                else {
                    "status": self.status,
                    "headers": dict(self.response_headers),
                    "body": shown_body(self.response_body, self.response_body_size),
                }
            )
        if self.violations is not None:
            document["violations"] = self.violations
        if self.proxy is not None:
            document["proxy"] = self.proxy
        return document


STATUS_CLASSES: Final = ("1xx", "2xx", "3xx", "4xx", "5xx")


@dataclass(frozen=True, slots=True)
class JournalFilter:
    """Which entries a reader wants; None matches anything.

    `status` is a code ("404"), a class ("4xx") or "fault" (no answer was sent); `after` keeps
    entries recorded after that id, for a reader that polls for new ones.
    """

    session_id: str | None = None
    application_id: int | None = None
    method: str | None = None
    status: str | None = None
    has_problems: bool | None = None
    after: int = 0

    def matches(self, entry: JournalEntry) -> bool:
        """True when `entry` passes every criterion."""
        if entry.id <= self.after:
            return False
        if self.session_id is not None and entry.session_id != self.session_id:
            return False
        if self.application_id is not None and entry.application_id != self.application_id:
            return False
        if self.method is not None and entry.method != self.method.upper():
            return False
        if self.has_problems is not None and bool(entry.problems) != self.has_problems:
            return False
        return self.status is None or _status_matches(self.status, entry.status)


def _status_matches(wanted: str, status: int) -> bool:
    if wanted == "fault":
        return status == 0
    if wanted in STATUS_CLASSES:
        return status // 100 == int(wanted[0])
    return str(status) == wanted


class RequestJournal:
    """A bounded, thread-safe record of recent requests, newest last."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: deque[JournalEntry] = deque(maxlen=max(capacity, 0))
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        # Since the start, not only what is kept: the inspector's counts.
        self.recorded = 0
        self.recorded_with_problems = 0

    def record(self, entry: JournalEntry) -> None:
        """Keep an entry, forgetting the oldest beyond the capacity."""
        with self._lock:
            entry.id = next(self._ids)
            self.recorded += 1
            self.recorded_with_problems += bool(entry.problems)
            self._entries.append(entry)

    def get(self, entry_id: int) -> JournalEntry | None:
        """The kept entry of that id, or None."""
        with self._lock:
            if not self._entries or not 0 < entry_id <= self._entries[-1].id:
                return None
            # Ids are consecutive, so the entry's place follows from the newest id.
            index = len(self._entries) - 1 - (self._entries[-1].id - entry_id)
            return self._entries[index] if index >= 0 else None

    def __len__(self) -> int:
        return len(self._entries)

    def entries(
        self,
        session_id: str | None = None,
        limit: int | None = None,
        where: JournalFilter | None = None,
    ) -> list[JournalEntry]:
        """Recorded entries, newest first, optionally of one session only, or as `where` says."""
        with self._lock:
            newest_first = list(reversed(self._entries))
        if session_id is not None:
            newest_first = [e for e in newest_first if e.session_id == session_id]
        if where is not None:
            newest_first = [e for e in newest_first if where.matches(e)]
        return newest_first if limit is None else newest_first[:limit]

    def clear(self) -> int:
        """Forget every entry; return how many there were."""
        with self._lock:
            count = len(self._entries)
            self._entries.clear()
            return count
