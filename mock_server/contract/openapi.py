"""Requests and responses checked against openapi.yaml by openapi-core; its errors -> ApiError.

openapi-core is the validator of record: `contract.compiled` only decides the common, valid
case faster, and hands everything else to this module.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from jsonschema.exceptions import ValidationError as SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import extend
from openapi_core import Config, OpenAPI
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
from openapi_core.validation.schemas.factories import SchemaValidatorsFactory
from openapi_core.validation.schemas.validators import SchemaValidator

from mock_server.contract.shared_schemas import SchemaCheck, Undecidable
from mock_server.core.errors import MAX_ERROR_ITEMS, ApiError, ErrorItem
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


class _FirstErrorsSchemaValidator(SchemaValidator):
    """openapi-core's schema check, stopping after the problems an error answer can list.

    openapi-core collects every error of a value first: 60,000 of them, and seconds of CPU,
    for 30,000 bad array elements. jsonschema finds errors lazily, so stopping early is cheap.
    """

    def validate(self, value: Any) -> None:
        errors = tuple(itertools.islice(self.validator.iter_errors(value), MAX_ERROR_ITEMS + 1))
        if errors:
            schema_type = (self.schema / "type").read_str_or_list("any")
            raise InvalidSchemaValue(value, schema_type, schema_errors=errors)


class _ElementChecks:
    """jsonschema-rs checks of element schemas (array items, map values), made on first use.

    jsonschema walks every element of an array to find errors, ~10 us each even when the
    element is valid: 200,000 valid coupon codes beside one bad field cost 2 s. An element
    jsonschema-rs accepts has no errors to find (the keywords it is compiled from mean the same
    to both; `shared_schemas`), so the walk skips it.
    """

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        # By id: a schema is a dict of the document, kept alive beside its check.
        self._checks: dict[int, tuple[Any, SchemaCheck | None]] = {}

    def accepts(self, schema: Any, element: Any) -> bool:
        known = self._checks.get(id(schema))
        if known is None:
            check: SchemaCheck | None
            try:
                check = SchemaCheck(self.document, schema)
            except Exception:  # Undecidable, or a schema jsonschema-rs cannot compile
                check = None
            known = self._checks[id(schema)] = (schema, check)
        check = known[1]
        if check is None:
            return False
        try:
            return check.accepts(element)
        except Undecidable:
            return False


def _skipping_valid_elements(cls: type[Validator], checks: _ElementChecks) -> type[Validator]:
    """`cls` with `items` and `additionalProperties` walking only the elements that
    jsonschema-rs does not accept: same errors, found without visiting the valid ones."""
    items_keyword = cls.VALIDATORS["items"]
    additional_keyword = cls.VALIDATORS["additionalProperties"]

    def items(validator: Any, items: Any, instance: Any, schema: Any) -> Iterator[SchemaError]:
        if isinstance(items, dict) and isinstance(instance, list):
            suspects = [(i, e) for i, e in enumerate(instance) if not checks.accepts(items, e)]
            for index, element in suspects:
                yield from validator.descend(element, items, path=index)
            return
        yield from items_keyword(validator, items, instance, schema)

    def additional(validator: Any, aP: Any, instance: Any, schema: Any) -> Iterator[SchemaError]:
        if isinstance(aP, dict) and isinstance(instance, dict):
            # With a schema for them, extra properties only have errors of their own values.
            declared = schema.get("properties", {})
            instance = {
                key: value
                for key, value in instance.items()
                if key in declared or not checks.accepts(aP, value)
            }
        yield from additional_keyword(validator, aP, instance, schema)

    extended: type[Validator] = extend(
        cls, validators={"items": items, "additionalProperties": additional}
    )
    return extended


class _FirstErrorsFactory(SchemaValidatorsFactory):
    """Makes the validators another factory makes, as `_FirstErrorsSchemaValidator`s that skip
    the elements jsonschema-rs accepts."""

    def __init__(self, made_like: SchemaValidatorsFactory, checks: _ElementChecks) -> None:
        # Not super().__init__: every decision is the wrapped factory's.
        self.made_like = made_like
        self.checks = checks
        self._classes: dict[type[Validator], type[Validator]] = {}

    def create(self, *args: Any, **kwargs: Any) -> SchemaValidator:
        made = self.made_like.create(*args, **kwargs)
        plain = made.validator
        cls = self._classes.get(type(plain))
        if cls is None:
            cls = self._classes[type(plain)] = _skipping_valid_elements(type(plain), self.checks)
        validator = cls(
            plain.schema, format_checker=plain.format_checker, _resolver=plain._resolver
        )
        return _FirstErrorsSchemaValidator(made.schema, validator)


def openapi_of(document: Mapping[str, Any]) -> OpenAPI:
    """openapi-core's view of a contract, for whatever OpenAPI version it is, its request and
    response checks stopping after the problems an error answer lists (MAX_ERROR_ITEMS) and
    skipping the array and map elements that jsonschema-rs accepts."""
    checked = OpenAPI.from_dict(dict(document))  # checks the document itself
    checks = _ElementChecks(document)

    def first_errors(validator_cls: Any) -> Any:
        factory = _FirstErrorsFactory(validator_cls.schema_validators_factory, checks)
        return type(
            validator_cls.__name__, (validator_cls,), {"schema_validators_factory": factory}
        )

    config = Config(
        spec_validator_cls=None,  # checked once above
        request_validator_cls=first_errors(checked.request_validator_cls),
        response_validator_cls=first_errors(checked.response_validator_cls),
    )
    return OpenAPI.from_dict(dict(document), config=config)


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
