"""The business rules of customer sessions, as a client can check them from the outside.

Pure functions over JSON documents: no HTTP, no Schemathesis. The same rules serve the
Schemathesis checks, the deterministic workflows and any other source of exchanges.

Every rule is total over what the schema allows: any JSON value gets a verdict, and nothing
here raises. A rule that cannot decide (an amount beyond what a double holds, a leap second)
says so as a doubt instead of guessing. `*_verdict` functions return problems with stable keys
(for baselines) and doubts; the older `*_problems` functions return the problems' messages.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, localcontext
from typing import Any, Final

STATES: Final = ("open", "closed", "cancelled")
ALLOWED_TRANSITIONS: Final[Mapping[str, frozenset[str]]] = {
    "open": frozenset({"closed", "cancelled"}),
    "closed": frozenset({"cancelled"}),
    "cancelled": frozenset(),
}
# Below this magnitude (summed over every amount of a session), a double still holds each cent
# exactly, so totals of whole cents must be exact: 0.1 + 0.2 is 0.3, not 0.30000000000000004.
EXACT_AMOUNT_LIMIT: Final = Decimal(10) ** 11
# Beyond this magnitude the mock refuses amounts ("Amount out of range"): a legitimate 400.
MAX_AMOUNT: Final = Decimal(10) ** 13
CENT: Final = Decimal("0.01")
HALF_CENT: Final = Decimal("0.005")
# The spacing of doubles relative to their magnitude (2**-52): a server that sums in binary
# floating point may be off by a few of these times the sum of the magnitudes it adds.
DOUBLE_EPSILON: Final = Decimal(2) ** -52
# Exact enough for every comparison below, and never a trap: an overflow becomes Infinity,
# which the rules then recognise as "cannot decide".
_ARITHMETIC: Final = Context(prec=60, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[])


@dataclass(frozen=True)
class Problem:
    """One broken rule: a stable key (for baselines and deduplication) and a readable message."""

    key: str
    message: str


@dataclass(frozen=True)
class Verdict:
    """What a rule found in a document: the problems it is sure of, and what it could not decide."""

    problems: tuple[Problem, ...] = ()
    doubts: tuple[str, ...] = ()

    def __add__(self, other: Verdict) -> Verdict:
        return Verdict(self.problems + other.problems, self.doubts + other.doubts)

    @property
    def messages(self) -> list[str]:
        """The problems' messages."""
        return [problem.message for problem in self.problems]


def is_allowed_transition(current: Any, requested: Any) -> bool:
    """True for a legal state change; asking for the current state again is always legal."""
    if not isinstance(current, str) or not isinstance(requested, str):
        return False
    return requested == current or requested in ALLOWED_TRANSITIONS.get(current, frozenset())


def to_decimal(value: Any) -> Decimal | None:
    """The exact decimal of a finite JSON number (a float through its shortest repr), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        # An int converts exactly whatever its size (str() of a huge int would hit Python's limit).
        result = Decimal(value) if isinstance(value, int) else Decimal(str(value))
    except (ArithmeticError, ValueError):
        return None
    return result if result.is_finite() else None


def is_unreadable_number(value: Any) -> bool:
    """A JSON number that parsed to an infinite float (e.g. 1e400): valid JSON we cannot weigh."""
    return isinstance(value, float) and not math.isfinite(value)


_RFC3339: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
)


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (fractions beyond microseconds cut off), or None."""
    if not isinstance(value, str):
        return None
    match = _RFC3339.fullmatch(value)
    if match is None:
        return None
    fraction = (match.group(7) or ".0")[1:7].ljust(6, "0")
    zone = match.group(8)
    text = "{}-{}-{}T{}:{}:{}.{}".format(*match.groups()[:6], fraction)
    text += "+00:00" if zone in ("Z", "z") else zone
    try:
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        return None  # a leap second (23:59:60) or an impossible date
    return moment


def unreadable_time(value: Any) -> bool:
    """A timestamp the schema may accept but `parse_time` cannot place (a leap second)."""
    return (
        isinstance(value, str) and _RFC3339.fullmatch(value) is not None and not parse_time(value)
    )


def _quantity(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _whole_cents(amount: Decimal) -> bool:
    # From the digits, not by quantize(): that raises for amounts beyond the context precision.
    _, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int):
        return False
    if not any(digits):
        return True
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return exponent + trailing_zeros >= -2


@dataclass(frozen=True)
class _Terms:
    lines: tuple[Decimal, ...]  # price x quantity of each cart item
    costs: tuple[Decimal, ...]  # each additional cost
    prices_in_cents: bool  # every price and cost is whole cents

    @property
    def magnitude(self) -> Decimal:
        with localcontext(_ARITHMETIC):
            return sum((abs(term) for term in (*self.lines, *self.costs)), Decimal(0))


class Amounts:
    """The amounts a request sends, and the totals they must add up to."""

    def __init__(self, cart_items: Any, additional_costs: Any) -> None:
        self.cart_items = cart_items if isinstance(cart_items, list) else []
        self.additional_costs = additional_costs if isinstance(additional_costs, dict) else {}

    @classmethod
    def of_session(cls, session: Mapping[str, Any]) -> Amounts:
        """The amounts of a `CustomerSessionV2` (or `NewCustomerSessionV2`) document."""
        return cls(session.get("cartItems"), session.get("additionalCosts"))

    def _raw_prices(self) -> list[Any]:
        prices = [item.get("price") for item in self.cart_items if isinstance(item, dict)]
        prices += [
            cost.get("price") for cost in self.additional_costs.values() if isinstance(cost, dict)
        ]
        return prices

    def doubt(self) -> str | None:
        """Why the totals cannot be weighed, when an amount is a number no double holds."""
        if any(is_unreadable_number(price) for price in self._raw_prices()):
            return "an amount is beyond what a double holds (e.g. 1e400): totals not compared"
        return None

    def _terms(self) -> _Terms | None:
        lines: list[Decimal] = []
        in_cents = True
        with localcontext(_ARITHMETIC):
            for item in self.cart_items:
                if not isinstance(item, dict):
                    return None
                price, quantity = to_decimal(item.get("price")), _quantity(item.get("quantity"))
                if price is None or quantity is None:
                    return None
                in_cents = in_cents and _whole_cents(price)
                lines.append(price * quantity)
            costs: list[Decimal] = []
            for cost in self.additional_costs.values():
                price = to_decimal(cost.get("price")) if isinstance(cost, dict) else None
                if price is None:
                    return None
                in_cents = in_cents and _whole_cents(price)
                costs.append(price)
        if not all(term.is_finite() for term in (*lines, *costs)):
            return None
        return _Terms(tuple(lines), tuple(costs), in_cents)

    def expected(self) -> tuple[Decimal, Decimal, Decimal] | None:
        """(cartItemTotal, additionalCostTotal, total) in exact arithmetic; None if unreadable."""
        terms = self._terms()
        if terms is None:
            return None
        with localcontext(_ARITHMETIC):
            cart = sum(terms.lines, Decimal(0))
            costs = sum(terms.costs, Decimal(0))
            total = cart + costs
        if not all(value.is_finite() for value in (cart, costs, total)):
            return None
        return cart, costs, total

    def out_of_range(self) -> bool:
        """True when an amount breaks the documented limit (a legitimate 400)."""
        terms = self._terms()
        if terms is None:
            return False
        with localcontext(_ARITHMETIC):
            amounts = [*terms.lines, *terms.costs, sum((*terms.lines, *terms.costs), Decimal(0))]
            return any(abs(amount) > MAX_AMOUNT for amount in amounts)

    def in_cents(self) -> bool:
        """True when every amount is whole cents of a moderate size: totals must then be exact."""
        terms = self._terms()
        return terms is not None and terms.prices_in_cents and terms.magnitude < EXACT_AMOUNT_LIMIT

    def tolerance(self) -> Decimal | None:
        """How far a correct total may be from the exact one (0: exactly); None if unreadable.

        Whole cents of a moderate size: exactly. Otherwise to the cent, and never closer than a
        server summing in binary floating point can be: a few doubles' spacing times the sum of
        the magnitudes it adds (1e300 - 1e300 + 0.01 may come out as 0 in doubles).
        """
        terms = self._terms()
        if terms is None:
            return None
        magnitude = terms.magnitude
        if terms.prices_in_cents and magnitude < EXACT_AMOUNT_LIMIT:
            return Decimal(0)
        with localcontext(_ARITHMETIC):
            count = len(terms.lines) + len(terms.costs)
            float_error = magnitude * (count + 2) * DOUBLE_EPSILON
        return max(float_error, HALF_CENT)


TOTALS: Final = ("cartItemTotal", "additionalCostTotal", "total")


def totals_verdict(session: Mapping[str, Any]) -> Verdict:
    """Totals that do not add up to the cent (exactly, when every amount is whole cents)."""
    amounts = Amounts.of_session(session)
    doubt = amounts.doubt()
    if doubt is not None:
        return Verdict(doubts=(doubt,))
    expected, tolerance = amounts.expected(), amounts.tolerance()
    if expected is None or tolerance is None:
        return Verdict()  # a mistyped amount is the schema check's finding
    problems: list[Problem] = []
    doubts: list[str] = []
    for name, want in zip(TOTALS, expected, strict=True):
        value = session.get(name)
        got = to_decimal(value)
        if got is None:
            if is_unreadable_number(value):
                doubts.append(f"{name} is beyond what a double holds: not compared")
            continue  # a missing or mistyped total is the schema check's finding
        with localcontext(_ARITHMETIC):
            off = abs(got - want)
            ok = off.is_finite() and off <= tolerance
        if not ok:
            rule = "exactly" if tolerance == 0 else "to the cent"
            # Less than a cent off is binary floating-point arithmetic; more, a wrong sum.
            kind = "drift" if off.is_finite() and off < CENT else "off"
            problems.append(
                Problem(
                    f"{name}:{kind}",
                    f"{name} is {got}, but the cart adds up to {_number(want)} ({rule})",
                )
            )
    return Verdict(tuple(problems), tuple(doubts))


def totals_problems(session: Mapping[str, Any]) -> list[str]:
    """Totals that do not add up to the cent (exactly, when every amount is whole cents)."""
    return totals_verdict(session).messages


def _number(value: Decimal) -> str:
    # 0.3 rather than 0.30, 1E+300 rather than three hundred digits.
    text = format(value.normalize(_ARITHMETIC), "f") if abs(value.adjusted()) < 30 else str(value)
    return text


def session_verdict(session: Mapping[str, Any], path_id: str | None) -> Verdict:
    """Rules a single `CustomerSessionV2` document must keep on its own."""
    verdict = totals_verdict(session)
    problems: list[Problem] = []
    doubts: list[str] = []
    integration_id = session.get("integrationId")
    if path_id is not None and "integrationId" in session and integration_id != path_id:
        problems.append(
            Problem(
                "integrationId",
                f"integrationId is {short_repr(integration_id)}, "
                f"but the path names {short_repr(path_id)}",
            )
        )
    if session.get("profileId") == "" and session.get("firstSession") is False:
        problems.append(
            Problem(
                "anonymous-first-session",
                "firstSession is false for an anonymous session (profileId '')",
            )
        )
    if definitely_before(session.get("updated"), session.get("created")):
        problems.append(
            Problem(
                "updated-behind-created",
                f"updated {session['updated']} is behind created {session['created']}",
            )
        )
    for name in ("created", "updated"):
        if unreadable_time(session.get(name)):
            doubts.append(
                f"{name} {session[name]!r} is no moment Python can place (a leap second?)"
            )
    state = session.get("state")
    if state is not None and state not in STATES:
        problems.append(
            Problem("state", f"state {short_repr(state)} is none of {', '.join(STATES)}")
        )
    return verdict + Verdict(tuple(problems), tuple(doubts))


def session_problems(session: Mapping[str, Any], path_id: str | None) -> list[str]:
    """Rules a single `CustomerSessionV2` document must keep on its own."""
    return session_verdict(session, path_id).messages


def _same_number(left: Any, right: Any) -> bool:
    a, b = to_decimal(left), to_decimal(right)
    if a is None or b is None:
        return False
    if a == b:
        return True
    # A server that holds numbers as doubles answers 12345678901234567890 as
    # 12345678901234567000 (or 1.2345678901234567e19): the same number as far as JSON goes.
    x, y = float(a), float(b)
    return math.isfinite(x) and x == y


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


def definitely_before(first: Any, second: Any) -> bool:
    """Whether timestamp `first` is before `second`, even allowing for a coarser precision.

    A server may write one stamp to the microsecond and another to the second: 12:00:00Z is not
    before 12:00:00.5Z when the first was cut to whole seconds.
    """
    a, b = parse_time(first), parse_time(second)
    if a is None or b is None:
        return False
    digits = min(_fraction_digits(first), _fraction_digits(second), 6)
    if digits == max(_fraction_digits(first), _fraction_digits(second)):
        return a < b
    # A difference, not a sum: 9999-12-31T23:59:59Z plus a second is no date.
    return b - a >= timedelta(microseconds=10 ** (6 - digits))


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


def applied_verdict(sent: Mapping[str, Any], answered: Mapping[str, Any]) -> Verdict:
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
                Problem(
                    f"applied:{name}",
                    f"{name} was sent as {short_repr(value)}, but the answer has "
                    f"{short_repr(answered.get(name, '<missing>'))}",
                )
            )
    if "state" in sent and "state" in answered and answered["state"] != sent["state"]:
        problems.append(
            Problem(
                "applied:state",
                f"state {short_repr(sent['state'])} was accepted, but the answer has "
                f"{short_repr(answered['state'])}",
            )
        )
    return Verdict(tuple(problems))


def applied_problems(sent: Mapping[str, Any], answered: Mapping[str, Any]) -> list[str]:
    """Fields a successful PUT named that its answer does not carry as sent."""
    return applied_verdict(sent, answered).messages


def kept_verdict(
    sent: Mapping[str, Any], previous: Mapping[str, Any], answered: Mapping[str, Any]
) -> Verdict:
    """Fields a PUT did not name that changed anyway (each update builds on the previous one)."""
    problems = []
    for name in (*UPDATABLE, "state"):
        if name in sent:
            continue
        before, after = previous.get(name), answered.get(name)
        if name == "cartItems":
            same = same_value(before, after) or (before is not None and _same_cart(before, after))
        else:
            same = same_value(before, after) or (is_empty(before) and is_empty(after))
        if not same:
            problems.append(
                Problem(
                    f"kept:{name}",
                    f"{name} was not sent but changed from {short_repr(before)} "
                    f"to {short_repr(after)}",
                )
            )
    if "profileId" not in sent and previous.get("firstSession") != answered.get("firstSession"):
        problems.append(
            Problem(
                "kept:firstSession",
                f"firstSession changed from {short_repr(previous.get('firstSession'))} to "
                f"{short_repr(answered.get('firstSession'))} though the profile did not",
            )
        )
    return Verdict(tuple(problems))


def kept_problems(
    sent: Mapping[str, Any], previous: Mapping[str, Any], answered: Mapping[str, Any]
) -> list[str]:
    """Fields a PUT did not name that changed anyway (each update builds on the previous one)."""
    return kept_verdict(sent, previous, answered).messages


def error_response_problems(body: Any) -> list[str]:
    """What makes a body other than a well-formed `ErrorResponse`."""
    if not isinstance(body, dict):
        return [f"the body is not a JSON object but {short_repr(body)}"]
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
            problems.append(
                f"errors[{index}].source.pointer {short_repr(pointer)} is not a JSON pointer"
            )
        for key in ("parameter", "line", "resource"):
            if key in source and not isinstance(source[key], str):
                problems.append(f"errors[{index}].source.{key} is not a string")
    return problems


def short_repr(value: Any, limit: int = 120) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int too long for repr() (Python's digit limit)
        text = f"<a number of about {value.bit_length() * 3 // 10} digits>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
