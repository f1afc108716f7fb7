"""The compiled validator agrees with openapi-core, the validator of record.

A differential test: hypothesis generates requests and responses of every operation, valid
ones and mutated ones, and both validators judge each. Wherever the compiled checks decide,
they must accept exactly what openapi-core accepts; where they do not decide, openapi-core
does, so they may only step aside, never disagree.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import flask
import pytest
from flask import Flask, Response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_core import OpenAPI
from openapi_core.contrib.flask import FlaskOpenAPIRequest, FlaskOpenAPIResponse
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue

from mock_server import Settings, create_app
from mock_server.contract.compiled import (
    CompiledContractValidator,
    compile_operations,
    contract_validator,
    iter_operations,
)
from mock_server.contract.openapi import ContractValidator
from mock_server.contract.spec import load_spec
from mock_server.core.errors import ApiError, ErrorItem
from mock_server.fixtures.generator import GeneratorOptions, SessionGenerator
from mock_server.wire import codec as wire
from tests.conftest import AUTH, cart_body, session_url

EXAMPLES = 1200
CORPUS = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same corpus on every run and machine
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------- JSON, valid and mutated

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
# Values at the edges of the contract's constraints: lengths, minimums, types next to each other.
edge_values = st.sampled_from(
    [0, 1, -1, 0.5, 1.0, 2**63, -(2**63) - 1, True, False, None, "", "x", [], {}, [1], {"a": 1}]
    + ["x" * n for n in (99, 100, 101, 999, 1000, 1001)]
    + [["c"] * n for n in (100, 101)]
    + ["open", "closed", "cancelled", "Open", "customerSession", "customerProfile"]
).map(copy.deepcopy)  # a fresh object each time: mutations must not touch the constants
numbers = st.integers(min_value=-(10**6), max_value=10**6) | st.floats(
    min_value=-1e6, max_value=1e6, allow_nan=False
)
cart_items = st.fixed_dictionaries(
    {
        "name": st.text(min_size=1, max_size=8),
        "sku": st.text(min_size=1, max_size=8),
        "quantity": st.integers(min_value=1, max_value=99),
        "price": numbers,
    },
    optional={
        "category": st.text(max_size=8),
        "weight": st.floats(min_value=0, max_value=1e4),
        "position": st.integers(min_value=0, max_value=9),
        "attributes": st.dictionaries(st.text(max_size=4), json_scalars, max_size=2),
        "adjustment": st.fixed_dictionaries(
            {"payFromLoyaltyProgram": st.integers(), "pointPayment": st.integers()},
            optional={"remainingPrice": numbers},
        ),
    },
)
new_sessions = st.fixed_dictionaries(
    {},
    optional={
        "profileId": st.text(max_size=12),
        "couponCodes": st.lists(st.text(max_size=6), max_size=3),
        "referralCode": st.text(max_size=12),
        "state": st.sampled_from(["open", "closed", "cancelled"]),
        "cartItems": st.lists(cart_items, max_size=3),
        "additionalCosts": st.dictionaries(
            st.text(max_size=6), st.fixed_dictionaries({"price": numbers}), max_size=2
        ),
        "identifiers": st.lists(st.text(max_size=6), max_size=2),
        "attributes": st.dictionaries(st.text(max_size=5), json_values, max_size=3),
    },
)
integration_requests = st.fixed_dictionaries(
    {"customerSession": new_sessions},
    optional={"responseContent": st.lists(st.sampled_from(wire.RESPONSE_PARTS), max_size=3)},
)


def _containers(document: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = []
    if isinstance(document, dict | list):
        found.append(path)
        children = document.items() if isinstance(document, dict) else enumerate(document)
        for key, child in children:
            found.extend(_containers(child, (*path, key)))
    return found


@st.composite
def mutated(draw: st.DrawFn, documents: st.SearchStrategy[Any]) -> Any:
    """A document with one to three changes: a value replaced, a key dropped, an item added."""
    document = json.loads(json.dumps(draw(documents)))  # a deep copy we may change
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        containers = _containers(document)
        if not containers:
            return draw(json_values)
        path = draw(st.sampled_from(containers))
        target = document
        for key in path:
            target = target[key]
        action = draw(st.sampled_from(["replace", "drop", "add"]))
        if isinstance(target, dict):
            keys = sorted(target)
            if action == "drop" and keys:
                del target[draw(st.sampled_from(keys))]
            elif action == "replace" and keys:
                target[draw(st.sampled_from(keys))] = draw(edge_values | json_values)
            else:
                target[draw(st.text(max_size=12))] = draw(edge_values | json_values)
        elif target and action != "add":
            target[draw(st.integers(0, len(target) - 1))] = draw(edge_values | json_values)
        else:
            target.append(draw(edge_values | json_values))
    return document


def maybe_mutated(documents: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid documents, mutated ones, and unrelated JSON."""
    return documents | mutated(documents) | mutated(documents) | json_values


# ---------------------------------------------------------------- requests and responses


@pytest.fixture(scope="module")
def app() -> Flask:
    """An app whose routes give requests their url_rule, as in the live server."""
    return create_app(Settings(store_url="memory://", preload=0))


@pytest.fixture(scope="module")
def validators() -> tuple[CompiledContractValidator, ContractValidator]:
    """The compiled validator and openapi-core's, on the same document."""
    spec = load_spec()
    return CompiledContractValidator(spec), ContractValidator(spec)


session_ids = st.text(min_size=1, max_size=20).filter(
    lambda t: t not in {".", ".."}
) | st.sampled_from(["x" * 1000, "x" * 1001, "a/b", "ü-✓", "%41"])
dry_values = st.sampled_from(
    ["true", "false", "TRUE", "1", "0", "yes", "no", "on", "off", "y", "t", "", "maybe", "2"]
) | st.text(max_size=4)
content_types = (
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/merge-patch+json",
            "application/json;charset=latin-1",
            "text/plain",
            "application/octet-stream",
            "application/json; charset",
        ]
    )
    | st.none()
)


@st.composite
def request_cases(draw: st.DrawFn) -> dict[str, Any]:
    """One HTTP request to an operation of the contract."""
    method = draw(st.sampled_from(["GET", "PUT"]))
    query = [("dry", draw(dry_values)) for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2])))]
    headers = {}
    if draw(st.integers(0, 9)):  # mostly authenticated
        headers["Authorization"] = draw(st.sampled_from([AUTH["Authorization"], ""]))
    body = None
    if method == "PUT":
        content_type = draw(content_types)
        if content_type is not None:
            headers["Content-Type"] = content_type
        kind = draw(st.sampled_from(["json", "json", "json", "empty", "bytes"]))
        if kind == "json":
            body = json.dumps(draw(maybe_mutated(integration_requests))).encode()
        elif kind == "bytes":
            body = draw(st.binary(max_size=20))
        else:
            body = b""
    path = "/v2/customer_sessions/" + quote(draw(session_ids), safe="")
    return {"method": method, "path": path, "query_string": query, "headers": headers, "data": body}


def _sessions() -> list[Any]:
    generator = SessionGenerator(5, GeneratorOptions(application_id=1))
    return list(generator.sessions(12))


SESSIONS = _sessions()
success_documents = {
    "GET": st.sampled_from(SESSIONS).map(wire.session_response_to_json),
    "PUT": st.builds(
        lambda session, parts: wire.integration_state_to_json(session, tuple(parts), None),
        st.sampled_from(SESSIONS),
        st.lists(st.sampled_from(wire.RESPONSE_PARTS), max_size=3),
    ),
}
error_documents = st.builds(
    lambda status, title, pointer, parameter: ApiError(
        status, title, [ErrorItem(title, "details", pointer, parameter)]
    ).to_body(),
    st.sampled_from([400, 401, 404, 409]),
    st.text(max_size=8),
    st.none() | st.just("/customerSession/state"),
    st.none() | st.just("dry"),
)


@st.composite
def response_cases(draw: st.DrawFn) -> tuple[dict[str, Any], Response]:
    """A request to an operation and an answer to judge for it."""
    method = draw(st.sampled_from(["GET", "PUT"]))
    status = draw(st.sampled_from([200, 200, 200, 400, 401, 404, 409, 201, 413, 500]))
    documents = success_documents[method] if status < 300 else error_documents
    body_kind = draw(st.sampled_from(["json"] * 6 + ["empty", "bytes"]))
    if body_kind == "json":
        data = json.dumps(draw(maybe_mutated(documents))).encode()
    else:
        data = b"" if body_kind == "empty" else draw(st.binary(max_size=10))
    mimetype = draw(st.sampled_from(["application/json"] * 5 + ["text/html", "application/xml"]))
    request = {
        "method": method,
        "path": session_url("s-1"),
        "headers": AUTH,
        "data": json.dumps(cart_body()).encode() if method == "PUT" else None,
    }
    return request, Response(data, status=status, mimetype=mimetype)


def _parsed(data: bytes | None) -> Any:
    try:
        return json.loads(data) if data else None
    except ValueError:
        return None


def _judge(
    app: Flask, request_args: dict[str, Any], decide: Callable[[flask.Request], bool | None]
) -> bool | None:
    with app.test_request_context(**request_args):
        return decide(flask.request._get_current_object())  # type: ignore[attr-defined]


def test_requests_agree_with_openapi_core(
    app: Flask, validators: tuple[CompiledContractValidator, ContractValidator]
) -> None:
    """On generated requests, compiled accept/reject equals openapi-core's."""
    compiled, record = validators
    verdicts: Counter[str] = Counter()

    @CORPUS
    @given(case=request_cases())
    def check(case: dict[str, Any]) -> None:
        def both(request: flask.Request) -> bool | None:
            fast = compiled.request_conforms(request)
            try:
                errors = list(record.spec.openapi.iter_request_errors(FlaskOpenAPIRequest(request)))
            except ValueError:
                # openapi-core itself fails (e.g. `charset` without a value); the app answers
                # 400 before validation, and the compiled checks must not accept it.
                assert fast is not True, case
                return None
            verdicts["accepted" if not errors else "rejected"] += 1
            if fast is None:
                verdicts["undecided"] += 1
            else:
                assert fast == (not errors), (case, errors)
                parsed = _parsed(case["data"])
                if parsed is not None:  # the routes hand over the body they parsed
                    assert compiled.request_conforms(request, parsed) == fast
            return fast

        _judge(app, case, both)

    check()
    assert verdicts["accepted"] >= EXAMPLES // 10, verdicts
    assert verdicts["rejected"] >= EXAMPLES // 10, verdicts
    assert verdicts["undecided"] <= EXAMPLES // 50, verdicts


def test_responses_agree_with_openapi_core(
    app: Flask, validators: tuple[CompiledContractValidator, ContractValidator]
) -> None:
    """On generated answers, compiled accept/reject equals openapi-core's."""
    compiled, record = validators
    verdicts: Counter[str] = Counter()

    @CORPUS
    @given(case=response_cases())
    def check(case: tuple[dict[str, Any], Response]) -> None:
        request_args, response = case
        try:
            body_document = json.loads(response.get_data())
        except ValueError:
            body_document = None

        def both(request: flask.Request) -> bool | None:
            fast = compiled.response_conforms(request, response)
            errors = list(
                record.spec.openapi.iter_response_errors(
                    FlaskOpenAPIRequest(request), FlaskOpenAPIResponse(response)
                )
            )
            verdicts["accepted" if not errors else "rejected"] += 1
            assert fast is not None
            assert fast == (not errors), (response.status, response.get_data(), errors)
            if body_document is not None:  # the routes hand over the document they serialised
                assert compiled.response_conforms(request, response, body_document) == fast
            return fast

        _judge(app, request_args, both)

    check()
    assert verdicts["accepted"] >= EXAMPLES // 10, verdicts
    assert verdicts["rejected"] >= EXAMPLES // 10, verdicts


def _schema_errors(errors: list[Exception]) -> list[tuple[str, str, tuple[Any, ...]]]:
    found = []
    for error in errors:
        cause = error.__cause__
        if isinstance(cause, InvalidSchemaValue):
            found += [
                (type(error).__name__, e.message, tuple(e.absolute_path))
                for e in cause.schema_errors
            ]
        else:  # not a schema's: the kinds of error suffice (some cannot even be printed)
            found.append((type(error).__name__, type(cause).__name__, ()))
    return sorted(found, key=repr)


def test_skipping_valid_elements_finds_what_openapi_core_alone_finds(app: Flask) -> None:
    """The element checks (jsonschema-rs) only skip work: openapi-core finds the same errors
    with them as without."""
    plain = OpenAPI.from_dict(load_spec().document)
    skipping = load_spec().openapi
    verdicts: Counter[str] = Counter()

    @CORPUS
    @given(case=request_cases())
    def check(case: dict[str, Any]) -> None:
        def both(request: flask.Request) -> None:
            try:
                expected = list(plain.iter_request_errors(FlaskOpenAPIRequest(request)))
            except ValueError:
                return  # openapi-core fails itself (`charset` without a value)
            found = list(skipping.iter_request_errors(FlaskOpenAPIRequest(request)))
            verdicts["rejected" if expected else "accepted"] += 1
            assert _schema_errors(found) == _schema_errors(expected), case

        _judge(app, case, both)

    check()
    assert verdicts["rejected"] >= EXAMPLES // 10, verdicts


def test_every_operation_is_compiled() -> None:
    """No operation of openapi.yaml falls back to openapi-core for every call."""
    document = load_spec().document
    assert set(compile_operations(document)) == set(iter_operations(document))


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("compiled", CompiledContractValidator), ("openapi-core", ContractValidator)],
    ids=["compiled", "openapi-core"],
)
def test_the_setting_picks_the_validator(kind: str, expected: type) -> None:
    """`validator` names the implementation; an unknown name is refused at start."""
    assert type(contract_validator(load_spec(), kind)) is expected


def test_an_unknown_validator_is_refused() -> None:
    """A typo in the setting fails loudly, naming the choices."""
    with pytest.raises(ValueError, match="compiled, openapi-core"):
        contract_validator(load_spec(), "fast")


DRY_EDGES = [None, "true", "false", "TRUE", "False", "1", "0", "yes", "No", "on", "OFF"]
DRY_EDGES += ["y", "t", "n", "f", "", "maybe", "2", " true", "true "]
AUTH_EDGES = [None, "", AUTH["Authorization"], "Bearer x"]
CONTENT_TYPE_EDGES = [
    None,
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/json ; charset=UTF-8",
    "application/merge-patch+json",
    "application/*",
    "text/plain",
    "application/json; charset",
]
ID_EDGES = ["s", "x" * 1000, "x" * 1001, "a/b", "ü✓", " "]


def _edge_cases() -> list[dict[str, Any]]:
    body = json.dumps(cart_body(profileId="p", cartItems=[])).encode()
    cases = []
    for dry in DRY_EDGES:
        for authorization in AUTH_EDGES:
            for method in ("GET", "PUT"):
                for content_type in CONTENT_TYPE_EDGES if method == "PUT" else [None]:
                    headers = {}
                    if authorization is not None:
                        headers["Authorization"] = authorization
                    if content_type is not None:
                        headers["Content-Type"] = content_type
                    cases.append(
                        {
                            "method": method,
                            "path": session_url("s"),
                            "query_string": [] if dry is None else [("dry", dry)],
                            "headers": headers,
                            "data": body if method == "PUT" else None,
                        }
                    )
    for integration_id in ID_EDGES:
        for method in ("GET", "PUT"):
            cases.append(
                {
                    "method": method,
                    "path": session_url(quote(integration_id, safe="")),
                    "headers": {**AUTH, "Content-Type": "application/json"},
                    "data": body if method == "PUT" else None,
                }
            )
    return cases


def test_parameter_and_header_edges_agree_with_openapi_core(
    app: Flask, validators: tuple[CompiledContractValidator, ContractValidator]
) -> None:
    """Every edge of dry, Authorization, Content-Type and the id, each with a valid body."""
    compiled, record = validators
    verdicts: Counter[bool] = Counter()
    for case in _edge_cases():

        def both(request: flask.Request, case: dict[str, Any] = case) -> bool | None:
            fast = compiled.request_conforms(request)
            try:
                errors = list(record.spec.openapi.iter_request_errors(FlaskOpenAPIRequest(request)))
            except ValueError:
                assert fast is not True, case
                return None
            assert fast == (not errors), (case, errors)
            verdicts[fast] += 1
            return fast

        _judge(app, case, both)
    assert verdicts[True] >= 50 and verdicts[False] >= 50, verdicts
