"""Request bodies read as strict JSON: what a strict JSON API must refuse is a 400 naming why."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from mock_server.core.errors import ApiError, ErrorItem
from mock_server.core.pointers import json_pointer

JSON_MEDIA_TYPE = "application/json"


class _NonFiniteNumber(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NonFiniteNumber(name)


# orjson reads integers beyond 64 bits as floats; bodies with such digit runs go to the
# standard library, which keeps them exact (19 digits: the shortest that may not fit).
_LONG_DIGIT_RUN = re.compile(rb"[0-9]{19}")
# Built once: json.loads with a keyword argument builds a new decoder on every call.
_STRICT_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _depth_exceeds(document: Any, limit: int) -> bool:
    # Iterative, so a hostile document cannot exhaust the interpreter's stack here.
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Iterable[Any] = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _nodes(document: Any) -> Iterator[tuple[tuple[object, ...], Any]]:
    """Every value of a document with its path, depth first; iterative, so a hostile
    document cannot exhaust the interpreter's stack."""
    stack: list[tuple[Any, tuple[object, ...]]] = [(document, ())]
    while stack:
        value, path = stack.pop()
        yield path, value
        if isinstance(value, dict):
            stack.extend((child, (*path, key)) for key, child in value.items())
        elif isinstance(value, list):
            stack.extend((child, (*path, index)) for index, child in enumerate(value))


def _infinite_number(document: Any) -> str | None:
    """Where the first number too large for a double (1e400 reads as infinity) is."""
    for path, value in _nodes(document):
        if isinstance(value, float) and math.isinf(value):
            return json_pointer(path)
    return None


def _unencodable_string(document: Any) -> str | None:
    """Where the first key or string that is not Unicode text is, as a JSON pointer."""
    for path, value in _nodes(document):
        if isinstance(value, str):
            texts = [value]
        elif isinstance(value, dict):
            texts = list(value)  # its keys
        else:
            continue
        for text in texts:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return json_pointer(path)  # a bad key: its object, not the key itself
    return None


def _body_error(title: str, details: str, pointer: str = "") -> ApiError:
    return ApiError.bad_request("Invalid request body", [ErrorItem(title, details, pointer)])


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type value, lowercased, without parameters."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _content_type_parameters_parse(content_type: str) -> bool:
    # openapi-core splits each parameter into exactly `name=value`, and raises otherwise.
    return all(part.count("=") == 1 for part in content_type.split(";")[1:])


def check_json_content_type(content_type: str | None) -> None:
    """Raise a 400 naming `Content-Type` unless it announces JSON (parameters as name=value)."""
    mimetype = media_type(content_type)
    if (
        mimetype != JSON_MEDIA_TYPE and not mimetype.endswith("+json")
    ) or not _content_type_parameters_parse(content_type or ""):
        raise ApiError.bad_request(
            "Unsupported content type",
            [
                ErrorItem(
                    "Unsupported content type",
                    f"The body must be {JSON_MEDIA_TYPE} (parameters as name=value), "
                    f"not {content_type or 'unspecified'!r}.",
                    parameter="Content-Type",
                )
            ],
        )


def parse_json_bytes(raw: bytes, *, max_depth: int) -> Any:
    """A request body as JSON, or the 400 that names what makes it unacceptable.

    orjson parses most bodies; whatever it refuses or could misread goes through the
    standard library's parser, which decides and explains. Both accept exactly the same
    documents (a differential test holds them to it).
    """
    if not _LONG_DIGIT_RUN.search(raw):
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # refused: the strict parser says why (or accepts what orjson cannot read)
        else:
            # orjson refuses lone surrogates itself, so only the depth is left to check.
            _check_depth(raw, document, max_depth)
            return document
    return parse_json_strictly(raw, max_depth=max_depth)


def parse_json_strictly(raw: bytes, *, max_depth: int) -> Any:
    """The standard library's reading of a body: slow, exact, with the reason of a refusal."""
    if not raw.strip():
        raise _body_error("Missing request body", "The request needs a JSON body.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _body_error("Invalid encoding", f"The body is not UTF-8: {exc.reason}.") from exc
    try:
        document = _STRICT_DECODER.decode(text)
    except _NonFiniteNumber as exc:
        raise _body_error("Invalid number", f"{exc} is not a JSON number.") from exc
    except json.JSONDecodeError as exc:
        raise _body_error(
            "Malformed JSON", f"{exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from exc
    except RecursionError as exc:
        raise _body_error("Too deeply nested", f"JSON nesting exceeds {max_depth}.") from exc
    except ValueError as exc:  # e.g. an integer literal longer than Python converts
        raise _body_error("Invalid number", str(exc)) from exc
    # A lone surrogate can only arrive as a \u escape; it is not text, and nothing downstream
    # (hashing, UTF-8 output, the Rust validators) can take it.
    if "\\u" in text and (pointer := _unencodable_string(document)) is not None:
        raise _body_error(
            "Invalid string", "A string holds a lone UTF-16 surrogate (\\ud800-\\udfff).", pointer
        )
    _check_depth(raw, document, max_depth)
    # No JSON answer can carry infinity back out; orjson refuses such numbers too.
    if (pointer := _infinite_number(document)) is not None:
        raise _body_error("Invalid number", "The number is beyond the range of a double.", pointer)
    return document


def _check_depth(raw: bytes, document: Any, max_depth: int) -> None:
    # Nesting needs an opening bracket per level: a body with few brackets cannot be too deep.
    if raw.count(b"{") + raw.count(b"[") > max_depth and _depth_exceeds(document, max_depth):
        raise _body_error("Too deeply nested", f"JSON nesting exceeds {max_depth}.")
