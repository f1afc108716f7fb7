"""The customer session and its rules, free of HTTP, JSON names and storage."""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final, TypeVar

from mock_server.core.pointers import escape_pointer_token

T = TypeVar("T")

# Amounts beyond this magnitude cannot be represented to the cent as a JSON number that every
# client parses into a double, so the mock refuses them instead of answering rounded totals.
MAX_AMOUNT: Final = Decimal(10) ** 13


class SessionState(enum.StrEnum):
    """The life cycle of a customer session."""

    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


ALLOWED_TRANSITIONS: Final[Mapping[SessionState, frozenset[SessionState]]] = {
    SessionState.OPEN: frozenset({SessionState.CLOSED, SessionState.CANCELLED}),
    SessionState.CLOSED: frozenset({SessionState.CANCELLED}),
    SessionState.CANCELLED: frozenset(),
}


class RuleViolation(Exception):
    """A request that is well-formed but breaks a rule of the customer session API."""

    def __init__(self, pointer: str, title: str, details: str) -> None:
        super().__init__(details)
        self.pointer = pointer
        self.title = title
        self.details = details


class InvalidTransition(RuleViolation):
    """A state change the session's life cycle does not allow."""

    def __init__(self, current: SessionState, requested: SessionState) -> None:
        allowed = sorted(ALLOWED_TRANSITIONS[current])
        allowed_text = ", ".join(allowed) if allowed else "nothing (it is final)"
        super().__init__(
            "/customerSession/state",
            "Invalid state transition",
            f"A session in state '{current}' cannot move to '{requested}'; "
            f"allowed from '{current}': {allowed_text}.",
        )
        self.current = current
        self.requested = requested


@dataclass(frozen=True, slots=True)
class CartItem:
    """One line of the cart; money and measures are exact decimals."""

    name: str
    sku: str
    quantity: int
    price: Decimal
    category: str | None = None
    weight: Decimal | None = None
    height: Decimal | None = None
    width: Decimal | None = None
    length: Decimal | None = None
    position: Decimal | None = None
    attributes: Mapping[str, Any] | None = None
    adjustment: Mapping[str, Any] | None = None

    @property
    def line_total(self) -> Decimal:
        """Price times quantity, before discounts."""
        return self.price * self.quantity


@dataclass(frozen=True, slots=True)
class CustomerSession:
    """A customer session as the API answers it (totals included)."""

    id: int
    integration_id: str
    application_id: int
    profile_id: str
    created: datetime
    updated: datetime
    state: SessionState = SessionState.OPEN
    cart_items: tuple[CartItem, ...] = ()
    additional_costs: Mapping[str, Decimal] | None = None
    coupon_codes: tuple[str, ...] | None = None
    referral_code: str | None = None
    identifiers: tuple[str, ...] | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    first_session: bool = True
    cart_item_total: Decimal = Decimal(0)
    additional_cost_total: Decimal = Decimal(0)
    total: Decimal = Decimal(0)

    @property
    def is_anonymous(self) -> bool:
        """True when the session has no known customer profile."""
        return self.profile_id == ""


@dataclass(frozen=True, slots=True)
class ProfileSummary:
    """What the mock knows of a customer profile: derived from its sessions."""

    id: int
    integration_id: str
    created: datetime
    last_activity: datetime
    closed_sessions: int
    total_sales: Decimal


class _Unset(enum.Enum):
    UNSET = enum.auto()


UNSET: Final = _Unset.UNSET


@dataclass(frozen=True, slots=True)
class SessionUpdate:
    """The fields a PUT names; UNSET fields keep their previous value."""

    profile_id: str | _Unset = UNSET
    coupon_codes: tuple[str, ...] | _Unset = UNSET
    referral_code: str | _Unset = UNSET
    state: SessionState | _Unset = UNSET
    cart_items: tuple[CartItem, ...] | _Unset = UNSET
    additional_costs: Mapping[str, Decimal] | _Unset = UNSET
    identifiers: tuple[str, ...] | _Unset = UNSET
    attributes: Mapping[str, Any] | _Unset = UNSET


@dataclass(frozen=True, slots=True)
class Totals:
    """The three totals of a session, before discounts."""

    cart_item_total: Decimal
    additional_cost_total: Decimal
    total: Decimal


def compute_totals(
    cart_items: tuple[CartItem, ...], additional_costs: Mapping[str, Decimal] | None
) -> Totals:
    """Sum the cart and the additional costs in exact decimal arithmetic."""
    cart_item_total = sum((item.line_total for item in cart_items), Decimal(0))
    additional_cost_total = sum((additional_costs or {}).values(), Decimal(0))
    return Totals(cart_item_total, additional_cost_total, cart_item_total + additional_cost_total)


def transition(current: SessionState, requested: SessionState) -> SessionState:
    """Return the state after asking for `requested`; the current state again is a no-op."""
    if requested == current or requested in ALLOWED_TRANSITIONS[current]:
        return requested
    raise InvalidTransition(current, requested)


def session_number(application_id: int, integration_id: str) -> int:
    """A stable internal id for a session, the same in every process and on every host."""
    digest = hashlib.blake2b(f"{application_id}/{integration_id}".encode(), digest_size=4)
    return int.from_bytes(digest.digest(), "big") % 2_000_000_000 + 1


def next_update_time(previous: datetime, now: datetime) -> datetime:
    """The `updated` stamp of a new revision: the clock, but never at or behind the last one."""
    return max(now, previous + timedelta(microseconds=1))


def _check_amounts(items: tuple[CartItem, ...], costs: Mapping[str, Decimal] | None) -> Totals:
    for index, item in enumerate(items):
        if not item.price.is_finite() or abs(item.line_total) > MAX_AMOUNT:
            raise RuleViolation(
                f"/customerSession/cartItems/{index}/price",
                "Amount out of range",
                f"price x quantity must stay within +/-{MAX_AMOUNT:,}.",
            )
    for name, price in (costs or {}).items():
        if not price.is_finite() or abs(price) > MAX_AMOUNT:
            raise RuleViolation(
                f"/customerSession/additionalCosts/{escape_pointer_token(name)}/price",
                "Amount out of range",
                f"An additional cost must stay within +/-{MAX_AMOUNT:,}.",
            )
    totals = compute_totals(items, costs)
    if abs(totals.total) > MAX_AMOUNT:
        raise RuleViolation(
            "/customerSession/cartItems",
            "Amount out of range",
            f"The session total must stay within +/-{MAX_AMOUNT:,}.",
        )
    return totals


def _positioned(items: tuple[CartItem, ...]) -> tuple[CartItem, ...]:
    # The server computes positions: the index of each item in the cart.
    return tuple(
        item if item.position == index else replace(item, position=Decimal(index))
        for index, item in enumerate(items)
    )


def _cart_unchanged(
    session: CustomerSession,
    items: tuple[CartItem, ...],
    costs: Mapping[str, Decimal] | None,
) -> tuple[str, bool]:
    if _positioned(items) != session.cart_items:
        return "/customerSession/cartItems", False
    if dict(costs or {}) != dict(session.additional_costs or {}):
        return "/customerSession/additionalCosts", False
    return "", True


def new_session(
    *,
    integration_id: str,
    application_id: int,
    now: datetime,
) -> CustomerSession:
    """An empty, open, anonymous session as a first PUT starts it."""
    return CustomerSession(
        id=session_number(application_id, integration_id),
        integration_id=integration_id,
        application_id=application_id,
        profile_id="",
        created=now,
        updated=now,
    )


def apply_update(
    session: CustomerSession,
    update: SessionUpdate,
    *,
    updated: datetime,
    first_session_of_profile: str | None,
) -> CustomerSession:
    """Return the session after `update`; raise RuleViolation if a rule forbids it.

    Args:
        session: the current revision (a fresh one from `new_session` for a first PUT).
        update: the fields the request names.
        updated: the `updated` stamp of the new revision (see `next_update_time`).
        first_session_of_profile: the integration id of the profile's first session, or
            None when the resulting profile has no session yet.
    """
    state = session.state
    if update.state is not UNSET:
        state = transition(session.state, update.state)

    items = session.cart_items if update.cart_items is UNSET else _positioned(update.cart_items)
    costs = (
        session.additional_costs if update.additional_costs is UNSET else update.additional_costs
    )
    if session.state is not SessionState.OPEN:
        # The cart of a closed or cancelled session is final; sending it unchanged is fine.
        pointer, unchanged = _cart_unchanged(session, items, costs)
        if not unchanged:
            raise RuleViolation(
                pointer,
                "Cart is final",
                f"The cart of a {session.state} session can no longer change.",
            )
    totals = _check_amounts(items, costs)

    profile_id = session.profile_id if update.profile_id is UNSET else update.profile_id
    first_session = profile_id == "" or first_session_of_profile in (None, session.integration_id)
    return replace(
        session,
        profile_id=profile_id,
        state=state,
        cart_items=items,
        additional_costs=costs,
        coupon_codes=_keep(session.coupon_codes, update.coupon_codes),
        referral_code=_keep(session.referral_code, update.referral_code),
        identifiers=_keep(session.identifiers, update.identifiers),
        attributes=_keep(session.attributes, update.attributes),
        first_session=first_session,
        updated=updated,
        cart_item_total=totals.cart_item_total,
        additional_cost_total=totals.additional_cost_total,
        total=totals.total,
    )


def _keep(previous: T, sent: T | _Unset) -> T:
    return previous if sent is UNSET else sent
