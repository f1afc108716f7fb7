"""The contract's checks compiled once from openapi.yaml: a fast path in front of openapi-core.

openapi-core stays the validator of record. For every operation of the document, this module
builds at start-up what openapi-core would walk per call: the parameters with their casting
rules, the security requirements, and one jsonschema-rs validator per request and response
media type. A request or response that passes these checks is one openapi-core accepts (a
differential test holds the two in agreement); anything else, and anything the compiled form
cannot decide, goes to openapi-core, which names the problems. Errors therefore read exactly as
they do with openapi-core alone, and only the common, valid case is fast.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openapi_core.util import BOOLEAN_FALSE_VALUES, BOOLEAN_TRUE_VALUES

from mock_server.contract.openapi import ContractValidator, ResponseProblem
from mock_server.contract.shared_schemas import SchemaCheck, Undecidable, resolve
from mock_server.wire.documents import UNPARSED

if TYPE_CHECKING:
    from werkzeug.wrappers import Request, Response

    from mock_server.contract.spec import Spec

logger = logging.getLogger("mock_server")


# Flask's `<converter:name>` rule syntax, turned into `{name}` as openapi-core does.
_RULE_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_JSON_MEDIA_TYPE = "application/json"
_PARAMETER_TYPES = frozenset({"string", "boolean", "integer"})


def _parse_media_type(content_type: str) -> str:
    """The media type of a Content-Type value, split as openapi-core splits it."""
    media_type, *parameters = content_type.split(";")
    for parameter in parameters:
        # openapi-core unpacks `name=value`; anything else raises in it: let it decide.
        if parameter.count("=") != 1:
            raise Undecidable(f"Content-Type parameter {parameter!r}")
    return media_type.lower().rstrip()


def _find_media_type(content: Mapping[str, _MediaType], content_type: str) -> _MediaType | None:
    """The media type of `content` that openapi-core's MediaTypeFinder would pick."""
    media_type = _parse_media_type(content_type)
    for candidate in (content_type, media_type):
        if candidate in content:
            return content[candidate]
    if media_type:
        for key, value in content.items():
            if fnmatch.fnmatch(media_type, key):
                return value
    return None


@dataclass(frozen=True)
class _MediaType:
    """A request or response media type: JSON, checked against its schema if it has one."""

    schema: SchemaCheck | None

    def accepts(self, raw: bytes, document: Any = UNPARSED) -> bool:
        """`document` is `raw` already parsed, when the caller has it."""
        if document is UNPARSED:
            try:
                document = json.loads(raw)
            except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
                return False
        return self.schema is None or self.schema.accepts(document)


class _Content:
    """The media types of a body, and which one each Content-Type value picks, memoised."""

    def __init__(self, media_types: dict[str, _MediaType]) -> None:
        self.media_types = media_types
        self._picked: dict[str, _MediaType | None] = {}

    def pick(self, content_type: str) -> _MediaType | None:
        try:
            return self._picked[content_type]
        except KeyError:
            pass
        media = _find_media_type(self.media_types, content_type)
        if len(self._picked) < 64:  # clients send few distinct values; never grow unbounded
            self._picked[content_type] = media
        return media


def _compile_content(document: Mapping[str, Any], content: Any) -> _Content:
    compiled: dict[str, _MediaType] = {}
    for media_type, media in resolve(document, content).items():
        if media_type != _JSON_MEDIA_TYPE:
            raise Undecidable(f"media type {media_type!r}")
        media = resolve(document, media)
        if "encoding" in media:
            raise Undecidable("media type encoding")
        schema = media.get("schema")
        compiled[media_type] = _MediaType(
            SchemaCheck(document, schema) if schema is not None else None
        )
    return _Content(compiled)


def _cast(kind: str, raw: str) -> Any:
    """A parameter's text cast as openapi-core casts it; ValueError when it cannot be."""
    if kind == "string":
        return raw
    if kind == "integer":
        return int(raw)
    lowered = raw.lower()
    if lowered in BOOLEAN_TRUE_VALUES:
        return True
    if lowered in BOOLEAN_FALSE_VALUES:
        return False
    raise ValueError(f"{raw!r} is not a boolean")


@dataclass(frozen=True)
class _Parameter:
    name: str
    location: str
    required: bool
    kind: str
    schema: SchemaCheck

    def accepts(self, request: Request) -> bool:
        if self.location == "path":
            # A routed request (Flask) names its path parameters; others have none.
            source: Any = getattr(request, "view_args", None) or {}
        elif self.location == "query":
            source = request.args
        else:
            source = request.headers
        if self.name not in source:
            return not self.required
        raw = source[self.name]  # a repeated query parameter: openapi-core reads the first
        if self.location == "query" and raw == "":
            return False
        try:
            value = _cast(self.kind, raw)
        except ValueError:
            return False
        return self.schema.accepts(value)


def _compile_parameter(document: Mapping[str, Any], node: Any) -> _Parameter:
    parameter = resolve(document, node)
    location = parameter["in"]
    default_style = "form" if location == "query" else "simple"
    style = parameter.get("style", default_style)
    explode = parameter.get("explode", style == "form")
    if (
        location not in {"path", "query", "header"}
        or "content" in parameter
        or "allowEmptyValue" in parameter
        or parameter.get("deprecated", False)
        or style != default_style
        or explode != (style == "form")
    ):
        raise Undecidable(f"parameter {parameter.get('name')!r}")
    schema = resolve(document, parameter["schema"])
    kind = schema.get("type")
    if kind not in _PARAMETER_TYPES or "default" in schema:
        raise Undecidable(f"parameter {parameter['name']!r} of type {kind!r}")
    return _Parameter(
        name=parameter["name"],
        location=location,
        required=bool(parameter.get("required", False)),
        kind=kind,
        schema=SchemaCheck(document, parameter["schema"]),
    )


@dataclass(frozen=True)
class _SecurityScheme:
    name: str
    location: str

    def present(self, request: Request) -> bool:
        source: Any
        if self.location == "header":
            source = request.headers
        elif self.location == "query":
            source = request.args
        else:
            source = request.cookies
        return self.name in source


def _compile_security(
    document: Mapping[str, Any], requirements: list[dict[str, Any]]
) -> list[list[_SecurityScheme]]:
    schemes = document.get("components", {}).get("securitySchemes", {})
    compiled: list[list[_SecurityScheme]] = []
    for requirement in requirements:
        alternative = []
        for name in requirement:
            if name not in schemes:
                continue  # openapi-core skips an undeclared scheme
            scheme = resolve(document, schemes[name])
            if scheme.get("type") != "apiKey":
                raise Undecidable(f"security scheme {name!r}")
            alternative.append(_SecurityScheme(scheme["name"], scheme["in"]))
        compiled.append(alternative)
    return compiled


@dataclass(frozen=True)
class _Response:
    content: _Content | None

    def accepts(self, response: Response, document: Any) -> bool:
        if self.content is None:
            return True
        data = b""
        if document is UNPARSED:  # else the body is the document's serialisation, never empty
            data = response.get_data()
            if not data:
                return False
        media = self.content.pick(str(response.mimetype))
        return media is not None and media.accepts(data, document)


@dataclass
class _Operation:
    security: list[list[_SecurityScheme]]
    parameters: list[_Parameter]
    body: _Content | None = None
    body_required: bool = False
    responses: dict[str, _Response] = field(default_factory=dict)

    def accepts_request(self, request: Request, document: Any) -> bool:
        if self.security and not self._secured(request):
            return False
        for parameter in self.parameters:
            if not parameter.accepts(request):
                return False
        if self.body is None:
            return True
        raw = request.get_data(cache=True)
        if not raw:
            return not self.body_required
        media = self.body.pick(request.content_type or "application/octet-stream")
        return media is not None and media.accepts(raw, document)

    def _secured(self, request: Request) -> bool:
        for alternative in self.security:
            if all(scheme.present(request) for scheme in alternative):
                return True
        return False

    def accepts_response(self, response: Response, document: Any) -> bool:
        status = str(response.status_code)
        answer = (
            self.responses.get(status)
            or self.responses.get(f"{status[0]}XX")
            or self.responses.get("default")
        )
        return answer is not None and answer.accepts(response, document)


def _compile_operation(
    document: Mapping[str, Any], path_item: Mapping[str, Any], operation: Mapping[str, Any]
) -> _Operation:
    parameters: dict[tuple[str, str], _Parameter] = {}
    # Operation parameters override path parameters of the same name and location.
    for node in [*operation.get("parameters", ()), *path_item.get("parameters", ())]:
        parameter = _compile_parameter(document, node)
        parameters.setdefault((parameter.name, parameter.location), parameter)
    compiled = _Operation(
        security=_compile_security(
            document, operation.get("security", document.get("security", []))
        ),
        parameters=list(parameters.values()),
    )
    if "requestBody" in operation:
        body = resolve(document, operation["requestBody"])
        compiled.body = _compile_content(document, body["content"])
        compiled.body_required = bool(body.get("required", False))
    for status, node in operation["responses"].items():
        response = resolve(document, node)
        if "headers" in response:
            raise Undecidable(f"headers of response {status}")
        content = response.get("content")
        compiled.responses[str(status)] = _Response(
            _compile_content(document, content) if content is not None else None
        )
    return compiled


def compile_operations(document: Mapping[str, Any]) -> dict[tuple[str, str], _Operation]:
    """Every operation the compiled checks can decide, by (path template, method)."""
    servers = document.get("servers", [{"url": "/"}])
    if any(server.get("url") != "/" for server in servers):
        return {}  # server base paths and hosts: matching is openapi-core's business
    operations: dict[tuple[str, str], _Operation] = {}
    for template, path_item in document.get("paths", {}).items():
        path_item = resolve(document, path_item)
        for method in _HTTP_METHODS:
            if method not in path_item:
                continue
            try:
                operations[(template, method)] = _compile_operation(
                    document, path_item, path_item[method]
                )
            except Undecidable as exc:
                logger.info("%s %s is checked by openapi-core only: %s", method, template, exc)
    return operations


class CompiledContractValidator:
    """Checks requests and responses with validators compiled once; openapi-core explains."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.record = ContractValidator(spec)
        self._operations = compile_operations(spec.document)
        self._by_route: dict[tuple[str, str, str], _Operation] = {}

    def _operation(self, request: Request) -> _Operation:
        rule = getattr(request, "url_rule", None)
        if rule is None:
            raise Undecidable("no matched route")
        # HEAD is the GET it stands for (RFC 9110), as openapi-core is shown it.
        method = "GET" if request.method == "HEAD" else request.method
        key = (request.root_path, rule.rule, method)
        operation = self._by_route.get(key)
        if operation is None:
            template = request.root_path + _RULE_PARAMETER.sub(r"{\1}", rule.rule)
            operation = self._operations.get((template, method.lower()))
            if operation is None:
                raise Undecidable(f"{method} {template}")
            self._by_route[key] = operation  # routes are few: the regex runs once per route
        return operation

    def request_conforms(self, request: Request, document: Any = UNPARSED) -> bool | None:
        """True or False as openapi-core would judge the request; None when undecided.

        `document`: the request body as the caller already parsed it, if it did.
        """
        try:
            return self._operation(request).accepts_request(request, document)
        except Undecidable:
            return None

    def response_conforms(
        self, request: Request, response: Response, document: Any = UNPARSED
    ) -> bool | None:
        """True or False as openapi-core would judge the response; None when undecided.

        `document`: what the response body was serialised from, if the caller has it.
        """
        try:
            return self._operation(request).accepts_response(response, document)
        except Undecidable:
            return None

    def check_request(self, request: Request, document: Any = UNPARSED) -> None:
        """Raise ApiError (400, or 401 for security) listing every problem of the request."""
        if self.request_conforms(request, document) is not True:
            self.record.check_request(request)

    def response_violations(
        self, request: Request, response: Response, document: Any = UNPARSED
    ) -> list[str]:
        """What is wrong with an answer, by openapi.yaml; empty when it conforms."""
        if self.response_conforms(request, response, document) is True:
            return []
        return self.record.response_violations(request, response)

    def response_problems(
        self, request: Request, response: Response, document: Any = UNPARSED
    ) -> list[ResponseProblem]:
        """What is wrong with an answer, one problem per field, each located."""
        if self.response_conforms(request, response, document) is True:
            return []
        return self.record.response_problems(request, response)


def contract_validator(spec: Spec, kind: str) -> ContractValidator | CompiledContractValidator:
    """The validator a setting names: compiled (the default) or openapi-core alone."""
    factories: dict[str, Callable[[Spec], ContractValidator | CompiledContractValidator]] = {
        "compiled": CompiledContractValidator,
        "openapi-core": ContractValidator,
    }
    try:
        return factories[kind](spec)
    except KeyError:
        raise ValueError(
            f"unknown validator {kind!r}; choose one of {', '.join(factories)}"
        ) from None


def iter_operations(document: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(path template, method) of every operation of the document."""
    for template, path_item in document.get("paths", {}).items():
        for method in _HTTP_METHODS:
            if method in path_item:
                yield template, method
