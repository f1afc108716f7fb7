"""Access logs, JSON logs, the global error rate and latency, and their CLI options."""

from __future__ import annotations

import json
import logging

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from mock_server import Settings, create_app
from mock_server.cli import main
from mock_server.core.errors import MockServerError
from mock_server.http.logs import JsonFormatter
from mock_server.http.state import mock_state
from tests.conftest import API_KEY, APPLICATION_ID, AUTH, cart_body, session_url


def test_one_access_line_per_request_names_what_went_wrong(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mock_server.access")
    client.put(session_url("log-1"), json={"customerSession": {"state": "x"}}, headers=AUTH)
    client.get(session_url("log-1"), headers={**AUTH, "Prefer": "code=401"})
    lines = [r for r in caplog.records if r.name == "mock_server.access"]
    assert len(lines) == 2
    first, second = (record.getMessage() for record in lines)
    assert first.startswith("PUT /v2/customer_sessions/log-1 400 ")
    assert "session=log-1" in first
    assert "/customerSession/state" in first
    assert second.startswith("GET /v2/customer_sessions/log-1 401 ")
    assert "scenario=code=401" in second


def test_json_log_lines_carry_the_request_fields(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mock_server.access")
    client.get(session_url("log-2"), headers=AUTH)
    record = next(r for r in caplog.records if r.name == "mock_server.access")
    document = json.loads(JsonFormatter().format(record))
    assert document["method"] == "GET"
    assert document["path"] == "/v2/customer_sessions/log-2"
    assert document["status"] == 404
    assert document["sessionId"] == "log-2"
    assert document["validationErrors"] == [
        "customerSessionId: No customer session with integration id 'log-2'."
    ]
    assert document["level"] == "info"


def test_an_error_rate_of_one_answers_documented_errors_and_stores_nothing() -> None:
    app = create_app(
        Settings(
            store_url="memory://", api_keys={API_KEY: APPLICATION_ID}, preload=0, error_rate=1.0
        )
    )
    client = app.test_client()
    put = client.put(session_url("flaky"), json=cart_body(profileId="p"), headers=AUTH)
    get = client.get(session_url("flaky"), headers=AUTH)
    assert (put.status_code, get.status_code) == (409, 400)
    assert put.get_json()["message"] and get.get_json()["errors"][0]["title"] == "Injected error"
    with app.app_context():
        assert mock_state().service.store.list() == []
        assert [e.scenario for e in mock_state().journal.entries()] == ["error-rate=1"] * 2
    # An explicit scenario wins over the error rate.
    chosen = client.get(session_url("flaky"), headers={**AUTH, "Prefer": "example=openCart"})
    assert chosen.status_code == 200


@pytest.mark.parametrize(
    ("latency", "low", "high"),
    [("30ms", 30, 30), ("1-3ms", 1, 3), ("median=2ms,sigma=0.1", 1, 4)],
    ids=["fixed", "uniform", "lognormal"],
)
def test_global_latency_delays_each_api_answer(latency: str, low: float, high: float) -> None:
    app = create_app(
        Settings(
            store_url="memory://", api_keys={API_KEY: APPLICATION_ID}, preload=0, latency=latency
        )
    )
    client = app.test_client()
    for _ in range(3):
        client.get(session_url("slow"), headers=AUTH)
    client.get("/__admin/requests")
    with app.app_context():
        delays = [entry.delay_ms for entry in mock_state().journal.entries()]
    assert len(delays) == 3
    assert all(low <= delay <= high for delay in delays)


def test_a_request_delay_replaces_the_global_latency(client: FlaskClient) -> None:
    client.get(session_url("d"), headers={**AUTH, "Prefer": "delay=7"})
    entries = client.get("/__admin/requests?limit=1").get_json()["requests"]
    assert entries[0]["delayMs"] == 7


def test_malformed_settings_stop_the_app_with_a_message() -> None:
    with pytest.raises(MockServerError, match="duration"):
        create_app(Settings(store_url="memory://", latency="soon"))
    with pytest.raises(ValueError, match="error_rate"):
        Settings(store_url="memory://", error_rate=1.5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--latency", "soon"], "--latency"),
        (["--error-rate", "2"], "--error-rate"),
        (["--log-format", "xml"], "--log-format"),
    ],
    ids=["latency", "error-rate", "log-format"],
)
def test_serve_refuses_malformed_options(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["serve", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_settings_read_the_new_options_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "CSM_LATENCY": "20-200ms",
            "CSM_ERROR_RATE": "0.05",
            "CSM_PARALLEL_CONFLICTS": "false",
            "CSM_CORS_ORIGINS": "http://a.test, http://b.test",
            "CSM_ADMIN_TOKEN": "t",
            "CSM_JOURNAL_SIZE": "5",
        }
    )
    assert settings.latency == "20-200ms"
    assert settings.error_rate == 0.05
    assert settings.parallel_conflicts is False
    assert settings.cors_origins == ("http://a.test", "http://b.test")
    assert (settings.admin_token, settings.journal_size) == ("t", 5)
