"""A SessionStore in one SQLite file: durable across restarts, shared by processes on one host.

Every write is one statement or one `BEGIN IMMEDIATE` transaction, so several worker processes
can share the file: WAL lets readers run beside the single writer, and the busy timeout makes a
writer wait for the lock instead of failing. `synchronous=NORMAL` in WAL mode keeps every
committed write through a crash of the process (SIGKILL included); only a power cut can lose the
last commits, which `synchronous=full` in the URL prevents at the cost of an fsync per write.
The in-flight marks of PUTs are OS locks on `<file>-marks.lock` (see `stores.marks`): taking
one writes nothing to the database, and the kernel drops a dead holder's marks at once.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mock_server.core.domain import CustomerSession
from mock_server.core.store import Revision, StaleWrite
from mock_server.stores.failures import unavailable_on
from mock_server.stores.marks import OfdMarks
from mock_server.stores.process import process_id
from mock_server.wire.codec import dumps_session, format_time, loads_session

Clock = Callable[[], float]

BUSY_TIMEOUT_MS = 30_000
MAX_IDLE_CONNECTIONS = 8
# Expired rows are invisible at once; they are deleted for good at most this often.
PURGE_INTERVAL = 60.0
SYNCHRONOUS_MODES = ("off", "normal", "full", "extra")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    application_id INTEGER NOT NULL,
    integration_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    created TEXT NOT NULL,
    touched REAL NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (application_id, integration_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_by_touch ON sessions (touched);
CREATE TABLE IF NOT EXISTS first_sessions (
    application_id INTEGER NOT NULL,
    profile_id TEXT NOT NULL,
    integration_id TEXT NOT NULL,
    touched REAL NOT NULL,
    PRIMARY KEY (application_id, profile_id)
) WITHOUT ROWID;
"""
# Where marks lived in earlier versions (the old `<file>-marks` database is not read).
_OLD_MARKS = "DROP TABLE IF EXISTS main.update_marks;"


def _use_wal(db: sqlite3.Connection, schema: str) -> None:
    """Put a database in WAL mode (a no-op once it is, as the mode is kept in the file).

    The switch needs the file to itself, and SQLite does not always wait for it: processes
    opening a new store at the same moment retry until the first has made the switch.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            (mode,) = db.execute(f"PRAGMA {schema}.journal_mode = WAL").fetchone()
            if str(mode).lower() == "wal":
                return
            problem = f"{schema} database stays in journal mode {mode!r}"
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # BUSY_RECOVERY etc. too
                raise
            problem = str(exc)
        if time.monotonic() > deadline:
            raise sqlite3.OperationalError(f"cannot switch to WAL: {problem}")
        time.sleep(0.005)


# A locked, read-only, full or damaged file: the operation fails, the mock keeps serving.
@unavailable_on(sqlite3.DatabaseError)
class SqliteSessionStore:
    """Sessions, profile claims and update marks in one SQLite database file.

    Args:
        path: the database file; its folder is created when missing.
        ttl: seconds after its last write that a session (and a profile claim) expires;
            None keeps them forever.
        synchronous: SQLite's `synchronous` pragma (normal survives process crashes).
        clock: wall-clock seconds, shared by every process (update marks and expiry).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        ttl: float | None = None,
        synchronous: str = "normal",
        clock: Clock = time.time,
    ) -> None:
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}")
        self.path = Path(path)
        self.marks_path = self.path.with_name(self.path.name + "-marks.lock")
        self.ttl = ttl
        self._synchronous = synchronous
        self._clock = clock
        self._idle: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._pid = process_id()
        self._last_purge = clock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # IF NOT EXISTS: every worker process runs this at start, on a new or a kept file.
        with self._borrow() as db:
            db.executescript(_SCHEMA + _OLD_MARKS)
        self._marks = OfdMarks(self.marks_path)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,  # autocommit; transactions are explicit
            check_same_thread=False,  # pooled: used by one thread at a time, not always the same
        )
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _use_wal(db, "main")
        db.execute(f"PRAGMA synchronous = {self._synchronous}")
        return db

    @contextmanager
    def _borrow(self) -> Iterator[sqlite3.Connection]:
        # A small pool rather than a connection per thread: a thread-per-connection server
        # would otherwise open a database connection for every client connection it accepts.
        with self._pool_lock:
            if self._pid != process_id():
                # Connections inherited through fork() must never be used, nor closed here.
                self._idle, self._pid = [], process_id()
            db = self._idle.pop() if self._idle else None
        if db is None:
            db = self._connect()
        try:
            yield db
        finally:
            if db.in_transaction:  # an interrupted transaction must not leak into the pool
                db.close()
            else:
                with self._pool_lock:
                    keep = len(self._idle) < MAX_IDLE_CONNECTIONS
                    if keep:
                        self._idle.append(db)
                if not keep:
                    db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front, so a read-then-write cannot be overtaken.
        with self._borrow() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _cutoff(self, now: float) -> float:
        """Rows last written at or before this moment have expired."""
        return now - self.ttl if self.ttl is not None else float("-inf")

    def get(self, application_id: int, integration_id: str) -> Revision | None:
        with self._borrow() as db:
            row = db.execute(
                "SELECT body, version FROM sessions"
                " WHERE application_id = ? AND integration_id = ? AND touched > ?",
                (application_id, integration_id, self._cutoff(self._clock())),
            ).fetchone()
        return Revision(loads_session(row[0]), row[1]) if row is not None else None

    def save(self, session: CustomerSession, expected_version: int | None) -> Revision:
        now = self._clock()
        key = (session.application_id, session.integration_id)
        body = dumps_session(session)
        created = format_time(session.created)  # the sort key of list()
        with self._borrow() as db:
            if expected_version is None:
                # A new session may take the place of an expired one: that is no conflict.
                cursor = db.execute(
                    "INSERT INTO sessions"
                    " (application_id, integration_id, version, created, touched, body)"
                    " VALUES (?, ?, 1, ?, ?, ?)"
                    " ON CONFLICT (application_id, integration_id) DO UPDATE SET"
                    " version = 1, created = excluded.created, touched = excluded.touched,"
                    " body = excluded.body WHERE sessions.touched <= ?",
                    (*key, created, now, body, self._cutoff(now)),
                )
                version = 1
            else:
                cursor = db.execute(
                    "UPDATE sessions SET version = version + 1, created = ?, touched = ?, body = ?"
                    " WHERE application_id = ? AND integration_id = ? AND version = ?"
                    " AND touched > ?",
                    (created, now, body, *key, expected_version, self._cutoff(now)),
                )
                version = expected_version + 1
            if cursor.rowcount != 1:
                raise StaleWrite(*key)
            if self.ttl is not None and session.profile_id:
                # A profile is remembered as long as one of its sessions is being written.
                db.execute(
                    "UPDATE first_sessions SET touched = ?"
                    " WHERE application_id = ? AND profile_id = ?",
                    (now, session.application_id, session.profile_id),
                )
        if self.ttl is not None and now - self._last_purge > PURGE_INTERVAL:
            self._last_purge = now
            self.purge_expired()
        return Revision(session, version)

    def delete(self, application_id: int, integration_id: str) -> bool:
        with self._borrow() as db:
            cursor = db.execute(
                "DELETE FROM sessions"
                " WHERE application_id = ? AND integration_id = ? AND touched > ?",
                (application_id, integration_id, self._cutoff(self._clock())),
            )
            return cursor.rowcount == 1

    def list(self, application_id: int | None = None) -> list[CustomerSession]:
        cutoff = self._cutoff(self._clock())
        with self._borrow() as db:
            if application_id is None:
                rows = db.execute(
                    "SELECT body FROM sessions WHERE touched > ?"
                    " ORDER BY created, application_id, integration_id",
                    (cutoff,),
                ).fetchall()
            else:
                rows = db.execute(
                    "SELECT body FROM sessions WHERE application_id = ? AND touched > ?"
                    " ORDER BY created, application_id, integration_id",
                    (application_id, cutoff),
                ).fetchall()
        return [loads_session(body) for (body,) in rows]

    def claim_profile(self, application_id: int, profile_id: str, integration_id: str) -> str:
        now = self._clock()
        with self._transaction() as db:
            # Taken over only when the recorded claim has expired.
            db.execute(
                "INSERT INTO first_sessions (application_id, profile_id, integration_id, touched)"
                " VALUES (?, ?, ?, ?)"
                " ON CONFLICT (application_id, profile_id) DO UPDATE SET"
                " integration_id = excluded.integration_id, touched = excluded.touched"
                " WHERE first_sessions.touched <= ?",
                (application_id, profile_id, integration_id, now, self._cutoff(now)),
            )
            row = db.execute(
                "SELECT integration_id FROM first_sessions"
                " WHERE application_id = ? AND profile_id = ?",
                (application_id, profile_id),
            ).fetchone()
        claimed: str = row[0]
        return claimed

    def first_session_of(self, application_id: int, profile_id: str) -> str | None:
        with self._borrow() as db:
            row = db.execute(
                "SELECT integration_id FROM first_sessions"
                " WHERE application_id = ? AND profile_id = ? AND touched > ?",
                (application_id, profile_id, self._cutoff(self._clock())),
            ).fetchone()
        return row[0] if row is not None else None

    def clear(self) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM sessions")
            db.execute("DELETE FROM first_sessions")
        self._marks.release_all()

    def purge_expired(self) -> int:
        """Delete expired sessions and profile claims for good; return how many sessions."""
        if self.ttl is None:
            return 0
        now = self._clock()
        cutoff = self._cutoff(now)
        with self._transaction() as db:
            removed = db.execute("DELETE FROM sessions WHERE touched <= ?", (cutoff,)).rowcount
            db.execute("DELETE FROM first_sessions WHERE touched <= ?", (cutoff,))
        return int(removed)

    def try_lock(self, application_id: int, integration_id: str, token: str, ttl: float) -> bool:
        """Mark a session as being updated; `ttl` is not needed: a dead holder's mark ends."""
        del ttl
        return self._marks.try_lock(application_id, integration_id, token)

    def unlock(self, application_id: int, integration_id: str, token: str) -> None:
        self._marks.unlock(application_id, integration_id, token)

    def close(self) -> None:
        """Close the idle connections of this process; the file and its data stay."""
        with self._pool_lock:
            idle, self._idle = self._idle, []
            inherited = self._pid != process_id()
        if not inherited:
            for db in idle:
                db.close()
        self._marks.close()
