"""The Python API for test authors, and the fixture loader the mock starts from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from talon_one.models.additional_cost import AdditionalCost as SdkAdditionalCost
from talon_one.models.cart_item import CartItem as SdkCartItem
from talon_one.models.customer_session_v2 import CustomerSessionV2 as SdkSession

from mock_server.contract.sessions import InvalidRecord
from mock_server.contract.spec import default_spec_path, load_spec
from mock_server.core.domain import SessionState
from mock_server.fixtures.sessions import generate_sessions, load_fixture_sessions
from mock_server.wire.codec import session_to_json


def strict_spec(tmp_path: Path) -> Path:
    """A copy of the contract that no generated cart can meet: SKUs of at most 3 chars."""
    document = yaml.safe_load(default_spec_path().read_text(encoding="utf-8"))
    document["components"]["schemas"]["CartItem"]["properties"]["sku"]["maxLength"] = 3
    path = tmp_path / "strict-openapi.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_same_arguments_same_documents() -> None:
    knobs: dict[str, Any] = {"state": "closed", "items": (2, 4), "locale": "fr_FR"}
    assert list(generate_sessions(50, 9, **knobs)) == list(generate_sessions(50, 9, **knobs))
    assert list(generate_sessions(50, 9, **knobs)) != list(generate_sessions(50, 10, **knobs))


def test_knobs_reach_the_documents() -> None:
    documents = list(
        generate_sessions(
            40, 1, state="cancelled", anonymous_ratio=1.0, items=(3, 3), application_id=99
        )
    )
    assert {d["state"] for d in documents} == {"cancelled"}
    assert {d["profileId"] for d in documents} == {""}
    assert {len(d["cartItems"]) for d in documents} == {3}
    assert {d["applicationId"] for d in documents} == {99}
    mixed = {d["state"] for d in generate_sessions(40, 1, state="mixed")}
    assert mixed == {state.value for state in SessionState}


def test_snake_case_gives_the_sdk_property_names() -> None:
    camel = list(generate_sessions(60, 4))
    snake = list(generate_sessions(60, 4, case="snake"))
    for wire, sdk in zip(camel, snake, strict=True):
        # Every name is one the SDK's model knows, and maps back to the wire name.
        assert {SdkSession.attribute_map[name] for name in sdk} == set(wire)
        assert sdk["attributes"] == wire["attributes"]  # data keys stay as they are
        for wire_item, sdk_item in zip(wire["cartItems"], sdk["cart_items"], strict=True):
            assert {SdkCartItem.attribute_map[name] for name in sdk_item} == set(wire_item)
        for name, cost in sdk.get("additional_costs", {}).items():
            assert name in wire["additionalCosts"]
            assert {SdkAdditionalCost.attribute_map[key] for key in cost} == {"price"}


def test_an_invalid_record_stops_generation_naming_record_and_field(tmp_path: Path) -> None:
    spec = load_spec(strict_spec(tmp_path))
    with pytest.raises(InvalidRecord) as raised:
        list(generate_sessions(10, 1, items=(1, 2), spec=spec))
    error = raised.value
    assert (error.source, error.index, error.pointer) == ("generated", 1, "/cartItems/0/sku")
    assert "is longer than 3 characters" in error.reason


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**64),
    state=st.sampled_from(["open", "closed", "cancelled", "mixed"]),
    ratio=st.floats(0, 1),
    items=st.tuples(st.integers(0, 5), st.integers(0, 30)),
    locale=st.sampled_from(["en_US", "de_DE", "ja_JP", "ar_AA", "pt_BR"]),
    case=st.sampled_from(["camel", "snake"]),
)
def test_any_knobs_give_valid_sessions(
    seed: int, state: str, ratio: float, items: tuple[int, int], locale: str, case: Any
) -> None:
    low, extra = items
    documents = list(
        generate_sessions(
            30,
            seed,
            state=state,
            anonymous_ratio=ratio,
            items=(low, low + extra),
            locale=locale,
            case=case,
        )
    )  # each one checked on the way out: an invalid one raises
    assert len(documents) == 30


def test_unknown_case_is_refused() -> None:
    with pytest.raises(ValueError, match="case"):
        generate_sessions(1, case="kebab")  # type: ignore[arg-type]


def test_loaded_sessions_are_the_files_sessions(tmp_path: Path) -> None:
    documents = list(generate_sessions(30, 2))
    (tmp_path / "a.ndjson").write_text(
        "".join(json.dumps(d) + "\n" for d in documents[:10]), encoding="utf-8"
    )
    # Creation order across files decides firstSession, whatever the file order.
    (tmp_path / "0-later.json").write_text(json.dumps(documents[10:]), encoding="utf-8")
    sessions = load_fixture_sessions(tmp_path)
    assert [session_to_json(s) for s in sessions] == documents


def test_a_bad_record_in_a_folder_is_named_by_file_record_and_field(tmp_path: Path) -> None:
    documents = list(generate_sessions(5, 2))
    documents[3]["cartItems"] = [{"name": "Mug", "sku": "M", "quantity": 1, "price": "1.00"}]
    (tmp_path / "good.json").write_text(json.dumps(list(generate_sessions(3, 3))))
    bad = tmp_path / "bad.ndjson"
    bad.write_text("".join(json.dumps(d) + "\n" for d in documents), encoding="utf-8")
    with pytest.raises(InvalidRecord) as raised:
        load_fixture_sessions(tmp_path)
    error = raised.value
    assert (error.source, error.index, error.pointer) == (str(bad), 4, "/cartItems/0/price")
    assert error.integration_id == documents[3]["integrationId"]


def test_the_same_session_in_two_files_is_refused(tmp_path: Path) -> None:
    documents = list(generate_sessions(3, 2))
    (tmp_path / "a.json").write_text(json.dumps(documents))
    (tmp_path / "b.json").write_text(json.dumps(documents[-1:]))
    with pytest.raises(InvalidRecord, match="appears twice"):
        load_fixture_sessions(tmp_path)


def test_sdk_case_files_are_not_fixtures_for_the_mock(tmp_path: Path) -> None:
    path = tmp_path / "snake.json"
    path.write_text(json.dumps(list(generate_sessions(2, 2, case="snake"))))
    with pytest.raises(InvalidRecord, match="'id' is a required property|integrationId"):
        load_fixture_sessions(path)


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ("    price: .inf", "/cartItems/0/price"),
        ("    price: .nan", "/cartItems/0/price"),
        ("    price: !!set {1: null}", "/cartItems/0/price"),
        ("    1: one", "/"),
    ],
    ids=["infinity", "nan", "set", "int-key"],
)
def test_yaml_values_json_cannot_hold_are_named(tmp_path: Path, change: str, pointer: str) -> None:
    document = next(iter(generate_sessions(1, 1, items=(1, 1))))
    text = yaml.safe_dump([document], sort_keys=False)
    lines = text.splitlines()
    price = next(i for i, line in enumerate(lines) if line.strip().startswith("price:"))
    lines[price] = change
    path = tmp_path / "odd.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InvalidRecord) as raised:
        load_fixture_sessions(path)
    assert raised.value.pointer.startswith(pointer)


@pytest.mark.parametrize(
    ("created", "accepted"),
    [
        ("2025-06-30T23:59:60Z", False),  # a leap second: RFC 3339, but no datetime holds it
        ("2025-06-30T23:00:00+02:00", True),
        ("2025-06-30T21:00:00.5Z", True),
    ],
    ids=["leap-second", "offset", "fraction"],
)
def test_timestamps_in_other_rfc3339_forms(tmp_path: Path, created: str, accepted: bool) -> None:
    document = next(iter(generate_sessions(1, 1)))
    document["created"] = created
    document["updated"] = "2025-07-01T00:00:00.000000Z"
    path = tmp_path / "times.json"
    path.write_text(json.dumps([document]))
    if accepted:
        assert load_fixture_sessions(path)[0].integration_id == document["integrationId"]
        return
    with pytest.raises(InvalidRecord, match=r"times.json: record 1 .*: /created: cannot be read"):
        load_fixture_sessions(path)
