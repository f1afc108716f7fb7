"""A store's backend errors, as the one error the rest of the mock knows: `StoreUnavailable`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from mock_server.core.errors import StoreUnavailable

Store = TypeVar("Store", bound=type)

# The operations of the SessionStore protocol (core/store.py), and the SQLite store's purge.
STORE_OPERATIONS = (
    "get",
    "save",
    "delete",
    "list",
    "claim_profile",
    "first_session_of",
    "clear",
    "try_lock",
    "unlock",
    "purge_expired",
)


def unavailable_on(*backend_errors: type[Exception]) -> Callable[[Store], Store]:
    """Class decorator: an operation failing with one of `backend_errors` (a driver's
    connection or I/O errors) raises StoreUnavailable instead, the driver's error as its cause."""

    def decorate(cls: Store) -> Store:
        for name in STORE_OPERATIONS:
            operation = cls.__dict__.get(name)
            if operation is not None:
                setattr(cls, name, _translated(operation, backend_errors))
        return cls

    return decorate


def _translated(
    operation: Callable[..., Any], backend_errors: tuple[type[Exception], ...]
) -> Callable[..., Any]:
    @functools.wraps(operation)
    def call(store: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return operation(store, *args, **kwargs)
        except backend_errors as exc:
            raise StoreUnavailable(f"{type(store).__name__}.{operation.__name__}: {exc}") from exc

    return call
