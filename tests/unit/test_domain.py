"""The rules of customer sessions, without HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_server.core.domain import (
    ALLOWED_TRANSITIONS,
    MAX_AMOUNT,
    UNSET,
    CartItem,
    CustomerSession,
    InvalidTransition,
    RuleViolation,
    SessionState,
    SessionUpdate,
    apply_update,
    compute_totals,
    new_session,
    next_update_time,
    session_number,
    transition,
)

OPEN, CLOSED, CANCELLED = SessionState.OPEN, SessionState.CLOSED, SessionState.CANCELLED
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def item(price: str, quantity: int = 1, sku: str = "SKU-1") -> CartItem:
    return CartItem(name="Item", sku=sku, quantity=quantity, price=Decimal(price))


def fresh(integration_id: str = "s-1") -> CustomerSession:
    return new_session(integration_id=integration_id, application_id=1, now=T0)


def update(
    session: CustomerSession, change: SessionUpdate, first: str | None = None
) -> CustomerSession:
    return apply_update(
        session,
        change,
        updated=next_update_time(session.updated, T0 + timedelta(minutes=1)),
        first_session_of_profile=first,
    )


@pytest.mark.parametrize(
    ("prices", "costs", "expected"),
    [
        ([("0.1", 1), ("0.2", 1)], [], ("0.3", "0", "0.3")),
        ([("0.1", 3)], ["0.2"], ("0.3", "0.2", "0.5")),
        ([("19.99", 3), ("0.01", 1)], ["4.95", "0.05"], ("59.98", "5.00", "64.98")),
        ([("1.10", 7)], [], ("7.70", "0", "7.70")),
        ([], ["3.3", "3.3", "3.4"], ("0", "10.0", "10.0")),
        ([("-5.00", 1), ("5.00", 1)], [], ("0", "0", "0")),
    ],
    ids=[
        "float-drift",
        "quantity-times-price",
        "many-cents",
        "repeated-1.1",
        "costs-only",
        "refund-line",
    ],
)
def test_totals_are_exact_decimals(
    prices: list[tuple[str, int]], costs: list[str], expected: tuple[str, str, str]
) -> None:
    items = tuple(item(price, quantity, f"SKU-{i}") for i, (price, quantity) in enumerate(prices))
    totals = compute_totals(items, {f"cost{i}": Decimal(c) for i, c in enumerate(costs)})
    assert (totals.cart_item_total, totals.additional_cost_total, totals.total) == tuple(
        Decimal(e) for e in expected
    )


money = st.decimals(min_value=-10_000, max_value=10_000, places=2)


@given(
    lines=st.lists(st.tuples(money, st.integers(1, 50)), max_size=20),
    costs=st.lists(money, max_size=5),
)
def test_total_is_the_sum_of_its_parts(
    lines: list[tuple[Decimal, int]], costs: list[Decimal]
) -> None:
    items = tuple(item(str(price), quantity) for price, quantity in lines)
    totals = compute_totals(items, {f"c{i}": cost for i, cost in enumerate(costs)})
    assert totals.cart_item_total == sum((p * q for p, q in lines), Decimal(0))
    assert totals.additional_cost_total == sum(costs, Decimal(0))
    assert totals.total == totals.cart_item_total + totals.additional_cost_total
    # Cents in, cents out: no drift to a third decimal.
    assert totals.total == totals.total.quantize(Decimal("0.01"))


@pytest.mark.parametrize(
    ("current", "requested", "allowed"),
    [
        (OPEN, OPEN, True),
        (OPEN, CLOSED, True),
        (OPEN, CANCELLED, True),
        (CLOSED, CLOSED, True),
        (CLOSED, CANCELLED, True),
        (CLOSED, OPEN, False),
        (CANCELLED, CANCELLED, True),
        (CANCELLED, OPEN, False),
        (CANCELLED, CLOSED, False),
    ],
    ids=lambda v: str(v),
)
def test_state_machine(current: SessionState, requested: SessionState, allowed: bool) -> None:
    if allowed:
        assert transition(current, requested) is requested
    else:
        with pytest.raises(InvalidTransition) as caught:
            transition(current, requested)
        assert caught.value.pointer == "/customerSession/state"
        assert str(current) in caught.value.details and str(requested) in caught.value.details


@given(st.lists(st.sampled_from(list(SessionState)), max_size=12))
def test_any_request_sequence_only_walks_allowed_edges(requests: list[SessionState]) -> None:
    session = fresh()
    for requested in requests:
        before = session.state
        try:
            session = update(session, SessionUpdate(state=requested))
        except InvalidTransition:
            assert requested not in ALLOWED_TRANSITIONS[before] and requested != before
            continue
        assert session.state == requested
        assert session.state == before or session.state in ALLOWED_TRANSITIONS[before]


def test_update_keeps_fields_it_does_not_name() -> None:
    # Given a session with a cart, coupons and attributes
    session = update(
        fresh(),
        SessionUpdate(
            profile_id="p-1",
            cart_items=(item("2.50", 2),),
            coupon_codes=("SPRING-1",),
            attributes={"channel": "web"},
        ),
    )
    # When an update names only the state
    closed = update(session, SessionUpdate(state=CLOSED))
    # Then everything else is kept
    assert closed.state is CLOSED
    assert closed.cart_items == session.cart_items
    assert closed.coupon_codes == ("SPRING-1",)
    assert closed.attributes == {"channel": "web"}
    assert closed.profile_id == "p-1"
    assert closed.total == Decimal("5.00")
    assert closed.created == session.created
    assert closed.updated > session.updated


def test_positions_are_computed_by_the_server() -> None:
    session = update(fresh(), SessionUpdate(cart_items=(item("1", sku="A"), item("2", sku="B"))))
    assert [i.position for i in session.cart_items] == [Decimal(0), Decimal(1)]


@pytest.mark.parametrize("state", [CLOSED, CANCELLED])
@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (SessionUpdate(cart_items=()), "/customerSession/cartItems"),
        (
            SessionUpdate(additional_costs={"shipping": Decimal("1")}),
            "/customerSession/additionalCosts",
        ),
    ],
    ids=["cart-items", "additional-costs"],
)
def test_cart_of_a_final_session_cannot_change(
    state: SessionState, change: SessionUpdate, pointer: str
) -> None:
    session = update(fresh(), SessionUpdate(cart_items=(item("3"),)))
    session = update(session, SessionUpdate(state=state))
    with pytest.raises(RuleViolation) as caught:
        update(session, change)
    assert caught.value.pointer == pointer


def test_resending_the_same_cart_of_a_closed_session_is_fine() -> None:
    cart = (item("3"),)
    session = update(update(fresh(), SessionUpdate(cart_items=cart)), SessionUpdate(state=CLOSED))
    again = update(session, SessionUpdate(cart_items=cart, state=CANCELLED))
    assert again.state is CANCELLED and again.cart_items == session.cart_items


def test_first_session_rules() -> None:
    anonymous = update(fresh(), SessionUpdate(profile_id=""), first="someone-else")
    assert anonymous.first_session is True
    first = update(fresh("s-1"), SessionUpdate(profile_id="p"), first=None)
    assert first.first_session is True
    again = update(first, SessionUpdate(), first="s-1")
    assert again.first_session is True
    second = update(fresh("s-2"), SessionUpdate(profile_id="p"), first="s-1")
    assert second.first_session is False


@pytest.mark.parametrize(
    "change",
    [
        SessionUpdate(cart_items=(item("1E+20"),)),
        SessionUpdate(cart_items=(item("99999999999", 1000),)),
        SessionUpdate(additional_costs={"fee": MAX_AMOUNT + 1}),
    ],
    ids=["huge-price", "huge-line", "huge-cost"],
)
def test_amounts_beyond_cents_precision_are_refused(change: SessionUpdate) -> None:
    with pytest.raises(RuleViolation) as caught:
        update(fresh(), change)
    assert caught.value.title == "Amount out of range"
    assert caught.value.pointer.startswith("/customerSession/")


def test_updated_strictly_advances_even_when_the_clock_does_not() -> None:
    assert next_update_time(T0, T0) > T0
    assert next_update_time(T0, T0 - timedelta(hours=1)) > T0
    assert next_update_time(T0, T0 + timedelta(hours=1)) == T0 + timedelta(hours=1)


def test_unset_is_distinct_from_empty_values() -> None:
    session = update(fresh(), SessionUpdate(coupon_codes=("A",)))
    cleared = update(session, SessionUpdate(coupon_codes=()))
    kept = update(session, SessionUpdate(coupon_codes=UNSET))
    assert cleared.coupon_codes == () and kept.coupon_codes == ("A",)


def test_session_number_is_stable_and_positive() -> None:
    assert session_number(1, "s-1") == session_number(1, "s-1")
    assert session_number(1, "s-1") != session_number(2, "s-1")
    assert 0 < session_number(1, "x") < 2**31
