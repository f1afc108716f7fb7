"""The official SDK through the proxy, and the proxy as its users run it: a command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
import talon_one
from talon_one.rest import ApiException

from tests.proxy.conftest import API_KEY, AUTH, StartProxy, new_id

BIN = Path(sys.executable).parent


def _sdk(url: str) -> talon_one.IntegrationApi:
    configuration = talon_one.Configuration(host=url)
    configuration.api_key["Authorization"] = API_KEY
    configuration.api_key_prefix["Authorization"] = "ApiKey-v1"
    return talon_one.IntegrationApi(talon_one.ApiClient(configuration))


def _sdk_walk(api: talon_one.IntegrationApi, session_id: str) -> list[Any]:
    """Create, update, close and read a session; a refused transition; an unknown session."""
    seen: list[Any] = []
    state = api.update_customer_session_v2(
        session_id,
        talon_one.IntegrationRequest(
            customer_session=talon_one.NewCustomerSessionV2(
                profile_id=session_id + "-customer",
                cart_items=[
                    talon_one.CartItem(name="Mug", sku="SKU-1", quantity=2, price=0.1),
                    talon_one.CartItem(name="Cap", sku="SKU-2", quantity=1, price=0.2),
                ],
                additional_costs={"shipping": talon_one.AdditionalCost(price=4.95)},
            ),
            response_content=["customerSession", "customerProfile"],
        ),
    )
    seen.append(state.customer_session)
    closed = api.update_customer_session_v2(
        session_id,
        talon_one.IntegrationRequest(
            customer_session=talon_one.NewCustomerSessionV2(state="closed"),
            response_content=["customerSession"],
        ),
    )
    seen.append(closed.customer_session)
    seen.append(api.get_customer_session(session_id).customer_session)
    for call in (
        lambda: api.update_customer_session_v2(
            session_id,
            talon_one.IntegrationRequest(
                customer_session=talon_one.NewCustomerSessionV2(state="open")
            ),
        ),
        lambda: api.get_customer_session(session_id + "-unknown"),
    ):
        with pytest.raises(ApiException) as refused:
            call()
        seen.append((refused.value.status, json.loads(refused.value.body)["errors"][0]["title"]))
    return seen


def _comparable(value: Any) -> Any:
    if isinstance(value, tuple):
        return value
    document = value.to_dict()
    for name in ("id", "integration_id", "created", "updated", "profile_id"):
        document.pop(name, None)
    return document


def test_the_official_sdk_works_through_the_proxy_as_directly(
    start_proxy: StartProxy, mock_url: str
) -> None:
    proxied = start_proxy(mock_url)
    direct = _sdk_walk(_sdk(mock_url), new_id("direct"))
    through = _sdk_walk(_sdk(proxied.url), new_id("proxied"))
    assert [_comparable(v) for v in through] == [_comparable(v) for v in direct]
    assert through[0].total == pytest.approx(5.35)
    summary = requests.get(proxied.url + "/__admin/violations", timeout=10).json()
    assert summary["checked"] == 5 and summary["violations"] == 0, summary["recent"]


def test_the_proxy_command_runs_reports_and_stops(mock_url: str, tmp_path: Path) -> None:
    # Given the proxy started as users start it
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    summary = tmp_path / "summary.json"
    process = subprocess.Popen(
        [
            str(BIN / "customer-session-mock"),
            "proxy",
            "--upstream",
            mock_url,
            "--port",
            "0",
            "--json",
            str(summary),
            "--record",
            str(tmp_path / "recorded"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert banner.startswith("customer-session-mock proxy on http://127.0.0.1:"), banner
        url = banner.split(" on ", 1)[1].split(" -> ", 1)[0]
        # When it forwards a request
        answer = requests.put(
            url + "/v2/customer_sessions/" + new_id(),
            json={"customerSession": {"profileId": ""}, "responseContent": ["customerSession"]},
            headers=AUTH,
            timeout=10,
        )
        assert answer.status_code == 200 and answer.headers["X-Contract-Violations"] == "0"
    finally:
        # Then it stops on SIGINT with a summary
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=20)
    assert process.returncode == 0, errors
    assert "1 exchanges checked (0 not an operation of openapi.yaml), 0 with violations" in errors
    assert "Recorded 1 sessions" in errors
    assert json.loads(summary.read_text())["checked"] == 1
    assert API_KEY not in errors


def test_serving_the_mock_imports_neither_the_proxy_nor_its_client(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from mock_server.cli import main\n"
        "import mock_server.cli.serving\n"
        "try:\n"
        "    main(['serve', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('contract_tests', 'httpx') if m in sys.modules))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert shown.stdout.splitlines()[-1] == "[]"
