"""What each business check decides about one exchange, whoever observed it.

The Schemathesis checks (`checks.py`), a recorded or proxied stream of traffic (`traffic.py`)
and any future source call these same functions. Each returns a `Verdict`: problems (the server
breaks the rule), doubts (the check cannot decide), or neither (the server keeps the rule). None
of them raises on anything a server may answer; a probe that fails becomes a doubt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from contract_tests.exchange import Exchange
from contract_tests.history import SessionHistory
from contract_tests.rules import (
    Amounts,
    Problem,
    Verdict,
    error_response_problems,
    is_allowed_transition,
    same_moment,
    same_value,
    session_differences,
    session_verdict,
)

# The 4xx answers openapi.yaml documents, each an ErrorResponse.
DOCUMENTED_ERRORS: Final = {"GET": (400, 401, 404), "PUT": (400, 401, 409)}
# Titles of the rules the contract documents for schema-valid input (openapi.yaml, 400).
BUSINESS_TITLES: Final = ("Invalid state transition", "Cart is final", "Amount out of range")
STATE_TITLES: Final = BUSINESS_TITLES[:2]
AMOUNT_TITLE: Final = BUSINESS_TITLES[2]


class ProbeFailed(Exception):
    """A confirming GET could not be made (network failure, timeout)."""


# GETs the session of an exchange with the same credentials: (status, stored customerSession).
Probe = Callable[[Exchange], tuple[int, dict[str, Any] | None]]


def session_rules(exchange: Exchange) -> Verdict:
    """`totals_add_up`: totals, integrationId, firstSession of anonymous, updated after created."""
    session = exchange.answered_session
    if exchange.status != 200 or session is None:
        return Verdict()
    return session_verdict(session, exchange.session_id)


def error_response(exchange: Exchange) -> Verdict:
    """`error_response_well_formed`: every documented 4xx is a JSON `ErrorResponse`."""
    if exchange.status not in DOCUMENTED_ERRORS.get(exchange.method, ()) or not exchange.session_id:
        # Undocumented statuses (405, 415, ...) are status_code_conformance's finding.
        return Verdict()
    if "json" not in exchange.content_type.lower():
        return Verdict(
            (
                Problem(
                    "content-type",
                    f"A {exchange.status} answer must be an application/json ErrorResponse, "
                    f"not {exchange.content_type or 'a body without Content-Type'}",
                ),
            )
        )
    problems = error_response_problems(exchange.answer)
    if problems:
        return Verdict(
            (
                Problem(
                    "shape",
                    f"The {exchange.status} answer is not a well-formed ErrorResponse: "
                    + "; ".join(problems),
                ),
            )
        )
    return Verdict()


def _pointed(document: Any, pointer: str) -> tuple[bool, Any]:
    """(found, value) of a JSON pointer into a document."""
    if pointer == "":
        return True, document
    current = document
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(current, dict) and token in current:
            current = current[token]
        elif isinstance(current, list) and token.isdigit() and int(token) < len(current):
            current = current[int(token)]
        else:
            return False, None
    return True, current


def _without_positions(value: Any) -> Any:
    if isinstance(value, list):
        return [
            {k: v for k, v in item.items() if k != "position"} if isinstance(item, dict) else item
            for item in value
        ]
    return value


def _explained_by_known_rule(exchange: Exchange, probe: Probe) -> str | None:
    """Why a schema-valid PUT was legitimately refused, verified against the stored session."""
    sent = exchange.sent_session or {}
    if Amounts.of_session(sent).out_of_range():
        return "an amount is out of range"
    if exchange.session_id is None:
        return None
    _, current = probe(exchange)
    if current is None:
        return None
    state, requested = current.get("state"), sent.get("state")
    if isinstance(state, str) and isinstance(requested, str):
        if not is_allowed_transition(state, requested):
            return f"{state} -> {requested} is an illegal transition"
    if state in ("closed", "cancelled"):
        for name in ("cartItems", "additionalCosts"):
            if name in sent and not same_value(
                _without_positions(sent[name]), _without_positions(current.get(name))
            ):
                return f"the cart of a {state} session is final"
    return None


def _names_own_rule(exchange: Exchange) -> bool:
    """A rule of the server's own (a real Application may configure more), named precisely.

    Every error must point at a value the request really sent. A transition or a final cart
    is only believed once the stored session confirms it (above); an amount limit of the
    server's own (lower than the mock's) is believed when it points at a number.
    """
    body = exchange.answer
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors or error_response_problems(body):
        return False
    for error in errors:
        source = error.get("source") if isinstance(error, dict) else None
        pointer = source.get("pointer") if isinstance(source, dict) else None
        if not isinstance(pointer, str) or not pointer.startswith("/customerSession/"):
            return False
        found, value = _pointed(exchange.sent, pointer)
        title = error.get("title")
        if not found or title in STATE_TITLES:
            return False
        if title == AMOUNT_TITLE and not _holds_number(value):
            return False
    return True


def _holds_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, dict):
        return any(_holds_number(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_number(item) for item in value)
    return False


def business_rejection(exchange: Exchange, probe: Probe, *, positive: bool) -> Verdict:
    """`business_rejection_justified`: a 400 for schema-valid input names a rule that applies."""
    if exchange.status != 400 or not positive:
        return Verdict()
    if exchange.method == "GET":
        return Verdict(
            (Problem("get-refused", "A GET of a schema-valid session id was refused with 400"),)
        )
    if exchange.method != "PUT" or exchange.sent_session is None:
        return Verdict()  # not the body the schema describes: nothing to justify
    try:
        reason = _explained_by_known_rule(exchange, probe)
    except ProbeFailed as exc:
        return Verdict(doubts=(f"could not GET the session to confirm the 400: {exc}",))
    if reason is not None or _names_own_rule(exchange):
        return Verdict()
    body = exchange.answer
    errors = body.get("errors") if isinstance(body, dict) else None
    named = "" if not isinstance(errors, list) else f"; the errors it names: {errors!r}"[:600]
    return Verdict(
        (
            Problem(
                "unexplained-400",
                "A schema-valid update was refused with 400, and no business rule explains it: "
                "the state transition is legal, the cart is not final, the amounts are in range"
                + named,
            ),
        )
    )


class CrossCallRules:
    """`SessionRules`: transitions, created kept, updates that build on the last one, and dry
    runs that persist nothing, tracked per session for a whole run."""

    def __init__(self, *, concurrent: bool = False) -> None:
        self.history = SessionHistory(concurrent=concurrent)

    def verdict(self, exchange: Exchange, probe: Probe) -> Verdict:
        """Check one exchange against what was seen before, then remember it."""
        verdict = self.history.observe_verdict(exchange)
        if exchange.method == "PUT" and exchange.dry and exchange.status == 200:
            try:
                verdict += Verdict(tuple(self._dry_run_problems(exchange, probe)))
            except ProbeFailed as exc:
                verdict += Verdict(doubts=(f"could not GET the session after a dry run: {exc}",))
        return verdict

    def _dry_run_problems(self, exchange: Exchange, probe: Probe) -> list[Problem]:
        known = self.history.known(exchange)
        status, current = probe(exchange)
        answered = exchange.answered_session
        if status == 404:
            if known is not None and known.snapshot is not None:
                return [
                    Problem("dry-run-deleted", "after a dry run, the session that existed is gone")
                ]
            return []
        if status != 200 or current is None:
            return []
        if known is not None and known.snapshot is not None and not self.history.concurrent:
            if session_differences(known.snapshot, current):
                return [
                    Problem(
                        "dry-run-persisted",
                        "dry=true changed the stored session (it must persist nothing)",
                    )
                ]
            return []
        # Only for a session this run saw missing: an older one may never have been updated.
        if (
            self.history.was_absent(exchange)
            and answered is not None
            and answered.get("created") == answered.get("updated")
        ):
            if same_moment(current.get("created"), answered.get("created")):
                return [
                    Problem(
                        "dry-run-created",
                        "dry=true created the session it only had to evaluate",
                    )
                ]
        return []
