"""Schemathesis' engine, run within the time budget, its events turned into the report model.

The engine runs in a thread of its own; this module reads its events and stops it when the
budget is spent (Schemathesis checks the stop signal before each request, and every request
has a timeout). Each answer counts towards coverage, each check result towards the check's
tally, each failure becomes a report `Failure` with its request, answer and curl command;
engine errors (network failures, timeouts, crashes) are harness errors, never failures.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, StopReason, events, from_schema

import contract_tests.checks as business_checks
from contract_tests.budget import DEFAULT_REQUEST_TIMEOUT, MAX_TIMEOUTS, Budget
from contract_tests.operations import Operations
from contract_tests.report import Failure, HttpAnswer, HttpRequest, RunRecorder, curl_command

# Schema-valid input may still break a business rule: such a 400 is legitimate when the
# `business_rejection_justified` check confirms the rule; a 400 it cannot explain fails there.
POSITIVE_STATUSES: Final = '["2xx", "3xx", "400", "401", "403", "404", "409", "429"]'
SCHEMATHESIS_CONFIG: Final = """\
[checks.positive_data_acceptance]
expected-statuses = {positive}

[checks.SessionRules]
concurrent = {concurrent}

[output.sanitization]
# Filter credentials but keep `customerSession` bodies readable in reproductions.
keys-to-sanitize = ["authorization", "x-api-key", "api_key", "apikey", "cookie", "set-cookie",
                    "password", "secret", "token"]
sensitive-markers = ["token", "secret", "password", "credential", "authorization", "api-key"]
"""
READ_ONLY_CONFIG: Final = """
[phases.coverage]
# Only the operations of the contract: no DELETE, POST or PATCH probes.
unexpected-methods = []

[phases.stateful]
# The stateful phase follows PUT -> GET links, which dry runs cannot satisfy.
enabled = false
"""
# After the budget is spent: how long the engine may take to notice and stop, beyond the
# request in flight.
STOP_GRACE_SECONDS: Final = 5.0
SHRINK_SECONDS: Final = 20
TESTING_PHASES: Final = ("examples", "coverage", "fuzzing", "stateful")

_READ_ONLY = threading.Event()


class _Counter:
    """A count shared by Schemathesis' worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> None:
        with self._lock:
            self.value += 1


# Requests that got no answer (a timeout, a refused or reset connection), counted as they fail:
# Schemathesis reports them once per scenario, which may be many requests later.
_UNANSWERED = _Counter()


@schemathesis.hook
def after_network_error(context: Any, case: Any, request: Any) -> None:
    """Count a request the server did not answer."""
    _UNANSWERED.add()


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """In read-only runs, every PUT becomes a dry run (the checks then see it as such)."""
    if _READ_ONLY.is_set() and str(case.method).upper() == "PUT":
        case.query = {**(case.query or {}), "dry": "true"}


def schemathesis_config(*, read_only: bool = False, concurrent: bool = False) -> str:
    """The Schemathesis configuration (TOML) that teaches it this API's rules."""
    text = SCHEMATHESIS_CONFIG.format(
        positive=POSITIVE_STATUSES, concurrent="true" if concurrent else "false"
    )
    return text + (READ_ONLY_CONFIG if read_only else "")


@dataclass(frozen=True)
class FuzzSettings:
    """What a Schemathesis run needs to know."""

    spec_path: Path
    headers: Mapping[str, str]
    max_examples: int = 50
    seed: int = 0
    workers: int = 1
    rate_limit: str | None = None
    read_only: bool = False
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT


def _toml(value: str) -> str:
    # A JSON string is a TOML basic string: the same quotes and escapes.
    return json.dumps(value)


def run_config(url: str, settings: FuzzSettings) -> str:
    """The whole configuration of one run (TOML)."""
    headers = ", ".join(
        f"{_toml(name)} = {_toml(value)}" for name, value in settings.headers.items()
    )
    lines = [
        f"base-url = {_toml(url)}",
        f"seed = {settings.seed}",
        f"workers = {settings.workers}",
        f"request-timeout = {settings.request_timeout}",
        'suppress-health-check = ["all"]',
        f"headers = {{ {headers} }}",
    ]
    if settings.rate_limit:
        lines.append(f"rate-limit = {_toml(settings.rate_limit)}")
    lines += [
        "",
        "[generation]",
        f"max-examples = {settings.max_examples}",
        # Reproducible from the seed alone: no examples carried over from earlier runs.
        'database = "none"',
        "",
        "[cache]",
        "enabled = false",
        "",
    ]
    # Read-only runs go to shared environments: other clients may change a session between
    # two of our observations, so cross-call checks compare only in the server's own order.
    concurrent = settings.workers > 1 or settings.read_only
    return "\n".join(lines) + schemathesis_config(
        read_only=settings.read_only, concurrent=concurrent
    )


@contextlib.contextmanager
def bounded_shrinking(seconds: int) -> Iterator[None]:
    """Shrink a failing example for at most `seconds` (Hypothesis allows itself 300)."""
    try:
        from hypothesis.internal.conjecture import engine as conjecture
    except ImportError:  # pragma: no cover - Hypothesis moved it: keep its own limit
        yield
        return
    previous = getattr(conjecture, "MAX_SHRINKING_SECONDS", None)
    if previous is None:  # pragma: no cover
        yield
        return
    conjecture.MAX_SHRINKING_SECONDS = min(previous, seconds)
    try:
        yield
    finally:
        conjecture.MAX_SHRINKING_SECONDS = previous


class _Done:
    pass


def stalled_message(count: int, settings: FuzzSettings | None = None) -> str:
    """Why a run stopped early on a server that does not answer."""
    timeout = f" of {settings.request_timeout:g} s" if settings else ""
    return (
        f"the server left {count} requests unanswered within the timeout{timeout} "
        "(--request-timeout) or dropped them: the run stopped there; what it saw until then "
        "is reported"
    )


@dataclass
class EngineOutcome:
    """How the Schemathesis part of a run ended."""

    completed: bool
    # The engine thread would not stop (a daemon thread: it cannot hold the process).
    abandoned: bool = False


class EventReader:
    """Turns Schemathesis events into the report model."""

    def __init__(self, recorder: RunRecorder, operations: Operations, echo: Any) -> None:
        self.recorder = recorder
        self.operations = operations
        self.echo = echo
        self._phase_requests = 0
        self._phase_failures = 0
        self._phase_started = 0.0
        self.stop_reason: StopReason | None = None

    def handle(self, event: events.EngineEvent) -> None:
        """Take one event into account."""
        if isinstance(event, events.PhaseStarted):
            self._phase_requests = self._phase_failures = 0
            self._phase_started = time.monotonic()
        elif isinstance(event, events.PhaseFinished):
            self._phase_finished(event)
        elif isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
            phase = getattr(event, "phase", None)
            self._scenario(event.recorder, f"Schemathesis {phase or 'fuzz'}")
        elif isinstance(event, events.NonFatalError):
            phase = event.phase.value if event.phase else "run"
            label = f" ({event.label})" if event.label else ""
            self.recorder.error(
                f"Schemathesis {phase}{label}",
                f"{event.info.title}: {event.info.message}".strip(),
                event.info.traceback if event.info.has_useful_traceback else "",
            )
        elif isinstance(event, events.FatalError):
            self.recorder.error(
                "Schemathesis", f"{type(event.exception).__name__}: {event.exception}"
            )
        elif isinstance(event, events.EngineFinished):
            self.stop_reason = event.stop_reason
            for failure in event.failures:
                self._failure(failure, check=type(failure).__name__, source="Schemathesis run")
            if event.stop_reason is StopReason.SERVER_UNAVAILABLE:
                self.recorder.error("Schemathesis", "the server stopped answering; the run stopped")

    def _phase_finished(self, event: events.PhaseFinished) -> None:
        name = event.phase.name.value
        if name not in TESTING_PHASES:
            return
        if event.status == Status.SKIP:
            reason = event.phase.skip_reason
            self.echo(f"  {name:<9} skipped{f' ({reason.value})' if reason else ''}")
            return
        seconds = time.monotonic() - self._phase_started
        self.echo(
            f"  {name:<9} {self._phase_requests} answers, {self._phase_failures} failing "
            f"check result(s), {seconds:.1f} s"
        )

    def _scenario(self, scenario: Any, source: str) -> None:
        for case_id, interaction in scenario.interactions.items():
            response = interaction.response
            node = scenario.cases.get(case_id)
            if response is None or node is None:
                continue
            operation = self.operations.by_label(node.value.operation.label)
            # Method probes (DELETE, PATCH, ...) are not operations of the contract.
            if operation is None or interaction.request.method.upper() != operation.method:
                continue
            self._phase_requests += 1
            self.recorder.saw(
                operation.method,
                interaction.request.uri,
                response.status_code,
                operation_id=operation.operation_id,
            )
        for case_id, nodes in scenario.checks.items():
            for node in nodes:
                if node.status == Status.SUCCESS:
                    self.recorder.passed(node.name, "Schemathesis")
                elif node.status == Status.FAILURE and node.failure_info is not None:
                    self._phase_failures += 1
                    self._failure(
                        node.failure_info.failure,
                        check=node.name,
                        source=source,
                        scenario=scenario,
                        case_id=node.failure_info.failure.case_id or case_id,
                        steps=[step.case_id for step in node.failure_info.steps],
                    )

    def _failure(
        self,
        failure: Any,
        *,
        check: str,
        source: str,
        scenario: Any = None,
        case_id: str | None = None,
        steps: list[str] | None = None,
    ) -> None:
        operation = self.operations.by_label(str(failure.operation or ""))
        request = answer = None
        curls: list[str] = []
        if scenario is not None:
            for step in [*(steps or []), case_id]:
                interaction = scenario.interactions.get(step) if step else None
                if interaction is None:
                    continue
                sent = interaction.request
                headers = {name: values[0] for name, values in sent.headers.items() if values}
                curl = curl_command(sent.method, sent.uri, headers, sent.body)
                if curl not in curls:
                    curls.append(curl)
                if step == case_id:
                    request = HttpRequest.of(sent.method, sent.uri, headers, sent.body)
                    if interaction.response is not None:
                        response = interaction.response
                        content_type = ", ".join(response.headers.get("content-type", []))
                        answer = HttpAnswer.of(response.status_code, content_type, response.content)
        signature = f"{type(failure).__name__}:{getattr(failure, '_unique_key', '')}"
        self.recorder.failed(
            Failure(
                check=check,
                operation_id=operation.operation_id if operation else "",
                message=str(failure.message or failure.title),
                signature=signature,
                source=source,
                title=str(failure.title),
                request=request,
                answer=answer,
                curl="\n".join(curls),
            )
        )

    def drain_notes(self) -> None:
        """Doubts and crashes our checks recorded during the run."""
        doubts, crashes = business_checks.NOTES.drain()
        for doubt, count in doubts.items():
            self.recorder.undecided(doubt.check, "Schemathesis", doubt.message, count)
        for crash in crashes:
            self.recorder.error(
                f"check {crash.check} ({crash.operation})",
                "the check crashed (a bug of the harness, not the server's failure): "
                + crash.error,
                crash.trace,
            )


def run_schemathesis(
    url: str,
    settings: FuzzSettings,
    recorder: RunRecorder,
    operations: Operations,
    budget: Budget,
    echo: Any,
) -> EngineOutcome:
    """Run every Schemathesis phase against `url` within `budget`, recording into `recorder`."""
    business_checks.PROBE_TIMEOUT = settings.request_timeout
    business_checks.NOTES.drain()  # whatever an earlier run in this process left
    reader = EventReader(recorder, operations, echo)
    recorder.source("Schemathesis")
    try:
        config = SchemathesisConfig.from_str(run_config(url, settings))
        schema = schemathesis.openapi.from_path(str(settings.spec_path), config=config)
        stream = from_schema(schema).execute()
    except Exception as exc:  # a configuration or loading problem: ours, not the server's
        recorder.error("Schemathesis", f"could not start: {type(exc).__name__}: {exc}")
        return EngineOutcome(completed=False)

    inbox: queue.Queue[object] = queue.Queue()

    def pump() -> None:
        try:
            for event in stream:
                inbox.put(event)
        except BaseException as exc:  # reported, never lost in a thread
            inbox.put(exc)
        finally:
            inbox.put(_Done())

    if settings.read_only:
        _READ_ONLY.set()
    thread = threading.Thread(target=pump, name="contract-schemathesis", daemon=True)
    unanswered_before = _UNANSWERED.value
    stopping_since: float | None = None
    grace = settings.request_timeout + STOP_GRACE_SECONDS
    try:
        with bounded_shrinking(SHRINK_SECONDS):
            thread.start()
            while True:
                try:
                    item = inbox.get(timeout=0.2)
                except queue.Empty:
                    item = None
                if stopping_since is None and budget.spent:
                    stopping_since = time.monotonic()
                    stream.stop()
                    recorder.stopped_early(
                        f"the time budget of {budget.seconds:g} s (--max-duration) was spent "
                        "before Schemathesis finished; what it saw until then is reported"
                    )
                    echo("  Time budget spent: stopping Schemathesis ...")
                unanswered = recorder.timeouts + _UNANSWERED.value - unanswered_before
                if stopping_since is None and unanswered >= MAX_TIMEOUTS:
                    stopping_since = time.monotonic()
                    stream.stop()
                    recorder.stopped_early(stalled_message(unanswered, settings))
                    echo("  The server stalls: stopping Schemathesis ...")
                if stopping_since is not None and time.monotonic() - stopping_since > grace:
                    recorder.error(
                        "Schemathesis",
                        f"did not stop within {grace:g} s of the end of the time budget",
                    )
                    return EngineOutcome(completed=False, abandoned=True)
                if item is None:
                    continue
                if isinstance(item, _Done):
                    break
                if isinstance(item, BaseException):
                    recorder.error("Schemathesis", f"{type(item).__name__}: {item}")
                    continue
                assert isinstance(item, events.EngineEvent)
                reader.handle(item)
    finally:
        _READ_ONLY.clear()
        reader.drain_notes()
    completed = stopping_since is None and reader.stop_reason is StopReason.COMPLETED
    return EngineOutcome(completed=completed)
