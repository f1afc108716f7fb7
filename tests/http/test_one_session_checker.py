"""One checker for every door: what an admin upload accepts, a fixture file accepts, and back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from mock_server.contract.sessions import InvalidRecord
from mock_server.fixtures.sessions import generate_sessions, load_fixture_sessions
from tests.unit.test_conformance import valid_session

Corpus = list[dict[str, Any]]


def _generated(count: int) -> Corpus:
    return list(generate_sessions(count, 7, application_id=7))


def _item(**changes: Any) -> dict[str, Any]:
    return {"name": "Mug", "sku": "MUG-1", "quantity": 3, "price": 0.1, **changes}


CORPORA: dict[str, Corpus] = {
    "generated": _generated(5),
    "hand-written": [valid_session(applicationId=7)],
    "wrong-total": [valid_session(applicationId=7, total=7.96)],
    "drifting-float-total": [
        valid_session(
            applicationId=7,
            cartItems=[_item(quantity=1, price=0.1), _item(sku="TEA", quantity=1, price=0.2)],
            additionalCosts={},
            cartItemTotal=0.30000000000000004,
            additionalCostTotal=0,
            total=0.30000000000000004,
        )
    ],
    "finer-than-a-cent": [
        valid_session(
            applicationId=7,
            cartItems=[_item(quantity=2, price=0.125)],
            additionalCosts={},
            cartItemTotal=0.25,
            additionalCostTotal=0,
            total=0.25,
        )
    ],
    "updated-before-created": [valid_session(applicationId=7, updated="2025-06-01T09:00:00Z")],
    "wrong-position": [
        valid_session(
            applicationId=7,
            cartItems=[_item(position=1)],
            additionalCosts={},
            cartItemTotal=0.3,
            additionalCostTotal=0,
            total=0.3,
        )
    ],
    "schema-violation": [valid_session(applicationId=7, state="gone")],
    "anonymous-not-first": [valid_session(applicationId=7, profileId="", firstSession=False)],
    "profile-first-twice": [
        valid_session(applicationId=7, integrationId="a"),
        valid_session(applicationId=7, integrationId="b", updated="2025-06-01T10:06:00Z"),
    ],
    "returning-customer-first": [valid_session(applicationId=7, firstSession=False)],
    "same-id-twice": [valid_session(applicationId=7), valid_session(applicationId=7)],
    "amount-out-of-range": [
        valid_session(
            applicationId=7,
            cartItems=[_item(quantity=1, price=1e14)],
            additionalCosts={},
            cartItemTotal=1e14,
            additionalCostTotal=0,
            total=1e14,
        )
    ],
}


def _file_door(tmp_path: Path, documents: Corpus) -> bool:
    path = tmp_path / "sessions.json"
    path.write_text(json.dumps(documents), encoding="utf-8")
    try:
        load_fixture_sessions(path)
    except InvalidRecord:
        return False
    return True


def _admin_door(client: FlaskClient, documents: Corpus) -> bool:
    response = client.post("/__admin/fixtures", json=documents)
    assert response.status_code in (200, 400), response.get_json()
    return response.status_code == 200


@pytest.mark.parametrize("name", sorted(CORPORA))
def test_both_doors_give_the_same_verdict(client: FlaskClient, tmp_path: Path, name: str) -> None:
    documents = CORPORA[name]
    by_file = _file_door(tmp_path, documents)
    by_upload = _admin_door(client, documents)
    assert by_file == by_upload
    # The corpus holds both kinds, so an "accept everything" door would fail here.
    assert by_file == (name in {"generated", "hand-written", "finer-than-a-cent"})
