"""Requests and responses checked against openapi.yaml by openapi-core; its errors -> ApiError.

openapi-core is the validator of record: `contract.compiled` only decides the common, valid
case faster, and hands everything else to this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from jsonschema.exceptions import ValidationError as SchemaError
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.datatypes import RequestParameters
from openapi_core.deserializing.exceptions import DeserializeError
from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.util import forcebool
from openapi_core.validation.request.exceptions import (
    MissingRequestBodyError,
    ParameterValidationError,
    RequestBodyValidationError,
    SecurityValidationError,
)
from openapi_core.validation.response.exceptions import MissingData
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue

from mock_server.core.errors import ApiError, ErrorItem
from mock_server.core.pointers import json_pointer
from mock_server.wire.documents import UNPARSED

if TYPE_CHECKING:
    from werkzeug.wrappers import Request, Response

    from mock_server.contract.spec import Spec


def query_flag(request: Request, name: str) -> bool:
    """A boolean query parameter read as the contract's validator reads it ("1", "yes", ...)."""
    args = request.args
    # Look before reading: a missing key raises (and builds) a KeyError inside MultiDict.get.
    return forcebool(args[name]) if name in args else False


def _schema_errors(cause: InvalidSchemaValue) -> list[SchemaError]:
    return list(cause.schema_errors)


def _schema_error_items(cause: InvalidSchemaValue, base: str) -> Iterator[ErrorItem]:
    missing_named: set[str] = set()
    for error in _schema_errors(cause):
        path = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            # jsonschema reports each missing property of an object as an error of its own.
            for name in error.validator_value:
                pointer = base + json_pointer([*path, name])
                if name not in error.instance and pointer not in missing_named:
                    missing_named.add(pointer)
                    yield ErrorItem(
                        "Missing required property", f"{name!r} is a required property", pointer
                    )
            continue
        yield ErrorItem("Invalid value", error.message, base + json_pointer(path))


def _request_error_items(errors: Iterable[Exception]) -> tuple[list[ErrorItem], bool]:
    items: list[ErrorItem] = []
    unauthorized = False
    for exc in errors:
        cause = exc.__cause__
        if isinstance(exc, SecurityValidationError):
            unauthorized = True
        elif isinstance(exc, ParameterValidationError):
            details = str(cause) if cause is not None else str(exc)
            if isinstance(cause, InvalidSchemaValue):
                details = "; ".join(e.message for e in _schema_errors(cause)) or details
            items.append(
                ErrorItem(f"Invalid {exc.location} parameter", details, parameter=exc.name)
            )
        elif isinstance(exc, MissingRequestBodyError):
            items.append(ErrorItem("Missing request body", str(exc), pointer=""))
        elif isinstance(exc, RequestBodyValidationError) and isinstance(cause, InvalidSchemaValue):
            items.extend(_schema_error_items(cause, ""))
        elif isinstance(cause, MediaTypeNotFound):
            items.append(
                ErrorItem("Unsupported content type", str(cause), parameter="Content-Type")
            )
        elif isinstance(cause, DeserializeError):
            items.append(ErrorItem("Malformed body", str(cause), pointer=""))
        else:
            items.append(ErrorItem("Invalid request", str(exc), pointer=""))
    return items, unauthorized


class _ContractRequest(WerkzeugOpenAPIRequest):
    """A routed request as openapi-core sees it, HEAD read as the GET it is (RFC 9110).

    A request that a router matched (Flask sets `url_rule` and `view_args`) names its path
    template and parameters, as openapi-core's Flask adapter reads them; any other is matched
    against the document's paths by openapi-core.
    """

    def __init__(self, request: Request) -> None:
        super().__init__(request)
        view_args = getattr(request, "view_args", None)
        if view_args is not None:
            self.parameters = RequestParameters(
                header=self.parameters.header,
                query=self.parameters.query,
                cookie=self.parameters.cookie,
                path=view_args,
            )

    @property
    def path_pattern(self) -> str:
        rule = getattr(self.request, "url_rule", None)
        if rule is None:
            return self.path
        return self.path_regex.sub(r"{\1}", self.get_path(rule.rule))

    @property
    def method(self) -> str:
        method = super().method
        return "get" if method == "head" else method


class RequestResponseValidator(Protocol):
    """What the routes need of a validator: judge a request, list what an answer breaks."""

    def check_request(self, request: Request, document: Any = UNPARSED) -> None:
        """Raise ApiError (400, or 401 for security) listing every problem of the request.

        `document` is the body as already parsed, which a validator may use instead of
        parsing it again.
        """

    def response_violations(
        self, request: Request, response: Response, document: Any = UNPARSED
    ) -> list[str]:
        """What is wrong with an answer, by openapi.yaml; empty when it conforms.

        `document` is what the body was serialised from, if the caller has it.
        """


class ContractValidator:
    """Checks requests and responses of the contract's operations with openapi-core."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def check_request(self, request: Request, document: Any = UNPARSED) -> None:
        """Raise ApiError (400, or 401 for security) listing every problem of the request."""
        errors = list(self.spec.openapi.iter_request_errors(_ContractRequest(request)))
        if not errors:
            return
        items, unauthorized = _request_error_items(errors)
        if unauthorized:
            raise ApiError.unauthorized("Send the header 'Authorization: ApiKey-v1 <key>'.")
        raise ApiError.bad_request("Request does not match the contract", items)

    def response_violations(
        self, request: Request, response: Response, document: Any = UNPARSED
    ) -> list[str]:
        """What is wrong with an answer, by openapi.yaml; empty when it conforms."""
        return [
            _describe_response_error(exc)
            for exc in self.spec.openapi.iter_response_errors(
                _ContractRequest(request), WerkzeugOpenAPIResponse(response)
            )
        ]

    def response_problems(
        self, request: Request, response: Response, document: Any = UNPARSED
    ) -> list[ResponseProblem]:
        """What is wrong with an answer, one problem per field, each located."""
        return [
            problem
            for exc in self.spec.openapi.iter_response_errors(
                _ContractRequest(request), WerkzeugOpenAPIResponse(response)
            )
            for problem in _response_problems(exc, response.status_code)
        ]


@dataclass(frozen=True, slots=True)
class ResponseProblem:
    """One way an answer breaks openapi.yaml: its status, its content type or its body."""

    kind: str  # "status", "content-type" or "body"
    message: str
    pointer: str | None = None  # into the body: "" is the whole body
    parameter: str | None = None  # a header of the answer


def _response_problems(exc: Exception, status: int) -> Iterator[ResponseProblem]:
    cause = exc.__cause__
    if isinstance(exc, ResponseNotFound):
        documented = ", ".join(str(code) for code in exc.availableresponses)
        yield ResponseProblem(
            "status", f"{status} is not an answer the operation documents ({documented})"
        )
    elif isinstance(cause, MediaTypeNotFound):
        yield ResponseProblem("content-type", str(cause), parameter="Content-Type")
    elif isinstance(cause, InvalidSchemaValue):
        for item in _schema_error_items(cause, ""):
            yield ResponseProblem("body", item.details, pointer=item.pointer)
    elif isinstance(exc, MissingData):
        yield ResponseProblem("body", "the answer has no body", pointer="")
    elif isinstance(cause, DeserializeError):
        yield ResponseProblem("body", f"the body cannot be read: {cause}", pointer="")
    else:
        yield ResponseProblem("body", _describe_response_error(exc), pointer="")


def _describe_response_error(exc: Exception) -> str:
    cause = exc.__cause__
    if isinstance(cause, InvalidSchemaValue):
        return "; ".join(
            f"{json_pointer(error.absolute_path) or '/'}: {error.message}"
            for error in _schema_errors(cause)
        )
    return f"{type(exc).__name__}: {exc}" + (f" ({cause})" if cause else "")
