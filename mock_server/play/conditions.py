"""Run-time traffic conditions: latency, an error rate and a fault rate, changeable live."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, replace
from typing import Any

from mock_server.play.latency import Latency


@dataclass(frozen=True, slots=True)
class Conditions:
    """What every API request is exposed to, unless it asks for its own delay or fault."""

    latency: Latency | None = None
    # Share of requests answered with a documented error instead of their real answer.
    error_rate: float = 0.0
    # With `fault` set, the share of requests that get that fault instead of an answer.
    fault: str | None = None
    fault_rate: float = 1.0

    def __post_init__(self) -> None:
        for name in ("error_rate", "fault_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")

    def to_json(self) -> dict[str, Any]:
        """The document the admin API shows and accepts."""
        return {
            "latency": self.latency.describe() if self.latency else None,
            "errorRate": self.error_rate,
            "fault": self.fault,
            "faultRate": self.fault_rate,
        }


class TrafficControl:
    """The current conditions and the random draws made from them; safe across threads."""

    def __init__(self, initial: Conditions, rng: random.Random | None = None) -> None:
        self._conditions = initial
        self._rng = rng or random.Random()
        self._lock = threading.Lock()

    @property
    def conditions(self) -> Conditions:
        """A snapshot of the current conditions."""
        return self._conditions

    def update(self, **changes: Any) -> Conditions:
        """Change some conditions; ValueError when the result is not valid."""
        with self._lock:
            self._conditions = replace(self._conditions, **changes)
            return self._conditions

    def clear(self) -> Conditions:
        """No latency, no errors, no faults."""
        with self._lock:
            self._conditions = Conditions()
            return self._conditions

    def draw_delay_ms(self) -> float:
        """A delay from the current latency model; 0 when there is none."""
        latency = self._conditions.latency
        if latency is None:
            return 0.0
        with self._lock:
            return latency.sample(self._rng)

    def draw_error(self) -> bool:
        """True when this request is one of the error rate's."""
        rate = self._conditions.error_rate
        with self._lock:
            return rate > 0 and self._rng.random() < rate

    def draw_fault(self) -> str | None:
        """The fault this request gets, if any."""
        conditions = self._conditions
        if conditions.fault is None:
            return None
        with self._lock:
            return conditions.fault if self._rng.random() < conditions.fault_rate else None
