"""HTTP views of the API, thin and named after the spec's operationIds; the contract itself."""

from __future__ import annotations

from flask import Blueprint, Response
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import PathConverter

from mock_server.contract.openapi import query_flag
from mock_server.http.exchange import current_exchange, current_request, json_answer
from mock_server.http.pipeline import API_BLUEPRINT, prepare_request
from mock_server.http.state import mock_state
from mock_server.wire import codec

bp = Blueprint(API_BLUEPRINT, __name__)
# The spec itself is public: no API key needed to read the contract.
docs = Blueprint("docs", __name__)

SESSION_PATH = "/v2/customer_sessions/<session_id:customerSessionId>"


class SessionIdConverter(PathConverter):
    """Any non-empty id, slashes and control characters included (`path` stops at newlines)."""

    regex = "(?s:[^/].*?)"


def _register_converter(state: BlueprintSetupState) -> None:
    state.app.url_map.converters.setdefault("session_id", SessionIdConverter)


# Before the routes below, so the converter exists when their rules are added.
bp.record_once(_register_converter)
bp.before_request(prepare_request)


@bp.put(SESSION_PATH)
def update_customer_session_v2(customerSessionId: str) -> Response:  # noqa: N803 - spec name
    """Create or update a session (`updateCustomerSessionV2`)."""
    state = mock_state()
    exchange = current_exchange()
    body = exchange.body
    application_id = exchange.application_id
    assert application_id is not None  # the pipeline authenticated the request
    update = codec.update_from_json(body["customerSession"])
    # Read as the validator reads it: "1", "yes" and "on" are true too.
    dry = query_flag(current_request(), "dry")
    session = state.service.update(application_id, customerSessionId, update, dry=dry)
    parts = tuple(body.get("responseContent", ()))
    profile = None
    if "customerProfile" in parts:
        summary = state.service.profile(application_id, session.profile_id)
        if summary is not None:
            profile = codec.profile_to_json(summary, account_id=application_id)
    return json_answer(codec.integration_state_to_json(session, parts, profile))


@bp.get(SESSION_PATH)
def get_customer_session(customerSessionId: str) -> Response:  # noqa: N803 - spec name
    """Return a session (`getCustomerSession`)."""
    application_id = current_exchange().application_id
    assert application_id is not None  # the pipeline authenticated the request
    session = mock_state().service.get(application_id, customerSessionId)
    return json_answer(codec.session_response_to_json(session))


@docs.get("/openapi.json")
def openapi_json() -> Response:
    """The contract, as JSON."""
    return Response(mock_state().spec.as_json(), mimetype="application/json")


@docs.get("/openapi.yaml")
def openapi_yaml() -> Response:
    """The contract, as the YAML file it is loaded from."""
    return Response(mock_state().spec.path.read_bytes(), mimetype="application/yaml")
