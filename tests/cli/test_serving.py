"""The threaded server's own parts: requests counted until their last byte, JSON protocol errors."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from mock_server.cli.serving import InFlightRequests
from mock_server.http.errors import protocol_error_body


def _answer(pieces: list[bytes]) -> Any:
    def app(_environ: Any, start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [])
        return pieces

    return app


def test_a_request_is_done_once_its_last_byte_is_written_not_when_closed() -> None:
    tracker = InFlightRequests(_answer([b"a", b"b"]))
    body = tracker({}, lambda *_args: None)
    assert tracker.count == 1
    pieces = iter(body)
    assert next(pieces) == b"a" and tracker.count == 1
    assert next(pieces) == b"b" and tracker.count == 1  # not written yet
    assert list(pieces) == [] and tracker.count == 0  # asked for more: the last was written
    body.close()  # type: ignore[attr-defined]
    assert tracker.count == 0  # counted once


def test_an_answer_closed_before_its_end_is_done_too() -> None:
    tracker = InFlightRequests(_answer([b"a", b"b"]))
    body = tracker({}, lambda *_args: None)
    next(iter(body))
    body.close()  # type: ignore[attr-defined]
    assert tracker.wait_idle(0)


def test_a_protocol_error_is_an_error_response() -> None:
    document = json.loads(protocol_error_body(414, "URI is too long."))
    assert document == {
        "message": "Request-URI Too Long",
        "errors": [
            {
                "title": "Request-URI Too Long",
                "details": "URI is too long.",
                "source": {"parameter": "path"},
            }
        ],
    }
