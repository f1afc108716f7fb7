"""Issue items 3 and 4: a store that fails under the mock (Redis killed, a read-only SQLite file).

Goal: "every answer JSON, whatever fails underneath (store errors are 503 `ErrorResponse`
without internal addresses, marks released on every path)".
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.hostile.support import (
    API_KEY,
    AUTH,
    JSON_BODY,
    MockServer,
    RedisServer,
    ServerExited,
    next_number,
    require,
    session_path,
)

StartMock = Callable[..., MockServer]


def _assert_store_error(answer: requests.Response, redis: RedisServer | None = None) -> None:
    """503 `ErrorResponse`, naming no address of the store."""
    kind = answer.headers.get("Content-Type", "")
    assert kind.startswith("application/json"), f"{answer.status_code} {kind}: {answer.text[:200]}"
    document = answer.json()
    assert isinstance(document.get("message"), str) and isinstance(document.get("errors"), list)
    assert answer.status_code == 503, f"{answer.status_code}: {answer.text[:300]}"
    if redis is not None:
        assert f":{redis.port}" not in answer.text, f"the store's address leaks: {answer.text}"


def _redis_mock(start_mock: StartMock, redis: RedisServer) -> MockServer:
    return start_mock("--store", redis.url, "--preload", "0", "--api-key", f"{API_KEY}=1")


def _put_while_redis_dies(mock: MockServer, redis: RedisServer, integration_id: str) -> Any:
    """A PUT delayed 1.5 s; Redis is SIGKILLed 0.6 s in, after the write, before the answer."""
    result: dict[str, Any] = {}

    def put() -> None:
        try:
            result["answer"] = requests.put(
                mock.url + session_path(integration_id),
                data=json.dumps({"customerSession": {"profileId": "outage"}}),
                headers={**JSON_BODY, "Prefer": "delay=1500"},
                timeout=10,
            )
        except requests.RequestException as exc:
            result["error"] = exc

    thread = threading.Thread(target=put)
    thread.start()
    time.sleep(0.6)
    redis.kill()
    thread.join(12)
    require("answer" in result, f"no answer to the PUT: {result.get('error')!r}")
    return result["answer"]


def test_store_dying_during_a_delayed_put_still_answers_json(
    start_mock: StartMock, redis_server: RedisServer
) -> None:
    """Desired: a JSON answer (200: the write was committed, or 503), never HTML."""
    mock = _redis_mock(start_mock, redis_server)
    answer = _put_while_redis_dies(mock, redis_server, "dies-in-flight")
    kind = answer.headers.get("Content-Type", "")
    assert kind.startswith("application/json"), f"{answer.status_code} {kind}: {answer.text[:120]}"
    assert answer.status_code in (200, 503), answer.text[:300]


def test_mark_of_an_interrupted_put_does_not_outlive_the_outage(
    start_mock: StartMock, redis_server: RedisServer
) -> None:
    """Desired: once Redis is back, the session takes updates again (no 409 for minutes)."""
    mock = _redis_mock(start_mock, redis_server)
    _put_while_redis_dies(mock, redis_server, "mark-outlives")
    redis_server.start()  # same port, same append-only file
    stored = requests.get(mock.url + session_path("mark-outlives"), headers=AUTH, timeout=10)
    require(stored.status_code == 200, "the interrupted write was not committed")
    require(stored.json()["customerSession"]["profileId"] == "outage", stored.text)
    time.sleep(1.0)  # any release retried in the background has had its chance
    answer = requests.put(
        mock.url + session_path("mark-outlives"),
        data=json.dumps({"customerSession": {"state": "closed"}}),
        headers=JSON_BODY,
        timeout=10,
    )
    assert answer.status_code == 200, f"{answer.status_code}: {answer.text[:200]}"


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_store_outage_between_requests_is_a_503_without_addresses(
    start_mock: StartMock, redis_server: RedisServer, method: str
) -> None:
    """Desired: 503 `ErrorResponse` that does not name the store's host and port."""
    mock = _redis_mock(start_mock, redis_server)
    redis_server.kill()
    answer = requests.request(
        method,
        mock.url + session_path("outage-between"),
        data=json.dumps({"customerSession": {}}) if method == "PUT" else None,
        headers=JSON_BODY,
        timeout=15,
    )
    _assert_store_error(answer, redis_server)


# ----------------------------------------------------------------------------- read-only SQLite


def _make_read_only(path: Path) -> Callable[[], None]:
    """Make a file unwritable, even for root; return the undo. Skips where impossible."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        return lambda: path.chmod(mode)
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("running as root without chattr: cannot make a file read-only")
    done = subprocess.run([chattr, "+i", str(path)], capture_output=True, timeout=10)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not supported here: {done.stderr.decode().strip()}")
    return lambda: subprocess.run([chattr, "-i", str(path)], capture_output=True, timeout=10)


@pytest.fixture(scope="module")
def store_template(serve_cli: str, hostile_tmp: Path) -> Path:
    """A SQLite store file with its tables and no sessions, made once by `serve` itself."""
    folder = hostile_tmp / f"store-template-{next_number()}"
    folder.mkdir()
    path = folder / "sessions.db"
    creator = MockServer(["--store", f"sqlite:///{path}", "--preload", "0"], folder / "serve.log")
    creator.start()
    try:
        require(creator.terminate(15) is not None, "the store's creator did not stop")
    finally:
        creator.kill()
    return path


@pytest.fixture
def read_only_db(store_template: Path, hostile_tmp: Path) -> Iterator[Path]:
    """A copy of the template store, made read-only."""
    folder = hostile_tmp / f"read-only-{next_number()}"
    folder.mkdir()
    path = folder / store_template.name
    for source in store_template.parent.glob(store_template.name + "*"):
        shutil.copy(source, folder / source.name)
    undo = _make_read_only(path)
    try:
        yield path
    finally:
        undo()


def test_read_only_sqlite_file_ends_start_up_with_a_message(
    start_mock: StartMock, read_only_db: Path
) -> None:
    """Desired: serve refuses to start with one clear line naming the file, no traceback."""
    try:
        server = start_mock("--store", f"sqlite:///{read_only_db}", "--preload", "1")
    except ServerExited as exited:
        assert "Traceback" not in exited.output, exited.output.strip().splitlines()[-1]
        assert exited.returncode != 0
        assert str(read_only_db) in exited.output, exited.output[-500:]
        return
    # Serving a read-only file would do too, if every write answers a 503 ErrorResponse.
    answer = requests.put(
        server.url + session_path("ro"),
        data=json.dumps({"customerSession": {}}),
        headers=JSON_BODY,
        timeout=10,
    )
    _assert_store_error(answer)


def test_read_only_sqlite_file_without_preload_answers_503(
    start_mock: StartMock, read_only_db: Path
) -> None:
    """Desired: refused at start-up (no traceback), or every PUT a 503 `ErrorResponse`."""
    try:
        server = start_mock("--store", f"sqlite:///{read_only_db}", "--preload", "0")
    except ServerExited as exited:
        assert "Traceback" not in exited.output, exited.output.strip().splitlines()[-1]
        return
    answer = requests.put(
        server.url + session_path("ro"),
        data=json.dumps({"customerSession": {}}),
        headers=JSON_BODY,
        timeout=10,
    )
    _assert_store_error(answer)
