"""The use cases of the API over a store: read, and update with the rules. No HTTP here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from mock_server.core.domain import (
    CustomerSession,
    ProfileSummary,
    SessionState,
    SessionUpdate,
    apply_update,
    new_session,
    next_update_time,
    session_number,
)
from mock_server.core.store import SessionStore, StaleWrite

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


class SessionNotFound(Exception):
    """No session with this integration id in this application."""

    def __init__(self, integration_id: str) -> None:
        super().__init__(integration_id)
        self.integration_id = integration_id


class ConcurrentUpdate(Exception):
    """Another update of the same session won the race."""

    def __init__(self, integration_id: str) -> None:
        super().__init__(integration_id)
        self.integration_id = integration_id


class SessionService:
    """Reads and updates sessions of a store, keeping every rule of the API."""

    def __init__(self, store: SessionStore, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def get(self, application_id: int, integration_id: str) -> CustomerSession:
        """The stored session, or SessionNotFound."""
        revision = self.store.get(application_id, integration_id)
        if revision is None:
            raise SessionNotFound(integration_id)
        return revision.session

    def update(
        self,
        application_id: int,
        integration_id: str,
        update: SessionUpdate,
        *,
        dry: bool = False,
    ) -> CustomerSession:
        """Create or update a session; with `dry` compute the answer and persist nothing."""
        now = self.clock()
        revision = self.store.get(application_id, integration_id)
        if revision is None:
            current = new_session(
                integration_id=integration_id, application_id=application_id, now=now
            )
            updated = now
        else:
            current = revision.session
            updated = next_update_time(current.updated, now)

        profile_id = update.profile_id if isinstance(update.profile_id, str) else current.profile_id
        first = self.store.first_session_of(application_id, profile_id) if profile_id else None
        session = apply_update(current, update, updated=updated, first_session_of_profile=first)
        if dry:
            return session
        if profile_id and first is None:
            # Claim the profile only once the update is known to be valid, so a rejected
            # request never makes a later session look like a returning customer's.
            claimed = self.store.claim_profile(application_id, profile_id, integration_id)
            if claimed != integration_id:
                session = replace(session, first_session=False)
        try:
            self.store.save(session, revision.version if revision is not None else None)
        except StaleWrite as exc:
            raise ConcurrentUpdate(integration_id) from exc
        return session

    def profile(self, application_id: int, profile_id: str) -> ProfileSummary | None:
        """A summary of a named profile's sessions, or None for anonymous or unknown."""
        if not profile_id:
            return None
        sessions = [s for s in self.store.list(application_id) if s.profile_id == profile_id]
        if not sessions:
            return None
        closed = [s for s in sessions if s.state is SessionState.CLOSED]
        return ProfileSummary(
            id=session_number(application_id, f"profile:{profile_id}"),
            integration_id=profile_id,
            created=min(s.created for s in sessions),
            last_activity=max(s.updated for s in sessions),
            closed_sessions=len(closed),
            total_sales=sum((s.total for s in closed), Decimal(0)),
        )
