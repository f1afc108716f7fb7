"""`serve --fixtures`: the mock starts from fixture files, and their sessions live like any."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from flask.testing import FlaskClient

from mock_server import Settings, create_app
from mock_server.cli import main
from mock_server.contract.sessions import InvalidRecord
from mock_server.fixtures.files import fixture_files, read_records
from mock_server.fixtures.sessions import generate_sessions
from tests.conftest import cart_body, session_url

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
KEY = "fixture-key"
AUTH = {"Authorization": f"ApiKey-v1 {KEY}"}


def committed_documents() -> list[dict[str, object]]:
    return [document for file in fixture_files(FIXTURES) for _, document in read_records(file)]


@pytest.fixture
def fixture_client() -> FlaskClient:
    return create_app(
        Settings(store_url="memory://", api_keys={KEY: 1}, fixtures_path=FIXTURES)
    ).test_client()


def test_every_fixture_session_is_served_as_written(fixture_client: FlaskClient) -> None:
    documents = committed_documents()
    assert len(documents) > 20
    for document in documents:
        response = fixture_client.get(session_url(str(document["integrationId"])), headers=AUTH)
        assert response.status_code == 200
        assert response.get_json()["customerSession"] == document


def test_generated_sessions_are_not_loaded_alongside(fixture_client: FlaskClient) -> None:
    generated = next(iter(generate_sessions(1, 42)))
    response = fixture_client.get(session_url(generated["integrationId"]), headers=AUTH)
    assert response.status_code == 404


def by_state(state: str) -> dict[str, object]:
    return next(d for d in committed_documents() if d["state"] == state and d["cartItems"])


def test_fixture_sessions_follow_the_state_machine(fixture_client: FlaskClient) -> None:
    closed = str(by_state("closed")["integrationId"])
    cancelled = str(by_state("cancelled")["integrationId"])
    reopen = fixture_client.put(session_url(cancelled), json=cart_body(state="open"), headers=AUTH)
    assert reopen.status_code == 400
    assert reopen.get_json()["errors"][0]["source"]["pointer"] == "/customerSession/state"
    cancel = fixture_client.put(
        session_url(closed), json=cart_body(state="cancelled"), headers=AUTH
    )
    assert cancel.status_code == 200
    assert cancel.get_json()["customerSession"]["state"] == "cancelled"
    again = fixture_client.get(session_url(closed), headers=AUTH)
    assert again.get_json()["customerSession"]["state"] == "cancelled"


def test_fixture_sessions_take_updates_and_recompute_totals(fixture_client: FlaskClient) -> None:
    session = by_state("open")
    items = [{"name": "Mug", "sku": "MUG-1", "quantity": 3, "price": 0.1}]
    response = fixture_client.put(
        session_url(str(session["integrationId"])), json=cart_body(cartItems=items), headers=AUTH
    )
    assert response.status_code == 200
    updated = response.get_json()["customerSession"]
    costs = sum(c["price"] for c in session.get("additionalCosts", {}).values())  # type: ignore[attr-defined]
    assert updated["cartItemTotal"] == 0.3
    assert updated["total"] == round(0.3 + costs, 2)
    assert updated["attributes"] == session["attributes"]  # kept: the update did not name them


def test_a_fixture_profiles_next_session_is_not_its_first(fixture_client: FlaskClient) -> None:
    profile = next(d["profileId"] for d in committed_documents() if d["profileId"])
    response = fixture_client.put(
        session_url("brand-new"), json=cart_body(profileId=profile), headers=AUTH
    )
    assert response.get_json()["customerSession"]["firstSession"] is False


def broken_fixture(tmp_path: Path) -> Path:
    documents = list(generate_sessions(4, 1))
    documents[2]["total"] = documents[2]["total"] + 0.01  # type: ignore[operator]
    path = tmp_path / "broken.ndjson"
    path.write_text("".join(json.dumps(d) + "\n" for d in documents), encoding="utf-8")
    return path


def test_a_broken_fixture_file_stops_the_app(tmp_path: Path) -> None:
    path = broken_fixture(tmp_path)
    with pytest.raises(InvalidRecord) as raised:
        create_app(Settings(store_url="memory://", fixtures_path=path))
    assert (raised.value.source, raised.value.index, raised.value.pointer) == (
        str(path),
        3,
        "/total",
    )


def test_serve_refuses_a_broken_fixture_file_with_a_message(tmp_path: Path) -> None:
    path = broken_fixture(tmp_path)
    result = CliRunner().invoke(main, ["serve", "--port", "0", "--fixtures", str(path)])
    assert result.exit_code == 1
    assert f"Error: {path}: record 3 (integrationId '" in result.stderr
    assert "/total: is " in result.stderr


def test_the_environment_can_name_the_fixtures() -> None:
    settings = Settings.from_env({"CSM_FIXTURES_PATH": str(FIXTURES)})
    assert settings.fixtures_path == FIXTURES


def test_the_real_command_serves_fixture_sessions_over_http() -> None:
    # Given a mock started the way users start it
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = str(Path(sys.executable).parent / "customer-session-mock")
    args = ["serve", "--port", "0", "--api-key", KEY, "--fixtures", str(FIXTURES)]
    with subprocess.Popen(
        [command, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    ) as process:
        try:
            assert process.stdout is not None
            banner = "".join(process.stdout.readline() for _ in range(4))
            match = re.search(r"serving (http://127\.0\.0\.1:\d+)", banner)
            assert match, banner
            assert f"fixtures   {FIXTURES}, " in banner
            document = committed_documents()[0]
            # When a client asks for a fixture session
            response = requests.get(
                match.group(1) + session_url(str(document["integrationId"])),
                headers=AUTH,
                timeout=10,
            )
            # Then it gets the session as the file holds it
            assert response.status_code == 200
            assert response.json()["customerSession"] == document
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_fixtures_no_key_can_reach_are_pointed_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "app5.json"
    path.write_text(json.dumps(list(generate_sessions(2, 1, application_id=5))))
    create_app(Settings(store_url="memory://", api_keys={KEY: 5}, fixtures_path=path))
    assert "no API key acts" not in caplog.text
    create_app(Settings(store_url="memory://", fixtures_path=path))
    assert "application(s) 5 are loaded, but no API key acts for them" in caplog.text
