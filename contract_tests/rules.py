"""The business rules of customer sessions, as a client can check them from the outside.

Pure functions over JSON documents: no HTTP, no Schemathesis. Each returns a list of
human-readable problems (empty when the document keeps the rule), so the same rules serve the
Schemathesis checks and the deterministic workflows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

STATES: Final = ("open", "closed", "cancelled")
ALLOWED_TRANSITIONS: Final[Mapping[str, frozenset[str]]] = {
    "open": frozenset({"closed", "cancelled"}),
    "closed": frozenset({"cancelled"}),
    "cancelled": frozenset(),
}
# Beyond this magnitude the mock refuses amounts ("Amount out of range"), and a double can no
# longer hold a cent exactly, so totals are only compared relatively.
EXACT_AMOUNT_LIMIT: Final = Decimal(10) ** 11
MAX_AMOUNT: Final = Decimal(10) ** 13
CENT: Final = Decimal("0.01")
HALF_CENT: Final = Decimal("0.005")


def is_allowed_transition(current: str, requested: str) -> bool:
    """True for a legal state change; asking for the current state again is always legal."""
    return requested == current or requested in ALLOWED_TRANSITIONS.get(current, frozenset())


def to_decimal(value: Any) -> Decimal | None:
    """The exact decimal of a JSON number (a float through its shortest repr), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp, or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


class Amounts:
    """The amounts a request sends, and the totals they must add up to."""

    def __init__(self, cart_items: Any, additional_costs: Any) -> None:
        self.cart_items = cart_items if isinstance(cart_items, list) else []
        self.additional_costs = additional_costs if isinstance(additional_costs, dict) else {}

    @classmethod
    def of_session(cls, session: Mapping[str, Any]) -> Amounts:
        """The amounts of a `CustomerSessionV2` (or `NewCustomerSessionV2`) document."""
        return cls(session.get("cartItems"), session.get("additionalCosts"))

    def _prices(self) -> tuple[list[Decimal], list[Decimal]] | None:
        lines: list[Decimal] = []
        for item in self.cart_items:
            if not isinstance(item, dict):
                return None
            price, quantity = to_decimal(item.get("price")), item.get("quantity")
            if price is None or not isinstance(quantity, int) or isinstance(quantity, bool):
                return None
            lines.append(price * quantity)
        costs: list[Decimal] = []
        for cost in self.additional_costs.values():
            price = to_decimal(cost.get("price")) if isinstance(cost, dict) else None
            if price is None:
                return None
            costs.append(price)
        return lines, costs

    def expected(self) -> tuple[Decimal, Decimal, Decimal] | None:
        """(cartItemTotal, additionalCostTotal, total) in exact arithmetic; None if unreadable."""
        prices = self._prices()
        if prices is None:
            return None
        cart = sum(prices[0], Decimal(0))
        costs = sum(prices[1], Decimal(0))
        return cart, costs, cart + costs

    def out_of_range(self) -> bool:
        """True when an amount breaks the documented limit (a legitimate 400)."""
        prices = self._prices()
        if prices is None:
            return False
        amounts = [*prices[0], *prices[1], sum(prices[0], Decimal(0)) + sum(prices[1], Decimal(0))]
        return any(abs(amount) > MAX_AMOUNT for amount in amounts)

    def in_cents(self) -> bool:
        """True when every amount is whole cents of a moderate size: totals must then be exact."""
        prices = self._prices()
        if prices is None:
            return False
        # The size first: quantize() cannot hold 1e300 to the cent, and raises.
        return all(
            abs(amount) < EXACT_AMOUNT_LIMIT and amount == amount.quantize(CENT)
            for amount in [*prices[0], *prices[1]]
        )


def _close_enough(actual: Decimal, expected: Decimal, exact: bool) -> bool:
    if exact:
        return actual == expected
    if abs(expected) < EXACT_AMOUNT_LIMIT:
        return abs(actual - expected) < HALF_CENT
    return abs(actual - expected) <= abs(expected) * Decimal("1e-9")


def totals_problems(session: Mapping[str, Any]) -> list[str]:
    """Totals that do not add up to the cent (exactly, when every amount is whole cents)."""
    amounts = Amounts.of_session(session)
    expected = amounts.expected()
    if expected is None:
        return []
    exact = amounts.in_cents()
    problems = []
    for name, want in zip(("cartItemTotal", "additionalCostTotal", "total"), expected, strict=True):
        got = to_decimal(session.get(name))
        if got is None:
            continue  # a missing or mistyped total is the schema check's finding
        if not _close_enough(got, want, exact):
            rule = "exactly" if exact else "to the cent"
            problems.append(f"{name} is {got}, but the cart adds up to {want} ({rule})")
    return problems


def session_problems(session: Mapping[str, Any], path_id: str | None) -> list[str]:
    """Rules a single `CustomerSessionV2` document must keep on its own."""
    problems = totals_problems(session)
    if path_id is not None and "integrationId" in session and session["integrationId"] != path_id:
        problems.append(
            f"integrationId is {session['integrationId']!r}, but the path names {path_id!r}"
        )
    if session.get("profileId") == "" and session.get("firstSession") is False:
        problems.append("firstSession is false for an anonymous session (profileId '')")
    created, updated = parse_time(session.get("created")), parse_time(session.get("updated"))
    if created is not None and updated is not None and updated < created:
        problems.append(f"updated {session['updated']} is behind created {session['created']}")
    state = session.get("state")
    if state is not None and state not in STATES:
        problems.append(f"state {state!r} is none of {', '.join(STATES)}")
    return problems


def _same_number(left: Any, right: Any) -> bool:
    a, b = to_decimal(left), to_decimal(right)
    return a is not None and b is not None and a == b


def same_value(sent: Any, answered: Any) -> bool:
    """Whether an answered value is what was sent (numbers compared by value)."""
    if isinstance(sent, bool) or isinstance(answered, bool):
        return sent is answered
    if isinstance(sent, int | float) and isinstance(answered, int | float):
        return _same_number(sent, answered)
    if isinstance(sent, dict) and isinstance(answered, dict):
        return sent.keys() == answered.keys() and all(
            same_value(sent[key], answered[key]) for key in sent
        )
    if isinstance(sent, list) and isinstance(answered, list):
        return len(sent) == len(answered) and all(
            same_value(a, b) for a, b in zip(sent, answered, strict=True)
        )
    return bool(sent == answered)


# The properties of CustomerSessionV2 in openapi.yaml; a server may add others (later API
# versions do), which comparisons between two answers ignore.
SESSION_PROPERTIES: Final = (
    "id", "integrationId", "created", "applicationId", "profileId", "couponCodes",
    "referralCode", "state", "cartItems", "additionalCosts", "identifiers", "attributes",
    "firstSession", "total", "cartItemTotal", "additionalCostTotal", "updated",
)  # fmt: skip


def is_empty(value: Any) -> bool:
    """An optional value a server may equally send empty or leave out."""
    return value is None or value == [] or value == {} or value == ""


def same_moment(left: Any, right: Any) -> bool:
    """Equal timestamps; two texts of different precision may differ below the millisecond."""
    if left == right:
        return True
    a, b = parse_time(left), parse_time(right)
    if a is None or b is None:
        return False
    if _fraction_digits(left) == _fraction_digits(right):
        # The same precision on both sides: a store that kept it must give it back exactly.
        return a == b
    return abs(a - b) < timedelta(milliseconds=1)


def _fraction_digits(text: Any) -> int:
    match = re.search(r"\.(\d+)", text) if isinstance(text, str) else None
    return len(match.group(1)) if match else 0


def session_differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The contract's properties in which two session documents differ."""
    differences = []
    for name in SESSION_PROPERTIES:
        left, right = before.get(name), after.get(name)
        if name in ("created", "updated"):
            same = same_moment(left, right)
        else:
            same = same_value(left, right) or (is_empty(left) and is_empty(right))
        if not same:
            differences.append(name)
    return differences


# Declared properties: a server may drop properties the schema does not declare.
CART_ITEM_PROPERTIES: Final = (
    "name", "sku", "quantity", "price", "category", "weight", "height", "width", "length",
    "attributes", "adjustment",
)  # fmt: skip
ADJUSTMENT_PROPERTIES: Final = ("payFromLoyaltyProgram", "pointPayment", "remainingPrice")


def _declared(value: Any, names: tuple[str, ...]) -> Any:
    if not isinstance(value, dict):
        return value
    return {name: value[name] for name in names if name in value}


def _same_item(sent: Any, answered: Any) -> bool:
    if not isinstance(sent, dict) or not isinstance(answered, dict):
        return False
    for key, value in _declared(sent, CART_ITEM_PROPERTIES).items():
        got = answered.get(key)
        if key == "adjustment":
            value = _declared(value, ADJUSTMENT_PROPERTIES)
            got = _declared(got, ADJUSTMENT_PROPERTIES)
        if key not in answered and is_empty(value):
            continue
        if key not in answered or not same_value(value, got):
            return False
    return True


def _same_cart(sent: Any, answered: Any) -> bool:
    # The server adds `position` to every item; every declared property sent must come back.
    if not isinstance(sent, list) or not isinstance(answered, list) or len(sent) != len(answered):
        return False
    return all(_same_item(a, b) for a, b in zip(sent, answered, strict=True))


def _same_costs(sent: Any, answered: Any) -> bool:
    if not isinstance(sent, dict) or not isinstance(answered, dict):
        return is_empty(sent) and is_empty(answered)
    if sent.keys() != answered.keys():
        return False
    return all(
        isinstance(answered[name], dict)
        and same_value(_declared(cost, ("price",)), _declared(answered[name], ("price",)))
        for name, cost in sent.items()
    )


# Fields of NewCustomerSessionV2 a PUT may name, and how an answer must reflect them.
UPDATABLE: Final = (
    "profileId",
    "couponCodes",
    "referralCode",
    "cartItems",
    "additionalCosts",
    "identifiers",
    "attributes",
)


def applied_problems(sent: Mapping[str, Any], answered: Mapping[str, Any]) -> list[str]:
    """Fields a successful PUT named that its answer does not carry as sent."""
    problems = []
    for name in UPDATABLE:
        if name not in sent:
            continue
        value = sent[name]
        if name == "cartItems":
            ok = _same_cart(value, answered.get(name))
        elif name == "additionalCosts":
            ok = _same_costs(value, answered.get(name))
        elif is_empty(value) and name != "profileId":
            ok = is_empty(answered.get(name))
        else:
            ok = name in answered and same_value(value, answered[name])
        if not ok:
            problems.append(
                f"{name} was sent as {_short(value)}, but the answer has "
                f"{_short(answered.get(name, '<missing>'))}"
            )
    if "state" in sent and "state" in answered and answered["state"] != sent["state"]:
        problems.append(
            f"state {sent['state']!r} was accepted, but the answer has {answered['state']!r}"
        )
    return problems


def kept_problems(
    sent: Mapping[str, Any], previous: Mapping[str, Any], answered: Mapping[str, Any]
) -> list[str]:
    """Fields a PUT did not name that changed anyway (each update builds on the previous one)."""
    problems = []
    for name in (*UPDATABLE, "state"):
        if name in sent:
            continue
        before, after = previous.get(name), answered.get(name)
        if name == "cartItems":
            same = before == after or (before is not None and _same_cart(before, after))
        else:
            same = same_value(before, after) or (is_empty(before) and is_empty(after))
        if not same:
            problems.append(
                f"{name} was not sent but changed from {_short(before)} to {_short(after)}"
            )
    if "profileId" not in sent and previous.get("firstSession") != answered.get("firstSession"):
        problems.append(
            f"firstSession changed from {previous.get('firstSession')} to "
            f"{answered.get('firstSession')} though the profile did not"
        )
    return problems


def error_response_problems(body: Any) -> list[str]:
    """What makes a body other than a well-formed `ErrorResponse`."""
    if not isinstance(body, dict):
        return [f"the body is not a JSON object but {_short(body)}"]
    problems = []
    if not isinstance(body.get("message"), str):
        problems.append("'message' (string) is missing")
    errors = body.get("errors", [])
    if not isinstance(errors, list):
        return [*problems, "'errors' is not an array"]
    for index, error in enumerate(errors):
        if not isinstance(error, dict):
            problems.append(f"errors[{index}] is not an object")
            continue
        if not isinstance(error.get("title"), str):
            problems.append(f"errors[{index}].title (string) is missing")
        source = error.get("source")
        if not isinstance(source, dict):
            problems.append(f"errors[{index}].source (object) is missing")
            continue
        pointer = source.get("pointer")
        if pointer is not None and (
            not isinstance(pointer, str) or (pointer and not pointer.startswith("/"))
        ):
            problems.append(f"errors[{index}].source.pointer {pointer!r} is not a JSON pointer")
        for key in ("parameter", "line", "resource"):
            if key in source and not isinstance(source[key], str):
                problems.append(f"errors[{index}].source.{key} is not a string")
    return problems


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
