"""The steps of every API request, read top to bottom: the request side, then the response side.

Request side (`prepare_request`, before the view; the first step that answers wins):
  1. shape traffic: read the scenario (Prefer / `__` query), draw its delay and maybe a fault
  2. authenticate the API key -> the application
  3. parse the body as strict JSON
  4. validate the request against openapi.yaml
  5. mark a PUT in flight (a parallel PUT of the same session is a 409), once the body is
     known to be valid: a body withheld or refused holds no session
  6. answer from the scenario or the error rate instead of the store, if asked
Then the view (`api.py`) reads or updates the store.

Response side (`finish_response`, after the view or an error handler):
  1. validate the answer against openapi.yaml (a broken one becomes a loud 500)
  2. note the request and the problems the answer names, for the journal
  3. CORS headers, for requests with an Origin
Then delivery (`delivery.py`, WSGI): delay, release the mark, journal and access log, fault.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Final

from flask import Request, Response

from mock_server.core.errors import ApiError, ErrorItem, StoreUnavailable
from mock_server.core.store import SessionStore
from mock_server.http.auth import application_for
from mock_server.http.delivery import UNJOURNALED_PREFIX
from mock_server.http.exchange import Exchange, current_request, exchange_of, json_answer
from mock_server.http.journal import MAX_JOURNAL_BODY, Problem, header_fields, printable
from mock_server.http.state import MockState, mock_state
from mock_server.play.answers import injected_error, scenario_answer
from mock_server.play.faults import client_socket
from mock_server.play.scenario import read_scenario
from mock_server.wire.body import check_json_content_type, parse_json_bytes
from mock_server.wire.documents import UNPARSED

logger = logging.getLogger("mock_server")

# HEAD is checked as the GET operation without its body.
CONTRACT_METHODS = frozenset({"GET", "HEAD", "PUT"})
# An in-flight mark lives for its request's delay and this margin for the work around it;
# a mark that was never released (its holder died, or the store failed) expires then.
MARK_MARGIN_SECONDS: Final = 15.0
API_BLUEPRINT = "api"


def _session_id(current: Request) -> str:
    return str((current.view_args or {}).get("customerSessionId", ""))


# --- the request side ---------------------------------------------------------------------


def prepare_request() -> Response | None:
    """The steps of every API request before its view, in order; the first answer wins."""
    current = current_request()
    if current.method == "OPTIONS":
        return None  # a CORS preflight: flask-cors (or Flask's Allow) answers it, no key needed
    state = mock_state()
    exchange = exchange_of(current.environ)
    answer = shape_traffic(state, current, exchange)
    if answer is None:
        authenticate_and_validate(state, current, exchange)
        answer = answer_scenario(state, current, exchange)
    return answer


def shape_traffic(state: MockState, current: Request, exchange: Exchange) -> Response | None:
    """Read the scenario a request asks for; draw its delay and, maybe, a fault.

    Faults and delays act on the wire, so they come before auth.
    """
    exchange.session_id = _session_id(current) or None
    scenario = exchange.scenario = read_scenario(current.headers.get("Prefer"), current.args)
    exchange.played = scenario.describe()
    traffic = state.traffic
    exchange.delay_ms = (
        scenario.delay_ms if scenario.delay_ms is not None else traffic.draw_delay_ms()
    )
    fault = scenario.fault or traffic.draw_fault()
    if fault is not None:
        return _fault_placeholder(current, exchange, fault, scenario.source("fault"))
    return None


def authenticate_and_validate(state: MockState, current: Request, exchange: Exchange) -> None:
    """Auth, strict JSON parsing, contract validation, then the in-flight mark of a PUT."""
    settings = state.settings
    application_id = exchange.application_id = application_for(
        current.headers.get("Authorization"), settings.api_keys, settings.default_application_id
    )
    if current.method == "PUT":
        check_json_content_type(current.content_type)
        exchange.body = parse_json_bytes(
            current.get_data(cache=True), max_depth=settings.max_json_depth
        )
    if current.method in CONTRACT_METHODS:
        state.validator.check_request(current, exchange.body)
    if current.method == "PUT" and settings.parallel_conflicts:
        _mark_in_flight(state, exchange, application_id, _session_id(current))


def answer_scenario(state: MockState, current: Request, exchange: Exchange) -> Response | None:
    """A scenario's answer, or the error rate's, instead of the store's; nothing is written.

    It comes after auth and validation: a forced status answers only a valid request, as
    Prism validates first.
    """
    scenario = exchange.scenario
    if scenario.overrides_answer:
        exchange.scenario_answered = True
        # HEAD is the GET operation without its body, as the validator reads it.
        method = "GET" if current.method == "HEAD" else current.method
        body = None if exchange.body is UNPARSED else exchange.body
        assert exchange.application_id is not None  # authenticated above
        status, document = scenario_answer(
            state.spec.document,
            scenario,
            method,
            _session_id(current),
            exchange.application_id,
            body,
            state.generated_session,
        )
        return json_answer(document, status)
    traffic = state.traffic
    if traffic.draw_error():
        rate = traffic.conditions.error_rate
        exchange.played = f"error-rate={rate:g}"
        raise injected_error(current.method, _session_id(current), rate)
    return None


def _fault_placeholder(current: Request, exchange: Exchange, fault: str, source: str) -> Response:
    if client_socket(current.environ) is None:
        raise ApiError(
            501,
            "Faults need a real connection",
            [
                ErrorItem(
                    "Fault not injected",
                    f"fault={fault} acts on the socket; this server exposes none.",
                    parameter=source,
                )
            ],
        )
    # Read the body first: closing a socket with unread data would turn any fault into a reset.
    current.get_data(cache=True)
    exchange.fault = fault
    return Response(status=204)  # never sent: the delivery step breaks the connection instead


class _MarkTokens:
    """Tokens no other holder of an in-flight mark has: a random prefix per process, a counter.

    Cheaper than a uuid4 per request. A forked worker draws its own prefix, as its counter
    would otherwise repeat its parent's.
    """

    def __init__(self) -> None:
        self._start()
        os.register_at_fork(after_in_child=self._start)

    def _start(self) -> None:
        self._prefix = uuid.uuid4().hex
        self._counter = itertools.count()

    def __next__(self) -> str:
        return f"{self._prefix}-{next(self._counter)}"


_mark_tokens = _MarkTokens()


class _MarkReleases:
    """Releases in-flight marks; one that the store failed to release is retried in the
    background until the mark expires, so that a store back from an outage takes the
    session's next PUT at once instead of answering 409 until then."""

    RETRY_SECONDS: Final = 0.5
    MAX_PENDING: Final = 10_000  # past it, marks are left to expire

    def __init__(self) -> None:
        self._pending: list[tuple[Callable[[], None], float]] = []
        self._lock = threading.Lock()
        self._retrying = False

    def release(self, unlock: Callable[[], None], expires: float) -> None:
        """Run `unlock` now; if the store fails, again later, until `expires` (monotonic)."""
        try:
            unlock()
        except StoreUnavailable as exc:
            logger.warning("in-flight mark not released, retrying until it expires: %s", exc)
            with self._lock:
                if len(self._pending) < self.MAX_PENDING:
                    self._pending.append((unlock, expires))
                start = not self._retrying
                self._retrying = True
            if start:
                threading.Thread(target=self._retry, name="mark-releases", daemon=True).start()

    def _retry(self) -> None:
        while True:
            time.sleep(self.RETRY_SECONDS)
            with self._lock:
                pending, self._pending = self._pending, []
            failed = []
            for unlock, expires in pending:
                if expires <= time.monotonic():
                    continue  # expired in the store too: nothing left to release
                try:
                    unlock()
                except StoreUnavailable:
                    failed.append((unlock, expires))
            with self._lock:
                self._pending.extend(failed)
                if not self._pending:
                    self._retrying = False
                    return


_mark_releases = _MarkReleases()


def _mark_in_flight(
    state: MockState, exchange: Exchange, application_id: int, session_id: str
) -> None:
    """Refuse a PUT while another PUT of the session is in flight, until its answer is sent."""
    store = state.service.store
    token = next(_mark_tokens)
    lifetime = exchange.delay_ms / 1000 + MARK_MARGIN_SECONDS
    release = _release_of(store, application_id, session_id, token, time.monotonic() + lifetime)
    try:
        held = store.try_lock(application_id, session_id, token, lifetime)
    except StoreUnavailable:
        exchange.on_answered.append(release)  # the store may have set it before it failed
        raise
    if not held:
        raise ApiError.conflict(session_id)
    exchange.on_answered.append(release)


def _release_of(
    store: SessionStore, application_id: int, session_id: str, token: str, expires: float
) -> Callable[[], None]:
    def unlock() -> None:
        store.unlock(application_id, session_id, token)

    return lambda: _mark_releases.release(unlock, expires)


# --- the response side --------------------------------------------------------------------


def finish_response(response: Response) -> Response:
    """The steps of every answer after its view or error handler, in order."""
    current = current_request()
    exchange = exchange_of(current.environ)
    state = mock_state()
    if current.blueprint == API_BLUEPRINT:
        response = validate_answer(state, current, exchange, response)
    record_request(current, exchange, response)
    if state.cors_step is not None and "HTTP_ORIGIN" in current.environ:
        response = state.cors_step(response)
    return response


def validate_answer(
    state: MockState, current: Request, exchange: Exchange, response: Response
) -> Response:
    """Never send an answer that breaks the contract: turn it into a loud 500."""
    # 413: the body was never read, and the contract cannot describe a request it refused to
    # read; 5xx: already a failure of the mock, reported as such; a fault: never sent.
    # OPTIONS: Flask answers it itself; the contract has no operation to check it by.
    if (
        not state.settings.validate_responses
        or current.method not in CONTRACT_METHODS
        or response.status_code == 413
        or response.status_code >= 500
        or exchange.fault is not None
    ):
        return response
    document = exchange.document_of(response)
    if exchange.scenario_answered and response.status_code == 404:
        # Prism answers 404 for a status or example the contract lacks, even where the
        # operation documents no 404 (a PUT): such a body is checked as an ErrorResponse.
        if document is UNPARSED:
            document = response.get_json()
        violations = [
            f"{v.pointer or '/'}: {v.message}" for v in state.error_schema.violations(document)
        ]
    else:
        violations = state.validator.response_violations(current, response, document)
    if not violations:
        return response
    logger.error(
        "response to %s %s violates openapi.yaml: %s",
        current.method,
        printable(current.path),
        "; ".join(violations),
    )
    error = ApiError(
        500,
        "The mock built an answer that violates openapi.yaml",
        [ErrorItem("Invalid response", violation) for violation in violations],
    )
    return json_answer(error.to_body(), error.status)


def record_request(current: Request, exchange: Exchange, response: Response) -> None:
    """Copy the request, the answer and the problems an error answer names into the exchange."""
    if current.path.startswith(UNJOURNALED_PREFIX):
        return  # the journal does not keep the admin API's own requests
    exchange.request_headers, exchange.request_headers_omitted = header_fields(current.environ)
    length = current.content_length
    limit = current.max_content_length
    if length and (limit is None or length <= limit):  # else nothing sent, or never read (413)
        raw = current.get_data(cache=True)
        exchange.request_body, exchange.request_body_size = raw[:MAX_JOURNAL_BODY], len(raw)
    exchange.response_headers = list(response.headers.items())
    if not response.is_streamed:  # every answer of the mock is bytes in memory
        answer = response.get_data()
        exchange.response_body = answer[:MAX_JOURNAL_BODY]
        exchange.response_body_size = len(answer)
    if response.status_code >= 400 and response.is_json:
        document = exchange.document_of(response)
        if document is UNPARSED:
            document = response.get_json(silent=True)
        errors = document.get("errors", []) if isinstance(document, dict) else []
        for item in errors if isinstance(errors, list) else []:
            if isinstance(item, dict):
                exchange.problems.append(_problem(item))


def _problem(item: dict[str, object]) -> Problem:
    source = item.get("source")
    source = source if isinstance(source, dict) else {}
    pointer, parameter = source.get("pointer"), source.get("parameter")
    return Problem(
        message=str(item.get("details") or item.get("title")),
        pointer=pointer if isinstance(pointer, str) else None,
        parameter=parameter if isinstance(parameter, str) else None,
    )
