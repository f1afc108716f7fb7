"""`proxy --record DIR`: the sessions of valid upstream answers, kept as a fixture file.

Every session the upstream showed in a 200 answer that broke no rule (GET, or a PUT that
was no dry run) is kept, the latest version of each, and written to `DIR/sessions.ndjson`:
NDJSON, the fixture format, that `serve --fixtures DIR` loads as it is. Each session goes
through the one session-document checker (`mock_server.contract.sessions`) before it is kept,
and the whole set again before it is written: a set whose first session of a profile was
never seen cannot be loaded, so such sessions are left out (and logged), not written wrong.

Nothing of a request is written: no header, no API key. `--scrub` replaces profile ids,
identifiers and attribute values with stable hashes, so that recordings can be shared.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import orjson

from contract_tests.rules import parse_time
from mock_server.contract.openapi import query_flag
from mock_server.contract.sessions import SessionChecker
from mock_server.fixtures.files import write_records

if TYPE_CHECKING:
    from contract_tests.conformance import Routed
    from mock_server.contract.spec import Spec

logger = logging.getLogger("contract_tests.proxy")

FIXTURE_FILE: Final = "sessions.ndjson"
# Sessions kept at most; beyond, new sessions are not recorded (and that is logged once).
MAX_RECORDED_SESSIONS: Final = 100_000
_EARLIEST: Final = datetime.fromisoformat("0001-01-01T00:00:00+00:00")


def _digest(value: str, salt: str) -> str:
    return hmac.new(
        salt.encode(), value.encode("utf-8", "surrogatepass"), hashlib.sha256
    ).hexdigest()


def scrub_value(value: Any, salt: str) -> Any:
    """Attribute values replaced by stable hashes; the shape (objects, arrays) kept."""
    if isinstance(value, dict):
        return {key: scrub_value(item, salt) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub_value(item, salt) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    return "h-" + _digest(repr(value) if not isinstance(value, str) else value, salt)[:16]


def scrub_session(session: Mapping[str, Any], salt: str = "") -> dict[str, Any]:
    """A session fit for sharing: profile id, identifiers and attribute values hashed.

    The same value always gives the same hash (with the same salt), so a profile's sessions
    still belong together and `firstSession` still holds. Without a salt, whoever can guess
    a value can confirm it by hashing it: pass a secret salt when that matters.
    """
    scrubbed = dict(session)
    profile = session.get("profileId")
    if isinstance(profile, str) and profile:
        scrubbed["profileId"] = "p-" + _digest(profile, salt)[:20]
    if isinstance(session.get("identifiers"), list):
        scrubbed["identifiers"] = [
            "i-" + _digest(str(item), salt)[:20] for item in session["identifiers"]
        ]
    if isinstance(session.get("attributes"), dict):
        scrubbed["attributes"] = scrub_value(session["attributes"], salt)
    if isinstance(session.get("cartItems"), list):
        scrubbed["cartItems"] = [
            {**item, "attributes": scrub_value(item["attributes"], salt)}
            if isinstance(item, dict) and isinstance(item.get("attributes"), dict)
            else item
            for item in session["cartItems"]
        ]
    return scrubbed


def _api_key(authorization: str | None) -> str | None:
    if not authorization:
        return None
    key = authorization.partition(" ")[2].strip() or authorization.strip()
    return key if len(key) >= 6 else None


class Recorder:
    """Keeps the latest valid version of every session seen, and writes them as fixtures."""

    def __init__(
        self,
        directory: Path,
        spec: Spec,
        *,
        scrub: bool = False,
        salt: str = "",
        flush_seconds: float = 1.0,
        max_sessions: int = MAX_RECORDED_SESSIONS,
    ) -> None:
        self.directory = directory
        self.path = directory / FIXTURE_FILE
        self.spec = spec
        self.scrub = scrub
        self.salt = salt
        self.flush_seconds = flush_seconds
        self.max_sessions = max_sessions
        self._checker = SessionChecker(spec, unique_ids=False)
        self._sessions: dict[tuple[int, str], dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._dirty = False
        self._last_flush = time.monotonic()
        self._warned: set[tuple[int, str] | str] = set()
        self.written = 0
        self.left_out: dict[str, str] = {}  # integrationId -> why it was not written
        directory.mkdir(parents=True, exist_ok=True)

    def observe(self, routed: Routed, status: int | None, body: bytes) -> None:
        """Keep the session of a valid answer (a 200 to a GET, or to a PUT that was no dry run)."""
        request = routed.request
        if status != 200 or request.method not in ("GET", "PUT"):
            return
        try:
            if request.method == "PUT" and query_flag(request, "dry"):
                return  # evaluated, not stored: not a session the server holds
            document = orjson.loads(body)
        except (ValueError, orjson.JSONDecodeError):
            return
        session = document.get("customerSession") if isinstance(document, dict) else None
        if not isinstance(session, dict):
            return
        if self.scrub:
            session = scrub_session(session, self.salt)
        problem = self._checker.record_problem(session)
        integration_id = str(session.get("integrationId"))
        if problem is not None:
            self._leave_out(integration_id, f"{problem.pointer}: {problem.reason}")
            return
        key = _api_key(request.headers.get("Authorization"))
        if key is not None and key in orjson.dumps(session).decode("utf-8", "replace"):
            self._leave_out(integration_id, "it contains the API key of the request")
            return
        identity = (int(session["applicationId"]), integration_id)
        with self._lock:
            if identity not in self._sessions and len(self._sessions) >= self.max_sessions:
                if "full" not in self._warned:
                    self._warned.add("full")
                    logger.warning("recorded %d sessions: no new ones are kept", self.max_sessions)
                return
            self._sessions[identity] = session
            self._dirty = True
            due = time.monotonic() - self._last_flush >= self.flush_seconds
        if due:
            self.flush()

    def _leave_out(self, integration_id: str, reason: str) -> None:
        with self._lock:
            first = integration_id not in self.left_out
            self.left_out[integration_id] = reason
        if first:
            logger.warning("session %r not recorded: %s", integration_id, reason)

    def flush(self) -> int:
        """Write every recorded session that the fixture loader accepts; return how many."""
        with self._write_lock:
            with self._lock:
                if not self._dirty:
                    return self.written
                sessions = list(self._sessions.values())
                self._dirty = False
                self._last_flush = time.monotonic()
            kept = self._loadable(sessions)
            temporary = self.path.with_suffix(".ndjson.tmp")
            with temporary.open("wb") as stream:
                count = write_records(kept, stream, "ndjson")
            os.replace(temporary, self.path)
            self.written = count
            return count

    def _loadable(self, sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The sessions in creation order, without those that break the set's rules."""
        sessions.sort(key=lambda s: (parse_time(s.get("created")) or _EARLIEST, s["integrationId"]))
        checker = SessionChecker(self.spec)
        kept = []
        for session in sessions:
            problem = checker.set_problem(
                session["applicationId"],
                session["integrationId"],
                session["profileId"],
                session["firstSession"],
            )
            if problem is None:
                kept.append(session)
            else:
                self._leave_out(
                    str(session["integrationId"]),
                    f"{problem.pointer} {problem.reason} (in the sessions recorded)",
                )
        return kept
