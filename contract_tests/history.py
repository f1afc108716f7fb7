"""What a client has seen of each session, to check rules that span several calls.

Observations are ordered by the server's own `updated` stamps, not by arrival, so concurrent
clients cannot make a correct server look as if its sessions moved backwards.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contract_tests.exchange import Exchange
from contract_tests.rules import (
    Problem,
    Verdict,
    applied_verdict,
    definitely_before,
    is_allowed_transition,
    kept_verdict,
    parse_time,
    same_moment,
    session_differences,
)


@dataclass
class Known:
    """The latest trustworthy view of one session."""

    state: str | None
    created: str | None
    updated: datetime | None
    # The full document, only while no unseen change can have happened since.
    snapshot: dict[str, Any] | None
    # `updated` as the server wrote it (its precision matters when comparing).
    updated_text: str | None = None


class SessionHistory:
    """Per-session knowledge, shared by every check of a run."""

    def __init__(self, *, concurrent: bool = False) -> None:
        self._lock = threading.Lock()
        self._known: dict[tuple[str, str], Known] = {}
        self._absent: set[tuple[str, str]] = set()
        # With several clients, another update may land between two observations.
        self.concurrent = concurrent

    def known(self, exchange: Exchange) -> Known | None:
        """What is known of the exchange's session, if anything."""
        if exchange.session_id is None:
            return None
        with self._lock:
            return self._known.get((exchange.client_key, exchange.session_id))

    def forget(self, exchange: Exchange) -> None:
        """Drop what is known of a session (after an answer that hides what happened)."""
        if exchange.session_id is not None:
            with self._lock:
                self._known.pop((exchange.client_key, exchange.session_id), None)

    def observe(self, exchange: Exchange) -> list[str]:
        """Check an exchange against what was seen before, then remember it."""
        return self.observe_verdict(exchange).messages

    def observe_verdict(self, exchange: Exchange) -> Verdict:
        """Check an exchange against what was seen before, then remember it."""
        return Verdict(tuple(self._observe(exchange)))

    def was_absent(self, exchange: Exchange) -> bool:
        """Whether the last word on the exchange's session was a 404: it did not exist then."""
        with self._lock:
            return (exchange.client_key, exchange.session_id or "") in self._absent

    def _observe(self, exchange: Exchange) -> list[Problem]:
        if exchange.session_id is None:
            return []
        key = (exchange.client_key, exchange.session_id)
        if exchange.status >= 500:
            self.forget(exchange)
            return []
        if exchange.method == "GET" and exchange.status == 404:
            with self._lock:
                self._absent.add(key)
            return []
        if exchange.status != 200:
            return []
        if not (exchange.method == "PUT" and exchange.dry):
            with self._lock:
                self._absent.discard(key)
        if exchange.method == "PUT" and exchange.dry:
            return self._check_dry_answer(exchange)
        if exchange.method == "PUT":
            return self._observe_update(exchange)
        if exchange.method == "GET":
            return self._observe_read(exchange)
        return []

    def _check_dry_answer(self, exchange: Exchange) -> list[Problem]:
        known = self.known(exchange)
        requested = (exchange.sent_session or {}).get("state")
        if known is None or known.state is None or not isinstance(requested, str):
            return []
        if not is_allowed_transition(known.state, requested):
            return [
                Problem(
                    "dry-run-illegal-transition",
                    f"a dry run accepted the illegal transition {known.state} -> {requested} "
                    "(it must answer 400 as the real update would)",
                )
            ]
        return []

    def _observe_update(self, exchange: Exchange) -> list[Problem]:
        key = (exchange.client_key, exchange.session_id or "")
        sent = exchange.sent_session or {}
        answered = exchange.answered_session
        problems: list[Problem] = []
        with self._lock:
            known = self._known.get(key)
            requested = sent.get("state")
            stale = (
                known is not None
                and answered is not None
                and definitely_before(answered.get("updated"), known.updated_text)
            )
            if self.concurrent and (answered is None or stale):
                # Another client may have moved the session meanwhile: nothing to compare with.
                if answered is None:
                    self._known.pop(key, None)
                    return []
                return list(applied_verdict(sent, answered).problems)
            if known is not None and known.state is not None and isinstance(requested, str):
                if not is_allowed_transition(known.state, requested):
                    problems.append(
                        Problem(
                            "illegal-transition",
                            f"the illegal transition {known.state} -> {requested} was accepted "
                            "(allowed: open -> closed, open -> cancelled, closed -> cancelled)",
                        )
                    )
            if answered is None:
                # Accepted, but unseen: the state is what was asked for, the rest unknown.
                state = requested if isinstance(requested, str) else None
                if known is not None:
                    state = state or known.state
                    self._known[key] = Known(
                        state, known.created, known.updated, None, known.updated_text
                    )
                elif state is not None:
                    self._known[key] = Known(state, None, None, None)
                return problems
            problems.extend(applied_verdict(sent, answered).problems)
            if known is not None:
                if stale:
                    problems.append(
                        Problem(
                            "updated-went-back",
                            f"updated went back from {known.updated_text} to "
                            f"{answered.get('updated')} after an update",
                        )
                    )
                    return problems
                problems.extend(self._created_kept(known, answered))
                if known.snapshot is not None and not self.concurrent:
                    problems.extend(kept_verdict(sent, known.snapshot, answered).problems)
            self._known[key] = self._known_from(answered)
        return problems

    def _observe_read(self, exchange: Exchange) -> list[Problem]:
        key = (exchange.client_key, exchange.session_id or "")
        answered = exchange.answered_session
        if answered is None:
            return []
        problems: list[Problem] = []
        with self._lock:
            known = self._known.get(key)
            if known is not None:
                if definitely_before(answered.get("updated"), known.updated_text):
                    if not self.concurrent:
                        problems.append(
                            Problem(
                                "update-lost",
                                f"the stored session has updated {answered.get('updated')}, "
                                f"older than the {known.updated_text} an earlier answer "
                                "showed: an update was lost",
                            )
                        )
                    return problems
                problems.extend(self._created_kept(known, answered))
                state = answered.get("state")
                if known.state is not None and isinstance(state, str):
                    if not is_allowed_transition(known.state, state):
                        problems.append(
                            Problem(
                                "illegal-transition",
                                f"the session moved from {known.state} to {state}, "
                                "which no allowed transition does",
                            )
                        )
                if known.snapshot is not None and not self.concurrent:
                    same_revision = same_moment(
                        known.snapshot.get("updated"), answered.get("updated")
                    )
                    differences = session_differences(known.snapshot, answered)
                    if same_revision and differences:
                        problems.append(
                            Problem(
                                "read-differs",
                                "GET answers a session that differs from what the last update "
                                f"returned for the same revision, in {differences}",
                            )
                        )
                    elif not same_revision:
                        problems.append(
                            Problem(
                                "changed-unasked",
                                "the stored session changed (updated "
                                f"{known.snapshot.get('updated')} -> {answered.get('updated')}) "
                                "with no update in between",
                            )
                        )
            self._known[key] = self._known_from(answered)
        return problems

    @staticmethod
    def _created_kept(known: Known, answered: dict[str, Any]) -> list[Problem]:
        created = answered.get("created")
        if known.created is not None and created is not None:
            if same_moment(created, known.created):
                return []
            return [
                Problem("created-changed", f"created changed from {known.created} to {created}")
            ]
        return []

    @staticmethod
    def _known_from(answered: dict[str, Any]) -> Known:
        state = answered.get("state")
        created = answered.get("created")
        return Known(
            state=state if isinstance(state, str) else None,
            created=created if isinstance(created, str) else None,
            updated=parse_time(answered.get("updated")),
            snapshot=dict(answered),
            updated_text=updated if isinstance(updated := answered.get("updated"), str) else None,
        )
