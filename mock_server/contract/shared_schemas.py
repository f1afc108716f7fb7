"""Schemas of openapi.yaml that jsonschema-rs reads exactly as openapi-core does, compiled once.

jsonschema-rs (draft 4, formats off) shares the meaning of most keywords with openapi-core's
OAS 3.0 validator; a schema that uses any other keyword (nullable, pattern, readOnly, a checked
format, ...) is `Undecidable` here and left to openapi-core. The compiled validators of
`compiled.py` and the element checks of `openapi.py` are built from this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema_rs

from mock_server.core.pointers import UnresolvableReference, resolve_ref

# Keywords whose meaning jsonschema-rs (draft 4, formats off) shares with openapi-core's
# OAS 3.0 validator. A schema using any other keyword (nullable, pattern, discriminator,
# readOnly, a checked format, ...) leaves its operation to openapi-core.
_SHARED_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "$ref",
        "default",
        "description",
        "title",
        "example",
        "deprecated",
        "externalDocs",
        "format",
    }
)
# Formats openapi-core checks for OAS 3.0; any other format is an annotation to both.
_CHECKED_FORMATS = frozenset(
    {"int32", "int64", "float", "double", "binary", "byte", "password", "regex"}
)
_REF_SIBLINGS = frozenset({"$ref", "description", "title", "example", "deprecated"})


class Undecidable(Exception):
    """A part of the contract the compiled checks do not cover; openapi-core decides."""


def resolve(document: Mapping[str, Any], node: Any) -> Any:
    """Follow local `$ref`s; one that cannot be followed leaves the decision to openapi-core."""
    try:
        return resolve_ref(document, node)
    except UnresolvableReference as exc:
        raise Undecidable(str(exc)) from exc


def _check_keywords(document: Mapping[str, Any], schema: Any, seen: set[int]) -> None:
    """Raise Undecidable if `schema` (or any schema it reaches) uses an unshared keyword."""
    if not isinstance(schema, Mapping):
        raise Undecidable("a schema that is not an object")
    if id(schema) in seen:
        return
    seen.add(id(schema))
    if "$ref" in schema and not _REF_SIBLINGS.issuperset(schema):
        # Draft 4 ignores the siblings of a `$ref`; openapi-core's OAS 3.0 validator does not.
        raise Undecidable("keywords beside a $ref")
    for keyword, value in schema.items():
        if keyword not in _SHARED_KEYWORDS:
            raise Undecidable(f"schema keyword {keyword!r}")
        if keyword == "format" and value in _CHECKED_FORMATS:
            raise Undecidable(f"format {value!r}")
        if keyword == "enum" and not all(isinstance(item, str) for item in value):
            raise Undecidable("an enum of non-strings")
        if keyword == "$ref":
            _check_keywords(document, resolve(document, schema), seen)
        elif keyword == "properties":
            for subschema in value.values():
                _check_keywords(document, subschema, seen)
        elif keyword in {"items", "not"} or (
            keyword == "additionalProperties" and value is not True
        ):
            if value is not False:
                _check_keywords(document, value, seen)
        elif keyword in {"allOf", "anyOf", "oneOf"}:
            for subschema in value:
                _check_keywords(document, subschema, seen)


class SchemaCheck:
    """One schema of the document compiled with jsonschema-rs; `$ref`s resolve in place."""

    def __init__(self, document: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
        _check_keywords(document, schema, set())
        # The whole document rides along so that `#/components/...` references resolve.
        root = {"components": document.get("components", {}), "allOf": [schema]}
        # Formats off: openapi-core checks none of the formats this contract may use.
        self._validator = jsonschema_rs.Draft4Validator(root, validate_formats=False)

    def accepts(self, instance: Any) -> bool:
        """True when `instance` matches; Undecidable when it cannot be handed to Rust."""
        try:
            return bool(self._validator.is_valid(instance))
        except (ValueError, TypeError) as exc:  # e.g. lone surrogates, not UTF-8 encodable
            raise Undecidable(str(exc)) from exc
