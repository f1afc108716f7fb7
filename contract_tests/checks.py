"""Checks for what openapi.yaml cannot say, registered the Schemathesis way.

Importing this module registers them; `schemathesis run` picks them up with
`SCHEMATHESIS_HOOKS=contract_tests.checks`, and `customer-session-mock contract` imports it.
Each check reads what went over the wire (see `exchange.py`) and raises AssertionError naming
the field and the rule.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import requests
import schemathesis

from contract_tests.exchange import Exchange, read_exchange
from contract_tests.history import SessionHistory
from contract_tests.rules import (
    Amounts,
    error_response_problems,
    is_allowed_transition,
    same_moment,
    same_value,
    session_differences,
    session_problems,
)

if TYPE_CHECKING:
    from schemathesis import Case, CheckContext, Response

# The 4xx answers openapi.yaml documents, each an ErrorResponse.
DOCUMENTED_ERRORS = {"GET": (400, 401, 404), "PUT": (400, 401, 409)}
# Titles of the rules the contract documents for schema-valid input (openapi.yaml, 400).
BUSINESS_TITLES = ("Invalid state transition", "Cart is final", "Amount out of range")


def exchange_of(response: Response) -> Exchange:
    """What was sent and answered, as the wire saw it."""
    request = response.request
    return read_exchange(
        str(request.method),
        str(request.url),
        request.headers,
        request.body,
        response.status_code,
        _headers(response),
        response.content,
    )


def _headers(response: Response) -> dict[str, str]:
    return {name: ", ".join(values) for name, values in response.headers.items()}


def _fail(problems: list[str]) -> None:
    if problems:
        raise AssertionError("\n".join(problems))


@schemathesis.check
def totals_add_up(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Totals are the cart and additional costs, to the cent; integrationId is the path id;
    an anonymous session is always a first session; updated is never behind created."""
    exchange = exchange_of(response)
    session = exchange.answered_session
    if exchange.status == 200 and session is not None:
        _fail(session_problems(session, exchange.session_id))
    return None


@schemathesis.check
def error_response_well_formed(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """Every documented 4xx answer is a JSON `ErrorResponse`."""
    exchange = exchange_of(response)
    if exchange.status not in DOCUMENTED_ERRORS.get(exchange.method, ()) or not exchange.session_id:
        # Undocumented statuses (405, 415, ...) are status_code_conformance's finding.
        return None
    if "json" not in exchange.content_type.lower():
        raise AssertionError(
            f"A {exchange.status} answer must be an application/json ErrorResponse, "
            f"not {exchange.content_type or 'a body without Content-Type'}"
        )
    problems = error_response_problems(exchange.answer)
    if problems:
        raise AssertionError(
            f"The {exchange.status} answer is not a well-formed ErrorResponse: "
            + "; ".join(problems)
        )
    return None


def probe_session(case: Case[Any], exchange: Exchange) -> tuple[int, dict[str, Any] | None]:
    """GET the session of an exchange at the very URL it used, with the same credentials.

    Returns the status and the stored `customerSession` (None when there is none).
    """
    parts = urlsplit(exchange.url)
    headers = {
        name: value
        for name, value in exchange.request_headers.items()
        if name not in {"content-type", "content-length", "accept-encoding", "connection"}
    }
    app = case.operation.app
    if app is not None:  # in-process: the WSGI app the schema was loaded from
        from werkzeug.test import Client

        answer = Client(app).get(parts.path, headers=headers)
        status, text = answer.status_code, answer.get_data(as_text=True)
    else:
        response = requests.get(urlunsplit(parts._replace(query="")), headers=headers, timeout=30)
        status, text = response.status_code, response.text
    try:
        body = json.loads(text)
    except ValueError:
        return status, None
    session = body.get("customerSession") if isinstance(body, dict) else None
    return status, session if isinstance(session, dict) else None


def _is_positive(case: Case[Any]) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


def _pointer_resolves(document: Any, pointer: str) -> bool:
    if pointer == "":
        return True
    current = document
    for raw in pointer.lstrip("/").split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(current, dict) and token in current:
            current = current[token]
        elif isinstance(current, list) and token.isdigit() and int(token) < len(current):
            current = current[int(token)]
        else:
            return False
    return True


def _explained_by_known_rule(case: Case[Any], exchange: Exchange) -> str | None:
    """Why a schema-valid PUT was legitimately refused, verified against the stored session."""
    sent = exchange.sent_session or {}
    if Amounts.of_session(sent).out_of_range():
        return "an amount is out of range"
    if exchange.session_id is None:
        return None
    _, current = probe_session(case, exchange)
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


def _without_positions(value: Any) -> Any:
    if isinstance(value, list):
        return [
            {k: v for k, v in item.items() if k != "position"} if isinstance(item, dict) else item
            for item in value
        ]
    return value


@schemathesis.check
def business_rejection_justified(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """A 400 for schema-valid input must name a business rule that really applies."""
    exchange = exchange_of(response)
    if exchange.status != 400 or not _is_positive(case):
        return None
    if exchange.method == "GET":
        raise AssertionError("A GET of a schema-valid session id was refused with 400")
    if exchange.method != "PUT":
        return None
    if exchange.sent_session is None:
        return None  # not the body the schema describes: nothing to justify
    reason = _explained_by_known_rule(case, exchange)
    if reason is not None:
        return None
    body = exchange.answer
    errors = body.get("errors") if isinstance(body, dict) else None
    if (
        isinstance(errors, list)
        and errors
        and not error_response_problems(body)
        and all(
            isinstance(error.get("source", {}).get("pointer"), str)
            and error["source"]["pointer"].startswith("/customerSession/")
            and _pointer_resolves(exchange.sent, error["source"]["pointer"])
            and error.get("title") not in BUSINESS_TITLES
            for error in errors
        )
    ):
        # A rule of the server's own (a real Application may configure more), named precisely.
        return None
    raise AssertionError(
        "A schema-valid update was refused with 400, and no business rule explains it: "
        "the state transition is legal, the cart is not final, the amounts are in range"
        + ("" if not isinstance(errors, list) else f"; the errors it names: {errors!r}"[:600])
    )


@schemathesis.check
class SessionRules:
    """Rules across calls: transitions, created kept, updates that build on the last one,
    and dry runs that persist nothing. Tracked per session for the whole run."""

    def __init__(self, concurrent: bool = False) -> None:
        self.history = SessionHistory(concurrent=concurrent)

    def after_response(self, ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        exchange = exchange_of(response)
        problems = self.history.observe(exchange)
        if exchange.method == "PUT" and exchange.dry and exchange.status == 200:
            problems.extend(self._dry_run_problems(case, exchange))
        _fail(problems)
        return None

    def _dry_run_problems(self, case: Case[Any], exchange: Exchange) -> list[str]:
        known = self.history.known(exchange)
        status, current = probe_session(case, exchange)
        answered = exchange.answered_session
        if status == 404:
            if known is not None and known.snapshot is not None:
                return ["after a dry run, the session that existed is gone"]
            return []
        if status != 200 or current is None:
            return []
        if known is not None and known.snapshot is not None and not self.history.concurrent:
            if session_differences(known.snapshot, current):
                return ["dry=true changed the stored session (it must persist nothing)"]
            return []
        if answered is not None and answered.get("created") == answered.get("updated"):
            if same_moment(current.get("created"), answered.get("created")):
                return ["dry=true created the session it only had to evaluate"]
        return []
