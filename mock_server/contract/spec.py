"""Load openapi.yaml, the one source of truth, once per process."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from openapi_core import OpenAPI

from mock_server.contract.bounded_openapi import openapi_of
from mock_server.core.errors import MockServerError


def default_spec_path() -> Path:
    """The openapi.yaml shipped with the package (a link to the project's own file)."""
    return Path(str(resources.files("mock_server").joinpath("openapi.yaml")))


@dataclass(frozen=True)
class Spec:
    """The parsed contract: the raw document and openapi-core's view of it."""

    path: Path
    document: dict[str, Any]
    openapi: OpenAPI

    def schema(self, name: str) -> dict[str, Any]:
        """A component schema by name, as written in the document."""
        schema: dict[str, Any] = self.document["components"]["schemas"][name]
        return schema

    def as_json(self) -> str:
        """The document as JSON, as served at /openapi.json."""
        return json.dumps(self.document, indent=2)


@functools.lru_cache(maxsize=8)
def load_spec(path: Path | None = None) -> Spec:
    """Parse and check the contract; cached, since building validators is costly."""
    path = (path or default_spec_path()).resolve()
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MockServerError(f"cannot read the OpenAPI document {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise MockServerError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise MockServerError(f"{path} does not hold an OpenAPI document")
    try:
        openapi = openapi_of(document)
    except Exception as exc:  # openapi-core raises several unrelated types for a bad spec
        raise MockServerError(f"{path} is not a valid OpenAPI document: {exc}") from exc
    return Spec(path=path, document=document, openapi=openapi)
