"""Time limits of a contract run: one budget for the whole run, one timeout per request."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Final

DEFAULT_REQUEST_TIMEOUT: Final = 5.0
DEFAULT_MAX_DURATION: Final = 180.0
# A server that left this many requests unanswered within the timeout stalls: every further
# request may cost a whole timeout, and the run already cannot end in a pass. Stop it there.
MAX_TIMEOUTS: Final = 5


class BudgetExhausted(Exception):
    """The run's time budget (`--max-duration`) is spent: stop and report what there is."""


@dataclass
class Budget:
    """A deadline on the monotonic clock; `seconds=None` never runs out."""

    seconds: float | None
    started: float = field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.started

    def remaining(self) -> float | None:
        """Seconds left (never negative), or None without a limit."""
        if self.seconds is None:
            return None
        return max(self.seconds - self.elapsed(), 0.0)

    @property
    def spent(self) -> bool:
        """True once the deadline has passed."""
        remaining = self.remaining()
        return remaining is not None and remaining <= 0

    def check(self) -> None:
        """Raise BudgetExhausted once the deadline has passed."""
        if self.spent:
            raise BudgetExhausted(f"the run's time budget of {self.seconds:g} s is spent")

    def cap(self, timeout: float) -> float:
        """A timeout that ends no later than the budget (at least a moment, to fail cleanly)."""
        remaining = self.remaining()
        return timeout if remaining is None else max(min(timeout, remaining), 0.05)
