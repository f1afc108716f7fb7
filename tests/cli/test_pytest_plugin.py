"""The `customer_sessions` fixture, as any project that installs the package gets it."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from mock_server.cli.pytest_plugin import SessionFactory, seed_for
from mock_server.fixtures.sessions import generate_sessions


def test_the_plugin_is_registered_through_an_entry_point() -> None:
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins["customer_session_mock"] == "mock_server.cli.pytest_plugin"


def test_the_fixture_hands_out_valid_sessions(
    customer_sessions: SessionFactory, request: pytest.FixtureRequest
) -> None:
    first = customer_sessions(3, state="open")
    second = customer_sessions(3, state="open")
    assert [d["state"] for d in first] == ["open"] * 3
    assert first != second  # each call draws from the next seed
    # Seeded by the test's node id: the same on every run and machine.
    base = seed_for(request.node.nodeid)
    assert first == list(generate_sessions(3, base, state="open"))
    assert second == list(generate_sessions(3, base + 1, state="open"))


def test_one_session_and_sdk_names(customer_sessions: SessionFactory) -> None:
    session = customer_sessions.one(items=(2, 2), case="snake")
    assert len(session["cart_items"]) == 2
    assert customer_sessions(2, seed=5) == list(generate_sessions(2, 5))


def test_seeds_are_stable_numbers() -> None:
    assert seed_for("tests/test_x.py::test_y") == seed_for("tests/test_x.py::test_y")
    assert seed_for("tests/test_x.py::test_y") != seed_for("tests/test_x.py::test_z")
