"""Where sessions live: the SessionStore protocol and its in-memory backend.

A store knows revisions, not rules. Writers read a session with its version, compute the next
revision with the domain rules, and save it with compare-and-set on that version, so two
concurrent writers can never interleave: one of them gets `StaleWrite`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from mock_server.core.domain import CustomerSession


class StaleWrite(Exception):
    """A save whose expected version is no longer the stored one."""

    def __init__(self, application_id: int, integration_id: str) -> None:
        super().__init__(f"session {integration_id!r} of application {application_id} changed")
        self.application_id = application_id
        self.integration_id = integration_id


@dataclass(frozen=True, slots=True)
class Revision:
    """A stored session and the version a compare-and-set save must name."""

    session: CustomerSession
    version: int


class SessionStore(Protocol):
    """The narrow interface every backend implements; sessions are keyed per application.

    An operation whose backend fails (a server unreachable, a file that cannot be written)
    raises `StoreUnavailable` (core/errors.py), never the driver's own error.
    """

    def get(self, application_id: int, integration_id: str) -> Revision | None:
        """The current revision of a session, or None."""

    def save(self, session: CustomerSession, expected_version: int | None) -> Revision:
        """Store a new revision if the stored version is `expected_version` (None: absent)."""

    def delete(self, application_id: int, integration_id: str) -> bool:
        """Remove a session; True if it existed."""

    def list(self, application_id: int | None = None) -> list[CustomerSession]:
        """Every stored session (of one application), by creation, application, id."""

    def claim_profile(self, application_id: int, profile_id: str, integration_id: str) -> str:
        """Record `integration_id` as the profile's first session unless one is recorded.

        Returns the integration id of the profile's first session.
        """

    def first_session_of(self, application_id: int, profile_id: str) -> str | None:
        """The integration id of the profile's first session, if any."""

    def clear(self) -> None:
        """Forget every session and profile."""

    def try_lock(self, application_id: int, integration_id: str, token: str, ttl: float) -> bool:
        """Mark a session as being updated by `token` for at most `ttl` seconds.

        False when another holder's unexpired mark is there: the caller answers 409, as the
        real API does for parallel requests on one session.
        """

    def unlock(self, application_id: int, integration_id: str, token: str) -> None:
        """Remove the mark `token` set, if it is still that holder's."""

    def close(self) -> None:
        """Release connections and files; the data of a durable store stays."""


class MemorySessionStore:
    """A thread-safe store in process memory, for tests and single-process serving."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[tuple[int, str], Revision] = {}
        self._first_sessions: dict[tuple[int, str], str] = {}
        self._locks: dict[tuple[int, str], tuple[str, float]] = {}

    def get(self, application_id: int, integration_id: str) -> Revision | None:
        with self._lock:
            return self._sessions.get((application_id, integration_id))

    def save(self, session: CustomerSession, expected_version: int | None) -> Revision:
        key = (session.application_id, session.integration_id)
        with self._lock:
            current = self._sessions.get(key)
            current_version = current.version if current is not None else None
            if current_version != expected_version:
                raise StaleWrite(*key)
            revision = Revision(session, (current_version or 0) + 1)
            self._sessions[key] = revision
            return revision

    def delete(self, application_id: int, integration_id: str) -> bool:
        with self._lock:
            return self._sessions.pop((application_id, integration_id), None) is not None

    def list(self, application_id: int | None = None) -> list[CustomerSession]:
        with self._lock:
            sessions = [
                revision.session
                for (app, _), revision in self._sessions.items()
                if application_id is None or app == application_id
            ]
        return sorted(sessions, key=lambda s: (s.created, s.application_id, s.integration_id))

    def claim_profile(self, application_id: int, profile_id: str, integration_id: str) -> str:
        with self._lock:
            return self._first_sessions.setdefault((application_id, profile_id), integration_id)

    def first_session_of(self, application_id: int, profile_id: str) -> str | None:
        with self._lock:
            return self._first_sessions.get((application_id, profile_id))

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()
            self._first_sessions.clear()
            self._locks.clear()

    def try_lock(self, application_id: int, integration_id: str, token: str, ttl: float) -> bool:
        key = (application_id, integration_id)
        now = time.monotonic()
        with self._lock:
            holder = self._locks.get(key)
            if holder is not None and holder[0] != token and holder[1] > now:
                return False
            self._locks[key] = (token, now + ttl)
            return True

    def unlock(self, application_id: int, integration_id: str, token: str) -> None:
        key = (application_id, integration_id)
        with self._lock:
            holder = self._locks.get(key)
            if holder is not None and holder[0] == token:
                del self._locks[key]

    def close(self) -> None:
        """Nothing to release: the sessions live as long as the object."""


def preload(store: SessionStore, sessions: Iterable[CustomerSession]) -> int:
    """Add generated or fixture sessions that the store does not hold yet; return how many.

    A durable store keeps what clients made of a session across restarts, so a stored session
    is never overwritten. Each insert is a compare-and-set on "absent": several processes may
    preload one shared store at the same time and each session is stored once.
    """
    count = 0
    for session in sorted(sessions, key=lambda s: (s.created, s.integration_id)):
        if store.get(session.application_id, session.integration_id) is not None:
            continue
        if session.profile_id:
            store.claim_profile(session.application_id, session.profile_id, session.integration_id)
        try:
            store.save(session, None)
        except StaleWrite:
            continue  # another process stored it first
        count += 1
    return count


def put_sessions(store: SessionStore, sessions: Iterable[CustomerSession]) -> int:
    """Store sessions, replacing any stored session of the same id; return how many.

    Unlike the preload, which never overwrites what clients made of a session, loading
    fixtures on purpose replaces it.
    """
    count = 0
    for session in sorted(sessions, key=lambda s: (s.created, s.integration_id)):
        if session.profile_id:
            store.claim_profile(session.application_id, session.profile_id, session.integration_id)
        for _ in range(100):  # a client's PUT may win the race; then try again over it
            existing = store.get(session.application_id, session.integration_id)
            try:
                store.save(session, existing.version if existing is not None else None)
                break
            except StaleWrite:
                continue
        count += 1
    return count
