"""JSON pointers (RFC 6901) and local `$ref` resolution, written once for every layer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def escape_pointer_token(token: object) -> str:
    """One reference token of a JSON pointer: `~` -> `~0`, `/` -> `~1`."""
    return str(token).replace("~", "~0").replace("/", "~1")


def unescape_pointer_token(token: str) -> str:
    """The inverse of `escape_pointer_token`."""
    return token.replace("~1", "/").replace("~0", "~")


def json_pointer(path: Iterable[object]) -> str:
    """A JSON pointer from path segments; "" is the whole document."""
    return "".join("/" + escape_pointer_token(token) for token in path)


class UnresolvableReference(ValueError):
    """A `$ref` that is not local, loops, or points at nothing."""


def resolve_ref(document: Mapping[str, Any], node: Any) -> Any:
    """Follow local `$ref`s (`#/a/b`) from `node` until a node that is not a reference."""
    seen: set[str] = set()
    while isinstance(node, Mapping) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
            raise UnresolvableReference(f"reference {ref!r}")
        seen.add(ref)
        target: Any = document
        try:
            for token in ref[2:].split("/"):
                target = target[unescape_pointer_token(token)]
        except (KeyError, IndexError, TypeError) as exc:
            raise UnresolvableReference(f"reference {ref!r} points at nothing") from exc
        node = target
    return node
