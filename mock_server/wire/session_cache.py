"""Sessions read back from the text a store keeps, and their documents, remembered per process.

Sessions are immutable, so the session a stored text was written from (or first read back
as) can stand for every later read of that text, and its JSON document needs building once.
A store hands back the text of its last write until the session is written again, so most
reads parse and build nothing. Bounded by entries and by text size; shared by the threads of
a process (reads take no lock: a dict lookup is atomic in CPython).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Final

from mock_server.core.domain import CustomerSession
from mock_server.wire.documents import JsonObject

MAX_SESSIONS: Final = 4096
# Characters of stored text: about 5,000 sessions of usual size. A session larger than a
# sixty-fourth of it is never kept, so one huge cart cannot crowd out the rest.
MAX_TEXT: Final = 8 * 1024 * 1024


@dataclass(slots=True)
class _Entry:
    session: CustomerSession
    document: JsonObject | None


class StoredSessions:
    """Stored texts -> the sessions they are, and each kept session's document."""

    def __init__(self, max_sessions: int = MAX_SESSIONS, max_text: int = MAX_TEXT) -> None:
        self._max_sessions = max_sessions
        self._max_text = max_text
        self._by_text: dict[str, _Entry] = {}  # oldest first: dicts keep insertion order
        self._text_of: dict[int, str] = {}  # id() of a kept session -> its text
        self._size = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._by_text)

    @property
    def text_size(self) -> int:
        """Characters of text kept."""
        return self._size

    def session(self, text: str) -> CustomerSession | None:
        """The session `text` was kept for, if it is kept."""
        entry = self._by_text.get(text)
        return entry.session if entry is not None else None

    def document(self, session: CustomerSession) -> JsonObject | None:
        """The document kept for this very session object; shared, so never change it."""
        entry = self._entry_of(session)
        return entry.document if entry is not None else None

    def keep(self, text: str, session: CustomerSession, document: JsonObject | None) -> None:
        """Remember that `text` reads back as `session` (whose document may be known)."""
        size = len(text)
        if size > self._max_text // 64:
            return
        with self._lock:
            if text in self._by_text:
                return
            while self._by_text and (
                len(self._by_text) >= self._max_sessions or self._size + size > self._max_text
            ):
                oldest = next(iter(self._by_text))
                evicted = self._by_text.pop(oldest)
                self._size -= len(oldest)
                if self._text_of.get(id(evicted.session)) == oldest:
                    del self._text_of[id(evicted.session)]
            self._by_text[text] = _Entry(session, document)
            self._text_of[id(session)] = text
            self._size += size

    def keep_document(self, session: CustomerSession, document: JsonObject) -> None:
        """Remember the document of a kept session; nothing for a session not kept."""
        with self._lock:
            entry = self._entry_of(session)
            if entry is not None:
                entry.document = document

    def _entry_of(self, session: CustomerSession) -> _Entry | None:
        text = self._text_of.get(id(session))
        entry = self._by_text.get(text) if text is not None else None
        # A kept session cannot be collected, so its id is not reused while it is kept.
        return entry if entry is not None and entry.session is session else None
