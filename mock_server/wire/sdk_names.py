"""The SDK property names (snake_case) of a `CustomerSessionV2` document, for SDK-level tests.

Only the contract's own property names change; the keys of `attributes` and the names of
`additionalCosts` are data and stay as they are.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from mock_server.wire.documents import JsonObject

_CAPITAL = re.compile(r"(?<!^)(?=[A-Z])")
# Values under these keys are the integration's own data, not properties of the contract.
_DATA_KEYS = frozenset({"attributes"})


@lru_cache(maxsize=256)
def snake_name(name: str) -> str:
    """`cartItemTotal` -> `cart_item_total`."""
    return _CAPITAL.sub("_", name).lower()


def to_sdk_names(document: JsonObject) -> JsonObject:
    """A copy of a session document with the SDK's property names."""
    renamed: JsonObject = {}
    for name, value in document.items():
        if name == "cartItems":
            value = [_properties(item) for item in value]
        elif name == "additionalCosts":
            value = {cost: _properties(price) for cost, price in value.items()}
        renamed[snake_name(name)] = value
    return renamed


def _properties(obj: dict[str, Any]) -> JsonObject:
    return {
        snake_name(name): value
        if name in _DATA_KEYS or not isinstance(value, dict)
        else _properties(value)
        for name, value in obj.items()
    }
