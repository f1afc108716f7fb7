"""The `customer-session-mock` command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from contract_tests.cli import contract
from mock_server.compiled_validation import VALIDATOR_KINDS
from mock_server.errors import MockServerError
from mock_server.fixtures_command import fixtures
from mock_server.latency import InvalidLatency, parse_latency
from mock_server.logs import LOG_FORMATS, configure_logging
from mock_server.serving import serve_threaded, serve_workers
from mock_server.settings import ENV_PREFIX, Settings, parse_api_keys
from mock_server.stores import default_store_url, describe_store, is_shared

BANNER_SESSIONS = 5


def _api_keys(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, int]:
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
    # CSM_CORS_ORIGINS is comma-separated, as Settings.from_env reads it.
    return tuple(
        origin.strip() for value in values for origin in value.split(",") if origin.strip()
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(package_name="customer-session-mock")
def main() -> None:
    """A stateful, self-validating mock of the Talon.One customer session API."""


@main.command()
@click.option("--host", default="127.0.0.1", envvar=f"{ENV_PREFIX}HOST", help="Interface to bind.")
@click.option("--port", default=8080, type=click.IntRange(0, 65535), envvar=f"{ENV_PREFIX}PORT")
@click.option(
    "--seed", default=42, type=int, envvar=f"{ENV_PREFIX}SEED", help="Seed of generated sessions."
)
@click.option(
    "--preload",
    default=24,
    type=click.IntRange(0),
    envvar=f"{ENV_PREFIX}PRELOAD",
    help="Generated sessions in the store at start, per application.",
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    callback=_api_keys,
    envvar=f"{ENV_PREFIX}API_KEYS",
    metavar="KEY[=APPLICATION_ID]",
    help="Accept this key (for this application, default 1). Repeat for several; none: any key.",
)
@click.option(
    "--validate-responses/--no-validate-responses",
    default=True,
    envvar=f"{ENV_PREFIX}VALIDATE_RESPONSES",
    help="Check every answer against openapi.yaml.",
)
@click.option(
    "--validator",
    type=click.Choice(VALIDATOR_KINDS),
    default="compiled",
    envvar=f"{ENV_PREFIX}VALIDATOR",
    help="compiled: checks built once from openapi.yaml; openapi-core: it alone, per call.",
)
@click.option(
    "--max-body-bytes",
    default=1024 * 1024,
    type=click.IntRange(1),
    envvar=f"{ENV_PREFIX}MAX_BODY_BYTES",
    help="Larger request bodies get 413.",
)
@click.option(
    "--fixtures",
    "fixtures_path",
    type=click.Path(exists=True, path_type=Path),
    envvar=f"{ENV_PREFIX}FIXTURES_PATH",
    help="Start from the sessions of this file or folder (JSON, NDJSON, YAML) instead.",
)
@click.option(
    "--spec",
    "spec_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar=f"{ENV_PREFIX}SPEC_PATH",
    help="Serve another copy of openapi.yaml.",
)
@click.option(
    "--latency",
    envvar=f"{ENV_PREFIX}LATENCY",
    metavar="MODEL",
    callback=_latency,
    help="Delay every API answer: 50ms, 20-200ms (uniform) or median=80ms,sigma=0.4.",
)
@click.option(
    "--error-rate",
    default=0.0,
    type=click.FloatRange(0, 1),
    envvar=f"{ENV_PREFIX}ERROR_RATE",
    help="Share of API requests answered with a documented error (PUT 409, GET 400).",
)
@click.option(
    "--parallel-conflicts/--no-parallel-conflicts",
    default=True,
    envvar=f"{ENV_PREFIX}PARALLEL_CONFLICTS",
    help="Answer 409 to a PUT while another PUT of the same session is in flight.",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    default=("*",),
    callback=_origins,
    envvar=f"{ENV_PREFIX}CORS_ORIGINS",
    help="Origin browsers may call from; repeat for several.",
)
@click.option(
    "--admin-token",
    envvar=f"{ENV_PREFIX}ADMIN_TOKEN",
    help="Let clients that send it (X-Admin-Token) use /__admin/ from anywhere.",
)
@click.option(
    "--journal-size",
    default=1000,
    type=click.IntRange(0),
    envvar=f"{ENV_PREFIX}JOURNAL_SIZE",
    help="Requests kept in the journal (GET /__admin/requests).",
)
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    default="text",
    envvar=f"{ENV_PREFIX}LOG_FORMAT",
    help="One readable line per request, or one JSON object per line.",
)
@click.option(
    "--store",
    "store_url",
    envvar=f"{ENV_PREFIX}STORE_URL",
    metavar="URL",
    help="memory://, sqlite:///path/to/file.db or redis://host:port/db  "
    "[default: sqlite:///data/customer-sessions.db]",
)
@click.option(
    "--ttl",
    "session_ttl",
    default=0,
    type=click.IntRange(0),
    envvar=f"{ENV_PREFIX}SESSION_TTL",
    metavar="SECONDS",
    help="Expire sessions not written for this long (sqlite and redis stores); 0: never.",
)
@click.option(
    "--workers",
    default=1,
    type=click.IntRange(1),
    envvar=f"{ENV_PREFIX}WORKERS",
    help="Worker processes; more than 1 runs gunicorn and needs a sqlite or redis store.",
)
@click.option(
    "--threads",
    default=1,
    type=click.IntRange(1),
    envvar=f"{ENV_PREFIX}THREADS",
    show_default=True,
    help="Threads per worker process (with --workers): more let delayed answers overlap in "
    "one worker; 1 answers fastest.",
)
def serve(
    host: str,
    port: int,
    seed: int,
    preload: int,
    api_keys: dict[str, int],
    validate_responses: bool,
    validator: str,
    max_body_bytes: int,
    fixtures_path: Path | None,
    spec_path: Path | None,
    latency: str | None,
    error_rate: float,
    parallel_conflicts: bool,
    cors_origins: tuple[str, ...],
    admin_token: str | None,
    journal_size: int,
    log_format: str,
    store_url: str | None,
    session_ttl: int,
    workers: int,
    threads: int,
) -> None:
    """Serve the mock until SIGINT or SIGTERM (SIGTERM answers in-flight requests first)."""
    configure_logging(log_format)
    settings = Settings(
        host=host,
        port=port,
        seed=seed,
        preload=preload,
        api_keys=api_keys,
        validate_responses=validate_responses,
        validator=validator,
        max_body_bytes=max_body_bytes,
        spec_path=spec_path,
        latency=latency,
        error_rate=error_rate,
        parallel_conflicts=parallel_conflicts,
        cors_origins=cors_origins,
        admin_token=admin_token,
        journal_size=journal_size,
        fixtures_path=fixtures_path,
        store_url=store_url or default_store_url(),
        session_ttl=session_ttl,
    )
    if threads > 1 and workers == 1:
        click.echo(
            "Note: --threads applies to --workers; one process serves each connection "
            "in its own thread already.",
            err=True,
        )
    if workers > 1 and not is_shared(settings.store_url):
        raise click.UsageError(
            f"--workers {workers} needs a store that processes share: memory:// lives inside "
            "one process, so each worker would see other sessions. Use --store "
            "sqlite:///path/to/file.db (one host) or --store redis://host:port/db (many hosts)."
        )

    def ready(bound_port: int, preloaded_ids: list[str]) -> None:
        _print_banner(settings, bound_port, preloaded_ids, workers)

    try:
        if workers > 1:
            serve_workers(settings, workers, ready, threads=threads)
        else:
            serve_threaded(settings, ready)
    except MockServerError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("customer-session-mock stopped.", err=True)
    sys.exit(0)


def _print_banner(settings: Settings, port: int, ids: list[str], workers: int) -> None:
    url = f"http://{settings.host}:{port}"
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
    if workers > 1:
        click.echo(f"  workers    {workers} gunicorn processes")
    key = next(iter(sorted(settings.api_keys)), "dev")
    for integration_id in ids[:BANNER_SESSIONS]:
        path = f"/v2/customer_sessions/{integration_id}"
        click.echo(f"  try        curl -H 'Authorization: ApiKey-v1 {key}' {url}{path}")


main.add_command(fixtures)
main.add_command(contract)


if __name__ == "__main__":
    main()
