"""Requests and responses checked against openapi.yaml; openapi-core errors -> ApiError."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from jsonschema.exceptions import ValidationError as SchemaError
from openapi_core.contrib.flask import FlaskOpenAPIRequest, FlaskOpenAPIResponse
from openapi_core.deserializing.exceptions import DeserializeError
from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
from openapi_core.util import forcebool
from openapi_core.validation.request.exceptions import (
    MissingRequestBodyError,
    ParameterValidationError,
    RequestBodyValidationError,
    SecurityValidationError,
)
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue

from mock_server.errors import ApiError, ErrorItem

if TYPE_CHECKING:
    from flask import Request, Response

    from mock_server.spec import Spec

JSON_MEDIA_TYPE = "application/json"
# "No parsed document at hand": validators then parse the body themselves.
UNPARSED: Any = object()


def escape_pointer_token(token: object) -> str:
    """One reference token of a JSON pointer (RFC 6901)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def json_pointer(path: Iterable[object]) -> str:
    """A JSON pointer from path segments; "" is the whole document."""
    return "".join("/" + escape_pointer_token(token) for token in path)


class _NonFiniteNumber(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NonFiniteNumber(name)


# orjson reads integers beyond 64 bits as floats; bodies with such digit runs go to the
# standard library, which keeps them exact (19 digits: the shortest that may not fit).
_LONG_DIGIT_RUN = re.compile(rb"[0-9]{19}")
# Built once: json.loads with a keyword argument builds a new decoder on every call.
_STRICT_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _depth_exceeds(document: Any, limit: int) -> bool:
    # Iterative, so a hostile document cannot exhaust the interpreter's stack here.
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Iterable[Any] = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _nodes(document: Any) -> Iterator[tuple[tuple[object, ...], Any]]:
    """Every value of a document with its path, depth first; iterative, so a hostile
    document cannot exhaust the interpreter's stack."""
    stack: list[tuple[Any, tuple[object, ...]]] = [(document, ())]
    while stack:
        value, path = stack.pop()
        yield path, value
        if isinstance(value, dict):
            stack.extend((child, (*path, key)) for key, child in value.items())
        elif isinstance(value, list):
            stack.extend((child, (*path, index)) for index, child in enumerate(value))


def _infinite_number(document: Any) -> str | None:
    """Where the first number too large for a double (1e400 reads as infinity) is."""
    for path, value in _nodes(document):
        if isinstance(value, float) and math.isinf(value):
            return json_pointer(path)
    return None


def _unencodable_string(document: Any) -> str | None:
    """Where the first key or string that is not Unicode text is, as a JSON pointer."""
    for path, value in _nodes(document):
        if isinstance(value, str):
            texts = [value]
        elif isinstance(value, dict):
            texts = list(value)  # its keys
        else:
            continue
        for text in texts:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return json_pointer(path)  # a bad key: its object, not the key itself
    return None


def _body_error(title: str, details: str, pointer: str = "") -> ApiError:
    return ApiError.bad_request("Invalid request body", [ErrorItem(title, details, pointer)])


def query_flag(request: Request, name: str) -> bool:
    """A boolean query parameter read as the contract's validator reads it ("1", "yes", ...)."""
    args = request.args
    # Look before reading: a missing key raises (and builds) a KeyError inside MultiDict.get.
    return forcebool(args[name]) if name in args else False


def _content_type_parameters_parse(content_type: str) -> bool:
    # openapi-core splits each parameter into exactly `name=value`, and raises otherwise.
    return all(part.count("=") == 1 for part in content_type.split(";")[1:])


def parse_json_body(request: Request, *, max_depth: int) -> Any:
    """The request body as JSON, refusing what a strict JSON API must refuse with a 400."""
    mimetype = request.mimetype
    if (
        mimetype != JSON_MEDIA_TYPE and not mimetype.endswith("+json")
    ) or not _content_type_parameters_parse(request.content_type or ""):
        raise ApiError.bad_request(
            "Unsupported content type",
            [
                ErrorItem(
                    "Unsupported content type",
                    f"The body must be {JSON_MEDIA_TYPE} (parameters as name=value), "
                    f"not {request.content_type or 'unspecified'!r}.",
                    parameter="Content-Type",
                )
            ],
        )
    return parse_json_bytes(request.get_data(cache=True), max_depth=max_depth)


def parse_json_bytes(raw: bytes, *, max_depth: int) -> Any:
    """A request body as JSON, or the 400 that names what makes it unacceptable.

    orjson parses most bodies; whatever it refuses or could misread goes through the
    standard library's parser, which decides and explains. Both accept exactly the same
    documents (a differential test holds them to it).
    """
    if not _LONG_DIGIT_RUN.search(raw):
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # refused: the strict parser says why (or accepts what orjson cannot read)
        else:
            # orjson refuses lone surrogates itself, so only the depth is left to check.
            _check_depth(raw, document, max_depth)
            return document
    return parse_json_strictly(raw, max_depth=max_depth)


def parse_json_strictly(raw: bytes, *, max_depth: int) -> Any:
    """The standard library's reading of a body: slow, exact, with the reason of a refusal."""
    if not raw.strip():
        raise _body_error("Missing request body", "The request needs a JSON body.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _body_error("Invalid encoding", f"The body is not UTF-8: {exc.reason}.") from exc
    try:
        document = _STRICT_DECODER.decode(text)
    except _NonFiniteNumber as exc:
        raise _body_error("Invalid number", f"{exc} is not a JSON number.") from exc
    except json.JSONDecodeError as exc:
        raise _body_error(
            "Malformed JSON", f"{exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from exc
    except RecursionError as exc:
        raise _body_error("Too deeply nested", f"JSON nesting exceeds {max_depth}.") from exc
    except ValueError as exc:  # e.g. an integer literal longer than Python converts
        raise _body_error("Invalid number", str(exc)) from exc
    # A lone surrogate can only arrive as a \u escape; it is not text, and nothing downstream
    # (hashing, UTF-8 output, the Rust validators) can take it.
    if "\\u" in text and (pointer := _unencodable_string(document)) is not None:
        raise _body_error(
            "Invalid string", "A string holds a lone UTF-16 surrogate (\\ud800-\\udfff).", pointer
        )
    _check_depth(raw, document, max_depth)
    # No JSON answer can carry infinity back out; orjson refuses such numbers too.
    if (pointer := _infinite_number(document)) is not None:
        raise _body_error("Invalid number", "The number is beyond the range of a double.", pointer)
    return document


def _check_depth(raw: bytes, document: Any, max_depth: int) -> None:
    # Nesting needs an opening bracket per level: a body with few brackets cannot be too deep.
    if raw.count(b"{") + raw.count(b"[") > max_depth and _depth_exceeds(document, max_depth):
        raise _body_error("Too deeply nested", f"JSON nesting exceeds {max_depth}.")


def _schema_errors(cause: InvalidSchemaValue) -> list[SchemaError]:
    return list(cause.schema_errors)


def _schema_error_items(cause: InvalidSchemaValue, base: str) -> Iterator[ErrorItem]:
    for error in _schema_errors(cause):
        path = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            for name in error.validator_value:
                if name not in error.instance:
                    yield ErrorItem(
                        "Missing required property",
                        f"{name!r} is a required property",
                        base + json_pointer([*path, name]),
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


class _ContractRequest(FlaskOpenAPIRequest):
    """A Flask request as openapi-core sees it, HEAD read as the GET it is (RFC 9110)."""

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
                _ContractRequest(request), FlaskOpenAPIResponse(response)
            )
        ]


def _describe_response_error(exc: Exception) -> str:
    cause = exc.__cause__
    if isinstance(cause, InvalidSchemaValue):
        return "; ".join(
            f"{json_pointer(error.absolute_path) or '/'}: {error.message}"
            for error in _schema_errors(cause)
        )
    return f"{type(exc).__name__}: {exc}" + (f" ({cause})" if cause else "")
