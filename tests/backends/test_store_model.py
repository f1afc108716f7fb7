"""Random operation sequences on the SQLite and Redis stores agree with the memory store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from mock_server.core.domain import CustomerSession, new_session
from mock_server.core.store import MemorySessionStore, SessionStore, StaleWrite
from mock_server.stores import open_store

T0 = datetime(2026, 3, 1, tzinfo=UTC)
applications = st.sampled_from([1, 2])
session_ids = st.sampled_from(["a", "b", "c/d", "é"])
profile_ids = st.sampled_from(["p-1", "p-2"])
tokens = st.sampled_from(["t-1", "t-2"])


def _session(app: int, integration_id: str, n: int) -> CustomerSession:
    session = new_session(
        integration_id=integration_id, application_id=app, now=T0 + timedelta(seconds=n)
    )
    return replace(session, attributes={"n": n})


def _outcome(store: SessionStore, call: str, *args: object) -> object:
    try:
        result = getattr(store, call)(*args)
    except StaleWrite:
        return "stale"
    return result.version if call == "save" else result


class StoreAgainstMemory(RuleBasedStateMachine):
    """Every operation gives the same answer on the backend as on the reference store."""

    url = ""

    def __init__(self) -> None:
        super().__init__()
        self.reference = MemorySessionStore()
        self.backend = open_store(self.url)
        self.backend.clear()

    def both(self, call: str, *args: object) -> None:
        assert _outcome(self.backend, call, *args) == _outcome(self.reference, call, *args)

    @rule(app=applications, integration_id=session_ids, n=st.integers(0, 50),
          version=st.one_of(st.none(), st.integers(1, 4)))  # fmt: skip
    def save(self, app: int, integration_id: str, n: int, version: int | None) -> None:
        self.both("save", _session(app, integration_id, n), version)

    @rule(app=applications, integration_id=session_ids)
    def delete(self, app: int, integration_id: str) -> None:
        self.both("delete", app, integration_id)

    @rule(app=applications, profile=profile_ids, integration_id=session_ids)
    def claim_profile(self, app: int, profile: str, integration_id: str) -> None:
        self.both("claim_profile", app, profile, integration_id)

    @rule(app=applications, integration_id=session_ids, token=tokens)
    def try_lock(self, app: int, integration_id: str, token: str) -> None:
        self.both("try_lock", app, integration_id, token, 60.0)

    @rule(app=applications, integration_id=session_ids, token=tokens)
    def unlock(self, app: int, integration_id: str, token: str) -> None:
        self.both("unlock", app, integration_id, token)

    @rule()
    def clear(self) -> None:
        self.both("clear")

    @invariant()
    def same_contents(self) -> None:
        assert self.backend.list() == self.reference.list()
        for app in (1, 2):
            for integration_id in ("a", "b", "c/d", "é"):
                assert self.backend.get(app, integration_id) == self.reference.get(
                    app, integration_id
                )
            for profile in ("p-1", "p-2"):
                assert self.backend.first_session_of(app, profile) == (
                    self.reference.first_session_of(app, profile)
                )

    def teardown(self) -> None:
        self.backend.close()


def test_store_agrees_with_memory(durable_store_url: str) -> None:
    machine = type("Machine", (StoreAgainstMemory,), {"url": durable_store_url})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
