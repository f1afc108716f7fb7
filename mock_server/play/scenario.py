"""What a client asks the mock to play, Prism-style: `Prefer: code=404, example=x, delay=500`.

The query equivalents `__code`, `__example`, `__dynamic`, `__seed` (and `__delay`, `__fault`)
are read too; a preference in the `Prefer` header wins over its query twin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from mock_server.core.errors import ApiError, ErrorItem
from mock_server.play.faults import FAULTS
from mock_server.play.latency import InvalidLatency, parse_duration_ms
from mock_server.play.prefer import parse_prefer

QUERY_PREFIX: Final = "__"
PREFERENCES: Final = ("code", "example", "dynamic", "seed", "delay", "fault")


@dataclass(frozen=True, slots=True)
class Scenario:
    """The answer a request asked for; all None: the mock's normal, stateful behaviour."""

    code: int | None = None
    example: str | None = None
    dynamic: bool | None = None
    seed: int | None = None
    delay_ms: float | None = None
    fault: str | None = None
    # Where each preference came from ("Prefer" or "__code"), to name it in a 400 or 404.
    sources: Mapping[str, str] = field(default_factory=dict)

    def source(self, name: str) -> str:
        """The header or query parameter a preference was read from."""
        return self.sources.get(name, "Prefer")

    @property
    def overrides_answer(self) -> bool:
        """True when the body or status comes from the scenario, not from the store."""
        return self.code is not None or self.example is not None or self.dynamic is True

    def describe(self) -> str | None:
        """`code=404,example=sessionNotFound`: what was asked for, for logs and the journal."""
        parts = [
            f"{name}={_text(value)}"
            for name, value in (
                ("code", self.code),
                ("example", self.example),
                ("dynamic", self.dynamic),
                ("seed", self.seed),
                ("delay", self.delay_ms),
                ("fault", self.fault),
            )
            if value is not None
        ]
        return ",".join(parts) or None


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _invalid(source: str, details: str) -> ApiError:
    return ApiError.bad_request(
        "Invalid scenario preference",
        [ErrorItem("Invalid preference", details, parameter=source)],
    )


# What nearly every request asks for: nothing. Frozen, so one instance serves them all.
NO_SCENARIO: Final = Scenario(sources=MappingProxyType({}))


def read_scenario(prefer_header: str | None, query: Mapping[str, str]) -> Scenario:
    """The scenario of a request; ApiError 400 naming `Prefer` or the `__name` parameter."""
    if prefer_header is None and not query:
        return NO_SCENARIO
    header = parse_prefer(prefer_header)
    raw: dict[str, tuple[str, str]] = {}
    for name in PREFERENCES:
        if name in header:
            raw[name] = (header[name], "Prefer")
        elif QUERY_PREFIX + name in query:
            raw[name] = (query[QUERY_PREFIX + name], QUERY_PREFIX + name)

    def integer(name: str, low: int, high: int) -> int | None:
        if name not in raw:
            return None
        value, source = raw[name]
        try:
            number = int(value)
        except ValueError:
            raise _invalid(source, f"{name} must be an integer, not {value!r}") from None
        if not low <= number <= high:
            raise _invalid(source, f"{name} must be within {low}..{high}, not {number}")
        return number

    dynamic = None
    if "dynamic" in raw:
        value, source = raw["dynamic"]
        if value.lower() not in {"true", "false"}:
            raise _invalid(source, f"dynamic must be true or false, not {value!r}")
        dynamic = value.lower() == "true"
    delay_ms = None
    if "delay" in raw:
        value, source = raw["delay"]
        try:
            delay_ms = parse_duration_ms(value)
        except InvalidLatency as exc:
            raise _invalid(source, f"delay: {exc}") from None
    fault = None
    if "fault" in raw:
        value, source = raw["fault"]
        if value not in FAULTS:
            raise _invalid(source, f"fault must be one of {', '.join(FAULTS)}, not {value!r}")
        fault = value
    example = None
    if "example" in raw:
        example, source = raw["example"]
        if not example:
            raise _invalid(source, "example must name an example of the response")
    return Scenario(
        code=integer("code", 100, 599),
        example=example,
        dynamic=dynamic,
        seed=integer("seed", -(2**63), 2**63 - 1),
        delay_ms=delay_ms,
        fault=fault,
        sources={name: source for name, (_, source) in raw.items()},
    )
