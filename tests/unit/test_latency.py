"""Latency models parsed from text; no clock involved."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_server.play.latency import MAX_DELAY_MS, InvalidLatency, parse_duration_ms, parse_latency


@pytest.mark.parametrize(
    ("text", "kind", "describe"),
    [
        ("50ms", "fixed", "50ms"),
        ("50", "fixed", "50ms"),
        ("0.25s", "fixed", "250ms"),
        ("20-200ms", "uniform", "20ms-200ms"),
        ("20ms-200ms", "uniform", "20ms-200ms"),
        ("1-2s", "uniform", "1000ms-2000ms"),
        ("median=80ms,sigma=0.4", "lognormal", "median=80ms,sigma=0.4"),
    ],
    ids=lambda value: str(value),
)
def test_latency_texts_parse_and_round_trip(text: str, kind: str, describe: str) -> None:
    latency = parse_latency(text)
    assert latency.kind == kind
    assert latency.describe() == describe
    assert parse_latency(latency.describe()) == latency


@pytest.mark.parametrize(
    "text",
    ["", "fast", "-5ms", "200-20ms", "median=80ms", "median=0ms,sigma=1", "sigma=1,x=2", "61s"],
)
def test_malformed_latency_is_refused(text: str) -> None:
    with pytest.raises(InvalidLatency):
        parse_latency(text)


def test_fixed_latency_is_always_the_same() -> None:
    latency = parse_latency("50ms")
    rng = random.Random(1)
    assert {latency.sample(rng) for _ in range(20)} == {50.0}


@given(
    low=st.integers(0, 5000),
    width=st.integers(0, 5000),
    seed=st.integers(0, 2**32),
)
def test_uniform_samples_stay_in_the_range(low: int, width: int, seed: int) -> None:
    latency = parse_latency(f"{low}-{low + width}ms")
    rng = random.Random(seed)
    for _ in range(10):
        assert low <= latency.sample(rng) <= low + width


def test_lognormal_samples_centre_on_the_median_and_stay_bounded() -> None:
    latency = parse_latency("median=80ms,sigma=0.4")
    rng = random.Random(7)
    samples = sorted(latency.sample(rng) for _ in range(2001))
    assert 70 < samples[1000] < 90
    assert all(0 < sample <= MAX_DELAY_MS for sample in samples)


def test_durations_above_the_maximum_are_refused() -> None:
    assert parse_duration_ms(str(MAX_DELAY_MS)) == MAX_DELAY_MS
    with pytest.raises(InvalidLatency):
        parse_duration_ms(str(MAX_DELAY_MS + 1))
