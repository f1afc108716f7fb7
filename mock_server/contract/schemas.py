"""Component schemas of openapi.yaml compiled once into fast validators (jsonschema-rs).

openapi-core remains the validator of record for requests and responses; these compiled
validators serve the paths where its per-call cost matters (bulk fixtures, the hot path), and
a differential test keeps them in agreement with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from mock_server.core.pointers import json_pointer

if TYPE_CHECKING:
    from mock_server.contract.spec import Spec


@dataclass(frozen=True, slots=True)
class SchemaViolation:
    """One reason an instance does not match a schema."""

    pointer: str
    message: str


class CompiledSchema:
    """One component schema, with every `$ref` resolved against the same document."""

    def __init__(self, spec: Spec, name: str) -> None:
        self.name = name
        # OpenAPI 3.0 schemas are a draft-4 dialect; the components ride along for `$ref`s.
        document = {
            "$ref": f"#/components/schemas/{name}",
            "components": spec.document["components"],
        }
        self._validator = jsonschema_rs.Draft4Validator(document, validate_formats=True)

    def is_valid(self, instance: Any) -> bool:
        """True when `instance` matches the schema."""
        return bool(self._validator.is_valid(instance))

    def violations(self, instance: Any) -> list[SchemaViolation]:
        """Every violation, each with the JSON pointer of the offending value."""
        return [
            SchemaViolation(json_pointer(error.instance_path), error.message)
            for error in self._validator.iter_errors(instance)
        ]


def compile_schema(spec: Spec, name: str) -> CompiledSchema:
    """Compile one component schema of the contract by name."""
    if name not in spec.document["components"]["schemas"]:
        raise KeyError(f"openapi.yaml has no schema {name!r}")
    return CompiledSchema(spec, name)
