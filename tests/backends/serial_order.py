"""A checker for concurrent PUTs on one session: the outcome must be some serial order.

Each acknowledged PUT answers the session it produced. Revisions of one session form a chain
(every save is a compare-and-set on the previous one) and `updated` grows along it, so sorting
the acknowledged answers by `updated` gives the order the server applied them in. Replaying
the requests in that order on a simple model must reproduce every answer and the final state;
an interleaved update (fields of one request mixed with another's, or a lost update) cannot.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from contract_tests.rules import totals_problems

FIELDS = ("cartItems", "additionalCosts", "attributes")


@dataclass(frozen=True)
class Acknowledged:
    """A PUT body and the session its 200 answer carried."""

    body: dict[str, Any]
    session: dict[str, Any]


def random_update(rng: random.Random, tag: str) -> dict[str, Any]:
    """A PUT body that replaces a random non-empty subset of the fields, marked with `tag`."""
    names = rng.sample(FIELDS, rng.randint(1, len(FIELDS)))
    fields: dict[str, Any] = {}
    if "cartItems" in names:
        fields["cartItems"] = [
            {
                "name": f"item {tag}/{n}",
                "sku": f"SKU-{tag}-{n}",
                "quantity": rng.randint(1, 5),
                "price": rng.choice([0.1, 0.2, 1.99, 12.5, 100]),
            }
            for n in range(rng.randint(0, 3))
        ]
    if "additionalCosts" in names:
        fields["additionalCosts"] = {"shipping": {"price": rng.choice([0, 3.95, 4.99])}}
    if "attributes" in names:
        fields["attributes"] = {"writer": tag}
    return {"customerSession": fields, "responseContent": ["customerSession"]}


def _comparable(session: dict[str, Any]) -> dict[str, Any]:
    items = [
        {k: item[k] for k in ("name", "sku", "quantity", "price")} for item in session["cartItems"]
    ]
    return {
        "cartItems": items,
        "additionalCosts": session.get("additionalCosts", {}),
        "attributes": session["attributes"],
    }


def check_serial_order(
    initial: dict[str, Any], acknowledged: list[Acknowledged], final: dict[str, Any]
) -> None:
    """Assert that replaying the acknowledged PUTs in server order explains every answer."""
    ordered = sorted(acknowledged, key=lambda ack: ack.session["updated"])
    stamps = [ack.session["updated"] for ack in ordered]
    assert len(set(stamps)) == len(stamps), "two acknowledged PUTs made the same revision"
    model = _comparable(initial)
    for step, ack in enumerate(ordered):
        for name in FIELDS:
            if name in ack.body["customerSession"]:
                model[name] = ack.body["customerSession"][name]
        assert _comparable(ack.session) == model, f"answer {step} is not a serial outcome"
        _assert_totals_add_up(ack.session)
    assert _comparable(final) == model, "the final state is not the last acknowledged one"
    if ordered:
        assert final["updated"] == ordered[-1].session["updated"]
    _assert_totals_add_up(final)


def _assert_totals_add_up(session: dict[str, Any]) -> None:
    assert totals_problems(session) == [], session
