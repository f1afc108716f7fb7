"""The last step of every request: hold the answer for its delay, or break the connection.

A WSGI middleware around the Flask app. The app decides (in the request's `Exchange`) how long
to delay the answer and which fault to inject; this module carries it out, in this order:
run the app, sleep the delay, release what the request held (its in-flight mark), write the
journal entry and the access-log line, then hand the answer over or inject the fault. Delays
happen before the answer is handed to the server, so a PUT's in-flight mark covers them too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mock_server.http.exchange import Exchange, exchange_of
from mock_server.http.journal import (
    MAX_SCENARIO_CHARS,
    MAX_SESSION_ID_CHARS,
    JournalEntry,
    RequestJournal,
    clipped,
    journaled_problems,
    printable,
)
from mock_server.play.faults import client_socket, inject_fault

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

UNJOURNALED_PREFIX = "/__admin"
access_log = logging.getLogger("mock_server.access")


class Delivery:
    """WSGI middleware: delays, faults, the journal and the access log."""

    def __init__(
        self,
        app: WSGIApplication,
        journal: RequestJournal,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.app = app
        self.journal = journal
        self.sleep = sleep

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        entry = JournalEntry(
            time=datetime.now(UTC),
            method=environ.get("REQUEST_METHOD", ""),
            path=environ.get("PATH_INFO", ""),
            query=environ.get("QUERY_STRING", ""),
        )
        exchange = exchange_of(environ)
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured[:] = [status, headers, exc_info]
            return lambda _data: None  # Flask never uses the legacy write callable

        try:
            body = self.app(environ, capture)
            if exchange.delay_ms > 0:
                self.sleep(exchange.delay_ms / 1000)
        finally:
            exchange.answered()
        sock = client_socket(environ) if exchange.fault is not None else None
        status = str(captured[0]) if captured else "500 INTERNAL SERVER ERROR"
        # A faulted request has no status: the client never gets one.
        entry.status = 0 if sock is not None else int(status.split(" ", 1)[0])
        self._finish(entry, exchange, started)
        if sock is not None and exchange.fault is not None:
            if hasattr(body, "close"):
                body.close()
            inject_fault(sock, exchange.fault)
        start_response(*captured)
        return body

    def _finish(self, entry: JournalEntry, exchange: Exchange, started: float) -> None:
        entry.latency_ms = (time.perf_counter() - started) * 1000
        entry.delay_ms = exchange.delay_ms
        session_id, played = exchange.session_id, exchange.played
        entry.session_id = None if session_id is None else clipped(session_id, MAX_SESSION_ID_CHARS)
        entry.application_id = exchange.application_id
        entry.scenario = None if played is None else clipped(played, MAX_SCENARIO_CHARS)
        entry.fault = exchange.fault
        entry.problems = journaled_problems(exchange.problems)
        entry.request_headers = exchange.request_headers
        entry.request_headers_omitted = exchange.request_headers_omitted
        entry.request_body = exchange.request_body
        entry.request_body_size = exchange.request_body_size
        entry.response_headers = exchange.response_headers
        entry.response_body = exchange.response_body
        entry.response_body_size = exchange.response_body_size
        if entry.path.startswith(UNJOURNALED_PREFIX):
            return
        self.journal.record(entry)
        if not access_log.isEnabledFor(logging.INFO):
            return  # building the line costs more than the rest of the bookkeeping
        # What the client chose (method, path, id, preferences) is escaped: a text log line is
        # one line. The problems are written as a repr, escaped already.
        access_log.info(
            "%s %s %s %.1fms%s%s%s",
            printable(entry.method),
            printable(entry.path),
            f"fault={entry.fault}" if entry.fault else entry.status,
            entry.latency_ms,
            f" session={printable(entry.session_id)}" if entry.session_id else "",
            f" scenario={printable(entry.scenario)}" if entry.scenario else "",
            f" problems={'; '.join(map(str, entry.problems))!r}" if entry.problems else "",
            extra={"entry": entry},  # formatted only by a JSON log formatter
        )
