"""`customer-session-mock serve` as real processes: restarts, workers, hammering, crashes, stops.

Each test starts the command on a durable store (a SQLite file, or the test run's redis-server)
and talks HTTP to it; nothing inside the server is replaced.
"""

from __future__ import annotations

import json
import multiprocessing
import signal
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from mock_server.cli import main
from mock_server.stores import open_store
from tests.backends.load import hammer
from tests.backends.processes import ServeProcess
from tests.backends.serial_order import Acknowledged, check_serial_order
from tests.conftest import API_KEY, APPLICATION_ID, AUTH, cart_body, session_url

ITEM = {"name": "Mug", "sku": "MUG-1", "quantity": 2, "price": 12.5}
KEY_OPTION = ("--api-key", f"{API_KEY}={APPLICATION_ID}", "--preload", "3")


def put(base_url: str, integration_id: str, **fields: Any) -> dict[str, Any]:
    """PUT an update over HTTP (a new connection); the session of the 200 answer."""
    response = requests.put(
        base_url + session_url(integration_id), json=cart_body(**fields), headers=AUTH, timeout=30
    )
    assert response.status_code == 200, response.text
    session: dict[str, Any] = response.json()["customerSession"]
    return session


def get(base_url: str, integration_id: str) -> requests.Response:
    """GET a session over a new connection."""
    return requests.get(base_url + session_url(integration_id), headers=AUTH, timeout=30)


def test_a_restart_between_put_and_get_keeps_the_session(
    durable_store_url: str, tmp_path: Path
) -> None:
    args = (*KEY_OPTION, "--store", durable_store_url)
    with ServeProcess(*args, log=tmp_path / "first.log") as server:
        made = put(server.url, "restart-1", profileId="p-restart", cartItems=[ITEM])
        server.signal(signal.SIGTERM)
        assert server.wait() == 0

    with ServeProcess(*args, log=tmp_path / "second.log") as server:
        response = get(server.url, "restart-1")
        second = put(server.url, "restart-2", profileId="p-restart")

    assert response.status_code == 200
    assert response.json()["customerSession"] == made
    assert second["firstSession"] is False


def test_ttl_expires_sessions_that_no_put_touched(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    with ServeProcess(*KEY_OPTION, "--store", url, "--ttl", "1", log=tmp_path / "s.log") as server:
        put(server.url, "short-lived", cartItems=[ITEM])
        fresh = get(server.url, "short-lived")
        time.sleep(1.5)  # past the TTL: not a measurement
        expired = get(server.url, "short-lived")
        again = put(server.url, "short-lived", attributes={"back": True})

    assert fresh.status_code == 200
    assert expired.status_code == 404
    assert again["cartItems"] == []  # a new session, not the expired one


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def workers_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServeProcess]:
    """`serve --workers 3` on a shared store, for the tests of this module."""
    folder = tmp_path_factory.mktemp("workers")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'sessions.db'}"
    else:
        url = request.getfixturevalue("redis_url") + "?namespace=workers-test"
        open_store(url).clear()
    args = (*KEY_OPTION, "--store", url, "--workers", "3")
    with ServeProcess(*args, log=folder / "server.log") as server:
        yield server


def _children(pid: int) -> set[int]:
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.add(int(stat.parent.name))
    return children


def _worker_pids(server: ServeProcess, expected: int) -> set[int]:
    """The server's worker processes, once `expected` of them run (gunicorn forks after bind)."""
    assert server.process is not None
    deadline = time.monotonic() + 30
    while len(workers := _children(server.process.pid)) < expected:
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return workers


def test_every_worker_sees_a_put(workers_server: ServeProcess) -> None:
    # Given three workers, and a PUT answered by one of them
    assert len(_worker_pids(workers_server, 3)) == 3
    made = put(workers_server.url, "seen-by-all", profileId="p-all", cartItems=[ITEM])

    # When 30 GETs arrive on 30 new connections, spread over the workers by the kernel
    answers = [get(workers_server.url, "seen-by-all") for _ in range(30)]

    # Then every one of them answers the session as the PUT left it
    assert {a.status_code for a in answers} == {200}
    assert all(a.json()["customerSession"] == made for a in answers)


def test_hammering_one_session_from_processes_and_threads_is_serial(
    workers_server: ServeProcess,
) -> None:
    # Given a session, 3 client processes with 3 threads each, 10 updates per thread
    initial = put(workers_server.url, "hammered", cartItems=[ITEM], attributes={"writer": "0"})
    with multiprocessing.get_context("fork").Pool(3) as pool:
        outcomes = pool.starmap(
            hammer, [(workers_server.url, "hammered", seed, 3, 10) for seed in range(3)]
        )

    # Then each update is acknowledged or refused with 409, and the answers form a serial order
    acknowledged = [Acknowledged(body, session) for acks, _ in outcomes for body, session in acks]
    conflicts = sum(c for _, c in outcomes)
    assert len(acknowledged) + conflicts == 3 * 3 * 10
    assert acknowledged, "no update was acknowledged"
    final = get(workers_server.url, "hammered")
    assert final.status_code == 200
    check_serial_order(initial, acknowledged, final.json()["customerSession"])


def test_a_put_during_a_delayed_put_of_the_session_in_another_worker_is_a_409(
    workers_server: ServeProcess,
) -> None:
    # Given a PUT whose answer is held for 2 s: it keeps its worker busy all along
    url = workers_server.url + session_url("held-in-flight")
    put(workers_server.url, "held-in-flight", cartItems=[ITEM])
    held: list[requests.Response] = []
    delayed = threading.Thread(
        target=lambda: held.append(
            requests.put(
                url,
                json=cart_body(attributes={"writer": "held"}),
                headers={**AUTH, "Prefer": "delay=2000"},
                timeout=30,
            )
        )
    )
    delayed.start()
    time.sleep(0.7)  # let it arrive first: ordering, not a measurement

    # When another PUT of the session arrives meanwhile (another worker takes it)
    parallel = requests.put(
        url, json=cart_body(attributes={"writer": "parallel"}), headers=AUTH, timeout=30
    )
    delayed.join()

    # Then it is refused and changes nothing; the held PUT wins
    assert parallel.status_code == 409, parallel.text
    assert held[0].status_code == 200
    assert get(workers_server.url, "held-in-flight").json()["customerSession"]["attributes"] == {
        "writer": "held"
    }


def test_threads_let_delayed_answers_overlap_within_workers(tmp_path: Path) -> None:
    # Given two workers with four threads each, and six GETs each delayed by one second
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    args = (*KEY_OPTION, "--store", url, "--workers", "2", "--threads", "4")
    with ServeProcess(*args, log=tmp_path / "server.log") as server:
        put(server.url, "slow-read", cartItems=[ITEM])

        def delayed_get() -> tuple[int, float]:
            response = requests.get(
                server.url + session_url("slow-read"),
                headers={**AUTH, "Prefer": "delay=1000"},
                timeout=30,
            )
            return response.status_code, time.monotonic()

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda _: delayed_get(), range(6)))

    # Then all six are answered together: two single-threaded workers would need three
    # rounds of one second each (a bound on concurrency, not a measurement of speed)
    assert [status for status, _ in answers] == [200] * 6
    assert max(done for _, done in answers) - started < 2.5


def test_more_than_one_worker_refuses_a_memory_store() -> None:
    result = CliRunner().invoke(main, ["serve", "--workers", "2", "--store", "memory://"])

    assert result.exit_code == 2
    assert "--workers 2 needs a store that processes share" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--store", "redis://127.0.0.1:1/0"], "cannot reach Redis at redis://127.0.0.1:1/0"),
        (["--store", "memory://", "--ttl", "60"], "--ttl needs a shared store"),
        (["--store", "mysql://db/1"], "unknown store 'mysql://db/1'"),
    ],
    ids=["redis-down", "ttl-on-memory", "unknown-scheme"],
)
def test_serve_refuses_a_store_it_cannot_use(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["serve", "--port", "0", *args])

    assert result.exit_code == 1
    assert message in result.output


@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "two-workers"])
def test_sigkill_under_write_load_loses_no_acknowledged_write(workers: int, tmp_path: Path) -> None:
    # Given writers that create sessions and count up their own counter session
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    server = ServeProcess(
        *KEY_OPTION, "--store", url, "--workers", str(workers), log=tmp_path / "server.log"
    ).start()
    created: dict[str, dict[str, Any]] = {}
    counted: dict[str, int] = {}
    stop = threading.Event()

    def writer(number: int) -> None:
        counter = f"counter-{number}"
        with requests.Session() as http:
            http.headers.update(AUTH)
            for n in range(1, 10_000):
                if stop.is_set():
                    return
                try:
                    made = http.put(
                        server.url + session_url(f"crash-{number}-{n}"),
                        json=cart_body(cartItems=[{**ITEM, "quantity": n}]),
                        timeout=10,
                    )
                    count = http.put(
                        server.url + session_url(counter),
                        json=cart_body(attributes={"n": n}),
                        timeout=10,
                    )
                except requests.RequestException:
                    return  # the server is gone
                if made.status_code == 200:
                    created[f"crash-{number}-{n}"] = made.json()["customerSession"]
                if count.status_code == 200:
                    counted[counter] = n

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()

    # When the server is killed while they write
    deadline = time.monotonic() + 20
    while len(created) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(30)

    # Then a new server on the same file has every acknowledged write
    assert len(created) >= 40
    with ServeProcess(*KEY_OPTION, "--store", url, log=tmp_path / "restart.log") as restarted:
        for integration_id, session in created.items():
            response = get(restarted.url, integration_id)
            assert response.status_code == 200, integration_id
            assert response.json()["customerSession"] == session
        for counter, last in counted.items():
            stored = get(restarted.url, counter).json()["customerSession"]["attributes"]["n"]
            # The request in flight at the kill may have been written without an answer
            assert stored in (last, last + 1), counter


def _send_head_and_part_of_body(port: int, integration_id: str) -> tuple[socket.socket, bytes]:
    body = json.dumps(cart_body(cartItems=[ITEM], attributes={"drained": True})).encode()
    head = (
        f"PUT {session_url(integration_id)} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Authorization: ApiKey-v1 {API_KEY}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    connection = socket.create_connection(("127.0.0.1", port), timeout=30)
    connection.sendall(head + body[:10])
    return connection, body[10:]


def _read_all(connection: socket.socket) -> bytes:
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "two-workers"])
def test_sigterm_answers_the_request_in_flight_before_exiting(workers: int, tmp_path: Path) -> None:
    # Given a PUT whose body is only half sent
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    args = (*KEY_OPTION, "--store", url, "--workers", str(workers))
    with ServeProcess(*args, log=tmp_path / "server.log") as server:
        connection, rest = _send_head_and_part_of_body(server.port, "in-flight")
        time.sleep(0.5)  # sequencing, not a measurement: let the server start on it

        # When the server gets SIGTERM, and only then the rest of the body arrives
        server.signal(signal.SIGTERM)
        time.sleep(0.5)
        connection.sendall(rest)
        answer = _read_all(connection)
        connection.close()

        # Then the request is answered and stored, and the server exits cleanly
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        assert server.wait() == 0
    store = open_store(url)
    stored = store.get(APPLICATION_ID, "in-flight")
    store.close()
    assert stored is not None and stored.session.attributes == {"drained": True}
