"""Checks for what openapi.yaml cannot say, registered the Schemathesis way.

Importing this module registers them; `schemathesis run` picks them up with
`SCHEMATHESIS_HOOKS=contract_tests.checks`, and `customer-session-mock contract` imports it.
Each check reads what went over the wire (see `exchange.py`), asks `verdicts.py` for a verdict
and raises a `RuleFailure` naming the field and the rule.

A check never crashes a run: one that cannot decide records a doubt and returns True (which
Schemathesis counts as "skipped", not as a pass); an unexpected exception inside one (a bug of
ours) is recorded as a harness error, never as the server's failure. Both go to `NOTES`, which
`customer-session-mock contract` drains into its report.
"""

from __future__ import annotations

import functools
import json
import threading
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final
from urllib.parse import urlsplit, urlunsplit

import requests
import schemathesis
from schemathesis.core.failures import Failure, FailureGroup, Severity

from contract_tests.budget import DEFAULT_REQUEST_TIMEOUT
from contract_tests.exchange import Exchange, read_exchange
from contract_tests.rules import Problem, Verdict
from contract_tests.verdicts import (
    CrossCallRules,
    ProbeFailed,
    business_rejection,
    error_response,
    session_rules,
)

if TYPE_CHECKING:
    from schemathesis import Case, CheckContext, Response

# Seconds a confirming GET may take; `contract --request-timeout` sets it for a run.
PROBE_TIMEOUT = DEFAULT_REQUEST_TIMEOUT

TITLES: Final = {
    "totals_add_up": "Session rules broken",
    "error_response_well_formed": "Malformed ErrorResponse",
    "business_rejection_justified": "Unjustified rejection",
    "SessionRules": "Rules across calls broken",
}


class RuleFailure(Failure):
    """A business rule broken by one answer; its key (not its wording) identifies it."""

    code: ClassVar[str] = "CSM100"
    kind_title: ClassVar[str] = "Business rule broken"

    __slots__ = ("check", "key")

    def __init__(self, *, operation: str | None, check: str, problem: Problem) -> None:
        super().__init__(
            operation=operation,
            title=TITLES.get(check, self.kind_title),
            message=problem.message,
            severity=Severity.HIGH,
        )
        self.check = check
        self.key = problem.key

    @property
    def _unique_key(self) -> str:
        return f"{self.check}:{self.key}"


@dataclass(frozen=True)
class Doubt:
    """A check that could not decide on an answer, and why."""

    check: str
    operation: str
    message: str


@dataclass(frozen=True)
class CheckCrash:
    """An exception inside one of our checks: our bug, reported as a harness error."""

    check: str
    operation: str
    error: str
    trace: str


class CheckNotes:
    """Doubts and crashes of the checks, from every worker thread of a run."""

    MAX_CRASHES = 50

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._doubts: Counter[Doubt] = Counter()
        self._crashes: list[CheckCrash] = []

    def doubt(self, check: str, operation: str, message: str) -> None:
        """Record that `check` could not decide."""
        with self._lock:
            self._doubts[Doubt(check, operation, message)] += 1

    def crash(self, check: str, operation: str, exc: BaseException) -> None:
        """Record an exception inside `check`."""
        trace = "".join(traceback.format_exception(exc))[-4000:]
        with self._lock:
            if len(self._crashes) < self.MAX_CRASHES:
                self._crashes.append(
                    CheckCrash(check, operation, f"{type(exc).__name__}: {exc}", trace)
                )

    def drain(self) -> tuple[Counter[Doubt], list[CheckCrash]]:
        """Everything recorded so far, and forget it."""
        with self._lock:
            doubts, crashes = self._doubts, self._crashes
            self._doubts, self._crashes = Counter(), []
        return doubts, crashes


NOTES = CheckNotes()


def exchange_of(response: Response) -> Exchange:
    """What was sent and answered, as the wire saw it."""
    request = response.request
    return read_exchange(
        str(request.method),
        str(request.url),
        request.headers,
        request.body,
        response.status_code,
        {name: ", ".join(values) for name, values in response.headers.items()},
        response.content,
    )


def decide(check: str, operation: str, verdict: Verdict) -> bool | None:
    """Turn a verdict into what Schemathesis expects of a check: raise, skip (True) or pass."""
    for doubt in verdict.doubts:
        NOTES.doubt(check, operation, doubt)
    failures = [RuleFailure(operation=operation, check=check, problem=p) for p in verdict.problems]
    if len(failures) == 1:
        raise failures[0]
    if failures:
        raise FailureGroup(failures)
    return True if verdict.doubts else None


CheckFunction = Callable[["CheckContext", "Response", "Case[Any]"], "bool | None"]


def never_crashes(check: CheckFunction) -> CheckFunction:
    """Record an exception inside a check as a harness error; the check then counts as skipped."""

    @functools.wraps(check)
    def guarded(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        try:
            return check(ctx, response, case)
        except (AssertionError, FailureGroup):
            raise
        except Exception as exc:
            NOTES.crash(check.__name__, _label(case), exc)
            return True

    return guarded


def _label(case: Case[Any]) -> str:
    try:
        return str(case.operation.label)
    except Exception:  # a case without an operation: nothing better to name
        return ""


def probe_for(case: Case[Any]) -> Callable[[Exchange], tuple[int, dict[str, Any] | None]]:
    """A probe that GETs the session of an exchange the way the case reached the server."""

    def probe(exchange: Exchange) -> tuple[int, dict[str, Any] | None]:
        return probe_session(case, exchange)

    return probe


def probe_session(case: Case[Any], exchange: Exchange) -> tuple[int, dict[str, Any] | None]:
    """GET the session of an exchange at the very URL it used, with the same credentials.

    Returns the status and the stored `customerSession` (None when there is none); raises
    ProbeFailed when the GET cannot be made.
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
        status, raw = answer.status_code, answer.get_data()
    else:
        try:
            response = requests.get(
                urlunsplit(parts._replace(query="")), headers=headers, timeout=PROBE_TIMEOUT
            )
        except requests.RequestException as exc:
            raise ProbeFailed(f"{type(exc).__name__}: {exc}") from None
        status, raw = response.status_code, response.content
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return status, None
    session = body.get("customerSession") if isinstance(body, dict) else None
    return status, session if isinstance(session, dict) else None


def _is_positive(case: Case[Any]) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


@schemathesis.check
@never_crashes
def totals_add_up(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Totals are the cart and additional costs, to the cent; integrationId is the path id;
    an anonymous session is always a first session; updated is never behind created."""
    return decide("totals_add_up", _label(case), session_rules(exchange_of(response)))


@schemathesis.check
@never_crashes
def error_response_well_formed(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """Every documented 4xx answer is a JSON `ErrorResponse`."""
    return decide("error_response_well_formed", _label(case), error_response(exchange_of(response)))


@schemathesis.check
@never_crashes
def business_rejection_justified(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """A 400 for schema-valid input must name a business rule that really applies."""
    exchange = exchange_of(response)
    verdict = business_rejection(exchange, probe_for(case), positive=_is_positive(case))
    return decide("business_rejection_justified", _label(case), verdict)


@schemathesis.check
class SessionRules:
    """Rules across calls: transitions, created kept, updates that build on the last one,
    and dry runs that persist nothing. Tracked per session for the whole run."""

    def __init__(self, concurrent: bool = False) -> None:
        self.rules = CrossCallRules(concurrent=concurrent)

    @property
    def history(self) -> Any:
        """What the run has seen of each session."""
        return self.rules.history

    def after_response(self, ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        try:
            verdict = self.rules.verdict(exchange_of(response), probe_for(case))
        except Exception as exc:
            NOTES.crash("SessionRules", _label(case), exc)
            return True
        return decide("SessionRules", _label(case), verdict)


__all__ = ["ProbeFailed", "RuleFailure", "NOTES", "probe_session", "exchange_of"]
