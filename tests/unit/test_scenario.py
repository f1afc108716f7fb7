"""Reading Prism-style preferences from `Prefer` and the `__name` query parameters."""

from __future__ import annotations

import pytest

from mock_server.core.errors import ApiError
from mock_server.play.scenario import Scenario, read_scenario


def test_no_preferences_is_the_normal_behaviour() -> None:
    scenario = read_scenario(None, {})
    assert scenario == Scenario()
    assert not scenario.overrides_answer
    assert scenario.describe() is None


def test_every_preference_is_read_from_the_header() -> None:
    scenario = read_scenario(
        'code=404, example="sessionNotFound"; dynamic=false, seed=9, delay=250, fault=empty', {}
    )
    assert (scenario.code, scenario.example, scenario.dynamic, scenario.seed) == (
        404,
        "sessionNotFound",
        False,
        9,
    )
    assert (scenario.delay_ms, scenario.fault) == (250.0, "empty")
    assert scenario.describe() == (
        "code=404,example=sessionNotFound,dynamic=false,seed=9,delay=250,fault=empty"
    )


def test_query_twins_are_read_and_the_header_wins() -> None:
    scenario = read_scenario("code=401", {"__code": "404", "__example": "x", "__dynamic": "true"})
    assert scenario.code == 401
    assert scenario.source("code") == "Prefer"
    assert scenario.example == "x"
    assert scenario.source("example") == "__example"
    assert scenario.dynamic is True


@pytest.mark.parametrize(
    ("header", "query", "source"),
    [
        ("code=abc", {}, "Prefer"),
        (None, {"__code": "99"}, "__code"),
        ("dynamic=maybe", {}, "Prefer"),
        (None, {"__seed": "x"}, "__seed"),
        ("delay=forever", {}, "Prefer"),
        ("delay=600000", {}, "Prefer"),
        ("fault=explode", {}, "Prefer"),
        (None, {"__example": ""}, "__example"),
    ],
    ids=["code", "code-range", "dynamic", "seed", "delay", "delay-max", "fault", "example"],
)
def test_invalid_preferences_are_a_400_naming_their_source(
    header: str | None, query: dict[str, str], source: str
) -> None:
    with pytest.raises(ApiError) as raised:
        read_scenario(header, query)
    assert raised.value.status == 400
    assert raised.value.errors[0].parameter == source
