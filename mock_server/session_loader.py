"""Sessions from `CustomerSessionV2` documents (fixture files, the admin API), checked first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mock_server.domain import CustomerSession, compute_totals
from mock_server.schemas import compile_schema
from mock_server.store import SessionStore, StaleWrite
from mock_server.wire import session_from_json

if TYPE_CHECKING:
    from mock_server.spec import Spec

_TOTALS = ("cart_item_total", "additional_cost_total", "total")
_JSON_TOTALS = {"cart_item_total": "cartItemTotal", "additional_cost_total": "additionalCostTotal"}


@dataclass(frozen=True, slots=True)
class DocumentProblem:
    """Why one document cannot be loaded, with the JSON pointer into the list of documents."""

    pointer: str
    message: str


class InvalidSessionDocuments(ValueError):
    """Documents that do not match CustomerSessionV2 or whose totals do not add up."""

    def __init__(self, problems: list[DocumentProblem]) -> None:
        super().__init__("; ".join(f"{p.pointer or '/'}: {p.message}" for p in problems))
        self.problems = problems


def sessions_from_documents(spec: Spec, documents: Any) -> list[CustomerSession]:
    """Parse a JSON list of CustomerSessionV2 documents; all valid, or InvalidSessionDocuments."""
    if not isinstance(documents, list):
        raise InvalidSessionDocuments(
            [DocumentProblem("", "expected a JSON array of CustomerSessionV2 documents")]
        )
    schema = compile_schema(spec, "CustomerSessionV2")
    problems: list[DocumentProblem] = []
    sessions: list[CustomerSession] = []
    seen: set[tuple[int, str]] = set()
    for index, document in enumerate(documents):
        violations = schema.violations(document)
        problems.extend(DocumentProblem(f"/{index}{v.pointer}", v.message) for v in violations)
        if violations:
            continue
        session = session_from_json(document)
        key = (session.application_id, session.integration_id)
        if key in seen:
            problems.append(
                DocumentProblem(f"/{index}/integrationId", "the same session appears twice")
            )
        seen.add(key)
        expected = compute_totals(session.cart_items, session.additional_costs)
        for name in _TOTALS:
            if getattr(expected, name) != getattr(session, name):
                json_name = _JSON_TOTALS.get(name, name)
                problems.append(
                    DocumentProblem(
                        f"/{index}/{json_name}",
                        f"{json_name} must be {getattr(expected, name)}, the sum of the session",
                    )
                )
        sessions.append(session)
    if problems:
        raise InvalidSessionDocuments(problems)
    return sessions


def put_sessions(store: SessionStore, sessions: list[CustomerSession]) -> int:
    """Store sessions, replacing any stored session of the same id; return how many.

    Unlike the preload, which never overwrites what clients made of a session, loading
    fixtures on purpose replaces it.
    """
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
    return len(sessions)
