"""HTTP views, thin and named after the spec's operationIds."""

from __future__ import annotations

import itertools
import logging
import os
import uuid
from typing import TYPE_CHECKING, Any, Final

from flask import Blueprint, Request, Response, g, request
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import PathConverter

from mock_server import wire
from mock_server.answers import document_of, json_answer
from mock_server.auth import application_for
from mock_server.delivery import Exchange, exchange_of
from mock_server.errors import ApiError, ErrorItem
from mock_server.faults import client_socket
from mock_server.latency import MAX_DELAY_MS
from mock_server.playback import injected_error, scenario_answer
from mock_server.scenario import Scenario, read_scenario
from mock_server.schemas import compile_schema
from mock_server.validation import UNPARSED, parse_json_body, query_flag

if TYPE_CHECKING:
    from mock_server.app import MockState

bp = Blueprint("api", __name__)


class SessionIdConverter(PathConverter):
    """Any non-empty id, slashes and control characters included (`path` stops at newlines)."""

    regex = "(?s:[^/].*?)"


def _register_converter(state: BlueprintSetupState) -> None:
    state.app.url_map.converters.setdefault("session_id", SessionIdConverter)


# Before the routes below, so the converter exists when their rules are added.
bp.record_once(_register_converter)
# The spec itself is public: no API key needed to read the contract.
docs = Blueprint("docs", __name__)
logger = logging.getLogger("mock_server")

SESSION_PATH = "/v2/customer_sessions/<session_id:customerSessionId>"
# HEAD is checked as the GET operation without its body.
CONTRACT_METHODS = frozenset({"GET", "HEAD", "PUT"})
# An in-flight mark outlives the longest delay, and expires if its holder dies.
IN_FLIGHT_TTL_SECONDS: Final = MAX_DELAY_MS / 1000 + 60


def _state() -> MockState:
    from mock_server.app import mock_state

    return mock_state()


def _current_request() -> Request:
    # The object behind the `request` proxy: each read through the proxy costs a lookup.
    current: Request = request._get_current_object()  # type: ignore[attr-defined]
    return current


@bp.before_request
def prepare_request() -> Response | None:
    """The steps of every API request before its view, in order; the first answer wins."""
    current = _current_request()
    if current.method == "OPTIONS":
        return None  # a CORS preflight: flask-cors (or Flask's Allow) answers it, no key needed
    state = _state()
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
    session_id = _session_id(current)
    exchange.session_id = session_id or None
    scenario = read_scenario(current.headers.get("Prefer"), current.args)
    g.scenario = scenario
    exchange.scenario = scenario.describe()
    traffic = state.traffic
    exchange.delay_ms = (
        scenario.delay_ms if scenario.delay_ms is not None else traffic.draw_delay_ms()
    )
    fault = scenario.fault or traffic.draw_fault()
    if fault is not None:
        return _fault_placeholder(current, exchange, fault, scenario.source("fault"))
    return None


def authenticate_and_validate(state: MockState, current: Request, exchange: Exchange) -> None:
    """Auth, the in-flight mark of a PUT, strict JSON parsing and contract validation."""
    settings = state.settings
    application_id = g.application_id = application_for(
        current.headers.get("Authorization"), settings.api_keys, settings.default_application_id
    )
    exchange.application_id = application_id
    body = g.body = UNPARSED
    if current.method == "PUT":
        if settings.parallel_conflicts:
            _mark_in_flight(state, exchange, application_id, _session_id(current))
        body = g.body = parse_json_body(current, max_depth=settings.max_json_depth)
    if current.method in CONTRACT_METHODS:
        state.validator.check_request(current, body)


def answer_scenario(state: MockState, current: Request, exchange: Exchange) -> Response | None:
    """A scenario's answer, or the error rate's, instead of the store's; nothing is written.

    It comes after auth and validation: a forced status answers only a valid request, as
    Prism validates first.
    """
    scenario: Scenario = g.scenario
    if scenario.overrides_answer:
        g.scenario_answer = True
        # HEAD is the GET operation without its body, as the validator reads it.
        method = "GET" if current.method == "HEAD" else current.method
        body = None if g.body is UNPARSED else g.body
        status, document = scenario_answer(
            state, scenario, method, _session_id(current), g.application_id, body
        )
        return json_answer(document, status)
    traffic = state.traffic
    if traffic.draw_error():
        rate = traffic.conditions.error_rate
        exchange.scenario = f"error-rate={rate:g}"
        raise injected_error(current.method, _session_id(current), rate)
    return None


def _session_id(current: Request) -> str:
    return str((current.view_args or {}).get("customerSessionId", ""))


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


def _mark_in_flight(
    state: MockState, exchange: Exchange, application_id: int, session_id: str
) -> None:
    """Refuse a PUT while another PUT of the session is in flight, until its answer is sent."""
    store = state.service.store
    token = next(_mark_tokens)
    if not store.try_lock(application_id, session_id, token, IN_FLIGHT_TTL_SECONDS):
        raise ApiError.conflict(session_id)

    exchange.on_answered.append(lambda: store.unlock(application_id, session_id, token))


@bp.after_request
def validate_response(response: Response) -> Response:
    """Never send an answer that breaks the contract: turn it into a loud 500."""
    state = _state()
    current = _current_request()
    # 413: the body was never read, and the contract cannot describe a request it refused to
    # read; 5xx: already a failure of the mock, reported as such; a fault: never sent.
    # OPTIONS: Flask answers it itself; the contract has no operation to check it by.
    if (
        not state.settings.validate_responses
        or current.method not in CONTRACT_METHODS
        or response.status_code == 413
        or response.status_code >= 500
        or exchange_of(current.environ).fault is not None
    ):
        return response
    document = document_of(response)
    if g.get("scenario_answer") and response.status_code == 404:
        # Prism answers 404 for a status or example the contract lacks, even where the
        # operation documents no 404 (a PUT): such a body is checked as an ErrorResponse.
        if document is UNPARSED:
            document = response.get_json()
        violations = [
            f"{v.pointer or '/'}: {v.message}"
            for v in compile_schema(state.spec, "ErrorResponse").violations(document)
        ]
    else:
        violations = state.validator.response_violations(current, response, document)
    if not violations:
        return response
    logger.error(
        "response to %s %s violates openapi.yaml: %s",
        current.method,
        current.path,
        "; ".join(violations),
    )
    error = ApiError(
        500,
        "The mock built an answer that violates openapi.yaml",
        [ErrorItem("Invalid response", violation) for violation in violations],
    )
    return json_answer(error.to_body(), error.status)


@bp.put(SESSION_PATH)
def update_customer_session_v2(customerSessionId: str) -> Response:  # noqa: N803 - spec name
    """Create or update a session (`updateCustomerSessionV2`)."""
    state = _state()
    current = _current_request()
    body: dict[str, Any] = g.body
    application_id: int = g.application_id
    update = wire.update_from_json(body["customerSession"])
    # Read as the validator reads it: "1", "yes" and "on" are true too.
    dry = query_flag(current, "dry")
    session = state.service.update(application_id, customerSessionId, update, dry=dry)
    parts = tuple(body.get("responseContent", ()))
    profile = None
    if "customerProfile" in parts:
        summary = state.service.profile(application_id, session.profile_id)
        if summary is not None:
            profile = wire.profile_to_json(summary, account_id=application_id)
    return json_answer(wire.integration_state_to_json(session, parts, profile))


@bp.get(SESSION_PATH)
def get_customer_session(customerSessionId: str) -> Response:  # noqa: N803 - spec name
    """Return a session (`getCustomerSession`)."""
    session = _state().service.get(g.application_id, customerSessionId)
    return json_answer(wire.session_response_to_json(session))


@docs.get("/openapi.json")
def openapi_json() -> Response:
    """The contract, as JSON."""
    return Response(_state().spec.as_json(), mimetype="application/json")


@docs.get("/openapi.yaml")
def openapi_yaml() -> Response:
    """The contract, as the YAML file it is loaded from."""
    return Response(_state().spec.path.read_bytes(), mimetype="application/yaml")
