"""openapi.yaml: valid, complete, and its examples keep the rules."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from mock_server.contract.schemas import compile_schema
from mock_server.contract.spec import Spec, load_spec
from tests.rules import assert_session_rules

SESSION_PATH = "/v2/customer_sessions/{customerSessionId}"


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec()


def test_spec_is_valid_openapi(spec: Spec) -> None:
    validate(spec.document)


def test_operations_and_responses(spec: Spec) -> None:
    path = spec.document["paths"][SESSION_PATH]
    assert path["put"]["operationId"] == "updateCustomerSessionV2"
    assert path["get"]["operationId"] == "getCustomerSession"
    assert set(path["put"]["responses"]) == {"200", "400", "401", "409"}
    assert set(path["get"]["responses"]) == {"200", "400", "401", "404"}
    assert [p["name"] for p in path["put"]["parameters"]] == ["dry"]
    assert spec.document["security"] == [{"api_key_v1": []}]
    link = path["put"]["responses"]["200"]["links"]["GetCustomerSession"]
    assert link["operationId"] == "getCustomerSession"


def test_session_schema_matches_the_seed(spec: Spec) -> None:
    schema = spec.schema("CustomerSessionV2")
    seed_required = {
        "integrationId", "created", "applicationId", "profileId", "state", "cartItems",
        "attributes", "firstSession", "total", "cartItemTotal", "additionalCostTotal",
    }  # fmt: skip
    seed_optional = {"couponCodes", "referralCode", "additionalCosts", "identifiers"}
    assert set(schema["required"]) == seed_required | {"id", "updated"}
    assert set(schema["properties"]) == seed_required | seed_optional | {"id", "updated"}
    state = spec.schema("SessionState")
    assert state["enum"] == ["open", "closed", "cancelled"] and state["default"] == "open"


def _examples(spec: Spec) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for method, operation in spec.document["paths"][SESSION_PATH].items():
        if method == "parameters":
            continue
        for status, response in operation["responses"].items():
            if "$ref" in response:
                response = spec.document["components"]["responses"][response["$ref"].split("/")[-1]]
            for name, example in response["content"]["application/json"]["examples"].items():
                if "$ref" in example:
                    example = spec.document["components"]["examples"][
                        example["$ref"].split("/")[-1]
                    ]
                found.append((f"{method} {status} {name}", status, example["value"]))
    return found


def test_every_response_has_named_examples_that_validate_and_keep_the_rules(spec: Spec) -> None:
    schemas = {
        ("put", "200"): compile_schema(spec, "IntegrationStateV2"),
        ("get", "200"): compile_schema(spec, "IntegrationCustomerSessionResponse"),
    }
    error_schema = compile_schema(spec, "ErrorResponse")
    examples = _examples(spec)
    names = {label.split()[-1] for label, _, _ in examples}
    assert {"openCart", "closedSession", "anonymousSession", "invalidTransition"} <= names
    assert {"missingApiKey", "sessionNotFound", "parallelRequest"} <= names
    for label, status, value in examples:
        method = label.split()[0]
        schema = schemas.get((method, status), error_schema)
        assert schema.violations(value) == [], label
        if status == "200":
            assert_session_rules(value["customerSession"])
