"""The `contract` subcommand of `customer-session-mock`."""

from __future__ import annotations

from pathlib import Path

import click

from contract_tests.client import RateLimit


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


@click.command()
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
    "--junit-xml",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write a JUnit XML report.",
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
    junit_xml: Path | None,
) -> None:
    """Check that a server keeps the customer session contract (exit 0) or report how not."""
    # Imported here: Schemathesis is heavy, and `serve` should not pay for it.
    from contract_tests.runner import ContractOptions, run_contract

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
    )
    code = run_contract(options, click.echo)
    raise SystemExit(code)
