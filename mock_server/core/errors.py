"""One error type for every answer that is not a 200, and the one mapping of exceptions to it.

The HTTP layer renders an `ApiError` as `ErrorResponse`; nothing else builds error JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mock_server.core.domain import RuleViolation
from mock_server.core.service import ConcurrentUpdate, SessionNotFound

logger = logging.getLogger("mock_server")


class MockServerError(Exception):
    """A failure of the mock itself, not of a request: a missing spec, a bad fixture file."""


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


class ApiError(Exception):
    """An error the API documents; rendered as `ErrorResponse` with its status."""

    def __init__(self, status: int, message: str, errors: Sequence[ErrorItem] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = tuple(errors)

    @classmethod
    def bad_request(cls, message: str, errors: Sequence[ErrorItem]) -> ApiError:
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
    logger.exception("unexpected error while answering a request")
    return ApiError(
        500,
        "Internal server error",
        [ErrorItem("Internal server error", f"{type(exc).__name__}: {exc}")],
    )
