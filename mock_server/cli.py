"""The `customer-session-mock` command line."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click
from werkzeug.serving import make_server

from mock_server.app import create_app, mock_state
from mock_server.compiled_validation import VALIDATOR_KINDS
from mock_server.errors import MockServerError
from mock_server.settings import ENV_PREFIX, Settings, parse_api_keys

BANNER_SESSIONS = 5


def _api_keys(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, int]:
    try:
        return parse_api_keys(values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


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
    "--spec",
    "spec_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar=f"{ENV_PREFIX}SPEC_PATH",
    help="Serve another copy of openapi.yaml.",
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
    spec_path: Path | None,
) -> None:
    """Serve the mock until SIGINT or SIGTERM."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
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
    )
    try:
        app = create_app(settings)
    except MockServerError as exc:
        raise click.ClickException(str(exc)) from exc
    server = make_server(host, port, app, threaded=True)
    with app.app_context():
        ids = mock_state().preloaded_ids
    _print_banner(settings, server.server_port, ids)

    def stop(signum: int, _frame: FrameType | None) -> None:
        click.echo(f"Received {signal.Signals(signum).name}, shutting down.", err=True)
        # shutdown() waits for serve_forever to return: call it from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()
    server.server_close()
    sys.exit(0)


def _print_banner(settings: Settings, port: int, ids: list[str]) -> None:
    url = f"http://{settings.host}:{port}"
    keys = (
        ", ".join(f"{key} -> application {app}" for key, app in sorted(settings.api_keys.items()))
        or f"any key -> application {settings.default_application_id}"
    )
    click.echo(f"customer-session-mock serving {url}")
    click.echo(f"  contract   {url}/openapi.yaml")
    click.echo(f"  API keys   {keys}  (Authorization: ApiKey-v1 <key>)")
    click.echo(f"  seed       {settings.seed}, {len(ids)} preloaded sessions per application")
    key = next(iter(sorted(settings.api_keys)), "dev")
    for integration_id in ids[:BANNER_SESSIONS]:
        path = f"/v2/customer_sessions/{integration_id}"
        click.echo(f"  try        curl -H 'Authorization: ApiKey-v1 {key}' {url}{path}")
