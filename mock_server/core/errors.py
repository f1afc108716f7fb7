"""One error type for every answer that is not a 200, and the one mapping of exceptions to it.

The HTTP layer renders an `ApiError` as `ErrorResponse`; nothing else builds error JSON.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Final

from mock_server.core.domain import RuleViolation
from mock_server.core.service import ConcurrentUpdate, SessionNotFound

logger = logging.getLogger("mock_server")

# An error answer lists at most this many problems, each cut short: a 90 KB body of 30,000 bad
# elements must not become a 9 MB answer, nor a 750 KB array a details text that repeats it.
MAX_ERROR_ITEMS: Final = 100
MAX_DETAILS_CHARS: Final = 300
# A longer pointer (a client's 100 KB object key) is cut back to an ancestor that still exists.
MAX_POINTER_CHARS: Final = 200


class MockServerError(Exception):
    """A failure of the mock itself, not of a request: a missing spec, a bad fixture file."""


class StoreUnavailable(MockServerError):
    """The backend of a store failed (Redis unreachable, a read-only or locked SQLite file).

    Stores raise it for their backend's own errors, so that callers need to know no driver.
    Its text names the backend (an address, a file): it goes to the log, never to a client.
    """


@dataclass(frozen=True, slots=True)
class ErrorItem:
    """One problem of a request: an `APIError` with its source."""

    title: str
    details: str
    pointer: str | None = None
    parameter: str | None = None

    def to_body(self) -> dict[str, Any]:
        """The `APIError` document."""
        source: dict[str, str] = {}
        if self.pointer is not None:
            source["pointer"] = self.pointer
        if self.parameter is not None:
            source["parameter"] = self.parameter
        return {"title": self.title, "details": self.details, "source": source}

    def bounded(self) -> ErrorItem:
        """This item with its details and pointer cut to the sizes an answer lists."""
        if len(self.details) <= MAX_DETAILS_CHARS and len(self.pointer or "") <= MAX_POINTER_CHARS:
            return self
        details = self.details
        if len(details) > MAX_DETAILS_CHARS:
            details = details[: MAX_DETAILS_CHARS - 3] + "..."
        pointer = self.pointer
        if pointer is not None and len(pointer) > MAX_POINTER_CHARS:
            # Whole tokens only (an escape like ~1 is never split): the pointer names an
            # ancestor of the place, never a place that does not exist.
            pointer = pointer[: MAX_POINTER_CHARS + 1].rsplit("/", 1)[0]
        return replace(self, details=details, pointer=pointer)


# Stands for every problem past the first MAX_ERROR_ITEMS; how many there are is not known,
# since the validators stop looking there.
MORE_PROBLEMS: Final = ErrorItem(
    "More problems",
    f"Only the first {MAX_ERROR_ITEMS} problems are listed; the request has more.",
)


class ApiError(Exception):
    """An error the API documents; rendered as `ErrorResponse` with its status.

    The one place error lists are built: whatever a caller hands in, it keeps the first
    MAX_ERROR_ITEMS problems (each bounded), reading no further, and says that more exist.
    """

    def __init__(self, status: int, message: str, errors: Iterable[ErrorItem] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        listed = list(itertools.islice(errors, MAX_ERROR_ITEMS + 1))
        if len(listed) > MAX_ERROR_ITEMS:
            listed[MAX_ERROR_ITEMS:] = [MORE_PROBLEMS]
        self.errors = tuple(item.bounded() for item in listed)

    @classmethod
    def bad_request(cls, message: str, errors: Iterable[ErrorItem]) -> ApiError:
        """400: the request is malformed or breaks a rule."""
        return cls(400, message, errors)

    @classmethod
    def unauthorized(cls, details: str) -> ApiError:
        """401: missing, malformed or unknown API key."""
        return cls(
            401,
            "Invalid or missing API key",
            [ErrorItem("Unauthorized", details, parameter="Authorization")],
        )

    @classmethod
    def not_found(cls, integration_id: str) -> ApiError:
        """404: no such session for this application."""
        return cls(
            404,
            "Customer session not found",
            [
                ErrorItem(
                    "Not found",
                    f"No customer session with integration id {integration_id!r}.",
                    parameter="customerSessionId",
                )
            ],
        )

    @classmethod
    def conflict(cls, integration_id: str) -> ApiError:
        """409: another update of the same session is in progress."""
        return cls(
            409,
            "Too many parallel requests on this customer session",
            [
                ErrorItem(
                    "Conflict",
                    f"Another update of customer session {integration_id!r} is in progress; "
                    "retry later.",
                    parameter="customerSessionId",
                )
            ],
        )

    @classmethod
    def store_unavailable(cls) -> ApiError:
        """503: the store failed; the request may succeed once it is back."""
        return cls(
            503,
            "The session store is unavailable",
            [
                ErrorItem(
                    "Service unavailable", "The store that keeps sessions failed; retry later."
                )
            ],
        )

    @classmethod
    def from_rule_violation(cls, violation: RuleViolation) -> ApiError:
        """400 for a well-formed request that a business rule forbids."""
        message = (
            "Invalid customer session state transition"
            if violation.pointer == "/customerSession/state"
            else "The update breaks a rule of customer sessions"
        )
        return cls(400, message, [ErrorItem(violation.title, violation.details, violation.pointer)])

    def to_body(self) -> dict[str, Any]:
        """The `ErrorResponse` document."""
        return {"message": self.message, "errors": [item.to_body() for item in self.errors]}


def as_api_error(exc: Exception) -> ApiError:
    """Translate any exception a view may raise into the error the API answers."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, RuleViolation):
        return ApiError.from_rule_violation(exc)
    if isinstance(exc, SessionNotFound):
        return ApiError.not_found(exc.integration_id)
    if isinstance(exc, ConcurrentUpdate):
        return ApiError.conflict(exc.integration_id)
    if isinstance(exc, StoreUnavailable):
        # The cause names the backend's address: it is logged here and kept from the answer.
        logger.warning("session store unavailable: %s", exc)
        return ApiError.store_unavailable()
    logger.exception("unexpected error while answering a request")
    return ApiError(
        500,
        "Internal server error",
        [ErrorItem("Internal server error", f"{type(exc).__name__}: {exc}")],
    )
