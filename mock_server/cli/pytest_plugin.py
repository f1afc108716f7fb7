"""A pytest plugin (registered through the `pytest11` entry point): valid sessions on demand.

```python
def test_checkout(customer_sessions):
    sessions = customer_sessions(5, state="closed")   # five CustomerSessionV2 documents
    one = customer_sessions.one(items=(3, 3), case="snake")
```
Each test gets its own seed, derived from its node id: the same test sees the same sessions on
every run and machine, and two calls within a test see different ones.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mock_server.wire.documents import JsonObject


class SessionFactory:
    """Makes lists of valid session documents; each call draws from the next seed."""

    def __init__(self, base_seed: int) -> None:
        self.base_seed = base_seed
        self._calls = 0

    def __call__(
        self, count: int = 1, *, seed: int | None = None, **knobs: Any
    ) -> list[JsonObject]:
        """`count` documents; knobs as for `mock_server.fixtures.sessions.generate_sessions`."""
        # Imported here: every pytest run loads this plugin, most never call the factory.
        from mock_server.fixtures.sessions import generate_sessions

        if seed is None:
            seed = self.base_seed + self._calls
            self._calls += 1
        return list(generate_sessions(count, seed, **knobs))

    def one(self, **knobs: Any) -> JsonObject:
        """A single document."""
        return self(1, **knobs)[0]


def seed_for(node_id: str) -> int:
    """A stable seed for a test, the same in every process (unlike hash())."""
    return int.from_bytes(hashlib.blake2b(node_id.encode(), digest_size=4).digest(), "big")


@pytest.fixture
def customer_sessions(request: pytest.FixtureRequest) -> SessionFactory:
    """A factory of valid `CustomerSessionV2` documents, seeded by the test's node id."""
    return SessionFactory(seed_for(request.node.nodeid))
