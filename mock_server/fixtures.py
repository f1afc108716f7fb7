"""Fixtures for test authors: generate valid sessions, and load (and check) fixture files."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mock_server.conformance import InvalidRecord, SessionChecker
from mock_server.domain import CustomerSession, SessionState
from mock_server.fixture_files import fixture_files, read_records
from mock_server.generator import GeneratorOptions, SessionGenerator
from mock_server.sdk_names import to_sdk_names
from mock_server.settings import DEFAULT_APPLICATION_ID
from mock_server.spec import load_spec
from mock_server.wire import JsonObject, session_from_json

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
    """Every session of a fixture file or folder (JSON, NDJSON or YAML), checked, by creation.

    Each record is checked against `CustomerSessionV2` and the rules as it is read; then
    `firstSession` and unique ids across every file, in creation order. A bad record raises
    InvalidRecord (a MockServerError) naming the file, the record and the field.
    """
    checker = SessionChecker(spec or load_spec())
    loaded: list[tuple[CustomerSession, str, int]] = []
    with _bulk_allocation():
        for file in fixture_files(Path(path)):
            source = str(file)
            for index, document in read_records(file):
                checker.check_record(document, source=source, index=index)
                # Keep the session, not the document: half the memory for large files.
                loaded.append((_session(document, source, index), source, index))
        loaded.sort(key=lambda entry: (entry[0].created, entry[0].integration_id))
        for session, source, index in loaded:
            problem = checker.set_problem(
                session.application_id,
                session.integration_id,
                session.profile_id,
                session.first_session,
            )
            if problem is not None:
                raise InvalidRecord(
                    source, index, session.integration_id, problem.pointer, problem.reason
                )
    return [session for session, _, _ in loaded]


def _session(document: JsonObject, source: str, index: int) -> CustomerSession:
    try:
        return session_from_json(document)
    except (ValueError, TypeError, KeyError) as exc:  # e.g. a leap second the schema allows
        raise InvalidRecord(
            source, index, str(document["integrationId"]), "/", f"cannot be read: {exc}"
        ) from exc


@contextlib.contextmanager
def _bulk_allocation() -> Iterator[None]:
    # Loading builds many long-lived objects: the cycle collector would rescan them again
    # and again for nothing (it cost 40 % of a 100,000-session load).
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
