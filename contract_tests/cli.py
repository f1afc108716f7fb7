"""The `contract` subcommand of `customer-session-mock`."""

from __future__ import annotations

from pathlib import Path

import click

from contract_tests.budget import DEFAULT_MAX_DURATION, DEFAULT_REQUEST_TIMEOUT
from contract_tests.client import RateLimit

EPILOG = """\b
Exit codes:
  0  the server keeps the contract (and every gate is met)
  1  the server BREAKS the contract: a check failed, a gate was missed,
     or a baseline entry expired
  2  no verdict: a harness error (a bug of ours, a network failure, a
     timeout, the --max-duration budget spent before the run could
     decide) or a usage error

\b
Reports: --html-report (one self-contained page), --json-report (the
same content for scripts: verdict, coverage.percent, coverage.pairs,
failures) and --junit-xml render the same run.
"""


def _header(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    headers = []
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            raise click.BadParameter(f"{value!r} is not 'Name: value'")
        headers.append((name.strip(), content.strip()))
    return tuple(headers)


def _rate(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        try:
            RateLimit.parse(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


def _required_status(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[tuple[str, int], ...]:
    from contract_tests.operations import Operations
    from mock_server.contract.spec import default_spec_path

    operations = Operations.from_path(default_spec_path())
    required = []
    for value in values:
        operation_id, sep, status = value.rpartition(":")
        if not sep or not status.strip().isdigit():
            raise click.BadParameter(
                f"{value!r} is not OPERATION:STATUS, e.g. getCustomerSession:404"
            )
        if operations.by_id(operation_id.strip()) is None:
            known = ", ".join(operations.ids())
            raise click.BadParameter(f"no operation {operation_id!r} in the contract ({known})")
        required.append((operation_id.strip(), int(status)))
    return tuple(required)


def _baseline(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    if value is not None:
        from contract_tests.baseline import Baseline, BaselineError

        try:
            Baseline.load(value)
        except BaselineError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


_FILE = click.Path(dir_okay=False, path_type=Path)


@click.command(epilog=EPILOG)
@click.option("--base-url", metavar="URL", help="Server to test. Default: start the mock.")
@click.option("--api-key", metavar="KEY", help="Sent as 'Authorization: ApiKey-v1 KEY'.")
@click.option(
    "--header",
    "headers",
    multiple=True,
    callback=_header,
    metavar="'Name: value'",
    help="Extra header on every request; repeat for several.",
)
@click.option(
    "--max-examples",
    default=50,
    type=click.IntRange(1),
    show_default=True,
    help="Generated cases per operation and phase.",
)
@click.option("--seed", default=0, type=int, show_default=True, help="Seed of generated data.")
@click.option(
    "--workers",
    default=1,
    type=click.IntRange(1, 64),
    show_default=True,
    help="Concurrent Schemathesis workers.",
)
@click.option(
    "--rate-limit",
    callback=_rate,
    metavar="N/s|N/m|N/h",
    help="At most this many requests, e.g. 10/s.",
)
@click.option(
    "--read-only",
    is_flag=True,
    help="Send only GETs and dry=true PUTs: safe against shared environments.",
)
@click.option(
    "--request-timeout",
    default=DEFAULT_REQUEST_TIMEOUT,
    type=click.FloatRange(0.1),
    show_default=True,
    metavar="SECONDS",
    help="Longest wait for one complete answer; a request that takes longer is a harness error.",
)
@click.option(
    "--max-duration",
    default=DEFAULT_MAX_DURATION,
    type=click.FloatRange(1),
    show_default=True,
    metavar="SECONDS",
    help="Budget of the whole run: then it stops and reports what it has (exit 2 if undecided).",
)
@click.option("--junit-xml", type=_FILE, metavar="FILE", help="Write a JUnit XML report.")
@click.option(
    "--html-report", type=_FILE, metavar="FILE", help="Write a self-contained HTML report."
)
@click.option("--json-report", type=_FILE, metavar="FILE", help="Write the report as JSON.")
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 100),
    metavar="PERCENT",
    help="Fail unless at least this share of documented (operation, status) pairs is seen.",
)
@click.option(
    "--require-status",
    multiple=True,
    callback=_required_status,
    metavar="OPERATION:STATUS",
    help="Fail unless the run sees this answer, e.g. getCustomerSession:404 (repeatable).",
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    callback=_baseline,
    metavar="FILE",
    help="Known failures (YAML): fail only on others, and on entries past their expiry.",
)
@click.option(
    "--write-baseline",
    type=_FILE,
    metavar="FILE",
    help="Record this run's failures as a baseline (YAML) to review and commit.",
)
def contract(
    base_url: str | None,
    api_key: str | None,
    headers: tuple[tuple[str, str], ...],
    max_examples: int,
    seed: int,
    workers: int,
    rate_limit: str | None,
    read_only: bool,
    request_timeout: float,
    max_duration: float,
    junit_xml: Path | None,
    html_report: Path | None,
    json_report: Path | None,
    min_coverage: float | None,
    require_status: tuple[tuple[str, int], ...],
    baseline: Path | None,
    write_baseline: Path | None,
) -> None:
    """Check that a server keeps the customer session contract (exit 0) or report how not."""
    # Imported here: Schemathesis is heavy, and `serve` should not pay for it.
    from contract_tests.runner import ContractOptions, execute_contract

    options = ContractOptions(
        base_url=base_url,
        api_key=api_key,
        headers=headers,
        max_examples=max_examples,
        seed=seed,
        workers=workers,
        rate_limit=rate_limit,
        read_only=read_only,
        junit_xml=junit_xml,
        request_timeout=request_timeout,
        max_duration=max_duration,
        html_report=html_report,
        json_report=json_report,
        min_coverage=min_coverage,
        require_status=require_status,
        baseline=baseline,
        write_baseline=write_baseline,
    )
    try:
        run = execute_contract(options, click.echo)
    except Exception as exc:  # a bug of the harness: never a verdict on the server
        click.echo(f"Harness error: {type(exc).__name__}: {exc}", err=True)
        raise SystemExit(2) from exc
    # A Schemathesis thread that would not stop (run.abandoned) is a daemon: it cannot hold the
    # process beyond this exit.
    raise SystemExit(run.report.exit_code)
