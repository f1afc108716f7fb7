"""Prism-style scenario selection over HTTP: status, named example, generated body."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from mock_server.core.store import SessionStore
from mock_server.http.state import mock_state
from mock_server.play.answers import SESSION_TEMPLATE
from mock_server.play.examples import documented_examples
from tests.conftest import APPLICATION_ID, AUTH, cart_body, session_url

NEW_ID = "scenario-new"


def example(app: Flask, method: str, status: int, name: str) -> dict[str, Any]:
    with app.app_context():
        examples = documented_examples(mock_state().spec.document, SESSION_TEMPLATE, method, status)
    assert examples is not None
    return examples[name]


def send(client: FlaskClient, method: str, prefer: str, path: str = NEW_ID) -> Any:
    body = cart_body(profileId="p-1") if method == "PUT" else None
    return client.open(
        session_url(path), method=method, json=body, headers={**AUTH, "Prefer": prefer}
    )


@pytest.mark.parametrize(
    ("method", "status", "name"),
    [
        ("GET", 200, "openCart"),
        ("GET", 200, "anonymousSession"),
        ("GET", 400, "invalidParameter"),
        ("GET", 401, "missingApiKey"),
        ("GET", 404, "sessionNotFound"),
        ("PUT", 200, "closedSession"),
        ("PUT", 400, "invalidTransition"),
        ("PUT", 409, "parallelRequest"),
    ],
    ids=lambda value: str(value),
)
def test_a_named_example_is_answered_with_its_status(
    app: Flask, client: FlaskClient, store: SessionStore, method: str, status: int, name: str
) -> None:
    response = send(client, method, f"code={status}, example={name}")
    assert response.status_code == status
    expected = example(app, method, status, name)
    if status == 200:
        # The example is the caller's application's: answers carry the key's applicationId.
        expected["customerSession"]["applicationId"] = APPLICATION_ID
    assert response.get_json() == expected
    assert store.get(APPLICATION_ID, NEW_ID) is None


def test_an_example_without_a_code_is_looked_up_in_the_200_response(
    app: Flask, client: FlaskClient
) -> None:
    response = send(client, "GET", "example=closedSession")
    assert response.status_code == 200
    assert response.get_json()["customerSession"]["state"] == "closed"


@pytest.mark.parametrize(
    ("method", "prefer", "parameter", "named"),
    [
        ("GET", "code=409", "Prefer", "409"),
        ("PUT", "code=404", "Prefer", "404"),
        ("PUT", "code=503", "Prefer", "503"),
        ("GET", "code=200, example=nope", "Prefer", "'nope'"),
        ("PUT", "code=409, example=openCart", "Prefer", "'openCart'"),
    ],
    ids=["get-409", "put-404", "put-503", "unknown-example", "example-of-other-status"],
)
def test_what_the_contract_lacks_is_a_404_naming_it(
    client: FlaskClient, store: SessionStore, method: str, prefer: str, parameter: str, named: str
) -> None:
    response = send(client, method, prefer)
    assert response.status_code == 404
    body = response.get_json()
    assert body["errors"][0]["source"] == {"parameter": parameter}
    assert named in body["errors"][0]["details"]
    assert store.get(APPLICATION_ID, NEW_ID) is None


def test_query_twins_select_like_the_header_and_the_header_wins(client: FlaskClient) -> None:
    by_query = client.get(session_url(NEW_ID) + "?__code=404", headers=AUTH)
    assert by_query.status_code == 404
    assert by_query.get_json()["message"] == "Customer session not found"
    both = client.get(
        session_url(NEW_ID) + "?__code=404&__example=sessionNotFound",
        headers={**AUTH, "Prefer": "code=401"},
    )
    # code from the header, example from the query: 401 has no example of that name.
    assert both.status_code == 404
    assert both.get_json()["errors"][0]["source"] == {"parameter": "__example"}


@pytest.mark.parametrize("status", [400, 401, 404, 409])
def test_a_forced_error_never_changes_the_store(
    client: FlaskClient, store: SessionStore, status: int
) -> None:
    # Given a stored session
    assert (
        client.put(session_url("kept"), json=cart_body(profileId="p"), headers=AUTH).status_code
        == 200
    )
    before = store.get(APPLICATION_ID, "kept")
    # When an update that would change it is answered with a forced status
    method_has_status = status != 404
    response = client.put(
        session_url("kept"),
        json=cart_body(profileId="other", state="closed"),
        headers={**AUTH, "Prefer": f"code={status}"},
    )
    # Then the answer is that status (or 404: PUT documents no 404) and nothing changed
    assert response.status_code == (status if method_has_status else 404)
    assert response.get_json()["errors"]
    assert store.get(APPLICATION_ID, "kept") == before


def test_dynamic_bodies_follow_the_seed_and_the_application(client: FlaskClient) -> None:
    first = send(client, "GET", "dynamic=true, seed=5").get_json()
    again = send(client, "GET", "dynamic=true, seed=5").get_json()
    other = send(client, "GET", "dynamic=true, seed=6").get_json()
    assert first == again
    assert first != other
    assert first["customerSession"]["integrationId"] == NEW_ID
    assert first["customerSession"]["applicationId"] == APPLICATION_ID


def test_a_dynamic_put_answers_a_generated_state_and_stores_nothing(
    client: FlaskClient, store: SessionStore
) -> None:
    response = send(client, "PUT", "dynamic=true")
    assert response.status_code == 200
    assert response.get_json()["customerSession"]["integrationId"] == NEW_ID
    assert store.get(APPLICATION_ID, NEW_ID) is None


def test_static_mode_answers_the_first_example(app: Flask, client: FlaskClient) -> None:
    response = send(client, "GET", "code=400, dynamic=false")
    assert response.get_json() == example(app, "GET", 400, "invalidTransition")


def test_a_forced_code_answers_only_requests_that_pass_auth_and_validation(
    client: FlaskClient,
) -> None:
    no_key = client.get(session_url(NEW_ID), headers={"Prefer": "code=200, example=openCart"})
    assert no_key.status_code == 401
    invalid = client.put(
        session_url(NEW_ID),
        json={"customerSession": {"cartItems": [{"name": "x"}]}},
        headers={**AUTH, "Prefer": "code=409"},
    )
    assert invalid.status_code == 400
    assert invalid.get_json()["errors"][0]["source"]["pointer"].startswith(
        "/customerSession/cartItems/0"
    )


def test_faults_need_a_socket_and_say_so_in_process(client: FlaskClient) -> None:
    response = client.get(session_url(NEW_ID), headers={**AUTH, "Prefer": "fault=empty"})
    assert response.status_code == 501
    assert response.get_json()["errors"][0]["source"] == {"parameter": "Prefer"}


def test_a_code_alone_answers_the_first_example_as_prism_does(
    app: Flask, client: FlaskClient
) -> None:
    static = send(client, "GET", "code=404")
    assert static.get_json() == example(app, "GET", 404, "sessionNotFound")
    first_200 = send(client, "GET", "code=200").get_json()
    assert first_200["customerSession"]["integrationId"] == "cart-7f3a-0001"


def test_a_dynamic_error_names_the_session_asked_for(client: FlaskClient) -> None:
    response = send(client, "PUT", "code=409, dynamic=true")
    assert response.status_code == 409
    assert NEW_ID in response.get_json()["errors"][0]["details"]


PREFERENCE_NAMES = st.sampled_from(["code", "example", "dynamic", "seed", "delay", "fault", "x"])
PREFERENCE_VALUES = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["true", "false", "openCart", "sessionNotFound", "", "0.5s", "-1"]),
    st.text(
        st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=",;="), max_size=8
    ),
)


@pytest.mark.parametrize(
    ("prefer", "status"),
    [("code=404", 404), ("example=openCart", 200), ("dynamic=true", 200), ("code=409", 404)],
)
def test_head_follows_the_get_operation(client: FlaskClient, prefer: str, status: int) -> None:
    response = client.head(session_url(NEW_ID), headers={**AUTH, "Prefer": prefer})
    assert response.status_code == status
    assert response.get_data() == b""


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["GET", "PUT", "HEAD"]),
    preferences=st.lists(st.tuples(PREFERENCE_NAMES, PREFERENCE_VALUES), max_size=4),
    as_query=st.booleans(),
)
def test_no_preference_makes_the_mock_fail(
    client: FlaskClient, method: str, preferences: list[tuple[str, str]], as_query: bool
) -> None:
    preferences = [(name, value) for name, value in preferences if name != "delay" or value == "0"]
    preferences = [(name, value) for name, value in preferences if name != "fault"]
    headers = dict(AUTH)
    query = ""
    if as_query:
        query = "?" + "&".join(f"__{name}={quote(value)}" for name, value in preferences)
    else:
        headers["Prefer"] = ", ".join(f"{name}={value}" for name, value in preferences)
    body = cart_body(profileId="p") if method == "PUT" else None
    response = client.open(session_url("fuzz") + query, method=method, json=body, headers=headers)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.is_json or method == "HEAD"
