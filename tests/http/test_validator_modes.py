"""Both validators behind the real app: same answers, same errors, same stored sessions."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from mock_server import Settings, create_app
from tests.conftest import API_KEY, APPLICATION_ID, AUTH, cart_body, session_url

MODES = ["compiled", "openapi-core"]
ITEM = {"name": "Socks", "sku": "SKU-1", "quantity": 2, "price": 4.5}


def _client(validator: str) -> FlaskClient:
    settings = Settings(
        store_url="memory://",
        api_keys={API_KEY: APPLICATION_ID},
        preload=2,
        seed=1,
        validator=validator,
    )
    return create_app(settings).test_client()


def _put(client: FlaskClient, path: str, body: Any, **headers: str) -> tuple[int, Any]:
    response = client.put(path, json=body, headers={**AUTH, **headers})
    return response.status_code, response.get_json()


INVALID_REQUESTS = [
    pytest.param(
        session_url("s-1"),
        {"customerSession": {"cartItems": [{**ITEM, "quantity": 0}]}},
        id="quantity-0",
    ),
    pytest.param(
        session_url("s-1"),
        {"customerSession": {"cartItems": [{"name": "x"}]}},
        id="item-missing-fields",
    ),
    pytest.param(session_url("s-1"), {"customerSession": {"state": "paused"}}, id="unknown-state"),
    pytest.param(
        session_url("s-1"), {"responseContent": ["customerSession"]}, id="no-customerSession"
    ),
    pytest.param(
        session_url("s-1"), {"customerSession": {"referralCode": "r" * 101}}, id="long-referral"
    ),
    pytest.param(session_url("s-1") + "?dry=maybe", cart_body(), id="dry-maybe"),
    pytest.param(session_url("s-1") + "?dry=", cart_body(), id="dry-empty"),
    pytest.param(session_url("x" * 1001), cart_body(), id="id-too-long"),
]


@pytest.mark.parametrize(("path", "body"), INVALID_REQUESTS)
def test_invalid_requests_get_the_same_400_from_both(path: str, body: Any) -> None:
    """The compiled validator lets openapi-core name the problems: identical error bodies."""
    answers = [_put(_client(mode), path, body) for mode in MODES]
    assert answers[0][0] == 400
    assert answers[0] == answers[1]
    errors = answers[0][1]["errors"]
    assert errors and all(
        e["source"].get("pointer") or e["source"].get("parameter") for e in errors
    )


@pytest.mark.parametrize("mode", MODES)
def test_valid_update_is_answered_and_stored(mode: str) -> None:
    """A valid PUT passes validation on its way in and out, and the session is kept."""
    client = _client(mode)
    status, body = _put(client, session_url("s-1"), cart_body(cartItems=[ITEM]))
    assert status == 200
    assert body["customerSession"]["cartItemTotal"] == 9
    assert client.get(session_url("s-1"), headers=AUTH).get_json()["customerSession"]["total"] == 9


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("flag", ["true", "1", "yes", "ON"])
def test_every_true_spelling_of_dry_persists_nothing(mode: str, flag: str) -> None:
    """The validator accepts dry=1 as true, so the route must read it as true too."""
    client = _client(mode)
    status, _ = _put(client, session_url("dry-run") + f"?dry={flag}", cart_body(cartItems=[ITEM]))
    assert status == 200
    assert client.get(session_url("dry-run"), headers=AUTH).status_code == 404


@pytest.mark.parametrize("mode", MODES)
def test_a_content_type_parameter_without_value_is_a_400(mode: str) -> None:
    """openapi-core cannot split `charset` without `=`: a 400 naming the header, not a 500."""
    response = _client(mode).put(
        session_url("s-1"),
        data=b'{"customerSession": {}}',
        headers={**AUTH, "Content-Type": "application/json; charset"},
    )
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["source"] == {"parameter": "Content-Type"}


def test_the_validator_is_chosen_from_the_environment() -> None:
    """CSM_VALIDATOR selects the implementation, like every other setting."""
    assert Settings.from_env({"CSM_VALIDATOR": "openapi-core"}).validator == "openapi-core"
    assert Settings.from_env({}).validator == "compiled"


@pytest.mark.parametrize("mode", MODES)
def test_integers_beyond_64_bits_survive_the_round_trip(mode: str) -> None:
    """Attributes are free-form JSON: a huge integer comes back exactly as sent."""
    huge = 2**70
    status, body = _put(_client(mode), session_url("s-big"), cart_body(attributes={"n": huge}))
    assert status == 200
    assert body["customerSession"]["attributes"] == {"n": huge}


def test_serve_refuses_an_unknown_validator() -> None:
    """The CLI names the choices instead of starting a server with a typo."""
    from click.testing import CliRunner

    from mock_server.cli import main

    result = CliRunner().invoke(main, ["serve", "--validator", "fast", "--port", "0"])
    assert result.exit_code == 2
    assert "compiled" in result.output and "openapi-core" in result.output


@pytest.mark.parametrize("mode", MODES)
def test_head_is_answered_as_the_get_it_stands_for(mode: str) -> None:
    """HEAD is GET without a body: validated as GET, never a 500."""
    client = _client(mode)
    assert client.head(session_url("unknown"), headers=AUTH).status_code == 404
    assert client.head(session_url("unknown")).status_code == 401


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("raw", "pointer"),
    [
        (rb'{"customerSession": {"profileId": "\ud800"}}', "/customerSession/profileId"),
        (rb'{"customerSession": {"attributes": {"\udc00": 1}}}', "/customerSession/attributes"),
        (
            rb'{"customerSession": {"couponCodes": ["ok", "x\udfff"]}}',
            "/customerSession/couponCodes/1",
        ),
    ],
    ids=["value", "key", "array-item"],
)
def test_a_lone_surrogate_is_a_400_naming_where(mode: str, raw: bytes, pointer: str) -> None:
    """JSON may escape half a surrogate pair; it is not text, so the body is refused."""
    response = _client(mode).put(
        session_url("s-1"), data=raw, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["source"] == {"pointer": pointer}


@pytest.mark.parametrize("mode", MODES)
def test_an_escaped_surrogate_pair_is_text(mode: str) -> None:
    """A whole pair (an emoji written as two escapes) is fine and comes back as sent."""
    raw = (
        rb'{"customerSession": {"profileId": "p-\ud83d\ude00"},'
        rb' "responseContent": ["customerSession"]}'
    )
    response = _client(mode).put(
        session_url("s-1"), data=raw, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert response.get_json()["customerSession"]["profileId"] == "p-\U0001f600"
