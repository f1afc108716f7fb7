"""The session generator: valid, rule-abiding, realistic and deterministic."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.contract.schemas import CompiledSchema, compile_schema
from mock_server.contract.spec import load_spec
from mock_server.core.domain import SessionState
from mock_server.fixtures.generator import GeneratorOptions, SessionGenerator
from mock_server.wire.codec import dumps_session, session_to_json
from tests.rules import assert_session_rules


@pytest.fixture(scope="module")
def session_schema() -> CompiledSchema:
    return compile_schema(load_spec(), "CustomerSessionV2")


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32), count=st.integers(1, 40))
def test_generated_sessions_validate_and_keep_the_rules(seed: int, count: int) -> None:
    schema = compile_schema(load_spec(), "CustomerSessionV2")
    sessions = list(SessionGenerator(seed).sessions(count))
    assert len(sessions) == count
    seen_profiles: set[str] = set()
    for session in sessions:
        document = session_to_json(session)
        assert schema.violations(document) == []
        assert_session_rules(document)
        # firstSession per profile across the set, in creation order.
        if session.profile_id:
            assert session.first_session == (session.profile_id not in seen_profiles)
            seen_profiles.add(session.profile_id)
    assert len({s.integration_id for s in sessions}) == count
    assert [s.created for s in sessions] == sorted(s.created for s in sessions)


def test_same_seed_same_bytes_other_seed_other_sessions() -> None:
    first = [dumps_session(s) for s in SessionGenerator(7).sessions(50)]
    again = [dumps_session(s) for s in SessionGenerator(7).sessions(50)]
    other = [dumps_session(s) for s in SessionGenerator(8).sessions(50)]
    assert first == again
    assert first != other


def test_every_state_named_and_anonymous_in_a_small_preload() -> None:
    sessions = list(SessionGenerator(3).sessions(6))
    cases = {(s.state, s.profile_id == "") for s in sessions}
    assert cases == {(state, anonymous) for state in SessionState for anonymous in (True, False)}


def test_a_profile_with_several_sessions_appears() -> None:
    sessions = list(SessionGenerator(11).sessions(60))
    counts = Counter(s.profile_id for s in sessions if s.profile_id)
    assert max(counts.values()) > 1
    assert any(not s.first_session for s in sessions)


def test_catalogue_is_consistent_and_prices_have_cents() -> None:
    generator = SessionGenerator(5)
    by_sku: dict[str, tuple[str, str | None, object]] = {}
    for session in generator.sessions(200):
        for item in session.cart_items:
            entry = (item.name, item.category, item.price)
            assert by_sku.setdefault(item.sku, entry) == entry
    prices = [price for _, _, price in by_sku.values()]
    assert any(p != p.to_integral_value() for p in prices)  # type: ignore[attr-defined]


def test_session_for_an_id_is_deterministic_and_valid(session_schema: CompiledSchema) -> None:
    generator = SessionGenerator(42)
    first = generator.session_for("any-id-at-all")
    assert dumps_session(first) == dumps_session(SessionGenerator(42).session_for("any-id-at-all"))
    assert dumps_session(first) != dumps_session(SessionGenerator(43).session_for("any-id-at-all"))
    document = session_to_json(first)
    assert document["integrationId"] == "any-id-at-all"
    assert session_schema.violations(document) == []
    assert_session_rules(document)


@pytest.mark.parametrize("state", list(SessionState))
def test_options_shape_the_sessions(state: SessionState) -> None:
    options = GeneratorOptions(
        application_id=9, state=state, anonymous_ratio=1.0, min_items=2, max_items=3
    )
    for session in SessionGenerator(1, options).sessions(20):
        assert session.state is state
        assert session.profile_id == "" and session.first_session
        assert 2 <= len(session.cart_items) <= 3
        assert session.application_id == 9


def test_other_locales_give_other_words() -> None:
    english = SessionGenerator(1, GeneratorOptions(locale="en_US")).catalogue
    german = SessionGenerator(1, GeneratorOptions(locale="de_DE")).catalogue
    assert [p.name for p in english] != [p.name for p in german]
