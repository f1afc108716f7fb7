"""The request journal: the last N exchanges, what was asked and what was answered.

An entry keeps what it is given as it came (headers as WSGI names them, the bodies as bytes)
and formats it only when someone reads the journal: most entries are never read.

Every entry is bounded, whatever the request: each part is cut when it is recorded (the
journal keeps 1000 entries in memory) and fitted again when it is shown, since JSON escaping
can make a text up to six times longer. An entry shown, and the JSON access-log line that
carries it, stay under 64 KiB.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from werkzeug.datastructures import EnvironHeaders

# Enough to see what a client sent; a journal of 1000 full 1 MiB bodies would not fit memory.
MAX_JOURNAL_BODY: Final = 16 * 1024
# The header block kept of a request (names and values), and of any one value.
MAX_JOURNAL_HEADERS: Final = 12 * 1024
MAX_HEADER_VALUE: Final = 2 * 1024
MAX_PATH_CHARS: Final = 2 * 1024
MAX_QUERY_CHARS: Final = 2 * 1024
MAX_SESSION_ID_CHARS: Final = 1024
MAX_SCENARIO_CHARS: Final = 256
# The problems an error answer names: the first few are what a reader of the journal needs.
MAX_JOURNAL_PROBLEMS: Final = 20
MAX_PROBLEM_CHARS: Final = 400
# The journal shows which key was sent, never the whole key: at most 4 characters, and at
# most half of it.
SHOWN_SECRET_CHARS: Final = 4
# Header fields (WSGI names) whose values are credentials: kept masked, never in full.
_SECRET_HEADER = re.compile(r"AUTH|COOKIE|TOKEN|SECRET|KEY|PASSW|CREDENTIAL|SIGNATURE")
_SCHEMED_HEADERS: Final = frozenset({"HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION"})


# C0 and C1 control characters (and the backslash that escapes them) as \xNN: a client's
# newline in an id must not start a forged line of a text log.
_ESCAPED_CONTROLS: Final = str.maketrans(
    {code: f"\\x{code:02x}" for code in [*range(0x20), *range(0x7F, 0xA0), ord("\\")]}
)


def printable(text: str) -> str:
    """`text` for a line of a text log: control characters escaped."""
    return text.translate(_ESCAPED_CONTROLS)


def clipped(text: str, limit: int) -> str:
    """`text`, cut to at most `limit` characters ("..." marks the cut)."""
    return text if len(text) <= limit else text[: max(limit - 3, 0)] + "..."


def fitted(text: str, limit: int) -> str:
    """`text`, cut so that it takes at most `limit` characters as a JSON string.

    JSON escaping (the journal page and the JSON log use ASCII output) makes a control
    character or a non-ASCII one six characters long: a cut by characters alone bounds
    nothing.
    """
    if len(text) * 6 <= limit:  # fits even if every character is escaped
        return text
    if len(json.dumps(text)) - 2 <= limit:
        return text
    low, high = 0, min(len(text), limit)  # the longest prefix that fits, by bisection
    while low < high:
        middle = (low + high + 1) // 2
        if len(json.dumps(text[:middle])) - 2 <= limit - 3:
            low = middle
        else:
            high = middle - 1
    return text[:low] + "..."


def masked_secret(value: str) -> str:
    """`secret-key` -> `secr...`: a few characters to tell keys apart, never the whole."""
    return value[: min(SHOWN_SECRET_CHARS, len(value) // 2)] + "..."


def masked_authorization(value: str) -> str:
    """`ApiKey-v1 secret-key` -> `ApiKey-v1 secr...`."""
    scheme, _, key = value.partition(" ")
    if not key:
        return masked_secret(scheme)
    return f"{scheme} {masked_secret(key)}"


def header_fields(environ: Mapping[str, Any]) -> tuple[dict[str, str], int]:
    """The request header fields of a WSGI environ, under their WSGI names, credentials masked
    and cut to MAX_JOURNAL_HEADERS in all; and how many fields did not fit.

    Masked now, so that no copy of a full key is kept, logged or shown.
    """
    fields: dict[str, str] = {}
    budget = MAX_JOURNAL_HEADERS
    omitted = 0
    for name, value in environ.items():
        if not (name.startswith("HTTP_") or name in ("CONTENT_TYPE", "CONTENT_LENGTH")):
            continue
        if _SECRET_HEADER.search(name):
            value = (
                masked_authorization(value) if name in _SCHEMED_HEADERS else masked_secret(value)
            )
        value = clipped(value, MAX_HEADER_VALUE)
        budget -= len(name) + len(value)
        if budget < 0:
            omitted += 1
            continue
        fields[name] = value
    return fields, omitted


def wsgi_text(value: str) -> str:
    """A WSGI environ string (bytes as latin-1) as the UTF-8 text the client sent."""
    try:
        return value.encode("latin-1").decode("utf-8", errors="replace")
    except UnicodeEncodeError:  # already text
        return value


def shown_headers(fields: Mapping[str, str]) -> dict[str, str]:
    """Header fields as the journal shows them: under their HTTP names, each value fitted."""
    return {
        name: fitted(value, MAX_HEADER_VALUE)
        for name, value in EnvironHeaders(dict(fields)).items()
    }


@dataclass(frozen=True, slots=True)
class Problem:
    """One error an answer names: where (a JSON pointer into the body, or a parameter) and what."""

    message: str
    pointer: str | None = None
    parameter: str | None = None

    def __str__(self) -> str:
        where = self.pointer if self.pointer is not None else self.parameter
        return self.message if where is None else f"{where}: {self.message}"

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
    if size > len(head):
        text += "..."
    return fitted(text, MAX_JOURNAL_BODY)


def journaled_problems(problems: list[Problem]) -> list[Problem]:
    """The first MAX_JOURNAL_PROBLEMS problems of an answer, each cut; a count of the rest."""
    kept = [
        Problem(
            clipped(problem.message, MAX_PROBLEM_CHARS),
            None if problem.pointer is None else clipped(problem.pointer, MAX_PROBLEM_CHARS),
            None if problem.parameter is None else clipped(problem.parameter, MAX_PROBLEM_CHARS),
        )
        for problem in problems[:MAX_JOURNAL_PROBLEMS]
    ]
    rest = len(problems) - len(kept)
    if rest:
        kept.append(Problem(f"... and {rest} more (the answer lists them)"))
    return kept


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
    # Header fields left out, past MAX_JOURNAL_HEADERS.
    request_headers_omitted: int = 0
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

    def __post_init__(self) -> None:
        # Cut as recorded: the journal holds 1000 entries in memory, whatever they were sent.
        self.path = clipped(self.path, MAX_PATH_CHARS)
        self.query = clipped(self.query, MAX_QUERY_CHARS)

    def to_json(self, *, full: bool = False) -> dict[str, Any]:
        """The entry as the access log writes it; `full` adds the answer and located problems.

        `GET /__admin/requests` lists full entries. Bounded whatever the request was.
        """
        shown_request: dict[str, Any] = {
            "headers": shown_headers(self.request_headers),
            "body": shown_body(self.request_body, self.request_body_size),
        }
        if self.request_headers_omitted:
            shown_request["headersOmitted"] = self.request_headers_omitted
        document = {
            "id": self.id,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "method": self.method,
            "path": fitted(wsgi_text(self.path), MAX_PATH_CHARS),
            "query": fitted(self.query, MAX_QUERY_CHARS),
            "status": self.status or None,  # None: a fault, no answer was sent
            "latencyMs": round(self.latency_ms, 3),
            "delayMs": round(self.delay_ms, 3),
            "sessionId": None
            if self.session_id is None
            else fitted(self.session_id, MAX_SESSION_ID_CHARS),
            "applicationId": self.application_id,
            "scenario": None
            if self.scenario is None
            else fitted(self.scenario, MAX_SCENARIO_CHARS),
            "fault": self.fault,
            "validationErrors": [
                fitted(str(problem), MAX_PROBLEM_CHARS) for problem in self.problems
            ],
            "request": shown_request,
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
            wanted = clipped(session_id, MAX_SESSION_ID_CHARS)  # as entries keep it
            newest_first = [e for e in newest_first if e.session_id == wanted]
        if where is not None:
            newest_first = [e for e in newest_first if where.matches(e)]
        return newest_first if limit is None else newest_first[:limit]

    def clear(self) -> int:
        """Forget every entry; return how many there were."""
        with self._lock:
            count = len(self._entries)
            self._entries.clear()
            return count
