"""The `Prefer` header (RFC 7240) as Prism uses it to pick an answer: `dynamic=true, seed=7`."""

from __future__ import annotations

from collections.abc import Mapping

from mock_server.errors import ApiError, ErrorItem


def parse_prefer(header: str | None) -> dict[str, str]:
    """The preferences of a `Prefer` header, names lowercased; later values win."""
    preferences: dict[str, str] = {}
    for part in (header or "").replace(";", ",").split(","):
        name, _, value = part.strip().partition("=")
        if name:
            preferences[name.strip().lower()] = value.strip().strip('"')
    return preferences


def flag(preferences: Mapping[str, str], name: str) -> bool:
    """A boolean preference; a value other than true or false is a 400 naming the header."""
    value = preferences.get(name, "false").lower()
    if value not in {"true", "false"}:
        raise ApiError.bad_request(
            "Invalid Prefer header",
            [ErrorItem("Invalid preference", f"{name} must be true or false", parameter="Prefer")],
        )
    return value == "true"


def integer(preferences: Mapping[str, str], name: str, default: int) -> int:
    """An integer preference, or `default` when absent."""
    if name not in preferences:
        return default
    try:
        return int(preferences[name])
    except ValueError:
        raise ApiError.bad_request(
            "Invalid Prefer header",
            [ErrorItem("Invalid preference", f"{name} must be an integer", parameter="Prefer")],
        ) from None
