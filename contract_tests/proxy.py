"""The validating proxy: real traffic forwarded to an upstream and checked against the contract.

A thin forwarder around the checks the harness runs (`conformance.TrafficChecker`), one WSGI
app, each request in this order:

    1 admin       /__admin/... is the proxy's own (the mock's admin API, plus /violations)
    2 read        the body, up to --max-check-bytes (beyond: streamed on, and not checked)
    3 route       as the mock routes: SESSION_PATH and its converter; other paths pass unchecked
    4 request     checked against openapi.yaml; --enforce refuses a bad one (the mock's
                  ErrorResponse) before it leaves the machine
    5 forward     to the upstream (httpx, pooled); no answer: 502 (unreachable) or 504
                  (timeout), or the mock's answer with --fallback-on
    6 answer      checked: openapi.yaml, the session rules, the rules across calls; --enforce
                  replaces a bad one with a 502 ErrorResponse naming the violations
    7 deliver     the answer as it came, plus X-Contract-Violations (and the detail header)
    8 account     journal entry, log lines, tally, and the session recorded (--record)
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

from flask import Blueprint, Flask, Response, jsonify
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wsgi import get_input_stream

from contract_tests.client import Sent
from contract_tests.conformance import CHECKED_METHODS, Routed, TrafficChecker
from contract_tests.upstream import (
    Upstream,
    UpstreamAnswer,
    UpstreamError,
    decoded,
    request_headers,
    request_target,
)
from contract_tests.violations import (
    CheckedExchange,
    Tally,
    Violation,
    detail_header,
    journal_violations,
)
from mock_server.contract.spec import load_spec
from mock_server.core.errors import ApiError, ErrorItem
from mock_server.http.admin import allow_local_or_token
from mock_server.http.app import create_app
from mock_server.http.journal import (
    MAX_JOURNAL_BODY,
    JournalEntry,
    RequestJournal,
    header_fields,
    shown_body,
)
from mock_server.http.state import state_of
from mock_server.settings import Settings
from mock_server.wire.codec import dumps_json

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from contract_tests.recording import Recorder

logger = logging.getLogger("contract_tests.proxy")

VIOLATIONS_HEADER: Final = "X-Contract-Violations"
DETAIL_HEADER: Final = "X-Contract-Violations-Detail"
SKIPPED_HEADER: Final = "X-Contract-Check-Skipped"
SOURCE_HEADER: Final = "X-Contract-Source"
ADMIN_PREFIX: Final = "/__admin"
# Request headers the journal, the logs and the curl commands never show.
CREDENTIAL_HEADERS: Final = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key", "x-admin-token"}
)
FILTERED: Final = "[Filtered]"
# Longest header value a journal entry keeps.
MAX_HEADER_VALUE: Final = 1024
FALLBACK_ERRORS: Final = ("unreachable", "timeout")


@dataclass(frozen=True)
class Fallback:
    """When the mock answers instead of the upstream: on these statuses, or on no answer."""

    statuses: frozenset[int] = frozenset()
    errors: frozenset[str] = frozenset()  # "unreachable", "timeout"

    @classmethod
    def parse(cls, text: str) -> Fallback:
        """`501,404,unreachable,timeout`: statuses and kinds of no answer, comma-separated."""
        statuses: set[int] = set()
        errors: set[str] = set()
        for token in (part.strip().lower() for part in text.split(",")):
            if not token:
                continue
            if token in FALLBACK_ERRORS:
                errors.add(token)
            elif token.isdigit() and 100 <= int(token) <= 599:
                statuses.add(int(token))
            else:
                raise ValueError(
                    f"{token!r} is neither a status (100-599) nor one of "
                    f"{', '.join(FALLBACK_ERRORS)}"
                )
        return cls(frozenset(statuses), frozenset(errors))

    def __bool__(self) -> bool:
        return bool(self.statuses or self.errors)

    def describe(self) -> str:
        """The fallback as the command line writes it."""
        return ",".join([*map(str, sorted(self.statuses)), *sorted(self.errors)])


@dataclass(frozen=True)
class ProxyOptions:
    """Everything that shapes one proxy."""

    upstream: str
    enforce: bool = False
    fallback: Fallback = Fallback()
    timeout: float = 30.0
    verify_tls: bool = True
    # Bodies up to this size are read and checked; larger ones are streamed, unchecked.
    max_check_bytes: int = 1024 * 1024
    # Longest value of the detail header (violations beyond it are counted, not listed).
    max_header_bytes: int = 4096
    journal_size: int = 1000
    # Other clients change the same sessions behind the proxy's back: rules that need to
    # see every call of a session are then left out.
    shared_sessions: bool = False
    validator: str = "compiled"


@dataclass
class _Call:
    """One request through the proxy: what it read, found and answered."""

    environ: WSGIEnvironment
    entry: JournalEntry
    started: float
    body: bytes = b""
    complete: bool = True  # the whole body is in `body`
    routed: Routed | None = None
    violations: list[Violation] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    source: str = "upstream"
    checked_status: int | None = None
    upstream_status: int | None = None
    upstream_ms: float | None = None  # until the upstream's status and headers came
    answer_body: bytes | None = None  # the checked (decoded) body of the answer, if read
    answer_headers: list[tuple[str, str]] = field(default_factory=list)
    answer_source: str | None = None  # who sent the answer checked: "upstream" or "mock"

    @property
    def method(self) -> str:
        return str(self.environ.get("REQUEST_METHOD", "GET")).upper()

    @property
    def checked(self) -> bool:
        return self.routed is not None and self.method != "OPTIONS"


class _StreamedBody:
    """A body larger than the check limit: the part read, then the rest as it comes."""

    def __init__(self, head: bytes, answer: UpstreamAnswer, target: str) -> None:
        self._head = head
        self._answer = answer
        self._target = target

    def __iter__(self) -> Iterator[bytes]:
        if self._head:
            yield self._head
        try:
            yield from self._answer.rest()
        except Exception:
            logger.error("the upstream broke off its answer to %s", self._target)
            raise

    def close(self) -> None:
        self._answer.close()


class ContractProxy:
    """The proxy as a WSGI app; `mock` answers /__admin/ and the fallbacks."""

    def __init__(
        self,
        options: ProxyOptions,
        mock: Flask,
        *,
        checker: TrafficChecker | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.options = options
        self.mock = mock
        state = state_of(mock)
        self.checker = checker or TrafficChecker(
            state.spec, validator=options.validator, shared_sessions=options.shared_sessions
        )
        self.upstream = Upstream(
            options.upstream, timeout=options.timeout, verify=options.verify_tls
        )
        self.recorder = recorder
        self.tally = Tally()
        # The admin API of the mock lists this journal: the proxy's entries, not the mock's.
        self.journal = RequestJournal(options.journal_size)
        state.journal = self.journal
        mock.register_blueprint(_admin_blueprint(self.tally))

    def close(self) -> None:
        """Close the upstream's connections, write what the recorder holds, close the store."""
        self.upstream.close()
        if self.recorder is not None:
            self.recorder.flush()
        state_of(self.mock).service.store.close()

    # --- WSGI ---------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            return self.mock(environ, start_response)
        call = _Call(
            environ,
            JournalEntry(
                time=datetime.now(UTC),
                method=str(environ.get("REQUEST_METHOD", "")),
                path=path,
                query=str(environ.get("QUERY_STRING", "")),
            ),
            time.perf_counter(),
        )
        try:
            status, reason, headers, body = self._handle(call)
        except Exception as exc:  # our own bug: an error, never a verdict on the traffic
            logger.exception("the proxy failed on %s %s", call.method, path)
            call.source = "proxy"
            error = ApiError(
                502,
                "The contract proxy failed while handling the request",
                [ErrorItem("Proxy error", f"{type(exc).__name__}: {exc}")],
            )
            status, reason, headers, body = _error_answer(error)
        call.entry.status = status
        headers = self._own_headers(call, headers)
        try:
            self._account(call)
        except Exception:  # the answer is sound; losing its bookkeeping must not lose it
            logger.exception("the proxy could not account for %s %s", call.method, path)
        start_response(f"{status} {reason}", headers)
        return body

    # --- the steps ----------------------------------------------------------------------

    def _handle(self, call: _Call) -> tuple[int, str, list[tuple[str, str]], Iterable[bytes]]:
        options = self.options
        stream = self._read_body(call)
        call.routed = self.checker.route(call.environ, call.body if call.complete else b"")
        refusal = None
        if call.checked and not call.complete:
            call.skipped.append(f"request body over {options.max_check_bytes} bytes")
        elif call.checked:
            found, refusal = self.checker.request_violations(_routed(call))
            call.violations.extend(found)
        if options.enforce and refusal is not None:
            call.source = "proxy"
            self.checker.forget(_routed(call))
            logger.warning("refused %s %s: it breaks openapi.yaml", call.method, call.entry.path)
            return _error_answer(refusal)
        if not call.checked or call.method not in CHECKED_METHODS:
            return self._forward(call, stream)
        routed = _routed(call)
        with self.checker.in_flight(routed) as ticket:
            status, reason, headers, body = self._forward(call, stream, checked=True)
            overlapped = ticket.overlapped
        if call.source == "upstream" and call.answer_body is not None:
            # A request not read whole cannot be compared with its answer: checked alone.
            found = self.checker.response_violations(
                routed,
                status,
                headers,
                call.answer_body,
                remember=call.complete,
                overlapped=overlapped,
            )
            if not call.complete:
                self.checker.forget(routed)
            call.violations.extend(found)
            if options.enforce and found:
                return self._bad_answer(call, found)
            return status, reason, headers, body
        # Unread, or not the upstream's: what the upstream now holds is unknown.
        self.checker.forget(routed)
        if call.source == "mock" and call.answer_body is not None:
            call.violations.extend(
                self.checker.response_violations(
                    routed, status, headers, call.answer_body, remember=False
                )
            )
        return status, reason, headers, body

    def _read_body(self, call: _Call) -> Iterator[bytes] | None:
        """Read up to the check limit; the rest (if any) is left to stream upstream."""
        stream = get_input_stream(call.environ, safe_fallback=True)
        limit = self.options.max_check_bytes
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = stream.read(min(64 * 1024, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        call.body = b"".join(chunks)
        call.entry.request_body = call.body[:MAX_JOURNAL_BODY]
        call.entry.request_body_size = len(call.body)
        if size <= limit:
            return None
        call.complete = False

        def rest() -> Iterator[bytes]:
            yield call.body
            while chunk := stream.read(64 * 1024):
                yield chunk

        return rest()

    def _forward(
        self, call: _Call, stream: Iterator[bytes] | None, *, checked: bool = False
    ) -> tuple[int, str, list[tuple[str, str]], Iterable[bytes]]:
        options = self.options
        environ = call.environ
        target = request_target(environ)
        begun = time.perf_counter()
        try:
            answer = self.upstream.send(
                call.method,
                target,
                request_headers(environ),
                call.body if stream is None else stream,
                content_length=environ.get("CONTENT_LENGTH") or None,
            )
        except UpstreamError as error:
            call.upstream_ms = (time.perf_counter() - begun) * 1000
            return self._no_answer(call, error)
        call.upstream_ms = (time.perf_counter() - begun) * 1000
        call.upstream_status = answer.status
        if answer.status in options.fallback.statuses and call.complete:
            answer.close()
            logger.info(
                "%s %s: the upstream answered %d; the mock answers instead",
                call.method,
                call.entry.path,
                answer.status,
            )
            return self._mock_answer(call)
        call.checked_status = answer.status
        call.answer_headers = answer.headers
        call.answer_source = "upstream"
        reason = answer.reason or _phrase(answer.status)
        try:
            head, whole = answer.read_head(options.max_check_bytes)
        except UpstreamError as error:
            return self._no_answer(call, error)
        if not whole:
            if checked:
                call.skipped.append(f"answer body over {options.max_check_bytes} bytes")
            return answer.status, reason, answer.headers, _StreamedBody(head, answer, target)
        # Read whole: the connection goes back to the pool before the client has the answer.
        answer.close()
        if not checked:
            return answer.status, reason, answer.headers, [head]
        readable, why = decoded(head, answer.header("Content-Encoding"), options.max_check_bytes)
        if readable is None:
            call.skipped.append(why or "answer not readable")
        call.answer_body = readable
        return answer.status, reason, answer.headers, [head]

    def _no_answer(
        self, call: _Call, error: UpstreamError
    ) -> tuple[int, str, list[tuple[str, str]], Iterable[bytes]]:
        if error.kind in self.options.fallback.errors and call.complete:
            logger.warning(
                "%s %s: no answer from the upstream (%s); the mock answers instead",
                call.method,
                call.entry.path,
                error.details,
            )
            return self._mock_answer(call)
        logger.error(
            "%s %s: no answer from %s: %s",
            call.method,
            call.entry.path,
            self.upstream.base_url,
            error.details,
        )
        call.source = "proxy"
        if error.kind == "timeout":
            failure = ApiError(
                504,
                "The upstream did not answer in time",
                [
                    ErrorItem(
                        "Gateway timeout", f"{error.details} (--timeout {self.options.timeout:g}s)"
                    )
                ],
            )
        else:
            failure = ApiError(
                502,
                "The upstream cannot be reached",
                [ErrorItem("Bad gateway", f"{self.upstream.base_url}: {error.details}")],
            )
        return _error_answer(failure)

    def _mock_answer(self, call: _Call) -> tuple[int, str, list[tuple[str, str]], Iterable[bytes]]:
        """The mock's own answer to the request, from its stateful engine."""
        environ = dict(call.environ)
        environ["wsgi.input"] = io.BytesIO(call.body)
        environ["CONTENT_LENGTH"] = str(len(call.body))
        environ.pop("wsgi.input_terminated", None)
        environ.pop("werkzeug.socket", None)  # the mock must not break the client's connection
        captured: list[Any] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured[:] = [status, headers]
            return lambda _data: None

        iterable = self.mock(environ, start)
        try:
            data = b"".join(iterable)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        code, _, reason = str(captured[0]).partition(" ")
        call.source = call.answer_source = "mock"
        call.checked_status = int(code)
        call.answer_headers = list(captured[1])
        call.answer_body = data
        return int(code), reason or _phrase(int(code)), list(captured[1]), [data]

    def _bad_answer(
        self, call: _Call, found: list[Violation]
    ) -> tuple[int, str, list[tuple[str, str]], Iterable[bytes]]:
        """--enforce: the upstream's answer breaks the contract; the client gets a 502."""
        call.source = "proxy"
        logger.warning(
            "replaced the upstream's %s answer to %s %s: it breaks openapi.yaml",
            call.checked_status,
            call.method,
            call.entry.path,
        )
        error = ApiError(
            502,
            f"The upstream's answer ({call.checked_status}) breaks openapi.yaml",
            [
                ErrorItem(violation.check, violation.describe().split("] ", 1)[-1])
                for violation in found
            ],
        )
        return _error_answer(error)

    def _own_headers(self, call: _Call, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        added = list(headers)
        if call.checked:
            added.append((VIOLATIONS_HEADER, str(len(call.violations))))
            if call.violations:
                added.append(
                    (DETAIL_HEADER, detail_header(call.violations, self.options.max_header_bytes))
                )
            if call.skipped:
                text = "; ".join(call.skipped).encode("ascii", "backslashreplace").decode()
                added.append((SKIPPED_HEADER, text[: self.options.max_header_bytes]))
        if call.source != "upstream":
            added.append((SOURCE_HEADER, call.source))
        return added

    # --- accounting ---------------------------------------------------------------------

    def _account(self, call: _Call) -> None:
        entry = call.entry
        entry.latency_ms = (time.perf_counter() - call.started) * 1000
        routed = call.routed
        entry.session_id = routed.session_id if routed is not None else None
        entry.request_headers = _masked_fields(call.environ)
        entry.violations = journal_violations(call.violations)
        answer = call.answer_body
        entry.proxy = {
            "source": call.source,
            "checked": call.checked,
            "operationId": routed.operation_id if routed is not None else None,
            "upstream": self.upstream.base_url,
            "upstreamStatus": call.upstream_status,
            "upstreamMs": round(call.upstream_ms, 3) if call.upstream_ms is not None else None,
            "skipped": list(call.skipped),
            "requestBodyBytes": len(call.body) if call.complete else None,
            "response": {
                "source": call.answer_source,
                "status": call.checked_status,
                "headers": _shown_answer_headers(call.answer_headers),
                "body": shown_body(answer[:MAX_JOURNAL_BODY], len(answer))
                if answer is not None
                else None,
                "bodyBytes": len(answer) if answer is not None else None,
            },
        }
        self.journal.record(entry)
        exchange = CheckedExchange(
            time=entry.time,
            method=call.method,
            path=entry.path,
            query=entry.query,
            operation_id=(routed.operation_id or f"{call.method} {routed.template}")
            if call.checked and routed is not None
            else None,
            status=call.checked_status,
            source=call.source,
            violations=tuple(call.violations),
            skipped=tuple(call.skipped),
            curl=self._curl(call) if call.violations else "",
        )
        self.tally.add(exchange)
        for violation in call.violations:
            logger.warning("%s: %s", exchange.target, violation.describe())
        logger.info(
            "%s %s %d %.1fms%s%s",
            call.method,
            entry.path,
            entry.status,
            entry.latency_ms,
            f" violations={len(call.violations)}" if call.checked else " unchecked",
            f" source={call.source}" if call.source != "upstream" else "",
            extra={"entry": entry},
        )
        if (
            self.recorder is not None
            and routed is not None
            and call.source == "upstream"
            and not call.violations
            and answer is not None
        ):
            self.recorder.observe(routed, call.checked_status, answer)

    def _curl(self, call: _Call) -> str:
        headers = {
            name: (FILTERED if name.lower() in CREDENTIAL_HEADERS else value)
            for name, value in request_headers(call.environ)
        }
        body = call.body[:MAX_JOURNAL_BODY] if call.body else None
        return Sent(
            call.method, self.upstream.url(request_target(call.environ)), headers, body
        ).as_curl()


def _routed(call: _Call) -> Routed:
    assert call.routed is not None
    return call.routed


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _error_answer(error: ApiError) -> tuple[int, str, list[tuple[str, str]], Iterable[bytes]]:
    """An answer the proxy makes itself, as the mock writes errors."""
    data = dumps_json(error.to_body())
    headers = [
        ("Date", formatdate(usegmt=True)),
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(data))),
    ]
    return error.status, _phrase(error.status), headers, [data]


def _shown_answer_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    """The answer's headers as the journal keeps them: cookies filtered, values capped."""
    shown: dict[str, str] = {}
    for name, value in headers[:64]:
        value = FILTERED if name.lower() == "set-cookie" else value[:MAX_HEADER_VALUE]
        shown[name] = f"{shown[name]}, {value}" if name in shown else value
    return shown


def _masked_fields(environ: WSGIEnvironment) -> dict[str, str]:
    """The request's header fields for the journal: every credential filtered out.

    The mock's journal shows the first characters of a key; the proxy's shows none, since
    its keys are real ones.
    """
    fields, _omitted = header_fields(environ)
    for name in list(fields):
        if name.startswith("HTTP_") and name[5:].replace("_", "-").lower() in CREDENTIAL_HEADERS:
            scheme, sep, _ = str(environ.get(name, "")).partition(" ")
            keep_scheme = sep and name == "HTTP_AUTHORIZATION"
            fields[name] = f"{scheme} {FILTERED}" if keep_scheme else FILTERED
    return fields


def _admin_blueprint(tally: Tally) -> Blueprint:
    """`/__admin/violations`: the tally of a running proxy, under the mock's admin rule."""
    blueprint = Blueprint("contract_proxy", __name__, url_prefix=ADMIN_PREFIX)
    blueprint.before_request(allow_local_or_token)

    @blueprint.get("/violations")
    def violations() -> Response:
        return jsonify(tally.to_json())

    @blueprint.delete("/violations")
    def clear_violations() -> Response:
        tally.clear()
        return Response(status=204)

    return blueprint


class _ProxyRequestHandler(WSGIRequestHandler):
    """werkzeug's handler, without the Server and Date headers it adds to every answer.

    An answer passes through with the upstream's own; the proxy's own answers carry a Date.
    """

    def send_response(self, code: int, message: str | None = None) -> None:
        self.log_request(code)
        self.send_response_only(code, message)


def make_proxy_server(host: str, port: int, proxy: ContractProxy) -> BaseWSGIServer:
    """A threaded server for the proxy, adding no header of its own to the answers."""
    return make_server(host, port, proxy, threaded=True, request_handler=_ProxyRequestHandler)


def create_proxy(
    options: ProxyOptions,
    settings: Settings | None = None,
    *,
    recorder: Recorder | None = None,
) -> ContractProxy:
    """A proxy, and the mock behind its admin API and its fallbacks (built from `settings`).

    Without a fallback the mock needs no sessions: an empty store in memory.
    """
    if settings is None:
        settings = Settings(store_url="memory://", preload=0)
    # The mock's own journal stays empty: the proxy keeps the entries (one per exchange).
    mock = create_app(replace(settings, journal_size=0))
    checker = TrafficChecker(
        load_spec(settings.spec_path),
        validator=options.validator,
        shared_sessions=options.shared_sessions,
    )
    return ContractProxy(options, mock, checker=checker, recorder=recorder)
