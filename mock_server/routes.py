"""HTTP views, thin and named after the spec's operationIds."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any, Final

from flask import Blueprint, Response, g, jsonify, request
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import PathConverter

from mock_server import wire
from mock_server.auth import application_for
from mock_server.delivery import exchange_of
from mock_server.errors import ApiError, ErrorItem
from mock_server.faults import client_socket
from mock_server.latency import MAX_DELAY_MS
from mock_server.playback import injected_error, scenario_answer
from mock_server.scenario import Scenario, read_scenario
from mock_server.schemas import compile_schema
from mock_server.validation import parse_json_body, query_flag

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


# Flask runs these hooks in order and stops at the first that answers.
@bp.before_request
def shape_traffic() -> Response | None:
    """Read the scenario a request asks for; draw its delay and, maybe, a fault.

    Faults and delays act on the wire, so they come before auth.
    """
    if request.method == "OPTIONS":
        return None  # a CORS preflight: flask-cors answers it, no key needed
    state = _state()
    exchange = exchange_of(request.environ)
    exchange.session_id = _session_id() or None
    scenario = read_scenario(request.headers.get("Prefer"), request.args)
    g.scenario = scenario
    exchange.scenario = scenario.describe()
    traffic = state.traffic
    exchange.delay_ms = (
        scenario.delay_ms if scenario.delay_ms is not None else traffic.draw_delay_ms()
    )
    fault = scenario.fault or traffic.draw_fault()
    if fault is not None:
        return _fault_placeholder(fault, scenario.source("fault"))
    return None


@bp.before_request
def authenticate_and_validate() -> None:
    """Auth, the in-flight mark of a PUT, strict JSON parsing and openapi-core validation."""
    if request.method == "OPTIONS":
        return  # answered by Flask with Allow (and CORS headers where enabled): no key needed
    state = _state()
    settings = state.settings
    g.application_id = application_for(
        request.headers.get("Authorization"), settings.api_keys, settings.default_application_id
    )
    exchange_of(request.environ).application_id = g.application_id
    if request.method == "PUT" and settings.parallel_conflicts:
        _mark_in_flight(state, g.application_id, _session_id())
    g.body = None
    if request.method == "PUT":
        g.body = parse_json_body(request, max_depth=settings.max_json_depth)
    if request.method in CONTRACT_METHODS:
        state.validator.check_request(request)


@bp.before_request
def answer_scenario() -> Response | None:
    """A scenario's answer, or the error rate's, instead of the store's; nothing is written.

    It comes after auth and validation: a forced status answers only a valid request, as
    Prism validates first.
    """
    if request.method == "OPTIONS":
        return None
    state = _state()
    scenario: Scenario = g.scenario
    if scenario.overrides_answer:
        g.scenario_answer = True
        # HEAD is the GET operation without its body, as the validator reads it.
        method = "GET" if request.method == "HEAD" else request.method
        status, body = scenario_answer(
            state, scenario, method, _session_id(), g.application_id, g.body
        )
        response = jsonify(body)
        response.status_code = status
        return response
    traffic = state.traffic
    if traffic.draw_error():
        rate = traffic.conditions.error_rate
        exchange_of(request.environ).scenario = f"error-rate={rate:g}"
        raise injected_error(request.method, _session_id(), rate)
    return None


def _session_id() -> str:
    return str((request.view_args or {}).get("customerSessionId", ""))


def _fault_placeholder(fault: str, source: str) -> Response:
    if client_socket(request.environ) is None:
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
    request.get_data(cache=True)
    exchange_of(request.environ).fault = fault
    return Response(status=204)  # never sent: the delivery step breaks the connection instead


def _mark_in_flight(state: MockState, application_id: int, session_id: str) -> None:
    """Refuse a PUT while another PUT of the session is in flight, until its answer is sent."""
    store = state.service.store
    token = uuid.uuid4().hex
    if not store.try_lock(application_id, session_id, token, IN_FLIGHT_TTL_SECONDS):
        raise ApiError.conflict(session_id)

    exchange_of(request.environ).on_answered.append(
        lambda: store.unlock(application_id, session_id, token)
    )


@bp.after_request
def validate_response(response: Response) -> Response:
    """Never send an answer that breaks the contract: turn it into a loud 500."""
    state = _state()
    # 413: the body was never read, and the contract cannot describe a request it refused to
    # read; 5xx: already a failure of the mock, reported as such; a fault: never sent.
    if (
        not state.settings.validate_responses
        or request.method == "OPTIONS"
        or response.status_code == 413
        or response.status_code >= 500
        or exchange_of(request.environ).fault is not None
    ):
        return response
    if request.method not in CONTRACT_METHODS:
        # Flask answers OPTIONS itself; the contract has no operation to check it by.
        return response
    if g.get("scenario_answer") and response.status_code == 404:
        # Prism answers 404 for a status or example the contract lacks, even where the
        # operation documents no 404 (a PUT): such a body is checked as an ErrorResponse.
        violations = [
            f"{v.pointer or '/'}: {v.message}"
            for v in compile_schema(state.spec, "ErrorResponse").violations(response.get_json())
        ]
    else:
        violations = state.validator.response_violations(request, response)
    if not violations:
        return response
    logger.error(
        "response to %s %s violates openapi.yaml: %s",
        request.method,
        request.path,
        "; ".join(violations),
    )
    error = ApiError(
        500,
        "The mock built an answer that violates openapi.yaml",
        [ErrorItem("Invalid response", violation) for violation in violations],
    )
    invalid = jsonify(error.to_body())
    invalid.status_code = 500
    return invalid


@bp.put(SESSION_PATH)
def update_customer_session_v2(customerSessionId: str) -> Response:  # noqa: N803 - spec name
    """Create or update a session (`updateCustomerSessionV2`)."""
    state = _state()
    body: dict[str, Any] = g.body
    update = wire.update_from_json(body["customerSession"])
    # Read as the validator reads it: "1", "yes" and "on" are true too.
    dry = query_flag(request, "dry")
    session = state.service.update(g.application_id, customerSessionId, update, dry=dry)
    parts = tuple(body.get("responseContent", ()))
    profile = None
    if "customerProfile" in parts:
        summary = state.service.profile(g.application_id, session.profile_id)
        if summary is not None:
            profile = wire.profile_to_json(summary, account_id=g.application_id)
    return jsonify(wire.integration_state_to_json(session, parts, profile))


@bp.get(SESSION_PATH)
def get_customer_session(customerSessionId: str) -> Response:  # noqa: N803 - spec name
    """Return a session (`getCustomerSession`)."""
    session = _state().service.get(g.application_id, customerSessionId)
    return jsonify(wire.session_response_to_json(session))


@docs.get("/openapi.json")
def openapi_json() -> Response:
    """The contract, as JSON."""
    return Response(_state().spec.as_json(), mimetype="application/json")


@docs.get("/openapi.yaml")
def openapi_yaml() -> Response:
    """The contract, as the YAML file it is loaded from."""
    return Response(_state().spec.path.read_bytes(), mimetype="application/yaml")
