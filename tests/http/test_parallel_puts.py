"""A PUT that arrives while another PUT of the same session is in flight gets 409."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import requests

from mock_server import Settings, create_app
from tests.conftest import API_KEY, APPLICATION_ID, AUTH, LiveServer, serve_in_thread, session_url

SLOW_MS = 2500  # long enough for the probes below to land inside it, even on a busy machine


def admin_session(server: LiveServer, session_id: str) -> requests.Response:
    return requests.get(
        f"{server.url}/__admin/sessions/{session_id}?applicationId={APPLICATION_ID}", timeout=10
    )


def start_slow_put(
    server: LiveServer, session_id: str, attributes: dict[str, str]
) -> tuple[threading.Thread, list[requests.Response]]:
    """A PUT held in flight for SLOW_MS; returns once it has been applied (and is delayed)."""
    answers: list[requests.Response] = []

    def put() -> None:
        answers.append(
            requests.put(
                server.url + session_url(session_id),
                json={"customerSession": {"attributes": attributes}},
                headers={**AUTH, "Prefer": f"delay={SLOW_MS}"},
                timeout=30,
            )
        )

    thread = threading.Thread(target=put)
    thread.start()
    # The update is saved before its delay starts: once the session shows it, the PUT is in
    # flight (bounded wait, no timing assertion).
    for _ in range(2000):  # at most about 10 s
        found = admin_session(server, session_id)
        if found.status_code == 200 and found.json()["attributes"] == attributes:
            return thread, answers
        time.sleep(0.005)
    thread.join()
    pytest.fail("the slow PUT never reached the store")


def test_a_parallel_put_gets_409_and_changes_nothing(
    live_server: LiveServer, http: requests.Session
) -> None:
    # Given a PUT in flight
    thread, answers = start_slow_put(live_server, "busy", {"writer": "first"})
    # When other requests on the same session arrive meanwhile
    parallel = http.put(
        live_server.url + session_url("busy"),
        json={"customerSession": {"attributes": {"writer": "second"}}},
    )
    invalid_parallel = http.put(live_server.url + session_url("busy"), json={"nope": 1})
    read = http.get(live_server.url + session_url("busy"))
    other_session = http.put(
        live_server.url + session_url("calm"), json={"customerSession": {"profileId": "x"}}
    )
    thread.join()
    # Then the parallel PUT is a 409 ErrorResponse; an invalid one is judged first (400: it
    # would never be applied, so it takes no mark); reads and other sessions go on
    assert parallel.status_code == 409
    assert parallel.json()["errors"][0]["source"] == {"parameter": "customerSessionId"}
    assert invalid_parallel.status_code == 400
    assert read.status_code == 200
    assert other_session.status_code == 200
    assert answers[0].status_code == 200
    # and once the first is answered, the next PUT builds on it: no lost or mixed update
    after = http.put(
        live_server.url + session_url("busy"),
        json={"customerSession": {"profileId": "p-2"}, "responseContent": ["customerSession"]},
    )
    assert after.status_code == 200
    session = after.json()["customerSession"]
    assert session["attributes"] == {"writer": "first"}
    assert session["profileId"] == "p-2"


def test_sequential_puts_never_conflict(live_server: LiveServer, http: requests.Session) -> None:
    for index in range(20):
        response = http.put(
            live_server.url + session_url("steady"),
            json={"customerSession": {"attributes": {"n": index}}},
        )
        assert response.status_code == 200, response.text


def test_a_burst_of_puts_is_each_applied_whole_or_refused(
    live_server: LiveServer, http: requests.Session
) -> None:
    url = live_server.url + session_url("burst")
    outcomes: list[tuple[str, int]] = []
    lock = threading.Lock()

    def writer(name: str) -> None:
        with requests.Session() as own:
            for round_ in range(5):
                token = f"{name}-{round_}"
                status = own.put(
                    url,
                    json={"customerSession": {"attributes": {"token": token}}},
                    headers=AUTH,
                    timeout=30,
                ).status_code
                with lock:
                    outcomes.append((token, status))

    threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for _, status in outcomes} <= {200, 409}
    applied = {token for token, status in outcomes if status == 200}
    assert applied
    final = http.get(url).json()["customerSession"]["attributes"]["token"]
    assert final in applied


@pytest.fixture(scope="module")
def permissive_server() -> Iterator[LiveServer]:
    """A mock with parallel-request conflicts turned off."""
    app = create_app(
        Settings(
            store_url="memory://",
            api_keys={API_KEY: APPLICATION_ID},
            preload=0,
            parallel_conflicts=False,
        )
    )
    yield from serve_in_thread(app)


def test_the_setting_turns_conflicts_off(permissive_server: LiveServer) -> None:
    thread, answers = start_slow_put(permissive_server, "shared", {"writer": "first"})
    parallel = requests.put(
        permissive_server.url + session_url("shared"),
        json={"customerSession": {"attributes": {"writer": "second"}}, "responseContent": []},
        headers=AUTH,
        timeout=10,
    )
    thread.join()
    assert parallel.status_code == 200
    assert answers[0].status_code == 200
    stored = admin_session(permissive_server, "shared").json()
    assert stored["attributes"] == {"writer": "second"}
