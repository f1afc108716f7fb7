"""The JSON wire format: camelCase documents <-> domain objects; the only module of JSON names."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from mock_server.core.domain import (
    UNSET,
    CartItem,
    CustomerSession,
    ProfileSummary,
    SessionState,
    SessionUpdate,
    session_number,
)
from mock_server.wire.documents import JsonObject
from mock_server.wire.session_cache import StoredSessions

_MEASURES = ("weight", "height", "width", "length", "position")

# Sessions of the stores' texts, and their documents: see session_cache.
_stored = StoredSessions()


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds, so revisions within one millisecond stay ordered."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # isoformat is several times faster than strftime; same text once "+00:00" becomes "Z".
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 timestamp into an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def to_decimal(value: int | float | Decimal) -> Decimal:
    """An exact decimal for a JSON number (floats through their shortest repr)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def json_number(value: Decimal) -> int | float:
    """A JSON number for a decimal: an integer when whole, else the nearest double.

    A double's shortest repr reproduces any amount with up to 15 significant digits, so
    12.5 is written 12.5 and 0.1 + 0.2 is written 0.3.
    """
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _cart_item_from_json(data: Mapping[str, Any], position: int | None = None) -> CartItem:
    measures = {name: to_decimal(data[name]) for name in _MEASURES if name in data}
    if position is not None:
        measures["position"] = Decimal(position)
    return CartItem(
        name=data["name"],
        sku=data["sku"],
        quantity=int(data["quantity"]),
        price=to_decimal(data["price"]),
        category=data.get("category"),
        attributes=data.get("attributes"),
        adjustment=data.get("adjustment"),
        **measures,
    )


def _cart_item_to_json(item: CartItem) -> JsonObject:
    data: JsonObject = {
        "name": item.name,
        "sku": item.sku,
        "quantity": item.quantity,
        "price": json_number(item.price),
    }
    if item.category is not None:
        data["category"] = item.category
    for name in _MEASURES:
        value = getattr(item, name)
        if value is not None:
            data[name] = json_number(value)
    if item.attributes is not None:
        data["attributes"] = item.attributes
    if item.adjustment is not None:
        data["adjustment"] = item.adjustment
    return data


def _costs_from_json(data: Mapping[str, Any]) -> dict[str, Decimal]:
    return {name: to_decimal(cost["price"]) for name, cost in data.items()}


def update_from_json(data: Mapping[str, Any]) -> SessionUpdate:
    """The SessionUpdate named by an `IntegrationRequest.customerSession` object."""
    return SessionUpdate(
        profile_id=data.get("profileId", UNSET),
        coupon_codes=tuple(data["couponCodes"]) if "couponCodes" in data else UNSET,
        referral_code=data.get("referralCode", UNSET),
        state=SessionState(data["state"]) if "state" in data else UNSET,
        cart_items=(
            # Numbered as the domain numbers them (by index), which spares it a copy of each.
            tuple(
                _cart_item_from_json(item, position=index)
                for index, item in enumerate(data["cartItems"])
            )
            if "cartItems" in data
            else UNSET
        ),
        additional_costs=(
            _costs_from_json(data["additionalCosts"]) if "additionalCosts" in data else UNSET
        ),
        identifiers=tuple(data["identifiers"]) if "identifiers" in data else UNSET,
        attributes=data.get("attributes", UNSET),
    )


def session_to_json(session: CustomerSession) -> JsonObject:
    """The `CustomerSessionV2` document of a session; it may be shared, so never change it.

    A stored session read again and again (see loads_session) is built once.
    """
    known = _stored.document(session)
    if known is not None:
        return known
    document = _session_document(session)
    _stored.keep_document(session, document)
    return document


def _session_document(session: CustomerSession) -> JsonObject:
    data: JsonObject = {
        "id": session.id,
        "integrationId": session.integration_id,
        "created": format_time(session.created),
        "applicationId": session.application_id,
        "profileId": session.profile_id,
    }
    if session.coupon_codes is not None:
        data["couponCodes"] = list(session.coupon_codes)
    if session.referral_code is not None:
        data["referralCode"] = session.referral_code
    data["state"] = session.state.value
    data["cartItems"] = [_cart_item_to_json(item) for item in session.cart_items]
    if session.additional_costs is not None:
        data["additionalCosts"] = {
            name: {"price": json_number(price)} for name, price in session.additional_costs.items()
        }
    if session.identifiers is not None:
        data["identifiers"] = list(session.identifiers)
    data["attributes"] = session.attributes
    data["firstSession"] = session.first_session
    data["total"] = json_number(session.total)
    data["cartItemTotal"] = json_number(session.cart_item_total)
    data["additionalCostTotal"] = json_number(session.additional_cost_total)
    data["updated"] = format_time(session.updated)
    return data


def session_from_json(data: Mapping[str, Any]) -> CustomerSession:
    """A session from its `CustomerSessionV2` document (stored or fixture), totals as given."""
    costs = data.get("additionalCosts")
    return CustomerSession(
        id=int(data["id"]),
        integration_id=data["integrationId"],
        application_id=int(data["applicationId"]),
        profile_id=data["profileId"],
        created=parse_time(data["created"]),
        updated=parse_time(data["updated"]),
        state=SessionState(data["state"]),
        cart_items=tuple(_cart_item_from_json(item) for item in data["cartItems"]),
        additional_costs=_costs_from_json(costs) if costs is not None else None,
        coupon_codes=tuple(data["couponCodes"]) if "couponCodes" in data else None,
        referral_code=data.get("referralCode"),
        identifiers=tuple(data["identifiers"]) if "identifiers" in data else None,
        attributes=data["attributes"],
        first_session=bool(data["firstSession"]),
        cart_item_total=to_decimal(data["cartItemTotal"]),
        additional_cost_total=to_decimal(data["additionalCostTotal"]),
        total=to_decimal(data["total"]),
    )


def dumps_json(document: object, *, sort_keys: bool = False) -> bytes:
    """Compact JSON of a document (keys in its order unless sorted), as the mock writes it."""
    try:
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS if sort_keys else None)
    except TypeError:  # integers beyond 64 bits, which a client may send in attributes
        return json.dumps(document, sort_keys=sort_keys, separators=(",", ":")).encode()


def dumps_session(session: CustomerSession) -> str:
    """Compact, key-sorted JSON of a session, as stores keep it."""
    document = session_to_json(session)
    text = dumps_json(document, sort_keys=True).decode()
    _stored.keep(text, session, document)
    return text


def loads_session(text: str | bytes) -> CustomerSession:
    """The inverse of `dumps_session`."""
    key = text.decode() if isinstance(text, bytes) else text
    session = _stored.session(key)
    if session is None:
        session = session_from_json(json.loads(key))
        _stored.keep(key, session, None)
    return session


RESPONSE_PARTS = (
    "customerSession",
    "customerProfile",
    "coupons",
    "triggeredCampaigns",
    "referral",
    "loyalty",
    "event",
)


def profile_to_json(profile: ProfileSummary, account_id: int) -> JsonObject:
    """The `CustomerProfile` document of what the mock knows about a profile."""
    return {
        "id": profile.id,
        "created": format_time(profile.created),
        "integrationId": profile.integration_id,
        "attributes": {},
        "accountId": account_id,
        "closedSessions": profile.closed_sessions,
        "totalSales": json_number(profile.total_sales),
        "lastActivity": format_time(profile.last_activity),
    }


def event_to_json(session: CustomerSession) -> JsonObject:
    """The `talon_session_updated` event an update of `session` raises."""
    return {
        "id": session_number(session.application_id, f"event:{format_time(session.updated)}"),
        "created": format_time(session.updated),
        "applicationId": session.application_id,
        "profileId": session.profile_id,
        "type": "talon_session_updated",
        "attributes": {},
        "sessionId": session.integration_id,
        "effects": [],
    }


def integration_state_to_json(
    session: CustomerSession,
    response_content: tuple[str, ...],
    profile: JsonObject | None,
) -> JsonObject:
    """The `IntegrationStateV2` answer of a PUT, with the parts `responseContent` asks for.

    The mock runs no campaigns, so effects, coupons and created objects are always empty;
    referral and loyalty data it does not have are left out.
    """
    state: JsonObject = {"effects": [], "createdCoupons": [], "createdReferrals": []}
    if "customerSession" in response_content:
        state["customerSession"] = session_to_json(session)
    if "customerProfile" in response_content and profile is not None:
        state["customerProfile"] = profile
    if "event" in response_content:
        state["event"] = event_to_json(session)
    if "coupons" in response_content:
        state["coupons"] = []
    if "triggeredCampaigns" in response_content:
        state["triggeredCampaigns"] = []
    return state


def session_response_to_json(session: CustomerSession) -> JsonObject:
    """The `IntegrationCustomerSessionResponse` answer of a GET."""
    return {"customerSession": session_to_json(session), "effects": []}
