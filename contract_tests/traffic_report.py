"""Check exchanges from any source (a validating proxy, a recorded log) into the same report.

A proxy forwards a real client's request, gets the server's answer and hands both here as an
`Exchange`; so does a replay of recorded traffic. Each is checked with the rules the contract
run uses (documented status, schema, the business checks, the rules across calls) and lands
in a `RunRecorder`, whose report renders exactly like a contract run's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

import requests

from contract_tests.exchange import Exchange
from contract_tests.operations import Operation, Operations
from contract_tests.report import Failure, HttpAnswer, HttpRequest, RunRecorder, curl_command
from contract_tests.rules import Problem, Verdict
from contract_tests.verdicts import (
    CrossCallRules,
    Probe,
    ProbeFailed,
    error_response,
    session_rules,
)
from mock_server.contract.schemas import CompiledSchema, compile_schema
from mock_server.contract.spec import load_spec


@cache
def _compiled(name: str) -> CompiledSchema:
    return compile_schema(load_spec(), name)


def no_probe(exchange: Exchange) -> tuple[int, dict[str, Any] | None]:
    """A probe for sources that cannot send requests of their own: every check using it doubts."""
    raise ProbeFailed("this source sends no requests of its own")


def http_probe(timeout: float = 10.0) -> Probe:
    """A probe that GETs the session of an exchange at the URL it used, with its credentials."""

    def probe(exchange: Exchange) -> tuple[int, dict[str, Any] | None]:
        headers = {
            name: value
            for name, value in exchange.request_headers.items()
            if name in {"authorization"} or name.startswith("x-")
        }
        try:
            answer = requests.get(exchange.url.split("?", 1)[0], headers=headers, timeout=timeout)
        except requests.RequestException as exc:
            raise ProbeFailed(f"{type(exc).__name__}: {exc}") from None
        try:
            body = answer.json()
        except ValueError:
            return answer.status_code, None
        session = body.get("customerSession") if isinstance(body, dict) else None
        return answer.status_code, session if isinstance(session, dict) else None

    return probe


class TrafficChecker:
    """Checks one exchange at a time and records everything into a `RunRecorder`."""

    def __init__(
        self,
        recorder: RunRecorder,
        *,
        source: str = "traffic",
        probe: Probe = no_probe,
        concurrent: bool = True,
    ) -> None:
        self.recorder = recorder
        self.source = source
        self.probe = probe
        # Real clients run side by side: compare observations in the server's own order.
        self.cross_call = CrossCallRules(concurrent=concurrent)
        recorder.source(source)

    def check(self, exchange: Exchange) -> list[Failure]:
        """Check one exchange; return the failures it adds (the recorder has them too)."""
        operation = self.recorder.operations.of_request(exchange.method, exchange.url)
        if operation is None:
            self.recorder.warn(
                self.source, f"{exchange.method} {exchange.url}: not in the contract"
            )
            return []
        self.recorder.saw(
            exchange.method, exchange.url, exchange.status, operation_id=operation.operation_id
        )
        found: list[Failure] = []
        checks: list[tuple[str, Callable[[], Verdict]]] = [
            ("status_code_conformance", lambda: self._status(operation, exchange)),
            ("response_schema_conformance", lambda: self._schema(operation, exchange)),
            ("totals_add_up", lambda: session_rules(exchange)),
            ("error_response_well_formed", lambda: error_response(exchange)),
            ("SessionRules", lambda: self.cross_call.verdict(exchange, self.probe)),
        ]
        for check, decide in checks:
            try:
                verdict = decide()
            except Exception as exc:  # our bug: an error of the run, not the server's failure
                self.recorder.error(f"check {check}", f"{type(exc).__name__}: {exc}")
                continue
            for doubt in verdict.doubts:
                self.recorder.undecided(check, self.source, doubt)
            if not verdict.problems and not verdict.doubts:
                self.recorder.passed(check, self.source)
            for problem in verdict.problems:
                failure = self._failure(check, operation, exchange, problem.key, problem.message)
                self.recorder.failed(failure)
                found.append(failure)
        return found

    @staticmethod
    def _status(operation: Operation, exchange: Exchange) -> Verdict:
        if exchange.status in operation.statuses:
            return Verdict()
        message = (
            f"{exchange.status} is not documented for {operation.operation_id} "
            f"(documented: {', '.join(map(str, operation.statuses))})"
        )
        return Verdict((Problem(str(exchange.status), message),))

    @staticmethod
    def _schema(operation: Operation, exchange: Exchange) -> Verdict:
        name = operation.schemas.get(exchange.status)
        if name is None:
            return Verdict()
        if exchange.answer is None:
            return Verdict((Problem("not-json", f"the {exchange.status} answer is not JSON"),))
        violations = _compiled(name).violations(exchange.answer)
        if not violations:
            return Verdict()
        pointers = ",".join(sorted({v.pointer for v in violations}))
        message = f"The answer does not match {name}: " + "; ".join(
            f"{v.pointer or '/'}: {v.message}" for v in violations[:5]
        )
        return Verdict((Problem(f"{name}:{pointers}", message),))

    def _failure(
        self, check: str, operation: Operation, exchange: Exchange, key: str, message: str
    ) -> Failure:
        body = json.dumps(exchange.sent, ensure_ascii=False) if exchange.sent is not None else None
        answer = (
            json.dumps(exchange.answer, ensure_ascii=False) if exchange.answer is not None else ""
        )
        return Failure(
            check=check,
            operation_id=operation.operation_id,
            message=message,
            signature=f"{check}:{key}",
            source=self.source,
            title=check,
            request=HttpRequest.of(exchange.method, exchange.url, exchange.request_headers, body),
            answer=HttpAnswer.of(exchange.status, exchange.content_type, answer),
            curl=curl_command(exchange.method, exchange.url, exchange.request_headers, body),
        )


__all__ = ["TrafficChecker", "http_probe", "no_probe", "Operations"]
