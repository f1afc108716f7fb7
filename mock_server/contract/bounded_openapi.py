"""openapi-core built for this contract: checks that stop after the problems an answer lists.

`contract.spec` builds the contract's openapi-core object here once; `contract.openapi` asks
it for a request's or answer's problems.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema.exceptions import ValidationError as SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import extend
from openapi_core import Config, OpenAPI
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue
from openapi_core.validation.schemas.factories import SchemaValidatorsFactory
from openapi_core.validation.schemas.validators import SchemaValidator

from mock_server.contract.shared_schemas import SchemaCheck, Undecidable
from mock_server.core.errors import MAX_ERROR_ITEMS


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
