"""Fixtures for test authors: generate valid sessions, and load (and check) fixture files."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mock_server.conformance import SessionChecker
from mock_server.domain import CustomerSession, SessionState
from mock_server.fixture_files import fixture_files, read_records
from mock_server.generator import GeneratorOptions, SessionGenerator
from mock_server.sdk_names import to_sdk_names
from mock_server.settings import DEFAULT_APPLICATION_ID
from mock_server.spec import load_spec
from mock_server.wire import JsonObject, parse_time, session_from_json

if TYPE_CHECKING:
    from mock_server.spec import Spec

Case = Literal["camel", "snake"]
DEFAULT_SEED = 42
MIXED = "mixed"


def generator_options(
    *,
    state: SessionState | str | None = None,
    anonymous_ratio: float = 0.3,
    items: tuple[int, int] = (0, 6),
    locale: str = "en_US",
    application_id: int = DEFAULT_APPLICATION_ID,
) -> GeneratorOptions:
    """GeneratorOptions from the knobs people vary; `state` None or "mixed" mixes them all."""
    return GeneratorOptions(
        application_id=application_id,
        state=None if state in (None, MIXED) else SessionState(state),
        anonymous_ratio=anonymous_ratio,
        min_items=items[0],
        max_items=items[1],
        locale=locale,
    )


def generate_sessions(
    count: int,
    seed: int = DEFAULT_SEED,
    *,
    case: Case = "camel",
    validate: bool = True,
    spec: Spec | None = None,
    **knobs: Any,
) -> Iterator[JsonObject]:
    """`count` `CustomerSessionV2` documents, the same for the same arguments everywhere.

    Args:
        knobs: `state` ("open", "closed", "cancelled" or "mixed"), `anonymous_ratio`,
            `items` (MIN, MAX), `locale` (a faker locale) and `application_id`.
        case: "camel" for the wire format, "snake" for the SDK's property names.
        validate: check each document against the contract and the rules first; a bad one
            raises InvalidRecord (turning this off only serves to measure its cost).
    """
    if case not in ("camel", "snake"):
        raise ValueError(f"case must be 'camel' or 'snake', not {case!r}")
    generator = SessionGenerator(seed, generator_options(**knobs))
    documents = generator.documents(count)
    if validate:
        documents = _checked(documents, SessionChecker(spec or load_spec(), unique_ids=False))
    if case == "snake":
        return (to_sdk_names(document) for document in documents)
    return documents


def _checked(documents: Iterator[JsonObject], checker: SessionChecker) -> Iterator[JsonObject]:
    for index, document in enumerate(documents, start=1):
        checker.check(document, source="generated", index=index)
        yield document


def load_fixture_sessions(path: Path, spec: Spec | None = None) -> list[CustomerSession]:
    """Every session of a fixture file or folder (JSON, NDJSON or YAML), checked.

    Records are checked against `CustomerSessionV2` and the rules, `firstSession` and unique
    ids across every file, in creation order; a bad one raises InvalidRecord (a
    MockServerError) naming the file, the record and the field.
    """
    records: list[tuple[str, int, Any]] = [
        (str(file), index, document)
        for file in fixture_files(Path(path))
        for index, document in read_records(file)
    ]
    records.sort(key=_creation_order)
    checker = SessionChecker(spec or load_spec())
    for source, index, document in records:
        checker.check(document, source=source, index=index)
    return [session_from_json(document) for _, _, document in records]


_UNKNOWN_TIME = datetime.min.replace(tzinfo=UTC)


def _creation_order(record: tuple[str, int, Any]) -> tuple[datetime, str, str, int]:
    # The order the store claims profiles in; records too broken to sort come first, so the
    # check reports them.
    source, index, document = record
    moment, integration_id = _UNKNOWN_TIME, ""
    if isinstance(document, dict):
        created, given_id = document.get("created"), document.get("integrationId")
        if isinstance(created, str):
            try:
                moment = parse_time(created)
            except ValueError:
                moment = _UNKNOWN_TIME
        if isinstance(given_id, str):
            integration_id = given_id
    return moment, integration_id, source, index
