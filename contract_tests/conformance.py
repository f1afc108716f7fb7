"""The contract's checks over real traffic: one request and its answer at a time.

The same checks as everywhere, reused, never copied: requests and answers against
openapi.yaml with the contract layer's validator (`mock_server.contract`), the business rules
of the harness on every answer (`rules.py`), and the rules across calls (`history.py`),
tracked per session. The live proxy and `verify-traffic` both check through `TrafficChecker`.

A check that cannot decide is no violation: bodies too large to read, encodings that cannot be
decoded, and sessions whose calls overlapped (so their order is unknown) are skipped and said so.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import orjson
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import get_path_info

from contract_tests.exchange import Exchange
from contract_tests.history import SessionHistory
from contract_tests.rules import SESSION_PROPERTIES, error_response_problems, session_problems
from contract_tests.violations import Violation
from mock_server.contract.compiled import contract_validator
from mock_server.contract.openapi import ResponseProblem, query_flag
from mock_server.contract.spec import load_spec
from mock_server.core.errors import ApiError, ErrorItem
from mock_server.http.api import SESSION_PATH, SessionIdConverter
from mock_server.wire.documents import UNPARSED

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from mock_server.contract.spec import Spec

# HEAD is the GET operation without its body; OPTIONS (CORS preflights) is no operation.
CHECKED_METHODS: Final = frozenset({"GET", "HEAD", "PUT"})
UNCHECKED_METHODS: Final = frozenset({"OPTIONS"})
_PROBLEM_CHECKS: Final = {
    "status": "status_code_conformance",
    "content-type": "content_type_conformance",
    "body": "response_schema_conformance",
}
# Flask's `<converter:name>` rule syntax, turned into openapi.yaml's `{name}`.
_RULE_PARAMETER: Final = re.compile(r"<(?:\w+:)?(\w+)>")
# Sessions whose history is kept; beyond, the least recently seen are forgotten.
MAX_TRACKED_SESSIONS: Final = 100_000


class CheckResponse(Response):
    """An answer as the validator reads it: no Content-Type unless the answer had one."""

    default_mimetype = None


@dataclass
class Routed:
    """A request routed as the mock routes it, ready for the validator."""

    request: Request
    template: str
    operation_id: str | None  # None: a path of the contract, but no operation of it
    session_id: str
    document: Any  # the body parsed as JSON, or UNPARSED


@dataclass(eq=False)
class _Ticket:
    key: tuple[str, str]
    overlapped: bool = False


@dataclass
class _InFlight:
    lock: threading.Lock = field(default_factory=threading.Lock)
    tickets: dict[tuple[str, str], list[_Ticket]] = field(default_factory=dict)


def client_key(authorization: str | None) -> str:
    """Who is asking, without keeping the API key itself: a digest of the header."""
    if not authorization:
        return ""
    return hashlib.sha256(authorization.encode("utf-8", "surrogateescape")).hexdigest()[:24]


def parse_json(raw: bytes) -> Any:
    """A JSON body, or UNPARSED when it is none (the validator then judges the bytes)."""
    if not raw:
        return UNPARSED
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return UNPARSED


def _bare_exchange(key: str, session_id: str) -> Exchange:
    """Just enough of an exchange to name a session of the history."""
    return Exchange("GET", "", session_id, False, {"authorization": key}, None, 0, "", None)


def _pointer_of(message: str) -> str | None:
    """`/customerSession/<name>` when a rule's message starts with a session property."""
    name = message.split(" ", 1)[0]
    return f"/customerSession/{name}" if name in SESSION_PROPERTIES else None


class TrafficChecker:
    """Checks exchanges against openapi.yaml and the rules, remembering sessions across calls."""

    def __init__(
        self,
        spec: Spec | None = None,
        *,
        validator: str = "compiled",
        shared_sessions: bool = False,
        max_sessions: int = MAX_TRACKED_SESSIONS,
    ) -> None:
        self.spec = spec or load_spec()
        self.validator = contract_validator(self.spec, validator)
        self.history = SessionHistory(concurrent=shared_sessions)
        operations = [
            (template, method.upper(), operation)
            for template, item in self.spec.document.get("paths", {}).items()
            for method, operation in item.items()
            if isinstance(operation, dict) and "responses" in operation
        ]
        self._operations = {
            (template, method): str(operation.get("operationId", f"{method} {template}"))
            for template, method, operation in operations
        }
        self._statuses = {
            (template, method): frozenset(str(code) for code in operation["responses"])
            for template, method, operation in operations
        }
        # The mock's own rule and converter: the validator reads the template off the rule.
        self._map = Map(
            [Rule(SESSION_PATH, endpoint="customer_session")],
            converters={"session_id": SessionIdConverter},
            merge_slashes=False,
        )
        # Bound once: matching needs only the path, and a bound adapter only reads.
        self._adapter = self._map.bind("localhost")
        self._in_flight = _InFlight()
        self._tracked: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._max_sessions = max_sessions

    # --- requests ---------------------------------------------------------------------

    def route(self, environ: WSGIEnvironment, body: bytes) -> Routed | None:
        """The request of `environ` with `body`, routed; None off the contract's paths."""
        environ = dict(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("wsgi.input_terminated", None)
        request = Request(environ)
        try:
            rule, arguments = self._adapter.match(get_path_info(environ), return_rule=True)
        except HTTPException:
            return None
        # What a Flask router sets: the validator reads the template and the path parameters.
        request.url_rule = rule  # type: ignore[attr-defined]
        request.view_args = arguments  # type: ignore[attr-defined]
        method = "GET" if request.method == "HEAD" else request.method
        template = _RULE_PARAMETER.sub(r"{\1}", rule.rule)
        operation_id = self._operations.get((template, method))
        document = UNPARSED
        if body and "json" in (request.mimetype or ""):
            document = parse_json(body)
        session_id = str(arguments["customerSessionId"])
        return Routed(request, template, operation_id, session_id, document)

    def request_violations(self, routed: Routed) -> tuple[list[Violation], ApiError | None]:
        """What the request breaks of openapi.yaml, and the error the mock would answer."""
        request = routed.request
        if request.method in UNCHECKED_METHODS:
            return [], None
        if routed.operation_id is None:
            allowed = sorted(
                method for template, method in self._operations if template == routed.template
            )
            message = (
                f"{request.method} is no operation of {routed.template} in openapi.yaml "
                f"({' and '.join(allowed)} are)"
            )
            error = ApiError(
                405,
                "Method Not Allowed",
                [ErrorItem("Method Not Allowed", message, parameter="method")],
            )
            return [
                Violation("request_schema_conformance", message, "request", parameter="method")
            ], error
        try:
            self.validator.check_request(request, routed.document)
        except ApiError as error:
            if error.status == 401:
                found = [
                    Violation(
                        "request_schema_conformance",
                        "no API key: the operation needs 'Authorization: ApiKey-v1 <key>'",
                        "request",
                        parameter="Authorization",
                    )
                ]
            else:
                found = [
                    Violation(
                        "request_schema_conformance",
                        item.details or item.title,
                        "request",
                        pointer=item.pointer,
                        parameter=item.parameter,
                    )
                    for item in error.errors
                ] or [Violation("request_schema_conformance", error.message, "request")]
            # openapi-core may name one problem once per schema that reaches it.
            return list(dict.fromkeys(found)), error
        return [], None

    # --- answers ----------------------------------------------------------------------

    def response_violations(
        self,
        routed: Routed,
        status: int,
        headers: Mapping[str, str] | list[tuple[str, str]],
        body: bytes,
        *,
        remember: bool = True,
        overlapped: bool = False,
    ) -> list[Violation]:
        """What an answer breaks: openapi.yaml, the rules of sessions and the rules across calls.

        Args:
            remember: take the answer into the sessions' history (False for answers that did
                not come from the server under test, such as a fallback's).
            overlapped: another call of the same session was in flight at the same time, so
                the order of the two is unknown: the session's history is forgotten instead.
        """
        request = routed.request
        if request.method not in CHECKED_METHODS or routed.operation_id is None:
            return []
        response = CheckResponse(body, status=status, headers=headers)
        response.headers.pop("Content-Encoding", None)  # `body` is decoded already
        document = UNPARSED
        if request.method != "HEAD" and "json" in (response.mimetype or ""):
            document = parse_json(body)
        found = list(
            dict.fromkeys(
                Violation(
                    _PROBLEM_CHECKS[problem.kind],
                    problem.message,
                    "response",
                    pointer=problem.pointer,
                    parameter=problem.parameter,
                )
                for problem in self._response_problems(routed, response, document)
            )
        )
        answer = None if document is UNPARSED else document
        if 400 <= status < 500 and not found and answer is not None:
            for problem in error_response_problems(answer):
                found.append(Violation("error_response_well_formed", problem, "response"))
        session = answer.get("customerSession") if isinstance(answer, dict) else None
        if status == 200 and isinstance(session, dict):
            for problem in session_problems(session, routed.session_id):
                found.append(
                    Violation("session_rules", problem, "response", pointer=_pointer_of(problem))
                )
        if remember:
            exchange = self._exchange(routed, status, response.mimetype or "", answer)
            if overlapped or exchange is None:
                self.forget(routed)
            else:
                self._track(exchange)
                for problem in self.history.observe(exchange):
                    found.append(
                        Violation(
                            "session_history", problem, "response", pointer=_pointer_of(problem)
                        )
                    )
        return found

    def _response_problems(
        self, routed: Routed, response: Response, document: Any
    ) -> list[ResponseProblem]:
        if routed.request.method != "HEAD":
            return self.validator.response_problems(routed.request, response, document)
        # A HEAD answer has no body: only its status is the contract's business.
        documented = self._statuses.get((routed.template, "GET"), frozenset())
        status = str(response.status_code)
        if status in documented or f"{status[0]}XX" in documented or "default" in documented:
            return []
        listed = ", ".join(sorted(documented))
        message = f"{status} is not an answer the operation documents ({listed})"
        return [ResponseProblem("status", message)]

    def forget(self, routed: Routed) -> None:
        """Drop what is known of a routed request's session (its answer is unknown)."""
        key = client_key(routed.request.headers.get("Authorization"))
        self.history.forget(_bare_exchange(key, routed.session_id))

    def _exchange(
        self, routed: Routed, status: int, content_type: str, answer: Any
    ) -> Exchange | None:
        """The harness's view of the exchange; None when it cannot tell a dry run."""
        request = routed.request
        sent = None if routed.document is UNPARSED else routed.document
        try:
            # Read as the validator (and so the server) reads it: "1" and "yes" are true too.
            dry = query_flag(request, "dry")
        except ValueError:
            return None
        return Exchange(
            method="GET" if request.method == "HEAD" else request.method,
            url=request.path,  # werkzeug's full `url` costs more than every rule here
            session_id=routed.session_id,
            dry=dry,
            request_headers={"authorization": client_key(request.headers.get("Authorization"))},
            sent=sent,
            status=status,
            content_type=content_type,
            answer=answer,
        )

    def _track(self, exchange: Exchange) -> None:
        """Keep the history of at most `max_sessions` sessions, forgetting the oldest."""
        key = (exchange.client_key, exchange.session_id or "")
        with self._in_flight.lock:
            self._tracked[key] = None
            self._tracked.move_to_end(key)
            evicted = []
            while len(self._tracked) > self._max_sessions:
                evicted.append(self._tracked.popitem(last=False)[0])
        for client, session_id in evicted:
            self.history.forget(_bare_exchange(client, session_id))

    # --- overlapping calls ----------------------------------------------------------

    @contextmanager
    def in_flight(self, routed: Routed) -> Iterator[_Ticket]:
        """Mark a call of a session as in flight; its ticket says if another one overlapped."""
        key = (client_key(routed.request.headers.get("Authorization")), routed.session_id)
        ticket = _Ticket(key)
        state = self._in_flight
        with state.lock:
            others = state.tickets.setdefault(key, [])
            if others:
                ticket.overlapped = True
                for other in others:
                    other.overlapped = True
            others.append(ticket)
        try:
            yield ticket
        finally:
            with state.lock:
                others = state.tickets.get(key, [])
                if ticket in others:
                    others.remove(ticket)
                if not others:
                    state.tickets.pop(key, None)
