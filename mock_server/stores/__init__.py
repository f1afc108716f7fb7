"""Store backends chosen by URL: `memory://`, `sqlite:///path/to/file.db`, `redis://host:port/db`."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

from mock_server.core.errors import MockServerError
from mock_server.core.store import MemorySessionStore, SessionStore
from mock_server.stores.sqlite_store import BUSY_TIMEOUT_MS, SYNCHRONOUS_MODES, SqliteSessionStore

MEMORY_URL = "memory://"
_NAMESPACE = re.compile(r"[A-Za-z0-9_.-]{1,64}")

__all__ = ["MEMORY_URL", "describe_store", "is_shared", "open_store"]


def is_shared(url: str) -> bool:
    """True for stores that several processes can share (everything but memory)."""
    return urlsplit(url).scheme != "memory"


def describe_store(url: str) -> str:
    """The store URL as shown at start-up: the SQLite file absolute, no Redis password."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return f"sqlite:///{_sqlite_path(url).absolute()}"
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}"
        netloc += f":{parts.port}" if parts.port else ""
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def open_store(url: str, *, ttl: float | None = None) -> SessionStore:
    """Open the store a URL names; `ttl` (seconds) expires untouched sessions.

    Raises MockServerError for an unknown scheme, a bad option or an unreachable server.
    """
    if ttl is not None and ttl <= 0:
        ttl = None
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        if ttl is not None:
            raise MockServerError(
                "--ttl needs a shared store (sqlite:// or redis://), not memory://"
            )
        return MemorySessionStore()
    if scheme == "sqlite":
        return _open_sqlite(url, ttl)
    if scheme in {"redis", "rediss"}:
        return _open_redis(url, ttl)
    raise MockServerError(
        f"unknown store {url!r}: use memory://, sqlite:///path/to/file.db or redis://host:port/db"
    )


def _options(url: str, allowed: set[str]) -> dict[str, str]:
    options = {name: values[-1] for name, values in parse_qs(urlsplit(url).query).items()}
    unknown = sorted(set(options) - allowed)
    if unknown:
        known = ", ".join(sorted(allowed)) or "none"
        raise MockServerError(f"unknown store option {unknown[0]!r} in {url!r} (known: {known})")
    return options


def _sqlite_path(url: str) -> Path:
    # sqlite:///data/x.db is relative to the working folder, sqlite:////srv/x.db absolute.
    path = urlsplit(url).path
    if not path.startswith("/") or len(path) < 2:
        raise MockServerError(f"store {url!r} names no file: use sqlite:///path/to/file.db")
    return Path(path[1:])


def _open_sqlite(url: str, ttl: float | None) -> SessionStore:
    options = _options(url, {"synchronous"})
    synchronous = options.get("synchronous", "normal").lower()
    if synchronous not in SYNCHRONOUS_MODES:
        raise MockServerError(
            f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}, not {synchronous!r}"
        )
    path = _sqlite_path(url)
    try:
        store = SqliteSessionStore(path, ttl=ttl, synchronous=synchronous)
        _probe_writes(path)
    except (OSError, sqlite3.Error) as exc:
        raise MockServerError(f"cannot open SQLite store {path}: {exc}") from exc
    return store


def _probe_writes(path: Path) -> None:
    """Raise sqlite3.Error unless the file takes writes.

    SQLite opens a file it may not write read-only without a word, and creating tables that
    exist writes nothing: a read-only store would open fine and fail at its first write. A
    table created and rolled back writes nothing either, yet needs write access.
    """
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("CREATE TABLE main._write_probe (x)")
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")
    finally:
        db.close()


def _open_redis(url: str, ttl: float | None) -> SessionStore:
    # Imported when a Redis store is asked for: redis-py is a costly import nobody else needs.
    import redis

    from mock_server.stores.redis_store import DEFAULT_NAMESPACE, RedisSessionStore

    options = _options(url, {"namespace"})
    namespace = options.get("namespace", DEFAULT_NAMESPACE)
    if not _NAMESPACE.fullmatch(namespace):
        raise MockServerError(f"namespace must match {_NAMESPACE.pattern}, not {namespace!r}")
    parts = urlsplit(url)
    client_url = urlunsplit(parts._replace(query=""))
    try:
        client = redis.Redis.from_url(client_url, socket_connect_timeout=5)
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        raise MockServerError(f"cannot reach Redis at {describe_store(url)}: {exc}") from exc
    return RedisSessionStore(client, namespace=namespace, ttl=ttl)
