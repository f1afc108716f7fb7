"""`customer-session-mock serve`: the mock on a port until SIGINT or SIGTERM.

Every option's default is the `Settings` default, and the `CSM_*` variables are read by
`Settings.from_env` alone: an option given on the command line overrides both.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from mock_server.cli.serving import host_in_url, serve_threaded, serve_workers
from mock_server.core.errors import MockServerError
from mock_server.http.logs import configure_logging
from mock_server.play.latency import InvalidLatency, parse_latency
from mock_server.settings import LOG_FORMATS, VALIDATORS, Settings, default, parse_api_keys
from mock_server.stores import describe_store, is_shared

BANNER_SESSIONS = 5


def api_keys_option(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, int]:
    """`--api-key` values as a key -> application map; a click error for a malformed one."""
    try:
        return parse_api_keys(values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _latency(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value:
        try:
            parse_latency(value)
        except InvalidLatency as exc:
            raise click.BadParameter(str(exc)) from None
    return value or None


def _origins(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    # Comma-separated too, as CSM_CORS_ORIGINS is read.
    return tuple(
        origin.strip() for value in values for origin in value.split(",") if origin.strip()
    )


@click.command()
@click.option("--host", default=default("host"), help="Interface to bind.")
@click.option("--port", default=default("port"), type=click.IntRange(0, 65535))
@click.option("--seed", default=default("seed"), type=int, help="Seed of generated sessions.")
@click.option(
    "--preload",
    default=default("preload"),
    type=click.IntRange(0),
    help="Generated sessions in the store at start, per application.",
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    callback=api_keys_option,
    metavar="KEY[=APPLICATION_ID]",
    help="Accept this key (for this application, default 1). Repeat for several; none: any key.",
)
@click.option(
    "--validate-responses/--no-validate-responses",
    default=default("validate_responses"),
    help="Check every answer against openapi.yaml.",
)
@click.option(
    "--validator",
    type=click.Choice(VALIDATORS),
    default=default("validator"),
    help="compiled: checks built once from openapi.yaml; openapi-core: it alone, per call.",
)
@click.option(
    "--max-body-bytes",
    default=default("max_body_bytes"),
    type=click.IntRange(1),
    help="Larger request bodies get 413.",
)
@click.option(
    "--fixtures",
    "fixtures_path",
    type=click.Path(exists=True, path_type=Path),
    help="Start from the sessions of this file or folder (JSON, NDJSON, YAML) instead.",
)
@click.option(
    "--spec",
    "spec_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Serve another copy of openapi.yaml.",
)
@click.option(
    "--latency",
    metavar="MODEL",
    callback=_latency,
    help="Delay every API answer: 50ms, 20-200ms (uniform) or median=80ms,sigma=0.4.",
)
@click.option(
    "--error-rate",
    default=default("error_rate"),
    type=click.FloatRange(0, 1),
    help="Share of API requests answered with a documented error (PUT 409, GET 400).",
)
@click.option(
    "--parallel-conflicts/--no-parallel-conflicts",
    default=default("parallel_conflicts"),
    help="Answer 409 to a PUT while another PUT of the same session is in flight.",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    default=default("cors_origins"),
    callback=_origins,
    help="Origin browsers may call from; repeat for several.",
)
@click.option(
    "--admin-token", help="Let clients that send it (X-Admin-Token) use /__admin/ from anywhere."
)
@click.option(
    "--journal-size",
    default=default("journal_size"),
    type=click.IntRange(0),
    help="Requests kept in the journal (GET /__admin/requests).",
)
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    default=default("log_format"),
    help="One readable line per request, or one JSON object per line.",
)
@click.option(
    "--store",
    "store_url",
    default=default("store_url"),
    metavar="URL",
    help="memory://, sqlite:///path/to/file.db or redis://host:port/db.",
)
@click.option(
    "--ttl",
    "session_ttl",
    default=default("session_ttl"),
    type=click.IntRange(0),
    metavar="SECONDS",
    help="Expire sessions not written for this long (sqlite and redis stores); 0: never.",
)
@click.option(
    "--workers",
    default=default("workers"),
    type=click.IntRange(1),
    help="Worker processes; more than 1 runs gunicorn and needs a sqlite or redis store.",
)
@click.option(
    "--threads",
    default=default("threads"),
    type=click.IntRange(1),
    help="Threads per worker process (with --workers): each answers one client at a time, so "
    "slow clients and delayed answers hold a thread, never the worker.",
)
def serve(**options: Any) -> None:
    """Serve the mock until SIGINT or SIGTERM (SIGTERM answers in-flight requests first)."""
    settings = _settings(click.get_current_context(), options)
    configure_logging(settings.log_format)
    threads_given = click.get_current_context().get_parameter_source("threads")
    if threads_given is ParameterSource.COMMANDLINE and settings.workers == 1:
        click.echo(
            "Note: --threads applies to --workers; one process serves each connection "
            "in its own thread already.",
            err=True,
        )
    if settings.workers > 1 and not is_shared(settings.store_url):
        raise click.UsageError(
            f"--workers {settings.workers} needs a store that processes share: memory:// lives "
            "inside one process, so each worker would see other sessions. Use --store "
            "sqlite:///path/to/file.db (one host) or --store redis://host:port/db (many hosts)."
        )

    def ready(bound_port: int, preloaded_ids: list[str]) -> None:
        _print_banner(settings, bound_port, preloaded_ids)

    try:
        if settings.workers > 1:
            serve_workers(settings, ready)
        else:
            serve_threaded(settings, ready)
    except MockServerError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("customer-session-mock stopped.", err=True)
    sys.exit(0)


def _settings(ctx: click.Context, options: dict[str, Any]) -> Settings:
    """The environment's settings, with what the command line names on top."""
    given = {
        name: value
        for name, value in options.items()
        if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
    }
    try:
        return Settings.from_env(**given)
    except ValueError as exc:
        raise click.UsageError(f"invalid setting: {exc}") from exc


def _print_banner(settings: Settings, port: int, ids: list[str]) -> None:
    url = f"http://{host_in_url(settings.host)}:{port}"
    keys = (
        ", ".join(f"{key} -> application {app}" for key, app in sorted(settings.api_keys.items()))
        or f"any key -> application {settings.default_application_id}"
    )
    click.echo(f"customer-session-mock serving {url}")
    click.echo(f"  contract   {url}/openapi.yaml")
    click.echo(f"  API keys   {keys}  (Authorization: ApiKey-v1 <key>)")
    if settings.fixtures_path is not None:
        click.echo(f"  fixtures   {settings.fixtures_path}, {len(ids)} sessions")
    else:
        click.echo(f"  seed       {settings.seed}, {len(ids)} preloaded sessions per application")
    click.echo(f"  admin      {url}/__admin/requests  (journal; loopback or X-Admin-Token)")
    click.echo(f"  inspector  {url}/  (in a browser: requests, sessions, try it, contract)")
    click.echo(f"  store      {describe_store(settings.store_url)}")
    if settings.workers > 1:
        click.echo(f"  workers    {settings.workers} gunicorn processes")
    # The preloaded ids shown are the first application's: show a key that acts for it.
    first_application = min(settings.application_ids())
    key = next(
        (key for key, app in sorted(settings.api_keys.items()) if app == first_application), "dev"
    )
    for integration_id in ids[:BANNER_SESSIONS]:
        path = f"/v2/customer_sessions/{integration_id}"
        click.echo(f"  try        curl -H 'Authorization: ApiKey-v1 {key}' {url}{path}")
