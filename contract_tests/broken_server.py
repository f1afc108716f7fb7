"""The mock with switchable contract violations, to prove the harness catches each one.

A broken server is the real mock (answers unchecked) with one fault switched on: a faulty
session service for rules that live in the domain, an answer rewrite for the wire.
"""

from __future__ import annotations

import enum
import json
from dataclasses import replace
from typing import Any

from flask import Flask, Response, request

from mock_server import Settings, create_app
from mock_server.app import EXTENSION
from mock_server.domain import (
    UNSET,
    CustomerSession,
    InvalidTransition,
    SessionUpdate,
)
from mock_server.service import SessionService


class Fault(enum.StrEnum):
    """One way to break the contract."""

    WRONG_TOTALS = "wrong_totals"  # total is a cent off
    FLOAT_DRIFT = "float_drift"  # totals summed in binary floating point
    MISSING_REQUIRED_FIELD = "missing_required_field"  # no `updated`
    WRONG_TYPE = "wrong_type"  # `total` as a string
    ILLEGAL_TRANSITION_ACCEPTED = "illegal_transition_accepted"
    SERVER_ERROR_ON_BAD_INPUT = "server_error_on_bad_input"  # 500 instead of 400
    DRY_RUN_PERSISTS = "dry_run_persists"
    ANONYMOUS_NOT_FIRST = "anonymous_not_first"  # firstSession false when profileId is ""
    RETURNING_CUSTOMER_FIRST = "returning_customer_first"  # firstSession always true
    WRONG_INTEGRATION_ID = "wrong_integration_id"
    CREATED_CHANGES = "created_changes"  # created moves with every update
    UPDATE_REPLACES = "update_replaces"  # a PUT resets the fields it does not name
    UPDATES_LOST = "updates_lost"  # only the first PUT of a session is stored
    AUTH_IGNORED = "auth_ignored"  # any API key is accepted
    ERROR_SHAPE = "error_shape"  # 4xx bodies are not ErrorResponse
    VALID_INPUT_REJECTED = "valid_input_rejected"  # 400 for a negative price
    CART_CHANGE_AFTER_CLOSE = "cart_change_after_close"  # the cart of a closed session changes
    CREATED_STATUS = "created_status"  # 201 for the PUT that creates a session


class FaultyService(SessionService):
    """The session service with domain-level faults."""

    def __init__(self, base: SessionService, fault: Fault) -> None:
        super().__init__(base.store, base.clock)
        self.fault = fault

    def update(
        self,
        application_id: int,
        integration_id: str,
        update: SessionUpdate,
        *,
        dry: bool = False,
    ) -> CustomerSession:
        existing = self.store.get(application_id, integration_id)
        if self.fault is Fault.DRY_RUN_PERSISTS:
            dry = False
        if self.fault is Fault.UPDATES_LOST and existing is not None:
            dry = True
        if self.fault is Fault.UPDATE_REPLACES:
            # Every field the update does not name is reset (lists emptied, profile anonymous).
            reset: dict[str, Any] = {
                name: (() if name != "profile_id" else "") if value is UNSET else value
                for name, value in _fields(update).items()
                if name not in {"state", "attributes", "referral_code", "additional_costs"}
            }
            update = SessionUpdate(
                **reset,
                state=update.state,
                attributes={} if update.attributes is UNSET else update.attributes,
                referral_code=update.referral_code,
                additional_costs={}
                if update.additional_costs is UNSET
                else update.additional_costs,
            )
        if self.fault is Fault.CART_CHANGE_AFTER_CLOSE and existing is not None:
            stored = existing.session
            if stored.state.value != "open" and update.cart_items is not UNSET:
                reopened = replace(stored, state=type(stored.state).OPEN)
                self.store.save(reopened, existing.version)
                session = super().update(application_id, integration_id, update, dry=dry)
                final = replace(session, state=stored.state)
                current = self.store.get(application_id, integration_id)
                if not dry and current is not None:
                    self.store.save(final, current.version)
                return final
        try:
            return super().update(application_id, integration_id, update, dry=dry)
        except InvalidTransition:
            if self.fault is not Fault.ILLEGAL_TRANSITION_ACCEPTED or existing is None:
                raise
            without_state = replace(update, state=UNSET)
            session = super().update(application_id, integration_id, without_state, dry=dry)
            forced = replace(session, state=update.state)  # type: ignore[arg-type]
            current = self.store.get(application_id, integration_id)
            if not dry and current is not None:
                self.store.save(forced, current.version)
            return forced


def _fields(update: SessionUpdate) -> dict[str, Any]:
    return {name: getattr(update, name) for name in SessionUpdate.__slots__}


def _rewrite_session(session: dict[str, Any], fault: Fault, path_id: str) -> None:
    if fault is Fault.WRONG_TOTALS and isinstance(session.get("total"), int | float):
        session["total"] = round(session["total"] + 0.01, 2)
    elif fault is Fault.FLOAT_DRIFT:
        items = session.get("cartItems", [])
        cart = sum(float(i["price"]) * i["quantity"] for i in items)
        costs = sum(float(c["price"]) for c in (session.get("additionalCosts") or {}).values())
        session.update(cartItemTotal=cart, additionalCostTotal=costs, total=cart + costs)
    elif fault is Fault.MISSING_REQUIRED_FIELD:
        session.pop("updated", None)
    elif fault is Fault.WRONG_TYPE and "total" in session:
        session["total"] = str(session["total"])
    elif fault is Fault.ANONYMOUS_NOT_FIRST and session.get("profileId") == "":
        session["firstSession"] = False
    elif fault is Fault.RETURNING_CUSTOMER_FIRST:
        session["firstSession"] = True
    elif fault is Fault.WRONG_INTEGRATION_ID:
        session["integrationId"] = path_id[:8].upper()
    elif fault is Fault.CREATED_CHANGES:
        session["created"] = session.get("updated", session.get("created"))


def _rewrite(response: Response, fault: Fault) -> Response:
    if not response.is_json:
        return response
    body = response.get_json()
    path_id = request.path.rsplit("/", 1)[-1]
    if response.status_code == 200 and isinstance(body, dict):
        session = body.get("customerSession")
        if isinstance(session, dict):
            _rewrite_session(session, fault, path_id)
            if fault is Fault.CREATED_STATUS and request.method == "PUT":
                if session.get("created") == session.get("updated"):
                    response.status_code = 201
    elif 400 <= response.status_code < 500 and fault is Fault.ERROR_SHAPE:
        body = {"error": body.get("message") if isinstance(body, dict) else "error"}
    elif response.status_code == 400 and fault is Fault.SERVER_ERROR_ON_BAD_INPUT:
        titles = {e.get("title") for e in body.get("errors", [])}
        if not titles & {"Invalid state transition", "Cart is final", "Amount out of range"}:
            response.status_code = 500
    response.set_data(json.dumps(body))
    return response


def _reject_negative_prices() -> Response | None:
    if request.method != "PUT":
        return None
    body = request.get_json(silent=True)
    session = body.get("customerSession") if isinstance(body, dict) else None
    items = session.get("cartItems") if isinstance(session, dict) else None
    if isinstance(items, list) and any(
        isinstance(i, dict) and isinstance(i.get("price"), int | float) and i["price"] < 1
        for i in items
    ):
        payload = {
            "message": "Invalid request",
            "errors": [{"title": "Invalid value", "source": {"pointer": "/customerSession"}}],
        }
        return Response(json.dumps(payload), status=400, mimetype="application/json")
    return None


def create_broken_app(fault: Fault | None, api_key: str) -> Flask:
    """The mock with `fault` switched on (None: the correct mock), accepting `api_key`."""
    keys = {} if fault is Fault.AUTH_IGNORED else {api_key: 1}
    app = create_app(Settings(api_keys=keys, preload=0, validate_responses=fault is None))
    if fault is None:
        return app
    state = app.extensions[EXTENSION]
    state.service = FaultyService(state.service, fault)
    app.after_request(lambda response: _rewrite(response, fault))
    if fault is Fault.VALID_INPUT_REJECTED:
        app.before_request(_reject_negative_prices)
    return app
