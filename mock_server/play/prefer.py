"""The `Prefer` header (RFC 7240) as Prism uses it to pick an answer: `dynamic=true, seed=7`."""

from __future__ import annotations


def parse_prefer(header: str | None) -> dict[str, str]:
    """The preferences of a `Prefer` header, names lowercased; later values win."""
    preferences: dict[str, str] = {}
    for part in (header or "").replace(";", ",").split(","):
        name, _, value = part.strip().partition("=")
        if name:
            preferences[name.strip().lower()] = value.strip().strip('"')
    return preferences
