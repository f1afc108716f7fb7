"""A JSON body shown as text with the places its problems point at marked.

No HTML is made here: a body becomes nested `Marked` spans of plain strings, and the template
(which escapes every string) wraps each span in a <mark>.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

INDENT = "  "


@dataclass
class Marked:
    """Text, and spans within it, that problems point at (`problems`: their numbers)."""

    problems: list[int] = field(default_factory=list)
    parts: list[str | Marked] = field(default_factory=list)


def pointer_tokens(pointer: str) -> list[str]:
    """`/a~1b/0` -> `["a/b", "0"]` (RFC 6901)."""
    if not pointer:
        return []
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]


def nearest_existing(document: Any, pointer: str) -> str:
    """The pointer itself if the document has it, else its deepest ancestor that it has.

    A missing required property points at where it should be; its object is what to mark.
    """
    node, reached = document, ""
    for token in pointer_tokens(pointer):
        if isinstance(node, Mapping) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            break
        reached += "/" + token.replace("~", "~0").replace("/", "~1")
    return reached


def marked_json(text: str, pointers: Sequence[str | None]) -> Marked | None:
    """`text` as indented JSON, the node of each pointer marked; None when it is not JSON.

    `pointers[i]` belongs to problem number i + 1; None: a problem that points nowhere here.
    """
    try:
        document = json.loads(text)
    except ValueError:
        return None
    marks: dict[str, list[int]] = {}
    for number, pointer in enumerate(pointers, start=1):
        if pointer is not None:
            marks.setdefault(nearest_existing(document, pointer), []).append(number)
    root = Marked()
    _emit(document, "", 0, marks, [root])
    return root


def _text(stack: list[Marked], text: str) -> None:
    parts = stack[-1].parts
    if parts and isinstance(parts[-1], str):
        parts[-1] += text
    else:
        parts.append(text)


def _emit(
    value: Any, pointer: str, depth: int, marks: dict[str, list[int]], stack: list[Marked]
) -> None:
    problems = marks.get(pointer)
    if problems:
        span = Marked(problems=problems)
        stack[-1].parts.append(span)
        stack.append(span)
    if isinstance(value, dict) and value:
        _text(stack, "{\n")
        for index, (name, item) in enumerate(value.items()):
            _text(stack, INDENT * (depth + 1) + json.dumps(name, ensure_ascii=False) + ": ")
            escaped = name.replace("~", "~0").replace("/", "~1")
            _emit(item, f"{pointer}/{escaped}", depth + 1, marks, stack)
            _text(stack, ",\n" if index < len(value) - 1 else "\n")
        _text(stack, INDENT * depth + "}")
    elif isinstance(value, list) and value:
        _text(stack, "[\n")
        for index, item in enumerate(value):
            _text(stack, INDENT * (depth + 1))
            _emit(item, f"{pointer}/{index}", depth + 1, marks, stack)
            _text(stack, ",\n" if index < len(value) - 1 else "\n")
        _text(stack, INDENT * depth + "]")
    else:
        _text(stack, json.dumps(value, ensure_ascii=False))
    if problems:
        stack.pop()


def anchors(root: Marked) -> dict[int, int]:
    """For each problem marked in `root`, the number its mark is found under (its span's first)."""
    found: dict[int, int] = {}
    for part in root.parts:
        if isinstance(part, Marked):
            found.update((number, part.problems[0]) for number in part.problems)
            found.update(anchors(part))
    return found
