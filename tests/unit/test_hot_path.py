"""The shortcuts of the request path give the same results as the plain code they replace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mock_server.wire.codec import format_time, parse_time

MOMENTS = [
    datetime(2026, 3, 1, 10, 15, tzinfo=UTC),
    datetime(2026, 3, 1, 10, 15, 0, 5, tzinfo=timezone(timedelta(hours=2))),
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
]


@pytest.mark.parametrize("moment", MOMENTS, ids=["utc", "plus-2h", "minus-5h"])
def test_format_time_is_rfc3339_utc_with_microseconds(moment: datetime) -> None:
    """isoformat-based formatting writes what strftime wrote, and parses back to the moment."""
    text = format_time(moment)
    assert text == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert parse_time(text) == moment
