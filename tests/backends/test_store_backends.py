"""The SessionStore contract, run on every backend: memory, SQLite and Redis."""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from mock_server.core.domain import CartItem, CustomerSession, new_session
from mock_server.core.errors import MockServerError, StoreUnavailable
from mock_server.core.store import SessionStore, StaleWrite, preload
from mock_server.stores import describe_store, open_store
from mock_server.stores.redis_store import RedisSessionStore
from mock_server.stores.sqlite_store import MAX_IDLE_CONNECTIONS, SqliteSessionStore

APP = 7
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def a_session(
    integration_id: str, *, app: int = APP, minutes: int = 0, **fields: object
) -> CustomerSession:
    """A session created `minutes` after T0."""
    moment = T0 + timedelta(minutes=minutes)
    session = new_session(integration_id=integration_id, application_id=app, now=moment)
    return replace(session, **fields)  # type: ignore[arg-type]


def test_save_then_get_round_trips_every_field(backend_store: SessionStore) -> None:
    session = a_session(
        "s-1",
        profile_id="p-1",
        cart_items=(CartItem("Mug", "MUG-1", 2, Decimal("12.50"), position=Decimal(0)),),
        additional_costs={"shipping": Decimal("4.95")},
        coupon_codes=("WELCOME",),
        attributes={"channel": "web", "nested": {"a": [1, 2]}},
        cart_item_total=Decimal("25.00"),
        additional_cost_total=Decimal("4.95"),
        total=Decimal("29.95"),
    )

    first = backend_store.save(session, None)
    stored = backend_store.get(APP, "s-1")

    assert first.version == 1
    assert stored is not None
    assert stored.version == 1
    assert stored.session == session


def test_versions_count_up_and_a_stale_save_is_refused(backend_store: SessionStore) -> None:
    session = a_session("s-1")
    backend_store.save(session, None)
    second = backend_store.save(replace(session, attributes={"n": 2}), 1)

    with pytest.raises(StaleWrite):
        backend_store.save(replace(session, attributes={"n": 3}), 1)
    with pytest.raises(StaleWrite):
        backend_store.save(replace(session, attributes={"n": 3}), None)

    stored = backend_store.get(APP, "s-1")
    assert second.version == 2
    assert stored is not None and stored.version == 2
    assert stored.session.attributes == {"n": 2}


def test_a_save_naming_a_version_of_an_absent_session_is_refused(
    backend_store: SessionStore,
) -> None:
    with pytest.raises(StaleWrite):
        backend_store.save(a_session("ghost"), 1)
    assert backend_store.get(APP, "ghost") is None


def test_sessions_are_kept_per_application(backend_store: SessionStore) -> None:
    backend_store.save(a_session("shared-id", app=1, attributes={"app": 1}), None)
    backend_store.save(a_session("shared-id", app=2, attributes={"app": 2}), None)

    one, two = backend_store.get(1, "shared-id"), backend_store.get(2, "shared-id")
    assert one is not None and one.session.attributes == {"app": 1}
    assert two is not None and two.session.attributes == {"app": 2}
    assert backend_store.get(3, "shared-id") is None


def test_list_orders_by_creation_and_filters_by_application(backend_store: SessionStore) -> None:
    backend_store.save(a_session("late", minutes=5), None)
    backend_store.save(a_session("early", minutes=1), None)
    backend_store.save(a_session("other-app", app=8, minutes=3), None)
    backend_store.save(a_session("b-same-time", minutes=2), None)
    backend_store.save(a_session("a-same-time", minutes=2), None)

    assert [s.integration_id for s in backend_store.list(APP)] == [
        "early",
        "a-same-time",
        "b-same-time",
        "late",
    ]
    assert [s.integration_id for s in backend_store.list()] == [
        "early",
        "a-same-time",
        "b-same-time",
        "other-app",
        "late",
    ]


def test_delete_removes_one_session(backend_store: SessionStore) -> None:
    backend_store.save(a_session("gone"), None)
    backend_store.save(a_session("kept"), None)

    assert backend_store.delete(APP, "gone") is True
    assert backend_store.delete(APP, "gone") is False
    assert backend_store.get(APP, "gone") is None
    assert [s.integration_id for s in backend_store.list(APP)] == ["kept"]


def test_the_first_claim_of_a_profile_wins(backend_store: SessionStore) -> None:
    assert backend_store.first_session_of(APP, "p-1") is None
    assert backend_store.claim_profile(APP, "p-1", "s-1") == "s-1"
    assert backend_store.claim_profile(APP, "p-1", "s-2") == "s-1"
    assert backend_store.first_session_of(APP, "p-1") == "s-1"
    assert backend_store.first_session_of(APP + 1, "p-1") is None


def test_clear_forgets_sessions_profiles_and_marks(backend_store: SessionStore) -> None:
    backend_store.save(a_session("s-1"), None)
    backend_store.claim_profile(APP, "p-1", "s-1")
    assert backend_store.try_lock(APP, "s-1", "holder", ttl=60)

    backend_store.clear()

    assert backend_store.get(APP, "s-1") is None
    assert backend_store.list() == []
    assert backend_store.first_session_of(APP, "p-1") is None
    assert backend_store.try_lock(APP, "s-1", "someone-else", ttl=60)


def test_update_marks_exclude_other_holders_until_unlocked(backend_store: SessionStore) -> None:
    assert backend_store.try_lock(APP, "s-1", "a", ttl=60)
    assert backend_store.try_lock(APP, "s-1", "a", ttl=60)  # the holder may renew
    assert not backend_store.try_lock(APP, "s-1", "b", ttl=60)
    assert backend_store.try_lock(APP, "s-2", "b", ttl=60)  # marks are per session

    backend_store.unlock(APP, "s-1", "b")  # not b's mark: nothing happens
    assert not backend_store.try_lock(APP, "s-1", "b", ttl=60)
    backend_store.unlock(APP, "s-1", "a")
    assert backend_store.try_lock(APP, "s-1", "b", ttl=60)


def test_an_update_mark_expires(backend_store: SessionStore) -> None:
    if isinstance(backend_store, SqliteSessionStore):
        pytest.skip("SQLite marks are OS locks: they end with their holder (test below)")
    assert backend_store.try_lock(APP, "s-1", "crashed-holder", ttl=0.05)
    time.sleep(0.15)
    assert backend_store.try_lock(APP, "s-1", "next", ttl=60)


def test_preload_adds_only_what_is_missing(backend_store: SessionStore) -> None:
    generated = [a_session("g-1", profile_id="p-1"), a_session("g-2", minutes=1)]
    assert preload(backend_store, generated) == 2
    changed = replace(generated[0], attributes={"edited": True})
    backend_store.save(changed, 1)

    assert preload(backend_store, generated) == 0

    stored = backend_store.get(APP, "g-1")
    assert stored is not None and stored.session.attributes == {"edited": True}
    assert backend_store.first_session_of(APP, "p-1") == "g-1"


def _increment(store: SessionStore, integration_id: str, times: int) -> int:
    """Add 1 to attributes.n `times` times with compare-and-set; return the conflicts met."""
    conflicts = 0
    for _ in range(times):
        while True:
            revision = store.get(APP, integration_id)
            assert revision is not None
            n = revision.session.attributes["n"]
            try:
                store.save(replace(revision.session, attributes={"n": n + 1}), revision.version)
                break
            except StaleWrite:
                conflicts += 1
    return conflicts


def _increment_in_process(url: str, integration_id: str, times: int) -> int:
    store = open_store(url)
    try:
        return _increment(store, integration_id, times)
    finally:
        store.close()


def test_concurrent_compare_and_set_loses_no_update(backend_store: SessionStore) -> None:
    # Given a counter and 8 threads that each add 1 to it 25 times, retrying on conflicts
    backend_store.save(a_session("counter", attributes={"n": 0}), None)
    threads, times = 8, 25
    start = threading.Barrier(threads)

    def worker() -> int:
        start.wait()
        return _increment(backend_store, "counter", times)

    # When they all run at once
    with ThreadPoolExecutor(threads) as pool:
        conflicts = sum(pool.map(lambda _: worker(), range(threads)))

    # Then every increment is there, and each one made exactly one revision
    stored = backend_store.get(APP, "counter")
    assert stored is not None
    assert stored.session.attributes == {"n": threads * times}
    assert stored.version == 1 + threads * times
    assert conflicts >= 0


def test_processes_sharing_a_store_lose_no_update(durable_store_url: str) -> None:
    # Given a counter in a store that three processes open by URL
    store = open_store(durable_store_url)
    store.save(a_session("counter", attributes={"n": 0}), None)
    processes, times = 3, 40

    # When each process adds 1 to it 40 times, with two threads each
    context = multiprocessing.get_context("fork")
    with context.Pool(processes) as pool:
        pool.starmap(
            _increment_in_process,
            [(durable_store_url, "counter", times // 2)] * (processes * 2),
        )

    # Then no increment is lost
    stored = store.get(APP, "counter")
    store.close()
    assert stored is not None
    assert stored.session.attributes == {"n": processes * times}
    assert stored.version == 1 + processes * times


def test_a_durable_store_keeps_everything_across_reopening(durable_store_url: str) -> None:
    first = open_store(durable_store_url)
    first.save(a_session("s-1", profile_id="p-1"), None)
    first.save(a_session("s-1", profile_id="p-1", attributes={"v": 2}), 1)
    first.claim_profile(APP, "p-1", "s-1")
    first.close()

    reopened = open_store(durable_store_url)
    stored = reopened.get(APP, "s-1")
    first_of_profile = reopened.first_session_of(APP, "p-1")
    reopened.close()

    assert stored is not None and stored.version == 2
    assert stored.session.attributes == {"v": 2}
    assert first_of_profile == "s-1"


class FakeClock:
    """Wall-clock seconds that a test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_sqlite_ttl_expires_sessions_and_profiles_not_written_for_a_while(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    store = SqliteSessionStore(tmp_path / "ttl.db", ttl=60, clock=clock)
    store.save(a_session("idle", profile_id="p-idle"), None)
    store.claim_profile(APP, "p-idle", "idle")
    store.save(a_session("busy"), None)

    clock.now += 45
    store.save(a_session("busy", attributes={"touched": True}), 1)
    clock.now += 30  # idle: 75 s untouched, busy: 30 s

    assert store.get(APP, "idle") is None
    assert store.first_session_of(APP, "p-idle") is None
    assert [s.integration_id for s in store.list(APP)] == ["busy"]
    # An expired session's id is free again, and starts over at version 1
    assert store.save(a_session("idle"), None).version == 1
    assert store.purge_expired() == 0  # nothing left to purge: "idle" was replaced
    clock.now += 61
    assert store.purge_expired() == 2
    store.close()


def test_redis_ttl_expires_sessions_not_written_for_a_while(redis_url: str) -> None:
    store = open_store(f"{redis_url}?namespace=ttl-test", ttl=0.3)
    store.clear()
    store.save(a_session("idle", profile_id="p-idle"), None)
    store.claim_profile(APP, "p-idle", "idle")

    time.sleep(0.5)

    assert store.get(APP, "idle") is None
    assert store.first_session_of(APP, "p-idle") is None
    assert store.list(APP) == []
    assert store.save(a_session("idle"), None).version == 1
    store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgres://db/1", "unknown store"),
        ("sqlite://", "names no file"),
        ("sqlite:///x.db?journal=off", "unknown store option 'journal'"),
        ("sqlite:///x.db?synchronous=sometimes", "synchronous must be one of"),
        ("redis://127.0.0.1:1/0", "cannot reach Redis"),
        ("redis://127.0.0.1:1/0?namespace=a*b", "namespace must match"),
    ],
    ids=["scheme", "sqlite-no-file", "sqlite-option", "sqlite-sync", "redis-down", "namespace"],
)
def test_bad_store_urls_are_refused_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(MockServerError, match=message):
        open_store(url)


def test_ttl_on_a_memory_store_is_refused() -> None:
    with pytest.raises(MockServerError, match="--ttl needs a shared store"):
        open_store("memory://", ttl=60)


def _open_files(path: Path) -> int:
    count = 0
    for fd in Path("/proc/self/fd").iterdir():
        try:
            count += Path(fd).readlink() == path
        except OSError:
            continue
    return count


def test_sqlite_opens_a_file_whose_marks_lived_with_the_sessions(tmp_path: Path) -> None:
    # Given a store file as earlier versions left it: sessions, and marks in the same file
    path = tmp_path / "earlier.db"
    earlier = SqliteSessionStore(path)
    earlier.save(a_session("kept"), None)
    earlier.close()
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE update_marks (application_id INTEGER NOT NULL, integration_id TEXT"
            " NOT NULL, token TEXT NOT NULL, expires REAL NOT NULL,"
            " PRIMARY KEY (application_id, integration_id)) WITHOUT ROWID"
        )
        db.execute("INSERT INTO update_marks VALUES (?, 'kept', 'stale', 1e18)", (APP,))
    db.close()

    # When this version opens it
    store = SqliteSessionStore(path)

    # Then the sessions are there, the old marks table is gone, and marks work
    assert store.get(APP, "kept") is not None
    assert store.try_lock(APP, "kept", "new-holder", 60)
    assert not store.try_lock(APP, "kept", "other-holder", 60)
    store.close()
    with sqlite3.connect(path) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    db.close()
    assert "update_marks" not in tables
    assert "sessions" in tables


def test_sqlite_keeps_a_bounded_pool_whatever_the_number_of_threads(tmp_path: Path) -> None:
    # Given a thread-per-connection server's pattern: many short-lived threads
    store = SqliteSessionStore(tmp_path / "pool.db")
    store.save(a_session("s-1"), None)

    def read_once() -> None:
        assert store.get(APP, "s-1") is not None

    for _ in range(5):
        threads = [threading.Thread(target=read_once) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # Then the open database connections stay within the pool's bound
    assert 1 <= _open_files(tmp_path / "pool.db") <= MAX_IDLE_CONNECTIONS
    store.close()
    assert _open_files(tmp_path / "pool.db") == 0


def test_the_banner_shows_the_sqlite_file_absolute_and_hides_a_redis_password() -> None:
    assert describe_store("sqlite:///data/x.db") == f"sqlite:///{Path('data/x.db').absolute()}"
    shown = describe_store("redis://:s3cret@cache.internal:6380/2")
    assert "s3cret" not in shown
    assert shown == "redis://:***@cache.internal:6380/2"


_HOLD_A_MARK = """
import sys, time
from mock_server.stores.sqlite_store import SqliteSessionStore
store = SqliteSessionStore(sys.argv[1])
assert store.try_lock(int(sys.argv[2]), "s-1", "holder", 60)
print("held", flush=True)
time.sleep(60)
"""


def test_sqlite_mark_of_a_killed_holder_ends_with_it(tmp_path: Path) -> None:
    # Given another process that holds the mark of s-1
    path = tmp_path / "marks.db"
    store = SqliteSessionStore(path)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_A_MARK, str(path), str(APP)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert not store.try_lock(APP, "s-1", "next", 60)
        # When it is killed mid-update
        holder.kill()
        holder.wait(timeout=10)
        # Then its mark is free at once, not after an expiry
        assert store.try_lock(APP, "s-1", "next", 60)
    finally:
        holder.kill()
        holder.wait(timeout=10)
        assert holder.stdout is not None
        holder.stdout.close()
        store.close()


def test_sqlite_marks_exclude_other_threads_of_one_process(tmp_path: Path) -> None:
    store = SqliteSessionStore(tmp_path / "threads.db")
    outcomes: list[bool] = []
    assert store.try_lock(APP, "s-1", "main-thread", 60)
    thread = threading.Thread(target=lambda: outcomes.append(store.try_lock(APP, "s-1", "t", 60)))
    thread.start()
    thread.join(timeout=10)
    assert outcomes == [False]
    store.unlock(APP, "s-1", "main-thread")
    assert store.try_lock(APP, "s-1", "t", 60)
    store.close()


# ----------------------------------------------------------------------------- failing backends


def _dead_redis_store() -> RedisSessionStore:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # No retries: redis-py's default backoff would take seconds to give up.
    client = redis.Redis(host="127.0.0.1", port=port, retry=Retry(NoBackoff(), 0))
    return RedisSessionStore(client)


@pytest.mark.parametrize(
    ("operation", "args"),
    [
        ("get", (APP, "s-1")),
        ("save", (a_session("s-1"), None)),
        ("list", ()),
        ("claim_profile", (APP, "p", "s-1")),
        ("try_lock", (APP, "s-1", "token", 1.0)),
        ("unlock", (APP, "s-1", "token")),
    ],
)
def test_an_unreachable_redis_fails_every_operation_as_store_unavailable(
    operation: str, args: tuple[object, ...]
) -> None:
    store = _dead_redis_store()
    with pytest.raises(StoreUnavailable) as raised:
        getattr(store, operation)(*args)
    assert isinstance(raised.value.__cause__, redis.ConnectionError)


def test_a_damaged_sqlite_file_fails_operations_as_store_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    store = SqliteSessionStore(path)
    store.save(a_session("s-1"), None)
    store.close()  # no pooled connection keeps the old pages
    for leftover in tmp_path.glob("sessions.db-*"):
        if not leftover.name.startswith("sessions.db-marks"):
            leftover.unlink()
    path.write_bytes(b"not a database" * 512)
    with pytest.raises(StoreUnavailable):
        store.get(APP, "s-1")


def test_a_stale_write_is_no_store_failure(tmp_path: Path) -> None:
    store = SqliteSessionStore(tmp_path / "sessions.db")
    with pytest.raises(StaleWrite):
        store.save(a_session("s-1"), 7)


def test_a_read_only_sqlite_file_is_refused_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    open_store(f"sqlite:///{path}").close()
    undo = _make_read_only(path)
    try:
        with pytest.raises(MockServerError, match=re.escape(str(path))):
            open_store(f"sqlite:///{path}")
    finally:
        undo()


def _make_read_only(path: Path) -> Callable[[], object]:
    """chmod for other users; root writes anyway, so chattr +i for root (or skip)."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        return lambda: path.chmod(0o644)
    chattr = shutil.which("chattr")
    done = subprocess.run([chattr or "chattr", "+i", str(path)], capture_output=True, check=False)
    if chattr is None or done.returncode != 0:
        pytest.skip("cannot make a file read-only for root here")
    return lambda: subprocess.run([chattr, "-i", str(path)], check=False)
