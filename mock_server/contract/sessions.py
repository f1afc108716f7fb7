"""The one checker of session documents, for every door a session comes in by.

Fixture files, the admin API's uploads, the generator's self-check and the proxy's recordings
all go through `SessionChecker`: a document must match openapi.yaml's `CustomerSessionV2` and
keep every rule of the domain: totals to the cent, positions, `updated` not before `created`,
and `firstSession` true exactly on the first session of each profile within the checked set
(and each id once).
"""

from __future__ import annotations

import contextlib
import gc
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from mock_server.contract.schemas import compile_schema
from mock_server.core.domain import MAX_AMOUNT, CustomerSession, compute_totals
from mock_server.core.errors import MockServerError
from mock_server.core.pointers import escape_pointer_token
from mock_server.wire.codec import parse_time, session_from_json, to_decimal

if TYPE_CHECKING:
    from mock_server.contract.spec import Spec

SCHEMA_NAME: Final = "CustomerSessionV2"
_WIRE_TIME_LENGTH: Final = len("2026-01-01T00:00:00.000000Z")
_MAX_AMOUNT_CENTS: Final = int(MAX_AMOUNT * 100)
_EXACT_CENTS_LIMIT: Final = 2**53 // 100


class InvalidRecord(MockServerError):
    """A session document that breaks the contract or a rule, located by record and field."""

    def __init__(
        self, source: str, index: int, integration_id: str | None, pointer: str, reason: str
    ) -> None:
        self.source = source
        self.index = index
        self.integration_id = integration_id
        self.pointer = pointer or "/"
        self.reason = reason
        named = f" (integrationId {integration_id!r})" if integration_id is not None else ""
        super().__init__(f"{source}: record {index}{named}: {self.pointer}: {reason}")


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken rule of one document."""

    pointer: str
    reason: str


class SessionChecker:
    """Checks documents one by one; remembers profiles (and ids) across the whole set."""

    def __init__(self, spec: Spec, *, unique_ids: bool = True) -> None:
        self._schema = compile_schema(spec, SCHEMA_NAME)
        self._profiles: dict[int, set[str]] = {}
        # Remembering a million ids would cost about 100 MB of a streamed run; generated ids
        # are random 122-bit UUIDs, so generated sets skip this check and loaded files keep it.
        self._ids: set[tuple[int, str]] | None = set() if unique_ids else None

    def check(self, document: Any, *, source: str, index: int) -> None:
        """Raise InvalidRecord naming `source`, the record and the field if `document` is bad.

        Set rules (`firstSession`, unique ids) take documents in creation order.
        """
        problem = self.record_problem(document)
        if problem is None:
            problem = self.set_problem(
                document["applicationId"],
                document["integrationId"],
                document["profileId"],
                document["firstSession"],
            )
        if problem is not None:
            raise _invalid(document, problem, source, index)

    def check_record(self, document: Any, *, source: str, index: int) -> None:
        """Like `check`, without the set rules: for records checked out of creation order."""
        problem = self.record_problem(document)
        if problem is not None:
            raise _invalid(document, problem, source, index)

    def record_problem(self, document: Any) -> Problem | None:
        """The first thing wrong with `document` on its own (contract, totals, times)."""
        try:
            if not self._schema.is_valid(document):
                violation = self._schema.violations(document)[0]
                return Problem(violation.pointer, violation.message)
        except (ValueError, TypeError):  # YAML can hold what JSON cannot: sets, int keys
            return _not_json(document, "")
        return self._totals_problem(document) or self._order_problem(document)

    def _totals_problem(self, document: Mapping[str, Any]) -> Problem | None:
        items = document["cartItems"]
        costs = (document.get("additionalCosts") or {}).values()
        for position, item in enumerate(items):
            if item.get("position", position) != position:
                return Problem(
                    f"/cartItems/{position}/position",
                    f"is {item['position']}, but the item is at index {position}",
                )
        totals: tuple[int, int] | tuple[Decimal, Decimal] | None = _cent_totals(items, costs)
        if totals is None:  # amounts finer than a cent: the domain's own exact arithmetic
            try:
                session = session_from_json(document)
            except (ValueError, TypeError, KeyError) as exc:  # e.g. a leap second
                return Problem("/", f"cannot be read: {exc}")
            exact = compute_totals(session.cart_items, session.additional_costs)
            totals = exact.cart_item_total, exact.additional_cost_total
        cart_total, cost_total = totals
        expected: tuple[tuple[str, Any, str], ...] = (
            ("cartItemTotal", cart_total, "the sum of price x quantity over cartItems"),
            ("additionalCostTotal", cost_total, "the sum of additionalCosts prices"),
            ("total", cart_total + cost_total, "cartItemTotal + additionalCostTotal"),
        )
        in_cents = isinstance(cart_total, int)
        for name, amount, meaning in expected:
            given = document[name]
            matches = _cents(given) == amount if in_cents else to_decimal(given) == amount
            if not matches:
                return Problem(f"/{name}", f"is {given}, but {meaning} is {_show(amount)}")
            if abs(amount) > (_MAX_AMOUNT_CENTS if in_cents else MAX_AMOUNT):
                return Problem(f"/{name}", f"{_show(amount)} is beyond +/-{MAX_AMOUNT:,}")
        return None

    def _order_problem(self, document: Mapping[str, Any]) -> Problem | None:
        created, updated = document["created"], document["updated"]
        if len(created) == len(updated) == _WIRE_TIME_LENGTH and created[-1] == updated[-1] == "Z":
            # The wire's own format (UTC, microseconds) sorts as text: no parsing needed.
            before = updated < created
        else:
            moments = []
            for name in ("created", "updated"):
                try:
                    moments.append(parse_time(document[name]))
                except ValueError as exc:  # a leap second passes the schema, not datetime
                    return Problem(f"/{name}", f"cannot be read as a moment: {exc}")
            before = moments[1] < moments[0]
        if before:
            return Problem("/updated", f"{updated} is before created ({created})")
        return None

    def set_problem(
        self, application_id: int, integration_id: str, profile_id: str, first_session: bool
    ) -> Problem | None:
        """What a session breaks of the set's rules; a good one joins the set.

        Sessions must come in creation order: the first of a profile is its first session.
        """
        if self._ids is not None:
            key = (application_id, integration_id)
            if key in self._ids:
                return Problem(
                    "/integrationId",
                    f"{key[1]!r} appears twice in application {application_id}",
                )
            self._ids.add(key)
        if profile_id == "":
            if not first_session:
                return Problem("/firstSession", "must be true for an anonymous session")
            return None
        seen = self._profiles.setdefault(application_id, set())
        if profile_id in seen:
            if first_session:
                return Problem(
                    "/firstSession",
                    f"is true, but profile {profile_id!r} has an earlier session",
                )
        else:
            if not first_session:
                return Problem(
                    "/firstSession",
                    f"is false, but this is the first session of profile {profile_id!r}",
                )
            seen.add(profile_id)
        return None


def _invalid(document: Any, problem: Problem, source: str, index: int) -> InvalidRecord:
    integration_id = document.get("integrationId") if isinstance(document, Mapping) else None
    if not isinstance(integration_id, str):
        integration_id = None
    return InvalidRecord(source, index, integration_id, problem.pointer, problem.reason)


def _not_json(value: Any, pointer: str) -> Problem:
    """Where in `value` lies the first thing JSON cannot hold."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return Problem(pointer or "/", f"has a key that is not a string: {key!r}")
            if not _is_json(item):
                return _not_json(item, f"{pointer}/{escape_pointer_token(key)}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if not _is_json(item):
                return _not_json(item, f"{pointer}/{index}")
    return Problem(pointer or "/", f"is not JSON data: {type(value).__name__} {value!r:.60}")


def _is_json(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_json(item) for item in value)
    return value is None or isinstance(value, str | int | float)


def _cents(number: int | float) -> int | None:
    """The amount in cents, if `number` is a whole number of cents (exactly, as written)."""
    if isinstance(number, int):
        return number * 100
    if not math.isfinite(number):  # YAML has .inf and .nan; JSON has neither
        return None
    cents = round(number * 100)
    # Below 2**53 / 100, a double that equals cents / 100 is written as exactly that amount.
    return cents if cents / 100 == number and abs(cents) < _EXACT_CENTS_LIMIT else None


def _cent_totals(
    items: list[Mapping[str, Any]], costs: Iterable[Mapping[str, Any]]
) -> tuple[int, int] | None:
    """`domain.compute_totals` in integer cents, when every amount is whole cents; else None.

    Exact, and several times faster than Decimal: generated sessions always take this path.
    """
    cart_total = 0
    for item in items:
        price, quantity = _cents(item["price"]), item["quantity"]
        if price is None or not isinstance(quantity, int):
            return None
        cart_total += price * quantity
    cost_total = 0
    for cost in costs:
        price = _cents(cost["price"])
        if price is None:
            return None
        cost_total += price
    return cart_total, cost_total


def _show(amount: int | Decimal) -> str:
    return str(Decimal(amount).scaleb(-2)) if isinstance(amount, int) else str(amount)


Record = tuple[str, int, Any]
"""A document to check, with where it came from: (source, index, document)."""


def check_sessions(records: Iterable[Record], spec: Spec) -> list[CustomerSession]:
    """Every session of `records`, checked, in creation order; InvalidRecord on the first bad one.

    Each record is checked on its own as it is read (contract, totals, times); then
    `firstSession` and unique ids across the whole set, in creation order.
    """
    checker = SessionChecker(spec)
    loaded: list[tuple[CustomerSession, str, int]] = []
    with _bulk_allocation():
        for source, index, document in records:
            checker.check_record(document, source=source, index=index)
            # Keep the session, not the document: half the memory for large files.
            loaded.append((_session(document, source, index), source, index))
        loaded.sort(key=lambda entry: (entry[0].created, entry[0].integration_id))
        for session, source, index in loaded:
            problem = checker.set_problem(
                session.application_id,
                session.integration_id,
                session.profile_id,
                session.first_session,
            )
            if problem is not None:
                raise InvalidRecord(
                    source, index, session.integration_id, problem.pointer, problem.reason
                )
    return [session for session, _, _ in loaded]


def _session(document: Any, source: str, index: int) -> CustomerSession:
    try:
        return session_from_json(document)
    except (ValueError, TypeError, KeyError) as exc:  # e.g. a leap second the schema allows
        raise InvalidRecord(
            source, index, str(document["integrationId"]), "/", f"cannot be read: {exc}"
        ) from exc


@contextlib.contextmanager
def _bulk_allocation() -> Iterator[None]:
    # Loading builds many long-lived objects: the cycle collector would rescan them again
    # and again for nothing (it cost 40 % of a 100,000-session load).
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
