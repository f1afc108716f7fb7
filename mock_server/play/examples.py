"""Answers picked from openapi.yaml, as Prism picks them: a status, then an example or a body.

Precedence: the response documented for the asked status (or a 404 naming what is missing),
then the named example of that response, then, with `dynamic=true`, a generated body, and
otherwise the response's first example, as Prism's default static mode answers.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from mock_server.core.errors import ApiError, ErrorItem
from mock_server.core.pointers import resolve_ref
from mock_server.play.scenario import Scenario

JSON = "application/json"
SUCCESS = 200


def _missing(scenario: Scenario, name: str, message: str, details: str) -> ApiError:
    return ApiError(
        404, message, [ErrorItem("Not in openapi.yaml", details, parameter=scenario.source(name))]
    )


def documented_examples(
    document: Mapping[str, Any], path: str, method: str, status: int
) -> dict[str, Any] | None:
    """The named examples of one documented response (None: no such response)."""
    operation = resolve_ref(document, document["paths"][path])[method.lower()]
    responses = operation["responses"]
    if str(status) not in responses:
        return None
    response = resolve_ref(document, responses[str(status)])
    media = response.get("content", {}).get(JSON, {})
    examples = media.get("examples", {})
    return {name: resolve_ref(document, example)["value"] for name, example in examples.items()}


def canned_answer(
    document: Mapping[str, Any],
    path: str,
    method: str,
    scenario: Scenario,
    generate: Callable[[int], dict[str, Any]],
) -> tuple[int, dict[str, Any]]:
    """The status and body a scenario picks for one operation of the contract.

    Args:
        path: the path template as openapi.yaml writes it.
        generate: builds a fresh body for a status when no example is asked for.
    """
    status = scenario.code if scenario.code is not None else SUCCESS
    examples = documented_examples(document, path, method, status)
    if examples is None:
        operation = resolve_ref(document, document["paths"][path])[method.lower()]
        documented = ", ".join(sorted(operation["responses"]))
        raise _missing(
            scenario,
            "code",
            "Requested status code is not defined in openapi.yaml",
            f"{method.upper()} {path} documents no {status} response; it documents {documented}.",
        )
    if scenario.example is not None:
        if scenario.example not in examples:
            known = ", ".join(examples) or "none"
            raise _missing(
                scenario,
                "example",
                "Requested example is not defined in openapi.yaml",
                f"The {status} response of {method.upper()} {path} has no example "
                f"{scenario.example!r}; its examples: {known}.",
            )
        return status, copy.deepcopy(examples[scenario.example])
    if scenario.dynamic is not True and examples:
        return status, copy.deepcopy(next(iter(examples.values())))
    return status, generate(status)
