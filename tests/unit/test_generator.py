"""The one session generator: deterministic, realistic, rule-abiding."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.core.domain import SessionState
from mock_server.fixtures.generator import EPOCH, GeneratorOptions, SessionGenerator
from mock_server.wire.codec import format_time, parse_time, session_from_json, session_to_json


def dump(documents: object) -> str:
    return json.dumps(documents, sort_keys=True)


def test_same_seed_and_options_give_the_same_sessions() -> None:
    options = GeneratorOptions(locale="de_DE", min_items=1, max_items=9, anonymous_ratio=0.5)
    first = dump(list(SessionGenerator(7, options).documents(200)))
    again = dump(list(SessionGenerator(7, options).documents(200)))
    other_seed = dump(list(SessionGenerator(8, options).documents(200)))
    assert first == again
    assert first != other_seed


def test_documents_are_what_the_wire_writes_for_their_sessions() -> None:
    # The mock reads generated documents back through the wire module: nothing may be lost.
    for document in SessionGenerator(3).documents(300):
        assert session_to_json(session_from_json(document)) == document


def test_sessions_and_session_for_are_the_documents_as_domain_objects() -> None:
    generator = SessionGenerator(5)
    documents = list(generator.documents(20))
    sessions = list(generator.sessions(20))
    assert [s.integration_id for s in sessions] == [d["integrationId"] for d in documents]
    assert generator.session_for("abc") == session_from_json(generator.document_for("abc"))
    assert generator.session_for("abc") == SessionGenerator(5).session_for("abc")
    assert generator.session_for("abc") != generator.session_for("abd")


def test_a_sku_always_has_the_same_name_category_and_price() -> None:
    seen: dict[str, tuple[str, str, object]] = {}
    for document in SessionGenerator(11).documents(500):
        for item in document["cartItems"]:
            product = (item["name"], item["category"], item["price"])
            assert seen.setdefault(item["sku"], product) == product
    assert len(seen) > 50


def test_prices_have_cents_and_totals_add_up_exactly() -> None:
    for document in SessionGenerator(13).documents(500):
        cart = sum(
            (Decimal(str(i["price"])) * i["quantity"] for i in document["cartItems"]), Decimal(0)
        )
        costs = sum(
            (Decimal(str(c["price"])) for c in document.get("additionalCosts", {}).values()),
            Decimal(0),
        )
        assert Decimal(str(document["cartItemTotal"])) == cart
        assert Decimal(str(document["additionalCostTotal"])) == costs
        assert Decimal(str(document["total"])) == cart + costs
        for item in document["cartItems"]:
            assert Decimal(str(item["price"])).as_tuple().exponent >= -2


def test_first_session_is_true_exactly_on_each_profiles_first_session() -> None:
    seen: set[str] = set()
    repeat_visits = 0
    for document in SessionGenerator(17).documents(600):
        profile = document["profileId"]
        if profile == "":
            assert document["firstSession"] is True
            continue
        assert document["firstSession"] is (profile not in seen)
        repeat_visits += profile in seen
        seen.add(profile)
    assert repeat_visits > 50  # profiles really are shared


def test_timestamps_come_from_the_seed_and_stay_ordered_before_the_epoch() -> None:
    documents = list(SessionGenerator(19).documents(2000))
    created = [parse_time(d["created"]) for d in documents]
    assert created == sorted(created)
    assert all(parse_time(d["updated"]) >= parse_time(d["created"]) for d in documents)
    assert parse_time(documents[-1]["updated"]) < EPOCH
    assert format_time(created[0]) == documents[0]["created"]


def test_the_first_six_cover_every_state_named_and_anonymous() -> None:
    documents = list(SessionGenerator(23).documents(6))
    cases = {(d["state"], d["profileId"] == "") for d in documents}
    assert cases == {(state.value, anonymous) for state in SessionState for anonymous in (0, 1)}


def test_default_mix_has_every_state_and_case() -> None:
    documents = list(SessionGenerator(29).documents(1000))
    states = Counter(d["state"] for d in documents)
    assert states["open"] > states["closed"] > states["cancelled"] > 50
    anonymous = sum(d["profileId"] == "" for d in documents)
    assert 200 < anonymous < 400
    assert any(not d["cartItems"] for d in documents)
    assert any(len(d.get("additionalCosts", {})) >= 3 for d in documents)
    assert any("couponCodes" in d for d in documents)
    assert any("referralCode" in d for d in documents)


@pytest.mark.parametrize("state", list(SessionState), ids=str)
def test_a_single_state_is_honoured(state: SessionState) -> None:
    options = GeneratorOptions(state=state)
    assert {d["state"] for d in SessionGenerator(1, options).documents(50)} == {state.value}


@pytest.mark.parametrize(
    ("ratio", "expected"), [(0.0, set()), (1.0, {""})], ids=["named", "anonymous"]
)
def test_anonymous_ratio_bounds(ratio: float, expected: set[str]) -> None:
    options = GeneratorOptions(anonymous_ratio=ratio)
    profiles = {d["profileId"] for d in SessionGenerator(1, options).documents(50)}
    assert profiles & {""} == expected


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    low=st.integers(0, 8),
    extra=st.integers(0, 40),
    application_id=st.integers(1, 10**6),
)
def test_item_range_and_application_are_honoured(
    seed: int, low: int, extra: int, application_id: int
) -> None:
    options = GeneratorOptions(application_id=application_id, min_items=low, max_items=low + extra)
    for document in SessionGenerator(seed, options).documents(10):
        assert low <= len(document["cartItems"]) <= low + extra
        assert document["applicationId"] == application_id
        skus = [item["sku"] for item in document["cartItems"]]
        assert len(set(skus)) == len(skus)  # a product is one line, with a quantity


@pytest.mark.parametrize(
    "options",
    [
        {"anonymous_ratio": 1.5},
        {"min_items": 3, "max_items": 2},
        {"min_items": -1},
        {"catalogue_size": 0},
    ],
    ids=["ratio", "range", "negative", "catalogue"],
)
def test_impossible_options_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        GeneratorOptions(**options)  # type: ignore[arg-type]
