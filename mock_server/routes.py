"""HTTP views, thin and named after the spec's operationIds."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, cast

import orjson
from flask import Blueprint, Response, g, jsonify, request

from mock_server import wire
from mock_server.auth import application_for
from mock_server.errors import ApiError, ErrorItem
from mock_server.prefer import flag, integer, parse_prefer
from mock_server.validation import UNPARSED, parse_json_body, query_flag

if TYPE_CHECKING:
    from flask import Request

    from mock_server.app import MockState

bp = Blueprint("api", __name__)
# The spec itself is public: no API key needed to read the contract.
docs = Blueprint("docs", __name__)
logger = logging.getLogger("mock_server")

SESSION_PATH = "/v2/customer_sessions/<path:customerSessionId>"


def _state() -> MockState:
    from mock_server.app import mock_state

    return mock_state()


def _current_request() -> Request:
    # The object behind the `request` proxy: validators read it often, each read via the proxy
    # costs a context lookup.
    current: Request = cast(Any, request)._get_current_object()
    return current


def _serialise(document: object) -> bytes:
    try:
        return orjson.dumps(document)  # ten times faster than json.dumps on these documents
    except TypeError:  # integers beyond 64 bits, which a client may send in attributes
        return json.dumps(document, separators=(",", ":")).encode()


def _json(document: object) -> Response:
    """A compact JSON answer; the documents of `wire` need none of jsonify's conversions."""
    response = Response(_serialise(document), mimetype="application/json")
    # Kept with its response, so validation checks the document without parsing it back.
    g.answer = (response, document)
    return response


@bp.before_request
def authenticate_and_validate() -> None:
    """Auth, strict JSON parsing and contract validation, before any view runs."""
    state = _state()
    settings = state.settings
    current = _current_request()
    g.application_id = application_for(
        current.headers.get("Authorization"), settings.api_keys, settings.default_application_id
    )
    body = UNPARSED
    if current.method == "PUT":
        body = g.body = parse_json_body(current, max_depth=settings.max_json_depth)
    state.validator.check_request(current, body)


@bp.after_request
def validate_response(response: Response) -> Response:
    """Never send an answer that breaks the contract: turn it into a loud 500."""
    state = _state()
    if not state.settings.validate_responses or response.status_code >= 500:
        return response
    answer = g.pop("answer", None)
    document = answer[1] if answer is not None and answer[0] is response else UNPARSED
    violations = state.validator.response_violations(_current_request(), response, document)
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


@bp.put(SESSION_PATH, provide_automatic_options=False)
def update_customer_session_v2(customerSessionId: str) -> Response:  # noqa: N803 - spec name
    """Create or update a session (`updateCustomerSessionV2`)."""
    state = _state()
    body: dict[str, Any] = g.body
    update = wire.update_from_json(body["customerSession"])
    dry = query_flag(request, "dry")
    session = state.service.update(g.application_id, customerSessionId, update, dry=dry)
    parts = tuple(body.get("responseContent", ()))
    profile = None
    if "customerProfile" in parts:
        summary = state.service.profile(g.application_id, session.profile_id)
        if summary is not None:
            profile = wire.profile_to_json(summary, account_id=g.application_id)
    return _json(wire.integration_state_to_json(session, parts, profile))


@bp.get(SESSION_PATH, provide_automatic_options=False)
def get_customer_session(customerSessionId: str) -> Response:  # noqa: N803 - spec name
    """Return a session (`getCustomerSession`); `Prefer: dynamic=true` generates one."""
    state = _state()
    preferences = parse_prefer(request.headers.get("Prefer"))
    if flag(preferences, "dynamic"):
        seed = integer(preferences, "seed", state.settings.seed)
        session = state.generator(seed, g.application_id).session_for(customerSessionId)
    else:
        session = state.service.get(g.application_id, customerSessionId)
    return _json(wire.session_response_to_json(session))


@docs.get("/openapi.json")
def openapi_json() -> Response:
    """The contract, as JSON."""
    return Response(_state().spec.as_json(), mimetype="application/json")


@docs.get("/openapi.yaml")
def openapi_yaml() -> Response:
    """The contract, as the YAML file it is loaded from."""
    return Response(_state().spec.path.read_bytes(), mimetype="application/yaml")
