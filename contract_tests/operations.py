"""The operations of the contract and the statuses each documents, read from openapi.yaml.

Coverage is counted against these: every documented (operation, status) pair, whoever sent the
request (a workflow, Schemathesis, a proxy in front of a real client).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import yaml

METHODS: Final = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@dataclass(frozen=True)
class Operation:
    """One documented operation."""

    operation_id: str
    method: str  # upper case
    path: str  # the template, e.g. /v2/customer_sessions/{customerSessionId}
    statuses: tuple[int, ...]  # the documented statuses, sorted
    # The component schema of each documented JSON answer, by status.
    schemas: Mapping[int, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """`METHOD /path`, as Schemathesis names operations."""
        return f"{self.method} {self.path}"

    def matches(self, method: str, path: str) -> bool:
        """Whether a request (method and URL path, any prefix before it) is this operation."""
        return method.upper() == self.method and _template(self.path).search(path) is not None


def _resolve(document: dict[str, Any], value: Any) -> Any:
    for _ in range(10):  # $ref chains are short; a loop would be a broken document
        if not isinstance(value, dict) or not isinstance(value.get("$ref"), str):
            return value
        target: Any = document
        for part in value["$ref"].lstrip("#/").split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        value = target
    return None


def _schema_name(document: dict[str, Any], answer: Any) -> str | None:
    """The component schema named by a response's application/json content, if any."""
    answer = _resolve(document, answer)
    content = answer.get("content") if isinstance(answer, dict) else None
    media = content.get("application/json") if isinstance(content, dict) else None
    schema = media.get("schema") if isinstance(media, dict) else None
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    prefix = "#/components/schemas/"
    return ref[len(prefix) :] if isinstance(ref, str) and ref.startswith(prefix) else None


def _template(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", path)
    pattern = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
    # Anchored at the end only: a base URL may put a prefix in front of the API's paths.
    return re.compile(pattern + "$")


@dataclass(frozen=True)
class Operations:
    """Every operation of a contract."""

    operations: tuple[Operation, ...]

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Operations:
        """From a parsed OpenAPI document."""
        found = []
        for path, item in (document.get("paths") or {}).items():
            if not isinstance(item, dict):
                continue
            for method in METHODS:
                spec = item.get(method)
                if not isinstance(spec, dict):
                    continue
                responses = spec.get("responses") or {}
                statuses = sorted(int(code) for code in responses if str(code).isdigit())
                schemas = {
                    int(code): name
                    for code, answer in responses.items()
                    if str(code).isdigit() and (name := _schema_name(document, answer)) is not None
                }
                operation_id = spec.get("operationId") or f"{method.upper()} {path}"
                found.append(
                    Operation(str(operation_id), method.upper(), path, tuple(statuses), schemas)
                )
        return cls(tuple(found))

    @classmethod
    def from_path(cls, path: Path) -> Operations:
        """From an openapi.yaml (or JSON) file."""
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        return cls.from_document(document if isinstance(document, dict) else {})

    def __iter__(self) -> Any:
        return iter(self.operations)

    def by_id(self, operation_id: str) -> Operation | None:
        """The operation with this operationId."""
        return next((op for op in self.operations if op.operation_id == operation_id), None)

    def by_label(self, label: str) -> Operation | None:
        """The operation Schemathesis labels `METHOD /path`."""
        return next((op for op in self.operations if op.label == label), None)

    def of_request(self, method: str, url: str) -> Operation | None:
        """The documented operation a request was for, if any."""
        path = urlsplit(url).path
        return next((op for op in self.operations if op.matches(method, path)), None)

    def ids(self) -> Iterable[str]:
        """Every operationId."""
        return (op.operation_id for op in self.operations)
