"""Business-rule checks on JSON documents, as a client sees them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

CENT = Decimal("0.01")


def money(value: Any) -> Decimal:
    """A JSON number as the decimal a client means."""
    return Decimal(str(value))


def assert_totals_add_up(session: dict[str, Any]) -> None:
    """cartItemTotal, additionalCostTotal and total agree with the lines, to the cent."""
    items = sum((money(i["price"]) * i["quantity"] for i in session["cartItems"]), Decimal(0))
    costs = sum(
        (money(c["price"]) for c in (session.get("additionalCosts") or {}).values()), Decimal(0)
    )
    assert abs(money(session["cartItemTotal"]) - items) < CENT, session
    assert abs(money(session["additionalCostTotal"]) - costs) < CENT, session
    assert abs(money(session["total"]) - (items + costs)) < CENT, session


def assert_session_rules(session: dict[str, Any]) -> None:
    """Every rule a single session document must keep."""
    assert_totals_add_up(session)
    assert session["state"] in {"open", "closed", "cancelled"}
    if session["profileId"] == "":
        assert session["firstSession"] is True, session
    assert session["updated"] >= session["created"], session
    assert [i.get("position") for i in session["cartItems"]] == list(
        range(len(session["cartItems"]))
    )
