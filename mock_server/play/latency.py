"""Latency models: a fixed delay, a uniform range or a lognormal spread, parsed from text."""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from typing import Final

# A delay longer than this holds a server thread for too long to be a useful rehearsal.
MAX_DELAY_MS: Final = 60_000

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")


class InvalidLatency(ValueError):
    """A latency text that names no model this module knows."""


def parse_duration_ms(text: str) -> float:
    """`80`, `80ms` or `0.08s` -> 80.0 milliseconds, within 0..MAX_DELAY_MS."""
    match = _DURATION.match(text)
    if match is None:
        raise InvalidLatency(f"{text!r} is not a duration such as 80ms or 0.5s")
    value = float(match.group(1)) * (1000 if match.group(2) == "s" else 1)
    if value > MAX_DELAY_MS:
        raise InvalidLatency(f"{text!r} is longer than the maximum of {MAX_DELAY_MS}ms")
    return value


@dataclass(frozen=True, slots=True)
class Latency:
    """How long to hold each answer; `sample` draws one delay in milliseconds."""

    kind: str  # "fixed", "uniform" or "lognormal"
    low_ms: float = 0.0
    high_ms: float = 0.0
    median_ms: float = 0.0
    sigma: float = 0.0

    def sample(self, rng: random.Random) -> float:
        """One delay, in milliseconds, never above MAX_DELAY_MS."""
        if self.kind == "uniform":
            return rng.uniform(self.low_ms, self.high_ms)
        if self.kind == "lognormal":
            return min(rng.lognormvariate(math.log(self.median_ms), self.sigma), MAX_DELAY_MS)
        return self.low_ms

    def describe(self) -> str:
        """The text that parses back into this model."""
        if self.kind == "uniform":
            return f"{_ms(self.low_ms)}-{_ms(self.high_ms)}"
        if self.kind == "lognormal":
            return f"median={_ms(self.median_ms)},sigma={self.sigma:g}"
        return _ms(self.low_ms)


def _ms(value: float) -> str:
    return f"{value:g}ms"


def parse_latency(text: str) -> Latency:
    """`50ms` (fixed), `20-200ms` (uniform) or `median=80ms,sigma=0.4` (lognormal)."""
    text = text.strip()
    if text.startswith("median="):
        fields = dict(part.strip().partition("=")[::2] for part in text.split(","))
        if set(fields) != {"median", "sigma"}:
            raise InvalidLatency(f"{text!r}: a lognormal latency is median=80ms,sigma=0.4")
        median = parse_duration_ms(fields["median"])
        try:
            sigma = float(fields["sigma"])
        except ValueError:
            raise InvalidLatency(f"{text!r}: sigma must be a number") from None
        if median <= 0 or not 0 <= sigma <= 3:
            raise InvalidLatency(f"{text!r}: median must be > 0 and sigma within 0..3")
        return Latency("lognormal", median_ms=median, sigma=sigma)
    low, dash, high = text.partition("-")
    if dash:
        unit = "s" if high.strip().endswith("s") and not high.strip().endswith("ms") else "ms"
        low_ms = parse_duration_ms(low if low.strip().endswith("s") else low + unit)
        high_ms = parse_duration_ms(high)
        if low_ms > high_ms:
            raise InvalidLatency(f"{text!r}: the range must go from low to high")
        return Latency("uniform", low_ms=low_ms, high_ms=high_ms)
    return Latency("fixed", low_ms=parse_duration_ms(text))
