"""`customer-session-mock contract`: workflows, then Schemathesis, then one report.

Against `--base-url` it tests any server; without it, it starts the mock on a free port with
a fresh API key (so that ignored-auth findings mean something) and stops it afterwards.

The run is bounded: every request has a timeout and the whole run a budget. Whatever happens,
it ends with a `RunReport` and its exit code: 0 the server keeps the contract, 1 it breaks it,
2 the run could not decide (a harness error, the network, a timeout, the budget).
"""

from __future__ import annotations

import logging
import secrets
import shlex
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from werkzeug.serving import make_server

from contract_tests.baseline import Baseline
from contract_tests.budget import (
    DEFAULT_MAX_DURATION,
    DEFAULT_REQUEST_TIMEOUT,
    MAX_TIMEOUTS,
    Budget,
)
from contract_tests.client import Client, RateLimit, RequestsTransport
from contract_tests.engine import (
    FuzzSettings,
    run_schemathesis,
    schemathesis_config,
    stalled_message,
)
from contract_tests.operations import Operations
from contract_tests.render import text_summary, write_reports
from contract_tests.report import (
    Failure,
    Gates,
    HttpAnswer,
    HttpRequest,
    RunRecorder,
    RunReport,
    WorkflowOutcome,
    WorkflowStatus,
    mask_header,
)
from contract_tests.workflows import WORKFLOWS, WorkflowResult, run_workflows
from mock_server.contract.spec import default_spec_path
from mock_server.http.app import create_app
from mock_server.settings import Settings

if TYPE_CHECKING:
    from flask import Flask

Echo = Callable[[str], None]

__all__ = [
    "ContractOptions",
    "ContractRun",
    "execute_contract",
    "run_contract",
    "schemathesis_config",
    "serve_app",
    "serve_mock",
]


@dataclass(frozen=True)
class ContractOptions:
    """Everything the `contract` command takes."""

    base_url: str | None = None
    api_key: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    max_examples: int = 50
    seed: int = 0
    workers: int = 1
    rate_limit: str | None = None
    read_only: bool = False
    junit_xml: Path | None = None
    spec_path: Path | None = None
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    max_duration: float | None = DEFAULT_MAX_DURATION
    html_report: Path | None = None
    json_report: Path | None = None
    min_coverage: float | None = None
    require_status: tuple[tuple[str, int], ...] = ()
    baseline: Path | None = None
    write_baseline: Path | None = None


@dataclass(frozen=True)
class ContractRun:
    """The report of a run, and whether a thread of it could not be stopped."""

    report: RunReport
    abandoned: bool = False


@contextmanager
def serve_app(app: Flask) -> Iterator[str]:
    """Serve a WSGI app on a free loopback port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)  # port 0: let the OS pick
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def serve_mock(api_key: str) -> AbstractContextManager[str]:
    """The mock with one API key, served on a free port."""
    # Werkzeug would log every request of the run to the terminal.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    return serve_app(create_app(Settings(store_url="memory://", api_keys={api_key: 1})))


def run_contract(options: ContractOptions, echo: Echo) -> int:
    """Test one server; 0 when it keeps the contract, 1 when it does not, 2 when undecided."""
    return execute_contract(options, echo).report.exit_code


def execute_contract(options: ContractOptions, echo: Echo) -> ContractRun:
    """Test one server and write the requested reports."""
    budget = Budget(options.max_duration)
    # Read before any request: a broken baseline file must not cost a whole run.
    baseline = Baseline.load(options.baseline) if options.baseline is not None else None
    if options.base_url is not None:
        if not options.api_key and "authorization" not in {n.lower() for n, _ in options.headers}:
            echo("Warning: no --api-key given; every request will be unauthenticated.")
        run = _run_against(options.base_url.rstrip("/"), options, budget, echo)
    else:
        key = options.api_key or f"contract-{secrets.token_hex(8)}"
        with serve_mock(key) as url:
            origin = "the one given" if options.api_key else "one generated for this run"
            echo(f"Started the mock at {url}; it accepts one API key: {origin}")
            run = _run_against(url, replace(options, api_key=key), budget, echo)
    return _conclude(run, options, baseline, echo)


def _headers(options: ContractOptions) -> dict[str, str]:
    headers = dict(options.headers)
    if options.api_key:
        headers["Authorization"] = f"ApiKey-v1 {options.api_key}"
    return headers


def replay_command(options: ContractOptions) -> str:
    """The command line that replays a run (the API key left to the environment)."""
    parts = ["customer-session-mock", "contract"]
    if options.base_url:
        parts += ["--base-url", options.base_url]
    parts += ["--seed", str(options.seed), "--max-examples", str(options.max_examples)]
    if options.workers != 1:
        parts += ["--workers", str(options.workers)]
    if options.read_only:
        parts.append("--read-only")
    command = shlex.join(parts)
    if options.base_url and options.api_key:
        command += ' --api-key "$API_KEY"'
    return command


def shown_options(options: ContractOptions, *, started_mock: bool) -> dict[str, Any]:
    """The options of a run as the report shows them (credentials filtered)."""
    if started_mock:
        api_key = "generated for the mock this run started"
    else:
        api_key = "[Filtered]" if options.api_key else "none"
    return {
        "baseUrl": options.base_url or "the mock, started for this run",
        "apiKey": api_key,
        "headers": "; ".join(f"{n}: {mask_header(n, v)}" for n, v in options.headers) or "none",
        "maxExamples": options.max_examples,
        "seed": options.seed,
        "workers": options.workers,
        "rateLimit": options.rate_limit or "none",
        "readOnly": options.read_only,
        "requestTimeoutSeconds": options.request_timeout,
        "maxDurationSeconds": options.max_duration,
        "minCoveragePercent": options.min_coverage,
        "requireStatus": [f"{op}:{status}" for op, status in options.require_status],
        "baseline": str(options.baseline) if options.baseline else None,
        "spec": str(options.spec_path or default_spec_path()),
    }


@dataclass(frozen=True)
class _Run:
    recorder: RunRecorder
    budget: Budget
    abandoned: bool


def _run_against(url: str, options: ContractOptions, budget: Budget, echo: Echo) -> _Run:
    spec_path = options.spec_path or default_spec_path()
    operations = Operations.from_path(spec_path)
    recorder = RunRecorder(
        operations,
        server=url,
        seed=options.seed,
        options=shown_options(options, started_mock=options.base_url is None),
        replay=replay_command(options),
    )
    mode = "read-only (GET and dry-run PUT only)" if options.read_only else "read-write"
    limit = f"{options.max_duration:g} s budget" if options.max_duration else "no time limit"
    echo(
        f"Contract of {url}  [{mode}, seed {options.seed}, {options.max_examples} examples, "
        f"{options.request_timeout:g} s per request, {limit}]"
    )
    if not _reachable(url, options, recorder):
        recorder.stopped_early("nothing was tested: the server could not be reached")
        echo(f"Cannot reach {url}: nothing was tested.")
        return _Run(recorder, budget, abandoned=False)
    echo("")
    echo("Workflows")
    _run_workflows(url, options, recorder, budget, echo)
    echo("")
    echo("Schemathesis")
    if recorder.timeouts >= MAX_TIMEOUTS:
        echo("  not run: the server stalls")
        return _Run(recorder, budget, abandoned=False)
    if budget.spent:
        recorder.stopped_early(
            f"the time budget of {budget.seconds:g} s (--max-duration) was spent during the "
            "workflows; Schemathesis did not run"
        )
        echo("  not run: the time budget is spent")
        return _Run(recorder, budget, abandoned=False)
    settings = FuzzSettings(
        spec_path=spec_path,
        headers=_headers(options),
        max_examples=options.max_examples,
        seed=options.seed,
        workers=options.workers,
        rate_limit=options.rate_limit,
        read_only=options.read_only,
        request_timeout=options.request_timeout,
    )
    outcome = run_schemathesis(url, settings, recorder, operations, budget, echo)
    return _Run(recorder, budget, outcome.abandoned)


def _reachable(url: str, options: ContractOptions, recorder: RunRecorder) -> bool:
    """One GET of a session nobody has: any HTTP answer will do, no answer ends the run."""
    probe = f"{url}/v2/customer_sessions/contract-probe-{uuid.uuid4().hex[:12]}"
    transport = RequestsTransport(options.request_timeout)
    try:
        transport.send("GET", probe, _headers(options), None)
    except requests.RequestException as exc:
        recorder.error("network", f"cannot reach the server at {url}: {type(exc).__name__}: {exc}")
        return False
    finally:
        transport.close()
    return True


def _run_workflows(
    url: str, options: ContractOptions, recorder: RunRecorder, budget: Budget, echo: Echo
) -> None:
    recorder.source("workflows")
    rate = RateLimit.parse(options.rate_limit) if options.rate_limit else None
    transport = RequestsTransport(options.request_timeout, budget)

    def seen(answer: Any) -> None:
        recorder.saw(answer.sent.method, answer.sent.url, answer.status)

    client = Client(url, transport, _headers(options), rate, budget=budget, on_answer=seen)
    ran = 0
    try:
        for result in run_workflows(client, read_only=options.read_only, budget=budget):
            ran += 1
            recorder.timeouts += result.timed_out
            outcome = _record_workflow(result, recorder)
            mark = {"pass": "PASS ", "fail": "FAIL ", "error": "ERROR"}[outcome.status]
            echo(f"  {mark} {result.workflow.name}: {result.workflow.description}")
            if result.error:
                echo(f"         could not finish: {result.error}")
            if recorder.timeouts >= MAX_TIMEOUTS:
                recorder.stopped_early(stalled_message(recorder.timeouts))
                break
    finally:
        transport.close()
    planned = sum(1 for w in WORKFLOWS if w.read_only or not options.read_only)
    if ran < planned and recorder.incomplete is None:
        recorder.stopped_early(
            f"the time budget of {budget.seconds:g} s (--max-duration) was spent during the "
            f"workflows: {planned - ran} of {planned} did not run, nor did Schemathesis"
        )


def _record_workflow(result: WorkflowResult, recorder: RunRecorder) -> WorkflowOutcome:
    source = f"workflow '{result.workflow.name}'"
    for check, count in result.passes.items():
        recorder.passed(check, "workflows", count)
    for doubt in result.doubts:
        recorder.undecided("session_rules", "workflows", doubt)
    for violation in result.violations:
        answer = violation.answer
        recorder.failed(
            Failure(
                check=violation.check,
                operation_id=violation.operation_id,
                message=violation.message,
                signature=violation.key or violation.message,
                source=source,
                title=violation.check,
                request=HttpRequest.of(
                    answer.sent.method, answer.sent.url, answer.sent.headers, answer.sent.body
                )
                if answer
                else None,
                answer=HttpAnswer.of(answer.status, answer.content_type, answer.raw)
                if answer
                else None,
                curl=violation.curl,
            )
        )
    if result.error:
        recorder.error(source, f"could not finish: {result.error}")
    status: WorkflowStatus = "error" if result.error else ("fail" if result.violations else "pass")
    outcome = WorkflowOutcome(
        result.workflow.name,
        result.workflow.description,
        status,
        len(result.violations),
        result.error,
    )
    recorder.workflow(outcome)
    return outcome


def _conclude(
    run: _Run, options: ContractOptions, baseline: Baseline | None, echo: Echo
) -> ContractRun:
    gates = Gates(min_coverage=options.min_coverage, required=options.require_status)
    report = run.recorder.finish(gates=gates, baseline=baseline, duration=run.budget.elapsed())
    echo("")
    for line in text_summary(report):
        echo(line)
    if options.write_baseline is not None:
        everything = [*report.failures, *(known.failure for known in report.known_failures)]
        written = Baseline.of(everything, previous=baseline)
        written.save(options.write_baseline)
        count = len(written.entries)
        echo(
            f"Baseline with {count} entr{'y' if count == 1 else 'ies'} written to "
            f"{options.write_baseline}: fill in each reason and expiry, then run with "
            f"--baseline {options.write_baseline}"
        )
    for path in write_reports(
        report, html=options.html_report, json=options.json_report, junit=options.junit_xml
    ):
        echo(f"Report: {path}")
    return ContractRun(report, run.abandoned)
