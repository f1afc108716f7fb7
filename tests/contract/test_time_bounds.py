"""A run ends in bounded time whatever the server does, and its troubles are errors (exit 2).

Nothing listening, a server that never answers, one that trickles bytes, one too slow for the
budget: none of them may keep a run going, and none is "the server BREAKS the contract".
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from contract_tests.client import RequestsTransport, RequestTimedOut
from contract_tests.engine import bounded_shrinking
from mock_server.cli import main
from tests.contract.stub_servers import (
    API_KEY,
    StallingServer,
    UnusualServer,
    free_port_url,
    serving,
)


def contract(*args: str) -> tuple[int, str, float]:
    started = time.monotonic()
    result = CliRunner().invoke(main, ["contract", "--max-examples", "1", *args])
    return result.exit_code, result.output, time.monotonic() - started


def test_nothing_listening_is_an_error_not_a_verdict(tmp_path: Path) -> None:
    out = tmp_path / "report.json"

    code, output, seconds = contract("--base-url", free_port_url(), "--json-report", str(out))

    assert code == 2, output
    assert "BREAKS" not in output and "cannot reach the server" in output
    document = json.loads(out.read_text())
    assert document["verdict"] == "error" and document["failures"] == []
    assert seconds < 10


@pytest.mark.parametrize("trickle", [False, True], ids=["silent", "trickling"])
def test_a_server_that_never_finishes_an_answer_ends_the_run_in_time(trickle: bool) -> None:
    with StallingServer(trickle=trickle) as server:
        code, output, seconds = contract(
            "--base-url", server.url, "--api-key", API_KEY, "--request-timeout", "0.5",
        )  # fmt: skip

    assert code == 2, output
    assert "BREAKS" not in output
    assert seconds < 8


def test_the_workflows_transport_bounds_the_whole_answer() -> None:
    # requests' timeout bounds each read; one byte every half second would never trip it
    transport = RequestsTransport(timeout=1)
    with StallingServer(trickle=True) as server:
        started = time.monotonic()
        with pytest.raises(RequestTimedOut):
            transport.send("GET", server.url + "/v2/customer_sessions/s", {}, None)
    transport.close()
    assert time.monotonic() - started < 4


class SlowForSchemathesis:
    """A correct server whose answers to Schemathesis (its User-Agent) take `delay` seconds."""

    def __init__(self, delay: float) -> None:
        self.inner = UnusualServer()
        self.delay = delay

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if "schemathesis" in environ.get("HTTP_USER_AGENT", "").lower():
            time.sleep(self.delay)
        return self.inner(environ, start_response)


@pytest.mark.parametrize(
    ("delay", "max_duration", "reason", "limit"),
    [
        # Five requests left unanswered: the server stalls, the run stops long before its budget
        (60, 60, "unanswered within the timeout", 12),
        # Slow but answering: the budget ends the run
        (0.2, 3, "time budget", 3 + 0.5 + 6),
    ],
    ids=["stalled-requests", "budget-spent"],
)
def test_slow_answers_end_in_an_error_report_in_time(
    delay: float, max_duration: int, reason: str, limit: float, tmp_path: Path
) -> None:
    out = tmp_path / "report.json"

    # When Schemathesis' requests stall (or are slow), half a second per request at most
    with serving(SlowForSchemathesis(delay)) as url:
        code, output, seconds = contract(
            "--base-url", url, "--api-key", API_KEY, "--read-only", "--request-timeout", "0.5",
            "--max-duration", str(max_duration), "--json-report", str(out),
        )  # fmt: skip

    # Then the run ends in time, undecided, and says why
    assert code == 2, output
    assert seconds < limit
    document = json.loads(out.read_text())
    assert document["verdict"] == "error" and document["failures"] == []
    assert document["complete"] is False
    assert any(reason in e["message"] for e in document["errors"]), document["errors"]
    # What the workflows saw before is still reported (none failed: the server is correct)
    assert document["workflows"] and all(w["status"] != "fail" for w in document["workflows"])


def test_shrinking_a_failure_is_bounded_while_a_run_lasts() -> None:
    # Hypothesis allows itself 300 s to shrink one failure; a run allows it far less. A
    # Hypothesis release that renames the limit fails here rather than silently in CI.
    from hypothesis.internal.conjecture import engine as conjecture

    before = conjecture.MAX_SHRINKING_SECONDS
    with bounded_shrinking(7):
        assert conjecture.MAX_SHRINKING_SECONDS == 7
    assert conjecture.MAX_SHRINKING_SECONDS == before == 300
