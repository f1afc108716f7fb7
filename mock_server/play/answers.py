"""Answers that a scenario or the error rate picks instead of the stateful one; no store writes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mock_server.core.domain import CustomerSession
from mock_server.core.errors import ApiError, ErrorItem
from mock_server.play.examples import canned_answer
from mock_server.play.scenario import Scenario
from mock_server.wire import codec

SESSION_TEMPLATE = "/v2/customer_sessions/{customerSessionId}"
# The session a generated answer shows: (seed or None for the server's, application, id).
SessionSource = Callable[[int | None, int, str], CustomerSession]


def forced_error(status: int, integration_id: str, how: str) -> ApiError:
    """The error the mock answers when asked for `status`: the one it would give for real."""
    if status == 401:
        return ApiError.unauthorized(f"Answered 401 as asked ({how}).")
    if status == 404:
        return ApiError.not_found(integration_id)
    if status == 409:
        return ApiError.conflict(integration_id)
    return ApiError(
        status,
        "Error answered as asked",
        [ErrorItem("Forced error", f"Answered {status} as asked ({how}).", parameter="Prefer")],
    )


def injected_error(method: str, integration_id: str, rate: float) -> ApiError:
    """The error-rate answer: the documented error a client must retry, or a documented 400."""
    if method == "PUT":
        return ApiError.conflict(integration_id)
    return ApiError(
        400,
        "Injected error",
        [
            ErrorItem(
                "Injected error",
                f"The mock answers {rate:.0%} of requests with an error; retry.",
                parameter="customerSessionId",
            )
        ],
    )


def scenario_answer(
    document: Mapping[str, Any],
    scenario: Scenario,
    method: str,
    integration_id: str,
    application_id: int,
    request_body: dict[str, Any] | None,
    sessions: SessionSource,
) -> tuple[int, dict[str, Any]]:
    """The status and body a scenario asks for; the store is neither read nor written.

    Args:
        document: the contract, whose examples the scenario may name.
        sessions: the generated session a `dynamic=true` answer shows.
    """

    def generate(status: int) -> dict[str, Any]:
        if status != 200:
            return forced_error(status, integration_id, scenario.describe() or "").to_body()
        session = sessions(scenario.seed, application_id, integration_id)
        if method == "GET":
            return codec.session_response_to_json(session)
        parts = tuple((request_body or {}).get("responseContent", ()))
        return codec.integration_state_to_json(session, parts, None)

    status, body = canned_answer(document, SESSION_TEMPLATE, method, scenario, generate)
    session = body.get("customerSession") if status == 200 else None
    if isinstance(session, dict):
        # Examples are written for application 1; the answer is the caller's application's.
        # A copy: the session document may be shared (see codec.session_to_json).
        body = {**body, "customerSession": {**session, "applicationId": application_id}}
    return status, body
